"""Where each category's feeds live, and what they are called.

Pure: categories as stored + configuration -> `Channel`s with slug paths, display
names and absolute URLs. Pelican's layout: one folder per category, nested as
the categories are (`wu-liu-zi-xun/hang-ye-xin-wen/rss.xml`), the all-articles
feeds at the top.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from ..config import CategoryOverride, ConfigError, Settings
from ..identity import free_slug
from ..model import TOPIC, CategoryRow

FORMATS = {"rss": "rss.xml", "atom": "atom.xml", "json": "feed.json"}
ARCHIVE_FORMATS = ("rss", "atom")       # RFC 5005 is about XML feeds
# The OPML files at the top: one feed per category in RSS (the one to import),
# the same in Atom, and the all-articles feed alone (never beside the others:
# its items are theirs too, and readers would show each article twice).
OPML_FILES = {"rss": "feeds.opml", "atom": "feeds-atom.opml", "all": "everything.opml", "topics": "topics.opml"}



@dataclass(frozen=True)
class Channel:
    """One feed family: a category (or all articles) and its files."""

    category_pk: int | None          # None: every article
    key: str                         # folded category key, "" for all
    names: tuple[str, ...]           # display levels, () for all
    folder: str                      # relative to the output dir, "" for all
    parent_folder: str | None
    topic: bool = False              # a filtered feed ([[feeds]]): articles about a subject, across categories

    @property
    def display(self) -> str:
        return " › ".join(self.names)

    @property
    def path_label(self) -> str:
        return "/".join(self.names)

    def file(self, fmt: str, variant: str | None = None) -> str:
        """The feed file in `fmt` (rss.xml), or its script variant's (rss.zh-Hans.xml)."""
        return self._at(with_variant(FORMATS[fmt], variant))

    def archive(self, fmt: str, page: int, variant: str | None = None) -> str:
        """Archive page `page` (1 = oldest) in `fmt` (and variant: 3.rss.zh-Hans.xml)."""
        return self._at("archive/" + with_variant(f"{page}.{fmt}.xml", variant))

    def _at(self, name: str) -> str:
        return f"{self.folder}/{name}" if self.folder else name

    @property
    def page(self) -> str:
        return f"{self.folder}/index.html" if self.folder else "index.html"

    @property
    def opml(self) -> str:
        return f"{self.folder}/feeds.opml" if self.folder else "feeds.opml"


def with_variant(name: str, variant: str | None) -> str:
    """rss.xml -> rss.zh-Hans.xml: a script variant's file beside the feed's."""
    if not variant:
        return name
    stem, _, ext = name.rpartition(".")
    return f"{stem}.{variant}.{ext}"


def absolute(settings: Settings, rel: str) -> str:
    return settings.site.feeds_url + quote(rel)


def channels(rows: list[CategoryRow], spellings: dict[int, list[tuple[str, int]]],
             overrides: dict[str, CategoryOverride], feeds=()) -> list[Channel]:
    """Every category's channel (parents before children) after the all-channel,
    then the filtered feeds' (`feeds`: the configured [[feeds]]).

    `overrides` are the configured [categories] by folded key."""
    topics = {TOPIC + f.slug: f for f in feeds}
    topic_rows = [r for r in rows if r.key in topics]
    rows = [r for r in rows if not r.key.startswith(TOPIC)]
    by_pk = {r.pk: r for r in rows}
    names: dict[int, str] = {}
    folders: dict[int, str] = {}
    for r in sorted(rows, key=lambda r: (r.depth, r.key)):
        ov = overrides.get(r.key)
        names[r.pk] = (ov.title if ov and ov.title else None) or _most_used(spellings.get(r.pk), r.name)
        if ov and ov.slug:
            folders[r.pk] = ov.slug
        else:
            parent = folders.get(r.parent_pk) if r.parent_pk else None
            folders[r.pk] = f"{parent}/{r.slug}" if parent else r.slug
    # A configured slug may equal one minted for another category: the
    # configured one wins, the minted one moves aside deterministically.
    used: dict[str, int] = {}
    for r in sorted(rows, key=lambda r: (not (overrides.get(r.key) and overrides[r.key].slug), r.depth, r.key)):
        folder = free_slug(folders[r.pk], used)
        used[folder] = r.pk
        folders[r.pk] = folder
    out = [Channel(None, "", (), "", None)]
    for r in sorted(rows, key=lambda r: (r.depth, r.key)):
        chain = []
        p = r
        while p is not None:
            chain.append(names[p.pk])
            p = by_pk.get(p.parent_pk) if p.parent_pk else None
        out.append(Channel(r.pk, r.key, tuple(reversed(chain)), folders[r.pk],
                           folders[r.parent_pk] if r.parent_pk else ""))
    for r in sorted(topic_rows, key=lambda r: r.key):
        feed = topics[r.key]
        if feed.slug in used:
            taken = next(c for c in out if c.folder == feed.slug)
            raise ConfigError(f"feeds: the slug {feed.slug!r} is the folder of the category {taken.display!r}: "
                              f"give the filtered feed another slug")
        out.append(Channel(r.pk, r.key, (feed.title,), feed.slug, "", topic=True))
    return out


def _most_used(spellings: list[tuple[str, int]] | None, fallback: str) -> str:
    if not spellings:
        return fallback
    # Most articles win; ties go to the alphabetically first, never to chance.
    return sorted(spellings, key=lambda sn: (-sn[1], sn[0]))[0][0]
