"""Which filtered feeds (`[[feeds]]`) an article belongs in.

A reader who wants only the articles about cold chains wants them whatever
script or width they are written in: words and text are folded alike
(full-width to half-width, case, whitespace, traditional to simplified
with OpenCC) before they are compared. `/regex/` entries are searched in the
text as written, and with full-width forms narrowed and the script folded,
by RE2 (feedpub.patterns): time linear in the article, whatever the pattern.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .. import patterns
from .categories import _to_simplified, key_of
from .text import fold, narrow


@dataclass(frozen=True)
class Terms:
    """Words (found in one pass over the folded text) and /patterns/ (RE2)."""

    words: object | None             # one pattern for every word, or None
    patterns: tuple

    def found(self, raw: str, folded_text: str, narrowed: str) -> bool:
        if self.words is not None and self.words.search(folded_text):
            return True
        return any(p.search(raw) or p.search(narrowed) for p in self.patterns)


@dataclass(frozen=True)
class Matcher:
    slug: str
    include: Terms
    exclude: Terms
    categories: tuple[str, ...]      # folded category keys


def _terms(entries) -> Terms:
    words = [folded(w) for w in entries if not _is_pattern(w)]
    return Terms(patterns.any_of(w for w in words if w) if any(words) else None,
                 tuple(patterns.compile(w[1:-1]) for w in entries if _is_pattern(w)))


def _is_pattern(word: str) -> bool:
    return len(word) > 2 and word.startswith("/") and word.endswith("/")


@lru_cache(maxsize=4096)
def folded(text: str) -> str:
    return _to_simplified().convert(fold(text))


@lru_cache(maxsize=64)
def _matcher(feed) -> Matcher:
    return Matcher(feed.slug, _terms(feed.include), _terms(feed.exclude), tuple(key_of(c) for c in feed.categories))


def feeds_for(feeds, title: str, text: str, category_keys) -> tuple[str, ...]:
    """The slugs of the filtered feeds an article is in (pure: values in,
    values out). Time linear in the text: each feed's words are one pass,
    its patterns RE2."""
    if not feeds:
        return ()
    raw = f"{title}\n{text}"
    folded_text = _to_simplified().convert(fold(raw))
    narrowed = _to_simplified().convert(narrow(raw))
    out = []
    for feed in feeds:
        m = _matcher(feed)
        if m.categories and not any(key == c or key.startswith(c + "/") for key in category_keys
                                    for c in m.categories):
            continue
        if m.include.found(raw, folded_text, narrowed) and not m.exclude.found(raw, folded_text, narrowed):
            out.append(m.slug)
    return tuple(out)
