"""`feedpub suggest URL`: a listing page's selectors, proposed by reading it.

A listing is a repeated block: many elements of one shape under one parent,
each holding a link to a page of the same site that looks like an article
(long anchor text, URLs of one shape, often a date beside it). This finds the
largest such block, writes the CSS that picks its items, their title, link
and date, and how to reach the next page (a link, or the script pager of
TRS portals). What it is unsure of, it says, instead of guessing silently.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from lxml.cssselect import CSSSelector

from . import browser

_DATEISH = re.compile(r"(?:\d{4}\s*[-/.年]\s*)?\d{1,2}\s*[-/.月]\s*\d{1,2}|\d+\s*(?:分鐘|分钟|小時|小时|天)前|昨天|前天|"
                      r"半小時前|半小时前|剛剛|刚刚")
_NEXT_WORDS = ("下一頁", "下一页", "下頁", "下页", "后页", "後頁", "Next", "next", "›", "»")
_SCRIPT_PAGER = re.compile(r"createPageHTML\(\s*(\d+)\s*,\s*(\d+)\s*,\s*[\"']([\w-]+)[\"']\s*,\s*[\"'](\w+)[\"']")


@dataclass
class Suggestion:
    item: str | None = None
    title: str | None = None
    link: str | None = None
    date: str | None = None
    next_page: str | None = None
    page_url: str | None = None
    page_from: int | None = None
    page_param: str | None = None
    summary: str | None = None
    timezone: str | None = None           # the zone of the listing's times, when not the site's
    article_pages: bool | None = None     # read each article's page; None: unless titles and times are whole
    listing: str = "html"                 # or "json": an endpoint's answer, or data the page carries
    link_pattern: str | None = None       # what a link must look like to be an article of the site
    found: list[tuple[str, str | None]] = field(default_factory=list)   # (title, date) of the items
    urls: list[str] = field(default_factory=list)                        # their links, absolute
    notes: list[str] = field(default_factory=list)                       # what it is unsure of


def _css(el) -> str:
    """tag.class (the first class a page names it by) or tag#id."""
    tag = el.tag if isinstance(el.tag, str) else "*"
    if el.get("id") and not re.search(r"\d{3,}", el.get("id")):
        return f"{tag}#{el.get('id')}"
    classes = [c for c in (el.get("class") or "").split() if re.fullmatch(r"[A-Za-z_][\w-]*", c)]
    return f"{tag}.{classes[0]}" if classes else tag


def _shape_pattern(shape: str) -> str:
    """A regular expression for the links of one URL shape (`#`: digits)."""
    return r"\d+".join(re.escape(part) for part in shape.split("#"))


def _shape(url: str) -> str:
    """A URL's shape: its folder and the form of its name (digits as #)."""
    path = urlsplit(url).path
    folder, _, name = path.rpartition("/")
    return re.sub(r"\d+", "#", folder) + "/" + re.sub(r"\d+", "#", name)


def _articleish(a, base: str) -> str | None:
    href = (a.get("href") or "").strip()
    if not href or href.startswith(("javascript:", "#", "mailto:")) or "{{" in href or "${" in href:
        return None                                      # a template a script fills is not a link yet
    url = urljoin(base, href)
    if urlsplit(url).netloc != urlsplit(base).netloc:
        return None
    text = max(" ".join(a.text_content().split()), a.get("title") or "", key=len)
    return url if len(text) >= 6 else None


def suggest(doc, base: str, html_text: str) -> Suggestion:
    s = Suggestion()
    links = [(a, url) for a in doc.iter("a") if (url := _articleish(a, base))]
    if not links:
        s.notes.append("no link on this page looks like an article (long text, same site): is the listing "
                       "filled by a script? Look for a JSON endpoint (listing = \"json\") in the browser's tools")
        return s
    # Each link votes for the element that repeats: the ancestor whose parent has
    # several children of its tag; the parent with the most votes holds the listing.
    # (Each parent's children counted once, by tag: linear in the page.)
    votes: dict = defaultdict(list)
    tags: dict = {}
    for a, url in links:
        el = a
        while el.getparent() is not None:
            parent = el.getparent()
            if parent not in tags:
                tags[parent] = Counter(c.tag for c in parent)
            if tags[parent][el.tag] >= 3:
                votes[(parent, el.tag)].append((a, url, el))
                break
            el = parent
    if not votes:
        s.notes.append("found no repeated block of article links; the selectors below need checking")
        return s
    (parent, tag), members = max(votes.items(), key=lambda kv: (len({_shape(u) for _, u, _ in kv[1]}) == 1,
                                                                  len(kv[1])))
    shapes = Counter(_shape(u) for _, u, _ in members)
    if len(shapes) > 1:
        s.notes.append(f"the links of this block have {len(shapes)} URL shapes; some may not be articles")
    s.item = f"{_css(parent)} {tag}" if _css(parent) != parent.tag else f"{_ancestor_css(parent)} {tag}"
    first_a, _, first_item = members[0]
    rel = _relative(first_a, first_item)
    title_attr = all((a.get("title") or "").strip() and len(a.get("title")) >= len(a.text_content().strip())
                     for a, _, _ in members)
    s.title = f"{rel}@title" if title_attr else rel
    s.link = f"{rel}@href"
    s.date = _date_selector(members)
    dates = CSSSelector(s.date) if s.date else None
    usual = shapes.most_common(1)[0][0]
    odd = []                                      # (title, url) of items that look like no article of the site
    for a, url, item in members:
        title = (a.get("title") if title_attr else " ".join(a.text_content().split())) or None
        date = None
        if dates is not None:
            found = dates(item)
            date = " ".join(found[0].text_content().split()) if found else None
        if dates is not None and date is None and _shape(url) != usual:
            odd.append((title, url))              # no date, a link of another shape: sponsored, an ad
            continue
        s.found.append((title, date))
        s.urls.append(url)
    if odd:
        s.link_pattern = _shape_pattern(usual)
        s.notes.append(f"{len(odd)} item(s) without a date link to pages of another shape (an ad?, "
                       f"{odd[0][1]}): the link's pattern leaves them out")
    if s.date is None:
        s.notes.append("no date beside the items: articles take their page's date, if [sources.article] reads one")
    pager = _SCRIPT_PAGER.search(html_text)
    more = _load_more(doc, base)
    if pager:
        s.page_url = f"{pager.group(3)}_{{n}}.{pager.group(4)}"
    elif more is not None:
        # "Load more" fetches fragments of items: the items are picked by
        # their own class, which holds in a fragment as on the page.
        s.next_page = more
        own = _css(first_item)
        if own != first_item.tag:
            s.item = own
        else:
            s.notes.append("a 'load more' button fetches the next items, but the items have no class of their "
                           "own: the item selector may not match its fragments")
    else:
        for word in _NEXT_WORDS:
            for a in doc.iter("a"):
                if a.get("href") and word in a.text_content() and not a.get("href").startswith("javascript:"):
                    s.next_page = f"a:contains('{word}')@href"
                    break
            if s.next_page:
                break
        if s.next_page is None:
            numbered = _numbered(doc, base)
            if numbered is not None:
                s.page_url, s.page_from, s.page_param = numbered
        if s.next_page is None and s.page_url is None and s.page_param is None:
            s.notes.append("no next-page link or script pager found: only this page will be read "
                           "(page_url or page_param can name the others)")
    return s


_PAGE_IN_PATH = re.compile(r"^(.*?/)(?:page/(\d+)/?|((?:index|list|default|more|p)?[_-]?)(\d+)(\.\w+))$")
_MORE_WORDS = re.compile(r"加載更多|加载更多|查看更多|更多|load more|more", re.I)


def _numbered(doc, base: str):
    """A pager of numbered links (2, 3 …) with no next link: how its pages
    are named. (page_url, page_from, None) for `index_2.html` or
    `/page/2/`, (None, None, param) for `?page=2`; None if there is none."""
    from urllib.parse import parse_qsl
    here = urlsplit(base)
    for a in doc.iter("a"):
        if (a.text_content() or "").strip() != "2" or not a.get("href"):
            continue
        url = urljoin(base, a.get("href").strip())
        parts = urlsplit(url)
        if parts.netloc != here.netloc:
            continue
        query, base_query = dict(parse_qsl(parts.query)), dict(parse_qsl(here.query))
        for key, value in query.items():
            if value == "2" and base_query.get(key) != "2":
                return None, None, key
        m = _PAGE_IN_PATH.match(parts.path)
        if m and not parts.query:
            if m.group(2):
                return f"{m.group(1)}page/{{n}}/", 2, None
            return f"{m.group(1)}{m.group(3)}{{n}}{m.group(5)}", int(m.group(4)), None
    return None


def _load_more(doc, base: str) -> str | None:
    """A "load more" control whose data attribute holds the next items'
    URL: the next_page selector that reads it (`button.load-more@data-next`)."""
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in ("data-next", "data-url", "data-href", "data-more", "data-src"):
            value = (el.get(attr) or "").strip()
            if value and _MORE_WORDS.search(el.text_content() or "") and \
                    urlsplit(urljoin(base, value)).netloc == urlsplit(base).netloc:
                return f"{_css(el)}@{attr}"
    return None


# -- listings in JSON: an endpoint's answer, or data a page carries ----------------------------

_LINK_NAMES = ("url", "link", "href", "path", "articleUrl", "article_url", "shareUrl", "detailUrl", "@id")
_TITLE_NAMES = ("title", "name", "headline", "subject", "articleTitle")
_DATE_NAMES = ("publishTime", "publish_time", "pubDate", "pubdate", "datePublished", "inputtime", "date", "time",
               "createTime", "created_at", "releaseTime", "ctime")
_PAGE_KEYS = ("page", "p", "pageNo", "pageno", "page_no", "pageIndex", "pageindex", "pn", "pageNum", "curPage")
_NOT_PAGES = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|css|js|mp4|mp3|pdf)(?:\?|$)", re.I)


def _lists(data, path: tuple, depth: int = 0):
    """(path of keys, list) of every list in the data, through objects only."""
    if depth > 12:
        return
    if isinstance(data, list):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, (dict, list)):
                yield from _lists(value, path + (key,), depth + 1)


def _key(dicts: list[dict], names: tuple, fits) -> str | None:
    """The key whose values fit in most of these objects (80%), the usual names first."""
    keys = [k for k in names if any(k in d for d in dicts)] + sorted({k for d in dicts for k in d} - set(names))
    for key in keys:
        if sum(1 for d in dicts if fits(d.get(key))) >= 0.8 * len(dicts):
            return key
    return None


def _jmes(path: tuple) -> str:
    """A JMESPath to a key path (`data.list`, `"@graph"`), `@` for the root."""
    return ".".join(k if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) else json.dumps(k) for k in path) or "@"


def suggest_json(data, base: str) -> Suggestion | None:
    """The listing in JSON data: the longest list of objects that each hold
    a title and a link to a page of this site (and, if it can tell, a date)."""
    host = urlsplit(base).netloc

    def link(v) -> bool:
        if not isinstance(v, str) or not v.strip() or _NOT_PAGES.search(v):
            return False
        parts = urlsplit(urljoin(base, v.strip()))
        return parts.netloc == host and parts.path not in ("", "/")

    def title(v) -> bool:
        return isinstance(v, str) and len(v.strip()) >= 5 and not v.strip().startswith(("http", "/"))

    def date(v) -> bool:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return 9 <= len(str(int(v))) <= 13
        return isinstance(v, str) and bool(_DATEISH.search(v)) and len(v) <= 40

    best = None
    for path, items in _lists(data, ()):
        dicts = [i for i in items if isinstance(i, dict)]
        if len(dicts) < 2 or len(dicts) < 0.8 * len(items):
            continue
        keys = (_key(dicts, _LINK_NAMES, link), _key(dicts, _TITLE_NAMES, title))
        if None in keys or keys[0] == keys[1]:
            continue
        if best is None or len(dicts) > len(best[1]):
            best = (path, dicts, *keys, _key(dicts, _DATE_NAMES, date))
    if best is None:
        return None
    path, dicts, link_key, title_key, date_key = best
    s = Suggestion(item=_jmes(path), title=_jmes((title_key,)), link=_jmes((link_key,)),
                   date=_jmes((date_key,)) if date_key else None, listing="json")
    for d in dicts:
        s.found.append((str(d.get(title_key)), None if date_key is None else str(d.get(date_key))))
        s.urls.append(urljoin(base, str(d.get(link_key)).strip()))
    if date_key is None:
        s.notes.append("no date beside the items: articles take their page's date")
    return s


# String literals in a script that may be a listing's endpoint: a path or a
# URL naming an API, JSON or a list (`"/api/list?cat=7&page=" + page`).
_ENDPOINT = re.compile(r"""["'`]((?:https?://[^"'`\s]+|/[^"'`\s]*)(?:api|json|list|ajax|data|article|news)"""
                       r"""[^"'`\s]*)["'`]""", re.I)


def wordpress_api(doc, base: str) -> str | None:
    """The WordPress REST API's posts of the category a WordPress archive
    page shows, page 1, where the site exposes the API (the page links its
    category's JSON: `/wp-json/wp/v2/categories/12`, or `?rest_route=`)."""
    from urllib.parse import parse_qsl, urlencode, urlunsplit
    for href in doc.xpath("//link[@rel='alternate'][@type='application/json']/@href"):
        parts = urlsplit(urljoin(base, href.strip()))
        query = dict(parse_qsl(parts.query))
        m = re.fullmatch(r"(.*/wp/v2/)categories/(\d+)", query.get("rest_route") or parts.path)
        if m is None or parts.netloc != urlsplit(base).netloc:
            continue
        posts = m.group(1) + "posts"
        if "rest_route" in query:
            query["rest_route"] = posts
        else:
            parts = parts._replace(path=posts)
        return urlunsplit(parts._replace(query=urlencode({**query, "categories": m.group(2), "page": 1}, safe="/")))
    return None


def suggest_wordpress(posts, base: str) -> Suggestion | None:
    """The listing a WordPress REST API answers: each post's full title, its
    link and its time to the second (`date_gmt`: UTC, no zone written)."""
    if not isinstance(posts, list) or not posts or not all(
            isinstance(p, dict) and isinstance(p.get("title"), dict) and isinstance(p.get("link"), str)
            and isinstance(p.get("date_gmt"), str) for p in posts):
        return None
    s = Suggestion(item="@", title="title.rendered", link="link", date="date_gmt", listing="json",
                   page_param="page", timezone="UTC", article_pages=True)
    if all(isinstance(p.get("excerpt"), dict) for p in posts):
        s.summary = "excerpt.rendered"
    for p in posts:
        s.found.append((str(p["title"].get("rendered", "")), p["date_gmt"]))
        s.urls.append(urljoin(base, p["link"].strip()))
    s.notes.append("the site's WordPress REST API lists this category: each post's time to the second "
                   "(date_gmt, UTC) and full title; its article pages are read for the text")
    return s


def endpoints(scripts: list[str], base: str) -> list[str]:
    """Candidate JSON endpoints named in a page's scripts, as URLs of this
    site, in the order written; a query ending in `page=` gets its first
    page (`…&page=1`)."""
    out = []
    for source in scripts:
        for m in _ENDPOINT.finditer(source):
            value = m.group(1)
            if _NOT_PAGES.search(value):
                continue
            url = urljoin(base, value)
            if re.search(r"[?&](?:" + "|".join(_PAGE_KEYS) + r")=$", url):
                url += "1"
            if urlsplit(url).netloc == urlsplit(base).netloc and url not in out:
                out.append(url)
    return out


def page_param(url: str) -> str | None:
    """The query parameter of an endpoint's URL that counts its pages."""
    from urllib.parse import parse_qsl
    for key, value in parse_qsl(urlsplit(url).query):
        if key in _PAGE_KEYS and value.isdigit():
            return key
    return None


def _ancestor_css(el) -> str:
    """A plain parent (no class or id): name it through its nearest named ancestor."""
    chain = [el.tag]
    p = el.getparent()
    while p is not None and _css(p) == p.tag and p.tag not in ("body", "html"):
        chain.insert(0, p.tag)
        p = p.getparent()
    if p is not None and p.tag not in ("body", "html"):
        chain.insert(0, _css(p))
    return " > ".join(chain)


def _relative(a, item) -> str:
    """The link's selector inside one item: `a`, or the tags down to it."""
    if len(item.findall(".//a")) == 1 or a is item:
        return "a"
    path = []
    el = a
    while el is not item and el is not None:
        path.insert(0, el.tag)
        el = el.getparent()
    return " ".join(path)


def _date_selector(members) -> str | None:
    """The element beside the link, in most items, whose text looks like a date."""
    tally: Counter = Counter()
    for a, _, item in members:
        for el in item.iter():
            if el is a or not isinstance(el.tag, str) or a in el.iterancestors() or el in a.iterancestors():
                continue
            text = " ".join(el.text_content().split())
            if text and len(text) <= 30 and _DATEISH.search(text):
                tally[_css(el)] += 1
    if not tally:
        return None
    best, count = tally.most_common(1)[0]
    return best if count >= len(members) * 0.8 else None


def as_toml(s: Suggestion, url: str, category: str | None, name: str) -> str:
    """The `[[sources]]` block of one listing (see `render`)."""
    return render([Block(name, url, category, s, auto=needs_article_pages(s))])


_SECONDS = re.compile(r"\d{1,2}\s*[:：]\s*\d{2}\s*[:：]\s*\d{2}")
_CUT = re.compile(r"(?:…|\.\.\.|。。。)\s*$")


def needs_article_pages(s: Suggestion) -> bool:
    """Must the source read each article's page? Yes, unless the listing
    itself carries every full title and a time to the second."""
    if s.article_pages is not None:
        return s.article_pages
    return not s.found or not all(title and not _CUT.search(title) and date and _SECONDS.search(date)
                                  for title, date in s.found)


@dataclass
class Block:
    """One proposed `[[sources]]` entry and what is known of it."""

    name: str
    url: str
    category: str | None
    suggestion: Suggestion
    auto: bool = True                     # [sources.article] auto = true
    notes: list[str] = field(default_factory=list)    # more to say of it (checks, doubts)

    @property
    def complete(self) -> bool:
        return bool(self.suggestion.item and self.suggestion.link)

    def data(self) -> dict:
        s = self.suggestion
        start = {"url": self.url, **({"category": self.category} if self.category else {})}
        block: dict = {"name": self.name, "type": "web", "start": [start]}
        if s.listing != "html":
            block["listing"] = s.listing
        if s.timezone:
            block["timezone"] = s.timezone
        for key in ("item", "title", "link", "date", "summary", "next_page", "page_url", "page_from", "page_param"):
            value = getattr(s, key)
            if value:
                block[key] = value
        if s.link_pattern:
            block["link"] = {"select": s.link, "pattern": s.link_pattern}
        if s.next_page or s.page_url or s.page_param:
            block["max_pages"] = 5
        if self.auto:
            block["article"] = {"auto": True}
        return block


def render(blocks: list[Block], notes=()) -> str:
    """The blocks as TOML to append to a configuration, each with what was
    found as comments; a block that could not be completed is printed
    commented out, with why. Everything in it comes from pages someone
    else wrote, and `feedpub suggest URL >> config` is the recipe: each
    block is built as data and written by a TOML writer (every string
    escaped), and each comment is one line with no control character, so
    no page can add a key, a table or a source of its own."""
    import tomli_w
    out = [f"# {comment(note)}\n" for note in notes]
    for b in blocks:
        s = b.suggestion
        lines = [f"feedpub suggest {b.url}" + (f" ({b.category})" if b.category else ""),
                 f"{len(s.found)} item(s) found on this page" + ("; the first three:" if s.found else ".")]
        lines += [f"  {title}" + (f"  ({date})" if date else "") for title, date in s.found[:3]]
        if not b.auto:
            lines.append("the listing gives every full title and a time to the second: article pages are not read")
        lines += [f"unsure: {note}" for note in s.notes + b.notes]
        text = tomli_w.dumps({"sources": [b.data()]})
        if not b.complete:
            lines.append("not complete (no list of article links found): left commented out")
            text = "".join(f"# {line}\n" for line in text.splitlines())
        out.append(("\n" if out else "") + "".join(f"# {comment(line)}\n" for line in lines) + text)
    return "".join(out)


def source_name(url: str) -> str:
    """A source's name from its listing's URL: the host and the path, so it
    is the same on every run and differs between listings."""
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    path = re.sub(r"/(?:index|default|list)(?:_\d+)?\.\w+$", "/", parts.path)
    words = re.sub(r"[^a-z0-9]+", "-", f"{host}/{path}/{parts.query}".lower()).strip("-")
    return words or "site"


# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def comment(text, limit: int = 160) -> str:
    """Text made safe for one TOML comment line: no line breaks or control
    characters (TOML refuses them; a newline would end the comment), cut
    to `limit` characters."""
    line = _UNSAFE.sub(" ", str(text)).rstrip()
    return line if len(line) <= limit else line[:limit - 1] + "…"


# -- a whole site from one of its pages ----------------------------------------------------------

def propose(http, url: str, category: str | None = None, name: str | None = None) -> str:
    """What `feedpub suggest URL` prints: with `category`, the block of the
    listing at `url`; else a block for every category the page's menus
    (and its boxes' "more" links) lead to that is a listing of articles,
    each named by its path in the menu and checked against the breadcrumb
    of one of its articles; when the page leads to none, the page itself
    as a listing. FetchError if `url` cannot be had."""
    doc, base, text = _read(http, url)
    watch = ScriptCalls(http)
    try:
        return _propose(http, url, doc, base, text, category, name, watch)
    finally:
        watch.close()


def _propose(http, url, doc, base, text, category, name, watch) -> str:
    from . import discover
    from .http import FetchError
    if category is not None:
        return render([_block(http, *_listing(http, url, doc, base, text, watch), category, name)])
    entries = discover.menu_entries(doc, base)
    known = {e.url for e in entries}
    candidates = [e for e in entries if not e.section]
    candidates += [e for e in discover.more_links(doc, base) if e.url not in known and not known.add(e.url)]
    sections = [e for e in entries if e.section]
    blocks: list[Block] = []
    skipped: list[str] = []

    def consider(entry) -> None:
        label = "/".join(entry.path)
        try:
            page_doc, page_base, page_text_ = _read(http, entry.url)
        except FetchError as exc:
            skipped.append(f"{label} ({entry.url}): {exc.reason}")
            return
        start, s = _listing(http, entry.url, page_doc, page_base, page_text_, watch)
        if not s.item or len(s.found) < 3:
            skipped.append(f"{label} ({entry.url}): not a list of articles")
            return
        blocks.append(_block(http, start, s, label, None))
    for entry in candidates:
        consider(entry)
    for section in sections:                         # a section page, when none of its subsections is a listing
        if not any(b.category.startswith("/".join(section.path) + "/") for b in blocks):
            consider(section)
    if not blocks:
        return render([_block(http, *_listing(http, url, doc, base, text, watch), None, name)],
                      [f"feedpub suggest {url}: no category listing found in this page's menus; "
                       f"the page itself, read as a listing:"])
    names: dict[str, int] = {}
    for b in blocks:
        names[b.name] = names.get(b.name, 0) + 1
        if names[b.name] > 1:
            b.name = f"{b.name}-{names[b.name]}"
    notes = [f"feedpub suggest {url}: {len(blocks)} category listing(s) found in the site's menus"]
    notes += [f"not used: {line}" for line in skipped]
    return render(blocks, notes)


def _read(http, url: str):
    """A page fetched and parsed: (document, base URL, text)."""
    from .web import page_text, parse
    page = http.get(url)
    text = page_text(page)
    doc, base = parse(page, text)
    return doc, base, text


def _listing(http, url: str, doc, base: str, text: str, watch=None) -> tuple[str, Suggestion]:
    """How the page at `url` lists its articles: (the start URL, the
    suggestion). Its HTML first; else the data it carries for its script;
    else a JSON endpoint its scripts name, or that `watch` (ScriptCalls)
    sees them call (the start URL is then the endpoint's)."""
    from . import embedded, jsontext
    from .http import FetchError
    from .web import page_text
    api = wordpress_api(doc, base)
    if api is not None:
        try:
            found = suggest_wordpress(jsontext.loads(page_text(http.get(api))), base)
        except (FetchError, ValueError):
            found = None
        if found is not None:
            return api, found
    s = suggest(doc, base, text)
    if s.item and len(s.found) >= 3:
        return url, s
    data = embedded.page_data(text)
    found = suggest_json(data, base) if data is not None else None
    if found is not None:
        found.notes.append("the items are data this page carries for its script (read without running it): "
                           "only this page's are read")
        return url, found
    scripts = [script.text or "" for script in doc.xpath("//script[not(@src)]")]
    for src in doc.xpath("//script/@src")[:5]:
        script_url = urljoin(base, src.strip())
        if urlsplit(script_url).netloc == urlsplit(base).netloc:
            try:
                scripts.append(page_text(http.get(script_url)))
            except FetchError:
                continue
    for endpoint in endpoints(scripts, base)[:8]:
        try:
            found = _endpoint(endpoint, page_text(http.get(endpoint)), base, "")
        except FetchError:
            continue
        if found is not None:
            return endpoint, found
    if watch is not None and doc.xpath("//script"):
        calls = watch(url)
        if calls is None:
            s.notes.append(f"if a script fills it, suggest can watch the requests the page makes: {browser.INSTALL}")
        for endpoint, body in calls or ():
            if urlsplit(endpoint).netloc == urlsplit(base).netloc:
                found = _endpoint(endpoint, body.decode("utf-8", "replace"), base, " (seen in headless Chromium)")
                if found is not None:
                    return endpoint, found
    return url, s


def _endpoint(endpoint: str, text: str, base: str, how: str) -> Suggestion | None:
    """A listing read from the JSON answer of an endpoint a page's script calls."""
    from . import jsontext
    try:
        found = suggest_json(jsontext.loads(text), base)
    except ValueError:
        return None
    if found is not None:
        found.page_param = page_param(endpoint)
        found.notes.append(f"the page's script fills it from {endpoint}{how}: that endpoint is read instead")
        if found.page_param is None:
            found.notes.append("the endpoint names no page number: only its first answer is read")
    return found


class ScriptCalls:
    """The requests a page's scripts make, watched in one headless Chromium
    for a whole `suggest` (started on first need); None for each page
    where the [browser] extra is not installed."""

    def __init__(self, http):
        self.http = http
        self.missing = browser.available()
        self._browser = None

    def __call__(self, url: str) -> list[tuple[str, bytes]] | None:
        from .http import FetchError
        if self.missing is not None:
            return None
        if self._browser is None:
            self._browser = browser.Browser(self.http)
        try:
            return self._browser.calls(url)
        except FetchError:
            return []

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()


def _block(http, url: str, s: Suggestion, category: str | None, name: str | None) -> Block:
    """A listing's block; its category checked against the breadcrumb of
    its first article, which the article's category will come from."""
    from . import auto
    from .http import FetchError
    block = Block(name or source_name(url), url, category, s, auto=needs_article_pages(s))
    if not s.urls:
        return block
    try:
        doc, _, text = _read(http, s.urls[0])
    except FetchError as exc:
        block.notes.append(f"its first article could not be read to check its category ({exc.reason})")
        return block
    crumb = auto.read_page(doc, text).get("breadcrumb")
    if not crumb:
        if category:
            block.notes.append("its articles show no breadcrumb: they are filed under this block's category")
    elif category and not all(level in crumb for level in category.split("/")):
        block.notes.append(f"its first article's breadcrumb reads {crumb!r}, not {category!r}: an article is "
                           f"filed where its own breadcrumb says")
    return block
