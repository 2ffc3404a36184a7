"""Who an article is, decided once: its id, its page's path, its times after
an edit, and the names folders may take. Pure functions of values: the store
applies what they decide, and their tests need no database."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

from .model import Article

# Folder names of the output folder that a category may never take.
RESERVED = frozenset({"articles", "archive"})


@dataclass(frozen=True)
class Minted:
    """What an article gets on its first insert, and keeps for ever."""

    id: str                     # the item id (tag URI or the article's own URL)
    page_path: str | None       # our article page, for articles without a URL of their own
    published: datetime         # UTC: the article's time, or when it was first seen
    updated: datetime


def mint(art: Article, now: datetime, authority: str) -> Minted:
    """Id and page path of a new article. A tag URI carries the day of the
    article's time (or of `now`, when it was first seen, for an undated one)."""
    published = art.published or now
    digest = hashlib.sha256(art.key.encode("utf-8", "surrogatepass")).hexdigest()
    if art.url:
        item_id = art.url
    elif art.given_id and is_uri(art.given_id):
        item_id = art.given_id
    else:
        item_id = f"tag:{authority},{published:%Y-%m-%d}:" + (quote(art.given_id, safe="") if art.given_id
                                                               else digest[:20])
    page_path = None if art.url else f"articles/{published:%Y}/{published:%m}/{digest[:16]}.html"
    return Minted(item_id, page_path, published, max(art.updated or published, published))


@dataclass(frozen=True)
class Stored:
    """The facts an edit may change or must keep."""

    published: datetime
    dated: bool                 # False: `published` is when it was first seen
    date_raw: str | None        # the date as written when it was stored
    updated: datetime


def merge_times(stored: Stored, art: Article) -> tuple[datetime, datetime]:
    """(published, updated) of an edited article.

    Its time, once resolved, moves only when its own written date changes
    (`3小時前` read again after a touch is the same time); an undated one
    keeps the time it was first seen. Without an `updated` of its own, an
    edit is dated by when it was gathered, never earlier than before.
    """
    published = stored.published
    if art.published is not None and not (stored.dated and _same_words(stored.date_raw, art.date_raw)):
        published = art.published
    updated = art.updated or max(art.gathered_at, stored.updated, published)
    return published, max(updated, published)


def _same_words(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and " ".join(a.split()) == " ".join(b.split())


# Slugs already worked out, here or by a parsing worker (see learn_slugs).
_SLUGS: dict[str, str] = {}


def slug(level_key: str) -> str:
    """One folded category level -> lowercase ASCII: 物流资讯 -> wu-liu-zi-xun.
    Only a new category needs one: pypinyin's tables take 0.2 s and 55 MB to
    load, which a build that files articles under known categories never pays."""
    known = _SLUGS.get(level_key)
    if known is None:
        from pypinyin import lazy_pinyin  # lazily: its phrase tables are large
        words = lazy_pinyin(level_key, errors=lambda chars: [chars])
        text = unicodedata.normalize("NFKD", "-".join(words)).encode("ascii", "ignore").decode().lower()
        text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
        text = re.sub(r"-{2,}", "-", text)[:80].strip("-")
        known = _SLUGS[level_key] = text or "c-" + hashlib.sha1(level_key.encode()).hexdigest()[:8]
    return known


def learn_slugs(slugs: dict[str, str]) -> None:
    """Slugs a parsing worker worked out: a cold build's storing process then
    never loads pypinyin itself (its workers had it loaded anyway)."""
    _SLUGS.update(slugs)


def path_slugs(key: str) -> tuple[str, ...]:
    """The slug of each level of a folded category key (a/b -> (a's, b's))."""
    return tuple(slug(level) for level in key.split("/"))


def free_slug(base: str, taken) -> str:
    """`base`, or `base-2`, `base-3` … : the first not taken and not reserved."""
    slug, n = base, 2
    while slug in taken or slug in RESERVED:
        slug, n = f"{base}-{n}", n + 1
    return slug


def is_uri(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https", "tag", "urn") and (bool(parts.netloc) or parts.scheme != "http")
