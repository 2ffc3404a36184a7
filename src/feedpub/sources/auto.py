"""An article page read without selectors (`[sources.article] auto = true`).

Portals and CMSs say what a page is in ways a reader can rely on more than on
their layout: meta tags (`ArticleTitle`, `PubDate`, `ContentSource` of TRS
government portals; Open Graph's `og:title` and `article:published_time`;
`publishdate`), JSON-LD (`datePublished`), `<time datetime>`, a byline
near the headline (`作者：… 來源：… 時間：…`) and a breadcrumb. The main text is
found by trafilatura, the field's standard main-content extractor (Apache-2.0;
measured against readability-lxml on the sample site and the test portals:
both found all the text, trafilatura with far less of the page around it).

Like every source, it returns what the page says as written: normalize
decides what a date or a source line means.
"""

from __future__ import annotations

import re
import unicodedata

from lxml import html as lxml_html

from . import jsontext
from .formats import crumb_text

_TITLE_META = ("ArticleTitle", "title", "og:title", "twitter:title", "headline")
_DATE_META = ("PubDate", "pubdate", "publishdate", "publish_date", "publish-date", "article:published_time",
              "datePublished", "og:published_time", "OriginalPublicationDate", "DC.date", "dc.date.issued",
              "date", "sailthru.date", "parsely-pub-date")
_SOURCE_META = ("ContentSource", "source", "article:source", "og:article:source")
_AUTHOR_META = ("author", "article:author", "Author")
_CRUMB_CLASSES = ("position", "breadcrumb", "crumb", "location", "dqwz", "curpos", "nav-path", "path", "weizhi")
_BYLINE = re.compile(r"(?:[發发][佈布表]|更新|出版)?(?:[時时][間间]|日期)\s*[:：]|來源|来源|出處|出处|作者|\d{4}\s*[-/.年]\s*\d{1,2}")
_DATEISH = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}|\d{1,2}\s+[A-Z][a-z]{2}\s+\d{4}\s+\d{1,2}:\d{2}"
                      r"|[A-Z][a-z]{2}\s+\d{1,2},\s+\d{4}"
                      r"|剛剛|刚刚|\d+\s*(?:秒|分鐘|分钟|小時|小时|天)前|(?:今天|昨天|前天)\s*\d{1,2}\s*[:：]\s*\d{2}")
# Around a page's own article, blocks of other articles (hot, related, most
# read, a sidebar) and the site's frame: their times are not the article's.
_ELSEWHERE = re.compile(r"(?<![a-z])(?:side|relat|hot|rank|recommend|popular|most-?read|mostread|foot|comment|"
                        r"nav|menu|topbar|banner)", re.I)
_CLOCK = re.compile(r"\d{1,2}\s*[:：時时点點]\s*\d{2}")
_SOURCE_IN = re.compile(r"(?:來源|来源|出處|出处)\s*[:：]\s*(\S+)")
_AUTHOR_IN = re.compile(r"(?:作者|記者|记者|編輯|编辑)\s*[:：]\s*(?:(?:記者|记者|編輯|编辑|通訊員|通讯员)\s+)?(\S+)")


def read_page(doc, text: str, where: dict | None = None) -> dict[str, str | None]:
    """title, date, source, author, breadcrumb (as written) and body (HTML)
    of an article page, from its lxml document and its decoded text.
    `where`, if given, is filled with where in the page each was found."""
    where = {} if where is None else where
    meta = _metas(doc)
    ld = _json_ld(doc)
    h1 = _first_text(doc, "//h1") or _first_text(doc, "//*[contains(@class,'title')]//*[self::h2 or self::h3]")
    titles = [(meta.get("articletitle"), "<meta name=ArticleTitle>"), (h1, "the headline (h1)"),
              (meta.get("og:title"), "<meta property=og:title>"), (meta.get("twitter:title"), "<meta twitter:title>"),
              (_text(ld.get("headline")), "JSON-LD headline"), (_page_title(doc), "<title>")]
    title = _first(titles, "title", where)
    byline = _byline(doc)
    dates = [(meta[k.lower()], f"<meta {k}>") for k in _DATE_META if meta.get(k.lower())]
    dates += [(v, f"JSON-LD {k}") for k, v in (("datePublished", ld.get("datePublished")),
                                                ("dateCreated", ld.get("dateCreated"))) if isinstance(v, str)]
    if byline:
        dates.append((byline, "the byline"))
    dates += [(t.get("datetime") or t.text_content(), "<time>") for t in doc.xpath("//time")
              if not _elsewhere(t)][:1]
    # An element that is the time itself (class "time", "date", "pubtime"…).
    for el in doc.xpath("//*[not(*)][contains(@class,'time') or contains(@class,'date') or contains(@id,'time') "
                        "or contains(@id,'date')]"):
        value = " ".join(el.text_content().split())
        if 2 <= len(value) <= 80 and _dateish(value) and not _elsewhere(el):
            dates.append((value, f"<{el.tag} class={el.get('class') or el.get('id')}>"))
            break
    dates = [(d.strip(), origin) for d, origin in dates if d and d.strip()]
    # The most exact: one with a time of day if there is one (a meta tag may give the day only).
    chosen = next(((d, o) for d, o in dates if _CLOCK.search(d)), dates[0] if dates else (None, None))
    date = _first([chosen], "date", where)
    sources = [(meta.get(k.lower()), f"<meta {k}>") for k in _SOURCE_META]
    if byline and (m := _SOURCE_IN.search(byline)):
        sources.append((m.group(0), "the byline"))  # the label stays: normalize's source_text strips it
    source = _first(sources, "source", where)
    authors = [(meta.get(k.lower()), f"<meta {k}>") for k in _AUTHOR_META]
    if byline and (m := _AUTHOR_IN.search(byline)):
        authors.append((m.group(1), "the byline"))
    author = _first(authors, "author", where)
    crumb = None
    for cls in _CRUMB_CLASSES:
        found = doc.xpath(f"//*[contains(concat(' ', normalize-space(@class), ' ', @id, ' '), '{cls}')]")
        if found:
            crumb = _first([(crumb_text(found[0].text_content()), f"the element of class or id {cls!r}")],
                           "breadcrumb", where)
            break
    body = _first([(main_text(text), "the main text (trafilatura)")], "body", where)
    return {"title": title, "date": date, "source": source, "author": author, "breadcrumb": crumb, "body": body}


def _dateish(value: str) -> bool:
    """Does the text hold a date (in any width: full-width digits and dashes too)?"""
    return bool(_DATEISH.search(unicodedata.normalize("NFKC", value)))


def _elsewhere(el) -> bool:
    """Is this element inside a block of other articles or of the site's frame?"""
    for node in el.iterancestors():
        if node.tag in ("aside", "footer", "nav"):
            return True
        if _ELSEWHERE.search(f"{node.get('class') or ''} {node.get('id') or ''}"):
            return True
    return False


def _first(candidates, key: str, where: dict) -> str | None:
    """The first candidate with a value; where it came from noted under `key`."""
    for value, origin in candidates:
        if value:
            where[key] = origin
            return value
    return None


def main_text(text: str) -> str | None:
    """The article's main text as HTML (trafilatura), paragraphs and links kept."""
    import trafilatura                                 # imported when used: auto pages only
    found = trafilatura.extract(text, output_format="html", favor_precision=True, include_tables=True,
                                include_images=True, include_links=True, include_comments=False)
    if not found:
        return None
    body = lxml_html.fromstring(found).find(".//body")
    if body is None:
        return found
    return (body.text or "") + "".join(lxml_html.tostring(c, encoding="unicode") for c in body)


def _metas(doc) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in doc.xpath("//meta[@content]"):
        key = (m.get("name") or m.get("property") or m.get("itemprop") or "").strip().lower()
        if key and key not in out and m.get("content").strip():
            out[key] = m.get("content").strip()
    return out


def _json_ld(doc) -> dict:
    """The first JSON-LD object that describes an article (a headline or a
    date), whatever shape the page's JSON-LD has: odd shapes and depth
    bombs are skipped, as a reader would skip them."""
    for script in doc.xpath("//script[@type='application/ld+json']"):
        try:
            data = jsontext.loads(script.text or "")
        except ValueError:
            continue
        if isinstance(data, dict):
            graph = data.get("@graph")
            data = graph if isinstance(graph, list) else [data]
        for item in data if isinstance(data, list) else ():
            if isinstance(item, dict) and (item.get("datePublished") or item.get("headline")):
                return item
    return {}


def _text(value) -> str | None:
    """A JSON-LD value used as text: only a string is (a page may put anything there)."""
    return value if isinstance(value, str) else None


def _first_text(doc, xpath: str) -> str | None:
    for el in doc.xpath(xpath):
        value = " ".join(el.text_content().split())
        if value:
            return value
    return None


def _page_title(doc) -> str | None:
    title = _first_text(doc, "//title")
    return re.split(r"\s+[-_|–—]\s+|_", title)[0].strip() if title else None


def _byline(doc) -> str | None:
    """The short line near the headline that holds the time, source or author."""
    heads = [h for h in doc.xpath("//h1 | //*[contains(@class,'title')]//*[self::h2 or self::h3]")
             if not _elsewhere(h)]
    if heads:
        for el in heads[0].xpath("following::*[not(self::script) and not(self::style)][position() <= 12]"):
            value = " ".join(el.text_content().split())
            if 2 <= len(value) <= 200 and _BYLINE.search(value) and _dateish(value) and not _elsewhere(el):
                return value
    for el in doc.xpath("//*[contains(@class,'info') or contains(@class,'time') or contains(@class,'date') "
                        "or contains(@class,'msgbar') or contains(@class,'meta') or contains(@class,'pub')]"):
        value = " ".join(el.text_content().split())
        if 2 <= len(value) <= 200 and _dateish(value) and not _elsewhere(el):
            return value
    return None
