"""Breadcrumbs and category paths -> cleaned levels, script-folded keys, slugs.

`物流资讯 > 行业新闻` and `物流資訊 > 行業新聞` are one category: the key folds
both scripts to simplified with OpenCC. A category name is only ever a name:
`../../etc` becomes levels that cannot address anything but themselves, and
slugs are lowercase ASCII, so no category can write outside the output folder.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import lru_cache

from ..model import CategoryPath
from .text import clean_line, fold

_SEPARATORS = re.compile(r"\s*(?:>|›|»|＞|→|»|〉|>>)\s*")
_HOME = {"首頁", "首页", "home", "主頁", "主页", "網站首頁", "网站首页", "首 頁", "index"}
_MAX_LEVELS = 10
_MAX_LEVEL_CHARS = 60


@lru_cache(maxsize=1)
def _to_simplified():
    import opencc  # imported lazily: loading the dictionaries takes a moment
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=4096)
def fold_level(level: str) -> str:
    """The identity of one level, whatever script or width it is written in."""
    return _to_simplified().convert(fold(level))


# The page itself, named at the end of a breadcrumb instead of its title.
_PAGE_WORDS = {"正文", "详情", "詳情", "內容", "内容", "正文內容", "正文内容", "详细内容", "詳細內容", "文章详情",
               "文章詳情", "content", "details", "article"}


def levels_from_breadcrumb(raw: str, title: str) -> list[str]:
    """`首頁 > 物流資訊 > 行業新聞 > <title…>` -> ["物流資訊", "行業新聞"].

    The trailing title is found however it was shortened or edited, and
    even when it holds a separator itself (`港航快訊<script>…` splits at its
    `>`): the shortest tail of the breadcrumb that resembles the title is it,
    and only what comes before it can be a category.
    """
    text = clean_line(raw)
    parts, starts, at = [], [], 0
    for m in _SEPARATORS.finditer(text + ">"):
        part = text[at:m.start()].strip()
        if part:
            parts.append(part)
            starts.append(at)
        at = m.end()
    while parts and parts[0].casefold() in _HOME:
        parts, starts = parts[1:], starts[1:]
    named = len(parts)
    while parts and parts[-1].casefold() in _PAGE_WORDS:
        parts, starts = parts[:-1], starts[:-1]
    # The shortest tail that resembles the title by its start wins; only if
    # none does, the shortest that resembles it as a whole (edited at the start).
    # A breadcrumb that names the page by a word (正文, 详情) holds the title
    # only whole, if at all: a category named like the start of its
    # article's title (港口动态 for 港口动态第4篇…) stays.
    found = {}
    for i in range(len(parts) - 1, -1, -1):
        if len(parts) == named or _whole(parts[i], title):
            found.setdefault(_likeness(text[starts[i]:], title), i)
    best = max(found, default=0)
    if best:
        parts = parts[:found[best]]
    while parts and parts[-1].casefold() in _PAGE_WORDS:
        parts = parts[:-1]
    return [clean_line(p) for p in parts]


_CUT = ".…。⋯\ufffd?？ "


def _whole(part: str, title: str) -> bool:
    """Is this level of a breadcrumb the whole title (whatever its script or width)?"""
    return _to_simplified().convert(fold(part)) == _to_simplified().convert(fold(title))


def _likeness(crumb: str, title: str) -> int:
    """How surely this tail of a breadcrumb stands for the article's own title:
    2 it starts like the title (whole, cut short with … or a broken last
    character, or edited at its end), 1 it is much like it, 0 it is not."""
    head = _to_simplified().convert(_SEPARATORS.sub(">", fold(crumb)))
    whole = _to_simplified().convert(_SEPARATORS.sub(">", fold(title)))
    marked = head != head.rstrip(_CUT)
    head = head.rstrip(_CUT)
    if not head or not whole:
        return 0
    if head.startswith(whole):
        return 2
    shared = 0
    for a, b in zip(head, whole):
        if a != b:
            break
        shared += 1
    if shared == len(head):                       # a prefix of the title: cut short
        return 2 if marked or len(head) >= 6 or 2 * len(head) >= len(whole) else 0
    if marked and len(head) >= 4 and shared >= len(head) - 1:
        return 2                                  # cut inside a character: the last one is junk
    if shared >= 4 and 2 * shared >= len(head):   # the same start, edited since
        return 2
    return 1 if len(head) >= 6 and SequenceMatcher(None, head, whole).ratio() >= 0.7 else 0


def levels_from_path(path: str) -> list[str]:
    """`a/b` or `a > b` (front matter, JSON, config) -> ["a", "b"]."""
    return [p for p in (clean_line(x) for x in re.split(r"\s*(?:/|>|›|»)\s*", path)) if p]


def make_path(levels: list[str]) -> tuple[CategoryPath | None, list[str]]:
    """Clean levels into a CategoryPath; also say what had to be dropped."""
    warnings = []
    kept = []
    for level in levels:
        if re.fullmatch(r"[.\s。·]*", level):
            warnings.append(f"category level {level!r} is not a name; dropped")
            continue
        if len(level) > _MAX_LEVEL_CHARS:
            warnings.append(f"category level {level[:20]!r}… is longer than {_MAX_LEVEL_CHARS} characters; cut")
            level = level[:_MAX_LEVEL_CHARS].rstrip()
        kept.append(level)
    if len(kept) > _MAX_LEVELS:
        warnings.append(f"category has {len(kept)} levels; kept the first {_MAX_LEVELS}")
        kept = kept[:_MAX_LEVELS]
    if not kept:
        return None, warnings
    keys = [fold_level(x) for x in kept]
    return CategoryPath(tuple(kept), "/".join(keys)), warnings


def key_of(path: str) -> str:
    """The folded key of a configured category path such as "物流資訊/行業新聞"."""
    return "/".join(fold_level(x) for x in levels_from_path(path))
