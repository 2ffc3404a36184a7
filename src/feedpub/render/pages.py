"""HTML for people: article pages, category pages, the index, and the OPML.

Articles gathered without a URL (text dumps, most JSON) need a page a reader's
click can land on; category pages let that page's breadcrumb lead somewhere;
the index lists every feed with autodiscovery links. All pure and
deterministic, like the feeds: no clock, nothing but the items.
"""

from __future__ import annotations

from datetime import tzinfo
from html import escape
from xml.sax.saxutils import quoteattr

from .. import __version__
from ..model import Item
from .layout import Channel

_STYLE = """body{font:16px/1.7 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}a{color:#0b5cad}nav{font-size:.9rem;color:#666}
.meta{color:#666;font-size:.9rem}li{margin:.3rem 0}.feeds a{margin-right:.6rem}time{white-space:nowrap}"""


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


def _alternates(channel: Channel, url_of, formats=("rss", "atom")) -> str:
    """Autodiscovery: readers given this page find its feeds."""
    name = channel.display or "all articles"
    return "".join(
        f"<link rel=\"alternate\" type=\"{_KINDS[fmt][0]}\" title={quoteattr(f'{name} ({_KINDS[fmt][1]})')} "
        f"href={quoteattr(url_of(channel.file(fmt)))}>\n" for fmt in formats)


def _crumbs(site_title: str, chain: list[Channel], url_of) -> str:
    links = [f"<a href={quoteattr(url_of('index.html'))}>{escape(site_title)}</a>"]
    links += [f"<a href={quoteattr(url_of(c.page))}>{escape(c.names[-1])}</a>" for c in chain]
    return "<nav>" + " › ".join(links) + "</nav>"


def article_page(item: Item, chain: list[Channel], *, site_title: str, lang: str, zone: tzinfo, url_of) -> bytes:
    meta = [_time(item.published, zone)]
    if item.source_name:
        meta.append(f"來源: {escape(item.source_name)}")
    if item.author and item.author != item.source_name:
        meta.append(escape(item.author))
    head = f"<link rel=\"canonical\" href={quoteattr(url_of(item.page_path))}>\n"
    body = (f"{_crumbs(site_title, chain, url_of)}\n<article>\n<h1>{escape(item.title)}</h1>\n"
            f"<p class=\"meta\">{' · '.join(meta)}</p>\n{item.body_html}\n</article>")
    return _doc(lang, item.title, head, body)


def _item_list(entries, zone: tzinfo) -> str:
    rows = [f"<li><a href={quoteattr(link)}>{escape(item.title)}</a> <span class=\"meta\">"
            f"{_time(item.published, zone)}</span></li>" for item, link in entries]
    return "<ul>\n" + "\n".join(rows) + "\n</ul>" if rows else "<p>No articles yet.</p>"


def _format_links(channel: Channel, url_of, formats) -> str:
    return "".join(f"<a href={quoteattr(url_of(channel.file(f)))}>{_KINDS[f][1]}</a>" for f in formats)


def _feed_links(channel: Channel, url_of, formats) -> str:
    return (f"<p class=\"feeds\">Subscribe: {_format_links(channel, url_of, formats)}"
            f"<a href={quoteattr(url_of(channel.opml))}>OPML</a></p>")


def category_page(channel: Channel, chain: list[Channel], children: list[Channel], entries, *,
                  site_title: str, lang: str, zone: tzinfo, url_of, formats=("rss", "atom")) -> bytes:
    sub = ""
    if children:
        sub = "<h2>Categories</h2>\n<ul>\n" + "\n".join(
            f"<li><a href={quoteattr(url_of(c.page))}>{escape(c.names[-1])}</a></li>" for c in children) + "\n</ul>\n"
    body = (f"{_crumbs(site_title, chain[:-1], url_of)}\n<h1>{escape(channel.names[-1])}</h1>\n"
            f"{_feed_links(channel, url_of, formats)}\n{sub}<h2>Newest</h2>\n{_item_list(entries, zone)}")
    return _doc(lang, f"{channel.display} · {site_title}", _alternates(channel, url_of, formats), body)


def index_page(all_channel: Channel, channels: list[tuple], entries, *, site_title: str,
               description: str, lang: str, zone: tzinfo, url_of, formats=("rss", "atom")) -> bytes:
    """Every category with its item count, newest item time and feed links."""
    rows = []
    for ch, count, newest in channels:
        indent = "&#160;" * 4 * (len(ch.names) - 1)
        rows.append(f"<tr><td>{indent}<a href={quoteattr(url_of(ch.page))}>{escape(ch.names[-1])}</a></td>"
                    f"<td>{count}</td><td>{_time(newest, zone) if newest else ''}</td>"
                    f"<td class=\"feeds\">{_format_links(ch, url_of, formats)}</td></tr>")
    table = ("<table>\n<tr><th>Category</th><th>Articles</th><th>Newest</th><th>Feeds</th></tr>\n" +
             "\n".join(rows) + "\n</table>") if rows else ""
    body = (f"<h1>{escape(site_title)}</h1>\n<p>{escape(description)}</p>\n"
            f"<p class=\"feeds\">Every article: {_format_links(all_channel, url_of, formats)} · "
            f"<a href={quoteattr(url_of('feeds.opml'))}>OPML (all feeds, to import into a reader)</a></p>\n"
            f"{table}\n<h2>Newest</h2>\n{_item_list(entries, zone)}")
    return _doc(lang, site_title, _alternates(all_channel, url_of, formats), body)


def opml(channels: list[Channel], *, site_title: str, url_of, root: Channel | None = None) -> bytes:
    """Every feed, nested by category, both XML formats (readers import all at once).

    With `root`, only that category's subtree (channels[0] is then skipped)."""
    def feeds(ch: Channel, pad: str) -> list[str]:
        label = ch.display or site_title
        category = quoteattr("/" + ch.path_label) if ch.names else None
        out = []
        for fmt, version in (("rss", "RSS2"), ("atom", "ATOM1")):
            attrs = [f"text={quoteattr(label)}", f"title={quoteattr(label)}", "type=\"rss\"",
                     f"version=\"{version}\"", f"xmlUrl={quoteattr(url_of(ch.file(fmt)))}",
                     f"htmlUrl={quoteattr(url_of(ch.page))}"]
            if category:
                attrs.append(f"category={category}")
            out.append(f"{pad}<outline {' '.join(attrs)}/>")
        return out

    children: dict[str | None, list[Channel]] = {}
    for ch in channels[1:]:
        children.setdefault(ch.parent_folder or "", []).append(ch)

    def tree(ch: Channel, pad: str) -> list[str]:
        kids = children.get(ch.folder, [])
        lines = [f"{pad}<outline text={quoteattr(ch.names[-1])}>"]
        lines += feeds(ch, pad + "  ")
        for kid in kids:
            lines += tree(kid, pad + "  ")
        lines.append(f"{pad}</outline>")
        return lines

    if root is None:
        body = feeds(channels[0], "    ")
        for top in children.get("", []):
            body += tree(top, "    ")
    else:
        body = tree(root, "    ")
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n"
            f"    <title>{escape(site_title)}</title>\n  </head>\n  <body>\n" + "\n".join(body) +
            "\n  </body>\n</opml>\n").encode("utf-8")
