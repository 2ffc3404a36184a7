"""The plain data that flows between the pipeline's stages.

Sources produce `RawArticle` (strings as written), normalize turns them into
`Article` (clean, zoned, keyed), the store keeps `Item` rows for render.
Everything here is immutable so a stage cannot change what another one sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RawArticle:
    """What a place said about one article, as written, and where and when."""

    source: str                      # the configured source name
    location: str                    # file path below the source root, or URL
    gathered_at: datetime            # aware; file mtime or HTTP Date
    title: str | None = None
    date: str | None = None          # as written: "2020/6/1 22:46:13", "3小時前"
    listing_date: str | None = None  # a listing's date for it, as written: used when `date` is missing or says less
    updated: str | None = None
    body: str | None = None
    body_format: str = "text"        # "text", "html" or "markdown"
    breadcrumb: str | None = None    # "首頁 > 物流資訊 > 行業新聞 > title"
    categories: tuple[str, ...] = () # explicit paths "a/b" (front matter, JSON)
    source_name: str | None = None   # 來源
    author: str | None = None
    summary: str | None = None
    link: str | None = None
    claimed: bool = False            # `link` is what the page says it is (a canonical link), not where it was found
    base_url: str | None = None      # what relative links in the body are relative to (the page's URL)
    id: str | None = None            # an id the article carries itself
    timezone: str | None = None      # zone for times that carry none
    default_category: str | None = None
    notes: tuple[str, ...] = ()      # what the source had to repair (encoding ...)


@dataclass(frozen=True)
class CategoryPath:
    """One category as a path of levels, with its script-folded key."""

    levels: tuple[str, ...]          # as the article spells them (display)
    key: str                         # folded, "/"-joined: identity across scripts (slugs: identity.path_slugs)

    def prefixes(self) -> list[CategoryPath]:
        """This path and every ancestor, shortest first."""
        keys = self.key.split("/")
        return [CategoryPath(self.levels[:n], "/".join(keys[:n]))
                for n in range(1, len(self.levels) + 1)]


@dataclass(frozen=True)
class Article:
    """One article, normalized: clean text, UTC instants, categories, key."""

    source: str
    location: str
    key: str                          # content key: finds the stored row
    title: str
    body_html: str
    summary: str
    published: datetime | None        # UTC; None: undated (first-seen wins)
    updated: datetime | None          # UTC; None: not given
    gathered_at: datetime             # UTC
    date_raw: str | None
    categories: tuple[CategoryPath, ...]
    content_hash: str                 # what counts as an edit
    url: str | None = None
    author: str | None = None
    source_name: str | None = None
    given_id: str | None = None
    topics: tuple[str, ...] = ()      # slugs of the filtered feeds ([[feeds]]) it is in
    claimed: bool = False             # its URL is a page's claim (RawArticle.claimed): it may change no item
                                      # published from another place


# A filtered feed's pseudo-category in the store is keyed "~" + its slug (no
# folded category key starts so): its items are links like a category's.
TOPIC = "~"


@dataclass(frozen=True)
class Problem:
    """A file or page that could not be used fully, and why."""

    source: str
    location: str
    reason: str
    severity: str = "error"           # "error": nothing published; "warning": published anyway


@dataclass(frozen=True)
class CategoryRow:
    """A stored category, as the store knows it: render lays out its feeds from these."""

    pk: int
    key: str
    parent_pk: int | None
    depth: int
    slug: str
    name: str


@dataclass(frozen=True)
class Item:
    """A stored article as render sees it: everything a feed entry needs."""

    id: str
    url: str
    title: str
    summary: str
    body_html: str
    published: datetime               # UTC, never None (first-seen for undated)
    updated: datetime                 # UTC, >= published
    author: str | None
    source_name: str | None
    page_path: str | None = None      # our own article page, relative to output
