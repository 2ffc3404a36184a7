"""Breadcrumbs and category paths -> cleaned levels, script-folded keys, slugs.

`物流资讯 > 行业新闻` and `物流資訊 > 行業新聞` are one category: the key folds
both scripts to simplified with OpenCC. A category name is only ever a name:
`../../etc` becomes levels that cannot address anything but themselves, and
slugs are lowercase ASCII, so no category can write outside the output folder.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

from ..model import CategoryPath
from .text import clean_line, fold

_SEPARATORS = re.compile(r"\s*(?:>|›|»|＞|→|»|〉|>>)\s*")
_HOME = {"首頁", "首页", "home", "主頁", "主页", "網站首頁", "网站首页", "首 頁", "index"}
_MAX_LEVELS = 6
_MAX_LEVEL_CHARS = 60


@lru_cache(maxsize=1)
def _to_simplified():
    import opencc  # imported lazily: loading the dictionaries takes a moment
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=4096)
def fold_level(level: str) -> str:
    """The identity of one level, whatever script or width it is written in."""
    return _to_simplified().convert(fold(level))


def levels_from_breadcrumb(raw: str, title: str) -> list[str]:
    """`首頁 > 物流資訊 > 行業新聞 > <title…>` -> ["物流資訊", "行業新聞"]."""
    parts = [clean_line(p) for p in _SEPARATORS.split(clean_line(raw))]
    parts = [p for p in parts if p]
    while parts and parts[0].casefold() in _HOME:
        parts = parts[1:]
    if parts and _is_title(parts[-1], title):
        parts = parts[:-1]
    return parts


def _is_title(level: str, title: str) -> bool:
    """The last crumb is the article's own title, maybe cut short with … or ..."""
    head = fold(level).rstrip(".…")
    whole = fold(title)
    return bool(head) and bool(whole) and (whole.startswith(head) or head.startswith(whole))


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
    return CategoryPath(tuple(kept), "/".join(keys), tuple(slug(k) for k in keys)), warnings


def key_of(path: str) -> str:
    """The folded key of a configured category path such as "物流資訊/行業新聞"."""
    return "/".join(fold_level(x) for x in levels_from_path(path))


@lru_cache(maxsize=4096)
def slug(level_key: str) -> str:
    """One folded level -> lowercase ASCII: 物流资讯 -> wu-liu-zi-xun."""
    from pypinyin import lazy_pinyin  # lazily: its phrase tables are large
    words = lazy_pinyin(level_key, errors=lambda chars: [chars])
    text = unicodedata.normalize("NFKD", "-".join(words)).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    text = re.sub(r"-{2,}", "-", text)[:80].strip("-")
    return text or "c-" + hashlib.sha1(level_key.encode()).hexdigest()[:8]
