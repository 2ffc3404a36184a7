"""Which filtered feeds (`[[feeds]]`) an article belongs in.

A reader who wants only the articles about cold chains wants them whatever
script or width they are written in: words and text are folded alike
(full-width to half-width, case, whitespace, traditional to simplified
with OpenCC) before they are compared. `/regex/` entries are searched in the
text as written, and with full-width forms narrowed and the script folded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .categories import _to_simplified, key_of
from .text import fold, narrow


@dataclass(frozen=True)
class Matcher:
    slug: str
    include: tuple
    exclude: tuple
    categories: tuple[str, ...]      # folded category keys


def _term(word: str):
    if len(word) > 2 and word.startswith("/") and word.endswith("/"):
        return re.compile(word[1:-1])
    return folded(word)


@lru_cache(maxsize=4096)
def folded(text: str) -> str:
    return _to_simplified().convert(fold(text))


@lru_cache(maxsize=64)
def _matcher(feed) -> Matcher:
    return Matcher(feed.slug, tuple(_term(w) for w in feed.include), tuple(_term(w) for w in feed.exclude),
                   tuple(key_of(c) for c in feed.categories))


def _hit(term, raw: str, folded_text: str, narrowed: str) -> bool:
    if isinstance(term, str):
        return term in folded_text
    return bool(term.search(raw) or term.search(narrowed))


def feeds_for(feeds, title: str, text: str, category_keys) -> tuple[str, ...]:
    """The slugs of the filtered feeds an article is in (pure: values in, values out)."""
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
        if any(_hit(t, raw, folded_text, narrowed) for t in m.include) and \
                not any(_hit(t, raw, folded_text, narrowed) for t in m.exclude):
            out.append(m.slug)
    return tuple(out)
