"""Items -> RSS 2.0 and Atom 1.0 bytes with feedgen. A pure function.

Same items, same bytes: feedgen defaults lastBuildDate, the feed's updated and
every entry's updated to the clock, so each is set from the items; entries are
appended in the order given (feedgen prepends by default). feedgen switches the
process locale to format dates, so render in one thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from feedgen.feed import FeedGenerator

from .. import __version__
from ..model import Item

GENERATOR_URI = "https://pypi.org/project/feedpub/"


@dataclass(frozen=True)
class FeedInfo:
    title: str
    description: str
    home: str                 # the human page this feed belongs to
    rss_url: str
    atom_url: str
    language: str
    author: str


@dataclass(frozen=True)
class Entry:
    item: Item
    link: str                 # absolute
    categories: tuple[str, ...]   # display paths "物流資訊/行業新聞"


def _generator(info: FeedInfo, entries: list[Entry], zone: tzinfo, self_url: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.title(info.title)
    fg.description(info.description or info.title)
    fg.language(info.language)
    fg.generator("feedpub", __version__, GENERATOR_URI)
    fg.author({"name": info.author})
    fg.id(info.atom_url)
    fg.link(href=info.home, rel="alternate", type="text/html")
    last = max((e.item.updated for e in entries), default=None)
    if last is not None:
        fg.lastBuildDate(last.astimezone(zone))
        fg.updated(last.astimezone(zone))
    for e in entries:
        it = e.item
        fe = fg.add_entry(order="append")
        fe.id(it.id)
        fe.guid(it.id, permalink=it.id == e.link)
        fe.title(it.title)
        fe.link(href=e.link, rel="alternate", type="text/html")
        fe.published(it.published.astimezone(zone))
        fe.pubDate(it.published.astimezone(zone))
        fe.updated(it.updated.astimezone(zone))
        if it.summary:
            fe.summary(it.summary)
        if it.body_html:
            fe.content(it.body_html, type="html")
        for path in e.categories:
            fe.category(term=path, label=path.replace("/", " › "))
        who = it.author or it.source_name
        if who:
            fe.author({"name": who})
            fe.dc.dc_creator(who)
    return fg


def rss(info: FeedInfo, entries: list[Entry], zone: tzinfo) -> bytes:
    fg = _generator(info, entries, zone, info.rss_url)
    fg.link(href=info.rss_url, rel="self", type="application/rss+xml")
    fg.link(href=info.home, rel="alternate", type="text/html")
    return fg.rss_str(pretty=True)


def atom(info: FeedInfo, entries: list[Entry], zone: tzinfo) -> bytes:
    fg = _generator(info, entries, zone, info.atom_url)
    fg.link(href=info.atom_url, rel="self", type="application/atom+xml")
    return fg.atom_str(pretty=True)

