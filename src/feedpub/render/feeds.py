"""Items -> RSS 2.0, Atom 1.0 and JSON Feed 1.1 bytes. A pure function.

Same items, same bytes: feedgen defaults lastBuildDate, the feed's updated and
every entry's updated to the clock, so each is set from the items; entries are
appended in the order given (feedgen prepends by default). feedgen switches the
process locale to format dates, so render in one thread. What feedgen cannot
write (hub and archive links in RSS, RFC 5005's fh:archive, the syndication
module, the stylesheet instruction) is added to its tree afterwards.
"""

from __future__ import annotations

import html
import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone, tzinfo

from feedgen.entry import FeedEntry
from feedgen.ext.dc import DcEntryExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .. import __version__
from ..model import Item

GENERATOR_URI = "https://pypi.org/project/feedpub/"
ATOM_NS = "http://www.w3.org/2005/Atom"
FH_NS = "http://purl.org/syndication/history/1.0"
SY_NS = "http://purl.org/rss/1.0/modules/syndication/"


@dataclass(frozen=True)
class FeedInfo:
    title: str
    description: str
    home: str                 # the human page this feed belongs to
    urls: dict                # format -> this feed's own URL in that format
    language: str
    author: str
    copyright: str = ""
    icon: str | None = None
    logo: str | None = None
    ttl: int | None = None    # minutes: how often the feed may change
    hubs: tuple[str, ...] = ()
    stylesheet: str | None = None             # URL of the XSL view
    archive: bool = False                     # an RFC 5005 archive document
    archive_links: dict = field(default_factory=dict)   # rel -> {format -> URL}
    full_text: bool = True
    email: str | None = None                  # the newsroom's address: RSS <author> needs one


@dataclass(frozen=True)
class Entry:
    item: Item
    link: str                 # absolute
    categories: tuple[str, ...]   # display paths "物流資訊/行業新聞"


class SharedEntries:
    """Entries' bytes serialized once and spliced into every feed they
    belong to (see `_spliced`). An item is on its category's archive pages,
    its parents' and the all-feed's. Bounded (least recently used go
    first), so memory stays flat however big the archive. One instance per
    regeneration: items do not change within it.
    """

    def __init__(self, size: int = 4000):
        self.size = size
        self._bytes: OrderedDict = OrderedDict()

    def serialized(self, key, kind: str, namespaces: tuple, make) -> bytes:
        """An entry's bytes in one format under one set of root namespaces."""
        key = (key, kind, namespaces)
        data = self._bytes.get(key)
        if data is None:
            data = self._bytes[key] = make()
            if len(self._bytes) > self.size:
                self._bytes.popitem(last=False)
        else:
            self._bytes.move_to_end(key)
        return data


def _entry(e: Entry, zone: tzinfo, full_text: bool, email: str | None = None) -> FeedEntry:
    it = e.item
    fe = FeedEntry()
    fe.register_extension("dc", DcEntryExtension, atom=False, rss=True)
    fe.id(it.id)
    fe.guid(it.id, permalink=it.id == e.link)
    fe.title(it.title)
    fe.link(href=e.link, rel="alternate", type="text/html")
    published = it.published.astimezone(zone)
    fe.published(published)
    fe.pubDate(published)
    fe.updated(it.updated.astimezone(zone))
    with_content = bool(it.body_html and full_text)
    if with_content:
        fe.content(it.body_html, type="html")
    if it.summary:
        if not with_content:
            # Atom: a summary beside the full content is what some readers
            # (rss2email) show instead of it; without content, it is the text.
            fe.summary(it.summary)
        # RSS readers render <description> as HTML: the plain-text summary is
        # escaped, so `1 < 2` or a `<img onerror=…>` in the text stays text.
        # feedgen's setters tie RSS's description to Atom's summary or
        # content; this sets the RSS one alone (feedgen's version is bounded).
        fe._FeedEntry__rss_description = html.escape(it.summary, quote=False)
    for path in e.categories:
        fe.category(term=path, label=path.replace("/", " › "))
    who = it.author or it.source_name
    if who:
        # RSS <author> must be an email address (the W3C validator refuses a
        # name): with one configured it carries it, else dc:creator the name.
        fe.author({"name": who, "email": email} if email else {"name": who})
        if not email:
            fe.dc.dc_creator(who)
    return fe


def _generator(info: FeedInfo, entries: list[Entry], zone: tzinfo, with_entries: bool = True) -> FeedGenerator:
    """The feed as feedgen makes it; without its entries (`with_entries`
    False) for the spliced path, which adds their bytes itself."""
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.title(info.title)
    fg.description(info.description or info.title)
    fg.language(info.language)
    fg.generator("feedpub", __version__, GENERATOR_URI)
    fg.author({"name": info.author})
    fg.id(info.urls["atom"])
    fg.link(href=info.home, rel="alternate", type="text/html")
    if info.copyright:
        fg.rights(info.copyright)
    if info.icon:
        fg.icon(info.icon)
    if info.logo:
        fg.logo(info.logo)
        fg.image(url=info.logo, title=info.title, link=info.home)
    if info.ttl:
        fg.ttl(info.ttl)
    last = max((e.item.updated for e in entries), default=None)
    fg.lastBuildDate((last or datetime(1970, 1, 1, tzinfo=timezone.utc)).astimezone(zone))
    for e in entries if with_entries else ():
        fg.add_entry(_entry(e, zone, info.full_text, info.email), order="append")   # the dc extension is on it
    return fg


def _serialize(root, info: FeedInfo) -> bytes:
    """The document's bytes, with the stylesheet instruction."""
    tree = etree.ElementTree(root)
    if info.stylesheet:
        root.addprevious(etree.ProcessingInstruction("xml-stylesheet",
                                                     f'type="text/xsl" href="{info.stylesheet}"'))
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _completed(root, kind: str, info: FeedInfo):
    """Add what feedgen cannot write (the root element rebuilt when it needs
    namespaces feedgen did not declare).

    RSS and Atom differ only in where the additions go (the channel, or the
    feed element after its links) and in RSS's syndication-module elements.
    """
    extra_ns = {"fh": FH_NS} if info.archive else {}
    if kind == "rss":
        extra_ns.update(atom=ATOM_NS, sy=SY_NS)
    nsmap = {**extra_ns, **root.nsmap}
    if nsmap != root.nsmap:                       # lxml fixes namespaces at creation: rebuild the root
        new_root = etree.Element(root.tag, nsmap=nsmap, attrib=dict(root.attrib))
        new_root.extend(list(root))
        root = new_root
    parent = root.find("channel") if kind == "rss" else root
    at = max(i for i, el in enumerate(parent) if el.tag == f"{{{ATOM_NS}}}link") + 1
    additions = [etree.Element(f"{{{ATOM_NS}}}link", href=h, rel="hub") for h in info.hubs]
    additions += [etree.Element(f"{{{ATOM_NS}}}link", href=urls[kind], rel=rel)
                  for rel, urls in sorted(info.archive_links.items()) if kind in urls]
    if info.archive:
        additions.append(etree.Element(f"{{{FH_NS}}}archive"))
    elif kind == "rss" and info.ttl:
        for name, text in zip(("updatePeriod", "updateFrequency"), map(str, _update_period(info.ttl))):
            el = etree.Element(f"{{{SY_NS}}}{name}")
            el.text = text
            additions.append(el)
    for offset, el in enumerate(additions):
        parent.insert(at + offset, el)
    return root


def _update_period(ttl: int) -> tuple[str, int]:
    """ttl minutes -> the syndication module's (updatePeriod, updateFrequency)."""
    if ttl < 60:
        return "hourly", max(1, 60 // ttl)
    if ttl < 1440:
        return "daily", max(1, 1440 // ttl)
    return "weekly", max(1, 10080 // ttl)


# feedgen builds its lxml tree in _create_rss/_create_atom (stable since 0.9;
# the version is bounded in pyproject.toml). Taking the RSS tree from there,
# instead of parsing the bytes of rss_str() back, saves a parse and a
# pretty-printing per feed.

def _rss(fg: FeedGenerator, info: FeedInfo) -> bytes:
    return _serialize(_tree(fg, "rss", info), info)


def _atom(fg: FeedGenerator, info: FeedInfo) -> bytes:
    return _serialize(_tree(fg, "atom", info), info)


def _tree(fg: FeedGenerator, kind: str, info: FeedInfo):
    """The finished document's root element, by feedgen."""
    if kind == "rss":
        fg.link([{"href": info.home, "rel": "alternate", "type": "text/html"},
                 {"href": info.urls["rss"], "rel": "self", "type": "application/rss+xml"},
                 {"href": info.home, "rel": "alternate", "type": "text/html"}], replace=True)
        return _completed(fg._create_rss()[0], "rss", info)
    fg.link([{"href": info.home, "rel": "alternate", "type": "text/html"},
             {"href": info.urls["atom"], "rel": "self", "type": "application/atom+xml"}], replace=True)
    return _completed(_in_atom_namespace(fg._create_atom()[0]), "atom", info)


# -- each item serialized once, its bytes spliced into every feed holding it ----------------
#
# An item is in its category's feed, its parents', the all-feed and their
# archive pages: serializing whole trees wrote it again in each. feedgen
# still defines every byte: the feed is its document without entries, and
# each entry is its element, serialized as the only child of an element
# with the same namespaces at the same depth (so with the same indentation
# and no namespace declarations of its own); the entries' bytes go where
# feedgen would have put them, in order, each after the newline and
# indentation pretty-printing puts before an element there.
# tests/test_spliced_feeds.py holds the two paths to the same bytes.

_CLOSE = {"rss": b"\n  </channel>", "atom": b"\n</feed>"}
_BEFORE = {"rss": b"\n    ", "atom": b"\n  "}


def _spliced(kind: str, fg: FeedGenerator, info: FeedInfo, entries: list[Entry], zone: tzinfo,
             shared: SharedEntries) -> bytes:
    root = _tree(fg, kind, info)                       # fg holds no entries: the feed around them
    nsmap = root.nsmap
    doc = _serialize(root, info)
    if not entries:
        return doc
    at = doc.rindex(_CLOSE[kind])
    parts = [doc[:at]]
    namespaces = tuple(sorted(nsmap.items(), key=lambda kv: kv[0] or ""))
    for e in entries:
        key = (e.item.id, e.link, e.categories, info.full_text, info.email)
        parts.append(_BEFORE[kind])
        parts.append(shared.serialized(key, kind, namespaces, lambda e=e: _entry_bytes(e, kind, nsmap, zone, info)))
    parts.append(doc[at:])
    return b"".join(parts)


def _entry_bytes(e: Entry, kind: str, nsmap: dict, zone: tzinfo, info: FeedInfo) -> bytes:
    written = _entry_text(e, kind, nsmap, zone, info.full_text, info.email)
    return written if written is not None else _element_bytes(e, kind, nsmap, zone, info)


def _element_bytes(e: Entry, kind: str, nsmap: dict, zone: tzinfo, info: FeedInfo) -> bytes:
    """The entry's element serialized as the only child of an element with the feed's namespaces."""
    if kind == "rss":
        holder = etree.Element("rss", nsmap=nsmap)
        etree.SubElement(holder, "channel").append(_entry(e, zone, info.full_text, info.email).rss_entry())
        data = etree.tostring(holder, encoding="UTF-8", pretty_print=True)
        start = data.index(b"<channel>") + len(b"<channel>") + len(_BEFORE["rss"])
        return data[start:data.rindex(_CLOSE["rss"])]
    holder = etree.Element(f"{{{ATOM_NS}}}feed", nsmap=nsmap)
    holder.append(_into_atom_namespace(_entry(e, zone, info.full_text, info.email).atom_entry()))
    data = etree.tostring(holder, encoding="UTF-8", pretty_print=True)
    start = data.index(b">") + 1 + len(_BEFORE["atom"])
    return data[start:data.rindex(_CLOSE["atom"])]


# -- an entry's bytes without feedgen's FeedEntry ---------------------------------------------
#
# What `_element_bytes` gets from feedgen's rss_entry()/atom_entry() for what
# `_entry` sets, written as text: feedgen's setters, its elements and their
# serialization cost more than the entry itself on every item of a first
# build. The same elements, order and attributes (feedgen's Atom link
# carries href alone: its loop reads rel and type from the new element),
# pretty-printed at their depth in the feed and escaped as libxml2 does
# (& < > in text, and " newline CR tab in attributes too; CR in text as
# &#13;). Text libxml2 would refuse (a character XML 1.0 has no place for),
# a namespace the feed did not declare, or an item feedgen would refuse (no
# id or title): feedgen decides. tests/test_spliced_feeds.py holds the two
# to the same bytes.

_CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _rfc822(dt: datetime) -> str:
    """feedgen's formatRFC2822 (strftime in the C locale), without switching the process's locale."""
    return f"{_DAYS[dt.weekday()]}, {dt.day:02d} {_MONTHS[dt.month - 1]} {dt.strftime('%Y %H:%M:%S %z')}"



_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _entry_text(e: Entry, kind: str, nsmap: dict, zone: tzinfo, full_text: bool, email: str | None) -> bytes | None:
    it = e.item
    who = it.author or it.source_name
    texts = [it.id, it.title, e.link, it.summary, it.body_html if full_text else "", who or "", email or "",
             *e.categories]
    if not (it.id and it.title) or any(_NOT_XML_CHAR.search(t) for t in texts if t):
        return None
    with_content = bool(it.body_html and full_text)
    if kind == "rss":
        prefixes = {uri: prefix for prefix, uri in nsmap.items()}
        content, dc = prefixes.get(_CONTENT_NS), prefixes.get(_DC_NS)
        if not content or not dc:
            return None
        at = "\n      "
        out = [f"<item>{at}<title>{_text(it.title)}</title>"]
        if e.link:
            out.append(f"{at}<link>{_text(e.link)}</link>")
        description = html.escape(it.summary, quote=False) if it.summary else None
        body = it.body_html if with_content else None
        if description:
            out.append(f"{at}<description>{_text(description)}</description>")
            if body:
                out.append(f"{at}<{content}:encoded>{_text(body)}</{content}:encoded>")
        elif body:
            out.append(f"{at}<description>{_text(body)}</description>")
        if who and email:
            out.append(f"{at}<author>{_text(f'{email} ({who})')}</author>")
        out.append(f'{at}<guid isPermaLink="{"true" if it.id == e.link else "false"}">{_text(it.id)}</guid>')
        out.extend(f"{at}<category>{_text(path.replace('/', ' › '))}</category>" for path in e.categories)
        out.append(f"{at}<pubDate>{_rfc822(it.published.astimezone(zone))}</pubDate>")
        if who and not email:
            out.append(f"{at}<{dc}:creator>{_text(who)}</{dc}:creator>")
        out.append("\n    </item>")
        return "".join(out).encode("utf-8")
    if nsmap.get(None) != ATOM_NS:
        return None
    at = "\n    "
    out = [f"<entry>{at}<id>{_text(it.id)}</id>{at}<title>{_text(it.title)}</title>"
           f"{at}<updated>{it.updated.astimezone(zone).isoformat()}</updated>"]
    if who:
        out.append(f"{at}<author>{at}  <name>{_text(who)}</name>")
        if email:
            out.append(f"{at}  <email>{_text(email)}</email>")
        out.append(f"{at}</author>")
    if with_content:
        out.append(f'{at}<content type="html">{_text(it.body_html)}</content>')
    out.append(f'{at}<link href="{_attr(e.link)}"/>')
    if it.summary and not with_content:
        out.append(f"{at}<summary>{_text(it.summary)}</summary>")
    for path in e.categories:
        label = path.replace("/", " › ")
        out.append(f'{at}<category term="{_attr(path)}"' + (f' label="{_attr(label)}"/>' if label else "/>"))
    out.append(f"{at}<published>{it.published.astimezone(zone).isoformat()}</published>\n  </entry>")
    return "".join(out).encode("utf-8")


def _text(s: str) -> str:
    # str.replace, not str.translate: one fast scan per character, where translate looks up each character
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _attr(s: str) -> str:
    return (_text(s).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;"))




def _in_atom_namespace(feed):
    """feedgen's Atom tree names its elements without a namespace and puts a
    literal xmlns attribute on the root; the bytes are right, the tree is not.
    Move every element into the Atom namespace (what parsing the bytes back
    would do, at a fraction of the cost)."""
    nsmap = {None: ATOM_NS, **{k: v for k, v in feed.nsmap.items() if k}}
    root = etree.Element(f"{{{ATOM_NS}}}{feed.tag}", nsmap=nsmap,
                         attrib={k: v for k, v in feed.attrib.items() if k != "xmlns"})
    root.extend(list(feed))
    for child in root:
        _into_atom_namespace(child)
    return root


def _into_atom_namespace(element):
    """An element of feedgen's Atom tree and all below it, named in the Atom namespace."""
    for el in element.iter():
        if isinstance(el.tag, str) and not el.tag.startswith("{"):
            el.tag = f"{{{ATOM_NS}}}{el.tag}"
    return element


def rss(info: FeedInfo, entries: list[Entry], zone: tzinfo) -> bytes:
    """RSS as feedgen writes the whole tree: what the spliced path must equal."""
    return _rss(_generator(info, entries, zone), info)


def atom(info: FeedInfo, entries: list[Entry], zone: tzinfo) -> bytes:
    """Atom as feedgen writes the whole tree: what the spliced path must equal."""
    return _atom(_generator(info, entries, zone), info)


def _rfc3339(dt: datetime, zone: tzinfo) -> str:
    return dt.astimezone(zone).isoformat()


def json_feed(info: FeedInfo, entries: list[Entry], zone: tzinfo) -> bytes:
    """JSON Feed 1.1: the same items, ids, dates and titles as the XML twins."""
    feed: dict = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": info.title,
        "home_page_url": info.home,
        "feed_url": info.urls["json"],
        "description": info.description or info.title,
        "language": info.language,
        "authors": [{"name": info.author}],
        "author": {"name": info.author},
    }
    if info.logo:
        feed["icon"] = info.logo
    if info.icon:
        feed["favicon"] = info.icon
    if info.hubs:
        feed["hubs"] = [{"type": "WebSub", "url": h} for h in info.hubs]
    items = []
    for e in entries:
        it = e.item
        item: dict = {"id": it.id, "url": e.link, "title": it.title}
        if it.body_html and info.full_text:
            item["content_html"] = it.body_html
        else:
            item["content_text"] = it.summary
        if it.summary:
            item["summary"] = it.summary
        item["date_published"] = _rfc3339(it.published, zone)
        item["date_modified"] = _rfc3339(it.updated, zone)
        who = it.author or it.source_name
        if who:
            item["authors"] = [{"name": who}]
            item["author"] = {"name": who}          # JSON Feed 1.0's field: what 1.0 readers (atoma) read
        if e.categories:
            item["tags"] = list(e.categories)
        item["language"] = info.language
        items.append(item)
    feed["items"] = items
    return (indented_json(feed) + "\n").encode("utf-8")


_STRING = json.encoder.encode_basestring          # C where the interpreter has it, as json's own encoder


def indented_json(value, level: int = 0) -> str:
    """Exactly `json.dumps(value, ensure_ascii=False, indent=1)` for the
    types a JSON Feed holds (dict, list, str, int, bool, None), with its
    strings escaped by the C encoder: with `indent`, json falls back to
    its pure-Python encoder, and a cold build writes every item's text."""
    if isinstance(value, str):
        return _STRING(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        pad = "\n" + " " * (level + 1)
        return "{" + ",".join(pad + _STRING(k) + ": " + indented_json(v, level + 1) for k, v in value.items()) \
            + "\n" + " " * level + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        pad = "\n" + " " * (level + 1)
        return "[" + ",".join(pad + indented_json(v, level + 1) for v in value) + "\n" + " " * level + "]"
    return json.dumps(value)                   # numbers, true, false, null


RENDERERS = {"rss": rss, "atom": atom, "json": json_feed}


def render_capped(formats, info: FeedInfo, entries: list[Entry], zone: tzinfo, max_bytes: int, *,
                  shared: SharedEntries | None = None, keep_all: bool = False) -> dict[str, bytes]:
    """Every format of one feed, none larger than `max_bytes`: the one render
    path of current feeds and archive pages alike.

    A file too big first carries its giant articles (a tenth of the cap or
    more) with their summary and link only, so one article cannot push every
    other one out. Then a current feed drops items from its end (they stay in
    the archives); an archive page, which must hold its items, carries them
    all summary-only instead.
    """
    out = _render(formats, info, entries, zone, shared)
    for fmt in [f for f in formats if len(out[f]) > max_bytes]:
        limit = max_bytes // 10
        trimmed = [replace(e, item=replace(e.item, body_html="")) if len(e.item.body_html.encode()) > limit else e
                   for e in entries]
        data = _render([fmt], info, trimmed, zone)[fmt]
        if len(data) > max_bytes and keep_all:
            data = _render([fmt], replace(info, full_text=False), trimmed, zone)[fmt]
        n = len(trimmed)
        while len(data) > max_bytes and n > 1 and not keep_all:
            n = min(n - 1, max(1, int(n * max_bytes / len(data) * 0.97)))
            data = _render([fmt], info, trimmed[:n], zone)[fmt]
        out[fmt] = data
    return out


def _render(formats, info: FeedInfo, entries: list[Entry], zone: tzinfo,
            shared: SharedEntries | None = None) -> dict[str, bytes]:
    """`shared`: entries' bytes kept across the feeds of one regeneration
    (the items must not change within it); else for this feed only."""
    out = {}
    if "rss" in formats or "atom" in formats:
        fg = _generator(info, entries, zone, with_entries=False)
        shared = shared or SharedEntries(len(entries) + 1)
        for kind in ("rss", "atom"):
            if kind in formats:
                out[kind] = _spliced(kind, fg, info, entries, zone, shared)
    if "json" in formats:
        out["json"] = json_feed(info, entries, zone)
    return out
