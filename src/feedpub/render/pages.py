"""HTML for people: article pages, category pages, the index, and the OPML.

Articles gathered without a URL (text dumps, most JSON) need a page a reader's
click can land on; category pages let that page's breadcrumb lead somewhere
and tell a person who opened a feed how to subscribe; the index lists every
feed with autodiscovery links. All pure and deterministic, like the feeds: no
clock, nothing but the items.

Links meant for people are relative to the page they are on, so the folder
works wherever it is served (a preview on 127.0.0.1, a CDN, file://).
Autodiscovery links, canonical links and the OPML's feed URLs are absolute:
readers and subscriptions need them so.
"""

from __future__ import annotations

import posixpath
from datetime import tzinfo
from html import escape
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from .. import __version__
from ..model import Item
from .layout import Channel

_STYLE = """body{font:16px/1.7 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}a{color:#0b5cad}nav{font-size:.9rem;color:#666}
.meta{color:#666;font-size:.9rem}li{margin:.3rem 0}.feeds a{margin-right:.6rem}time{white-space:nowrap}
.note{background:#fff8dc;border:1px solid #ecd98b;padding:.8rem 1rem;border-radius:6px}
code{background:#f3f3f3;padding:.1rem .3rem;word-break:break-all}td{padding:.1rem .6rem .1rem 0}"""

# The interface text, by the site's language: English, simplified or traditional Chinese.
WORDS = {
    "en": {
        "note": "This is a web feed. Copy its address into your feed reader (NetNewsWire, Feedly, Thunderbird, "
                "newsboat …) to get new articles as they are published.",
        "subscribe": "Subscribe", "categories": "Categories", "newest": "Newest", "none": "No articles yet.",
        "category": "Category", "articles": "Articles", "feeds": "Feeds", "all": "Every article",
        "opml": "OPML: one feed per category, to import into a reader",
        "opml_atom": "the same in Atom", "opml_all": "OPML: every article in one feed",
        "source": "Source", "with_sub": "with its subcategories", "latest": "Latest", "topics": "Topics",
        "opml_topics": "OPML: the topic feeds",
    },
    "zh-Hans": {
        "note": "这是一个订阅源（RSS/Atom）。把下面的网址复制到你的阅读器（如 NetNewsWire、Feedly、Thunderbird、"
                "newsboat），即可在新文章发布时收到更新。",
        "subscribe": "订阅", "categories": "栏目", "newest": "最新文章", "none": "暂无文章。",
        "category": "栏目", "articles": "文章数", "feeds": "订阅源", "all": "全部文章",
        "opml": "OPML：每个栏目一个订阅源，导入阅读器即可", "opml_atom": "Atom 版",
        "opml_all": "OPML：全部文章合为一个订阅源", "source": "来源", "with_sub": "含下级栏目", "latest": "最近更新",
        "topics": "专题", "opml_topics": "OPML：各专题订阅源",
    },
    "zh-Hant": {
        "note": "這是一個訂閱源（RSS/Atom）。把下面的網址複製到你的閱讀器（如 NetNewsWire、Feedly、Thunderbird、"
                "newsboat），即可在新文章發佈時收到更新。",
        "subscribe": "訂閱", "categories": "欄目", "newest": "最新文章", "none": "暫無文章。",
        "category": "欄目", "articles": "文章數", "feeds": "訂閱源", "all": "全部文章",
        "opml": "OPML：每個欄目一個訂閱源，匯入閱讀器即可", "opml_atom": "Atom 版",
        "opml_all": "OPML：全部文章合為一個訂閱源", "source": "來源", "with_sub": "含下級欄目", "latest": "最近更新",
        "topics": "專題", "opml_topics": "OPML：各專題訂閱源",
    },
}


def script_of(lang: str) -> str:
    """`zh-CN` -> zh-Hans, `zh-TW` -> zh-Hant, anything else -> en."""
    tag = lang.replace("_", "-").lower()
    if not (tag == "zh" or tag.startswith("zh-")):
        return "en"
    return "zh-Hant" if any(t in tag.split("-") for t in ("hant", "tw", "hk", "mo")) else "zh-Hans"


def words(lang: str) -> dict[str, str]:
    return WORDS[script_of(lang)]


def relative(here: str, target: str) -> str:
    """The link from the page at `here` to `target` (both relative to the output folder)."""
    return quote(posixpath.relpath(target, posixpath.dirname(here) or "."))


def _doc(lang: str, title: str, head: str, body: str) -> bytes:
    return (f"<!DOCTYPE html>\n<html lang={quoteattr(lang)}>\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<meta name=\"generator\" content=\"feedpub {__version__}\">\n"
            f"<title>{escape(title)}</title>\n{head}<style>{_STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
            ).encode("utf-8")


def _time(dt, zone: tzinfo) -> str:
    local = dt.astimezone(zone)
    return f"<time datetime=\"{local.isoformat()}\">{local:%Y-%m-%d %H:%M}</time>"


_KINDS = {"rss": ("application/rss+xml", "RSS"), "atom": ("application/atom+xml", "Atom"),
          "json": ("application/feed+json", "JSON Feed")}


def _alternates(channel: Channel, url_of, all_name: str, formats=("rss", "atom")) -> str:
    """Autodiscovery: readers given this page find its feeds (absolute URLs)."""
    name = channel.display or all_name
    return "".join(
        f"<link rel=\"alternate\" type=\"{_KINDS[fmt][0]}\" title={quoteattr(f'{name} ({_KINDS[fmt][1]})')} "
        f"href={quoteattr(url_of(channel.file(fmt)))}>\n" for fmt in formats)


def _crumbs(here: str, site_title: str, chain: list[Channel]) -> str:
    links = [f"<a href={quoteattr(relative(here, 'index.html'))}>{escape(site_title)}</a>"]
    links += [f"<a href={quoteattr(relative(here, c.page))}>{escape(c.names[-1])}</a>" for c in chain]
    return "<nav>" + " › ".join(links) + "</nav>"


def _link(here: str, item: Item) -> str:
    """Our own article page relatively; the article's own URL as it is."""
    return relative(here, item.page_path) if item.page_path else item.url


def article_page(item: Item, chain: list[Channel], *, site_title: str, lang: str, zone: tzinfo, url_of) -> bytes:
    w = words(lang)
    here = item.page_path
    meta = [_time(item.published, zone)]
    if item.source_name:
        meta.append(f"{w['source']}: {escape(item.source_name)}")
    if item.author and item.author != item.source_name:
        meta.append(escape(item.author))
    head = f"<link rel=\"canonical\" href={quoteattr(url_of(item.page_path))}>\n"
    body = (f"{_crumbs(here, site_title, chain)}\n<article>\n<h1>{escape(item.title)}</h1>\n"
            f"<p class=\"meta\">{' · '.join(meta)}</p>\n{item.body_html}\n</article>")
    return _doc(lang, item.title, head, body)


def _item_list(here: str, items, zone: tzinfo, w: dict) -> str:
    rows = [f"<li><a href={quoteattr(_link(here, item))}>{escape(item.title)}</a> <span class=\"meta\">"
            f"{_time(item.published, zone)}</span></li>" for item in items]
    return "<ul>\n" + "\n".join(rows) + "\n</ul>" if rows else f"<p>{escape(w['none'])}</p>"


# How each script variant is named to people (in its own script).
VARIANT_LABELS = {"zh-Hans": "简体", "zh-CN": "简体", "zh-Hant": "繁體", "zh-TW": "臺灣正體", "zh-HK": "香港繁體"}


def _format_links(here: str, channel: Channel, formats, variants=()) -> str:
    links = "".join(f"<a href={quoteattr(relative(here, channel.file(f)))}>{_KINDS[f][1]}</a>" for f in formats)
    for v in variants:
        links += f" · {escape(VARIANT_LABELS[v])}: " + "".join(
            f"<a href={quoteattr(relative(here, channel.file(f, v)))}>{_KINDS[f][1]}</a>" for f in formats)
    return links


def _subscribe(here: str, channel: Channel, url_of, formats, w: dict, opml: str | None = None,
               variants=()) -> str:
    """What a person who opened a feed in a browser needs: what it is, its address, the formats."""
    main = formats[0]
    if opml is None:
        opml = f"<a href={quoteattr(relative(here, channel.opml))}>OPML</a>"
        formats_line = (f"<p class=\"feeds\">{escape(w['subscribe'])}: {_format_links(here, channel, formats, variants)}"
                        f"{opml}</p>")
    else:
        formats_line = (f"<p class=\"feeds\">{escape(w['all'])}: {_format_links(here, channel, formats, variants)}</p>"
                        f"\n{opml}")
    return (f"<div class=\"note\"><p>{escape(w['note'])}</p>\n"
            f"<p><code>{escape(url_of(channel.file(main)))}</code></p>\n{formats_line}</div>")


def category_page(channel: Channel, chain: list[Channel], children: list[Channel], items, *,
                  site_title: str, lang: str, zone: tzinfo, url_of, formats=("rss", "atom"), variants=()) -> bytes:
    w = words(lang)
    here = channel.page
    sub = ""
    if children:
        sub = f"<h2>{escape(w['categories'])}</h2>\n<ul>\n" + "\n".join(
            f"<li><a href={quoteattr(relative(here, c.page))}>{escape(c.names[-1])}</a></li>"
            for c in children) + "\n</ul>\n"
    body = (f"{_crumbs(here, site_title, chain[:-1])}\n<h1>{escape(channel.names[-1])}</h1>\n"
            f"{_subscribe(here, channel, url_of, formats, w, variants=variants)}\n{sub}<h2>{escape(w['newest'])}</h2>\n"
            f"{_item_list(here, items, zone, w)}")
    return _doc(lang, f"{channel.display} · {site_title}", _alternates(channel, url_of, w["all"], formats), body)


def tree_order(channels: list[Channel]) -> list[Channel]:
    """Category channels depth first: each one right after its parent, siblings in the given order."""
    children: dict[str, list[Channel]] = {}
    for ch in channels:
        if ch.category_pk is not None and not ch.topic:
            children.setdefault(ch.parent_folder or "", []).append(ch)
    out: list[Channel] = []

    def walk(parent: str) -> None:
        for ch in children.get(parent, []):
            out.append(ch)
            walk(ch.folder)
    walk("")
    return out


def index_page(all_channel: Channel, rows: list[tuple], items, *, site_title: str,
               description: str, lang: str, zone: tzinfo, url_of, formats=("rss", "atom"),
               opml_files: dict[str, str] | None = None, topics: list[tuple] = (), variants=()) -> bytes:
    """Every category (under its parent) with its item count, newest item time and feed links."""
    w = words(lang)
    here = "index.html"
    parents = {ch.parent_folder for ch, _, _ in rows}

    def table(rows, heading: str) -> str:
        lines = []
        for ch, count, newest in rows:
            indent = "&#160;" * 4 * (len(ch.names) - 1) if not ch.topic else ""
            note = f" <span class=\"meta\">({escape(w['with_sub'])})</span>" if ch.folder in parents else ""
            lines.append(f"<tr><td>{indent}<a href={quoteattr(relative(here, ch.page))}>{escape(ch.names[-1])}</a>"
                         f"{note}</td><td>{count}</td><td>{_time(newest, zone) if newest else ''}</td>"
                         f"<td class=\"feeds\">{_format_links(here, ch, formats, variants)}</td></tr>")
        return (f"<table>\n<tr><th>{escape(heading)}</th><th>{escape(w['articles'])}</th>"
                f"<th>{escape(w['latest'])}</th><th>{escape(w['feeds'])}</th></tr>\n" +
                "\n".join(lines) + "\n</table>") if lines else ""
    tables = table(rows, w["category"]) + (f"\n<h2>{escape(w['topics'])}</h2>\n" + table(topics, w["topics"])
                                           if topics else "")
    opml_files = opml_files or {}
    opml_links = []
    if "rss" in opml_files:
        link = f"<a href={quoteattr(relative(here, opml_files['rss']))}>{escape(w['opml'])}</a>"
        if "atom" in opml_files:
            link += f" (<a href={quoteattr(relative(here, opml_files['atom']))}>{escape(w['opml_atom'])}</a>)"
        opml_links.append(link)
    if "all" in opml_files:
        opml_links.append(f"<a href={quoteattr(relative(here, opml_files['all']))}>{escape(w['opml_all'])}</a>")
    if "topics" in opml_files:
        opml_links.append(f"<a href={quoteattr(relative(here, opml_files['topics']))}>{escape(w['opml_topics'])}</a>")
    for v in variants:
        if f"rss.{v}" in opml_files:
            opml_links.append(f"<a href={quoteattr(relative(here, opml_files[f'rss.{v}']))}>"
                              f"{escape(w['opml'])} ({escape(VARIANT_LABELS[v])})</a>")
    opml_part = "\n".join(f"<p class=\"feeds\">{link}</p>" for link in opml_links)
    body = (f"<h1>{escape(site_title)}</h1>\n<p>{escape(description)}</p>\n"
            f"{_subscribe(here, all_channel, url_of, formats, w, opml=opml_part, variants=variants)}\n"
            f"{tables}\n<h2>{escape(w['newest'])}</h2>\n{_item_list(here, items, zone, w)}")
    return _doc(lang, site_title, _alternates(all_channel, url_of, w["all"], formats), body)


# -- OPML ---------------------------------------------------------------------
_OPML_VERSION = {"rss": "RSS2", "atom": "ATOM1"}


def subscribable(channels: list[Channel], own: set, root: Channel | None = None) -> list[Channel]:
    """The channels an OPML offers: each article in exactly one of them.

    Walking down from the top (or from `root`), a category that has articles
    filed in it directly is offered, and its feed already holds its
    subcategories' articles, so they are not; a category without articles of
    its own is only a folder for its children. `own` holds the pks of the
    categories with articles filed directly in them.
    """
    children: dict[str, list[Channel]] = {}
    for ch in channels:
        if ch.category_pk is not None:
            children.setdefault(ch.parent_folder or "", []).append(ch)
    out: list[Channel] = []

    def walk(ch: Channel) -> None:
        if ch.category_pk in own:
            out.append(ch)
            return
        for kid in children.get(ch.folder, []):
            walk(kid)

    for top in ([root] if root is not None else children.get("", [])):
        walk(top)
    return out


def opml(channels: list[Channel], offered: list[Channel], *, title: str, label, url_of, fmt: str = "rss",
         variant: str | None = None) -> bytes:
    """An OPML a reader imports: one feed per offered channel, in one format,
    nested in folders by category, each with a name no other entry has
    (rss2email and feed2exec refuse or skip a repeated name)."""
    by_folder = {ch.folder: ch for ch in channels if ch.category_pk is not None}
    offered_set = {ch.folder for ch in offered}
    names: dict[str, str] = {}
    used: set[str] = set()
    for ch in offered:                       # unique names, deterministically
        name, n = label(ch), 2
        while name in used:
            name, n = f"{label(ch)} ({n})", n + 1
        used.add(name)
        names[ch.folder] = name

    def feed(ch: Channel, pad: str) -> str:
        attrs = [f"text={quoteattr(names[ch.folder])}", f"title={quoteattr(names[ch.folder])}", "type=\"rss\"",
                 f"version=\"{_OPML_VERSION[fmt]}\"", f"xmlUrl={quoteattr(url_of(ch.file(fmt, variant)))}",
                 f"htmlUrl={quoteattr(url_of(ch.page))}"]
        if ch.names:
            attrs.append(f"category={quoteattr('/' + ch.path_label)}")
        return f"{pad}<outline {' '.join(attrs)}/>"

    # Folders: the ancestors of the offered channels, as nested outlines.
    tree: dict[str, list[str]] = {}
    for ch in offered:
        folder = ch.folder
        while folder in by_folder and by_folder[folder].parent_folder:
            parent = by_folder[folder].parent_folder
            kids = tree.setdefault(parent, [])
            if folder not in kids:
                kids.append(folder)
            folder = parent
        tops = tree.setdefault("", [])
        if folder not in tops:
            tops.append(folder)
    order = {ch.folder: i for i, ch in enumerate(channels)}

    def emit(folder: str, pad: str) -> list[str]:
        if folder in offered_set or folder not in by_folder:
            ch = by_folder.get(folder) or next(c for c in offered if c.folder == folder)
            return [feed(ch, pad)]
        lines = [f"{pad}<outline text={quoteattr(by_folder[folder].names[-1])}>"]
        for kid in sorted(tree.get(folder, []), key=lambda f: order.get(f, 0)):
            lines += emit(kid, pad + "  ")
        return lines + [f"{pad}</outline>"]

    body: list[str] = []
    for folder in sorted(tree.get("", []), key=lambda f: order.get(f, -1)):
        body += emit(folder, "    ")
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n"
            f"    <title>{escape(title)}</title>\n  </head>\n  <body>\n" + "\n".join(body) +
            "\n  </body>\n</opml>\n").encode("utf-8")
