"""Source type `web`: a website's category listing pages, and its article pages.

What RSSHub and RSS-Bridge do by code, from configuration: CSS selectors pick
the items of each listing page (or JMESPath expressions those of a JSON
listing), pages follow a next-page link, a page-number template or a query
parameter, and, if `[sources.article]` is set, the title, time, source, body
and breadcrumb of each new article page. A field may be narrowed by a
regular expression (a byline holds the source and the time).
Like every source, it returns what the pages say as written (dates,
breadcrumbs) plus the HTTP `Date` each page came with, so relative dates
resolve against the server's clock. What it remembered from the last gather
(ETags, listing dates) comes in as `memory` and goes out as `remember`.
"""

from __future__ import annotations

import itertools
import json
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import etree
from lxml import html as lxml_html

from ..config import Field, Source
from ..model import Problem, RawArticle
from . import Gathered, Recall, SourceError, Unit, auto, decode, embedded, jsontext, select
from .formats import crumb_text, source_text
from .http import FetchError, Http, Page

TRACKING = re.compile(r"^(utm_[a-z]+|spm|from|fbclid|gclid|mc_[a-z]+|_hsenc|_hsmi|ref|share_from)$", re.I)


def canonical_url(url: str) -> str:
    """The URL without tracking parameters or fragment: one story, one URL."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING.match(k)]
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", urlencode(query), ""))


MEMO_KEYS = ("etag", "last_modified")


def url_memo(values: dict) -> str:
    """What the store keeps of a URL between gathers: its validators (a
    listing page), the date its listing gave (an article), or its text and
    when it was fetched (a robots.txt)."""
    if "robots" in values:
        return json.dumps({"robots": values["robots"], "fetched": values["fetched"]}, ensure_ascii=False,
                          sort_keys=True)
    kept = {k: values[k] for k in MEMO_KEYS if values.get(k) is not None}
    return json.dumps({**kept, "listing_date": values.get("listing_date")}, ensure_ascii=False, sort_keys=True)


@dataclass
class Fetched:
    """What `WebSource.gather` fetched: articles as written, problems, memory."""

    articles: list[RawArticle] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    remember: dict[str, dict] = field(default_factory=dict)   # url -> etag / last_modified / listing_date
    listed: dict[str, str | None] = field(default_factory=dict)   # article url -> the date its listing gave
    listings: int = 0              # listing pages fetched (200)
    unchanged: int = 0             # listing pages answered 304
    empty: int = 0                 # first listing pages where the item selector matched nothing


@dataclass(frozen=True)
class Listed:
    """One item of a listing page, its fields as written."""

    title: str | None
    href: str | None
    date: str | None = None
    source: str | None = None
    summary: str | None = None


@dataclass(frozen=True)
class Candidate:
    url: str
    title: str | None
    date: str | None
    category: str | None
    listed_at: Page
    source: str | None = None
    summary: str | None = None


def page_text(page: Page) -> str:
    """A page's bytes as text: by the header's charset, then meta, then detection."""
    return decode.decode_declared(page.content, [page.charset, decode.declared_charset(page.content)]).text


def parse(page: Page, text: str | None = None):
    """Bytes -> lxml document (and the URL its links are relative to)."""
    try:
        doc = lxml_html.document_fromstring((page_text(page) if text is None else text) or "<html></html>")
    except etree.ParserError:                    # only whitespace or a comment: a page with nothing on it
        doc = lxml_html.document_fromstring("<html></html>")
    base = doc.xpath("//base/@href")
    return doc, urljoin(page.url, base[0].strip()) if base else page.url


def link_of(root, selector: str) -> str | None:
    """Like select.value, but an element chosen without @attr gives its href."""
    for alt in select.compile_selector(selector):
        for el in alt.compiled(root):
            v = el.get(alt.attr or "href")
            if v and v.strip() and not v.strip().lower().startswith(("javascript:", "#", "mailto:")):
                return v.strip()
    return None


def page_urls(start: str, page_url: str | None, page_param: str | None, page_from: int = 1):
    """The listing pages after `start` when no link leads to them: a script
    pager's `index_{n}.html` (resolved against the start URL), or the start
    URL's query parameter raised (`?catid=12&page=1` -> `page=2` …). None: a
    next-page link says where the next page is."""
    if page_url:
        return (urljoin(start, page_url.format(n=n)) for n in itertools.count(page_from))
    if page_param:
        parts = urlsplit(start)
        query = parse_qsl(parts.query, keep_blank_values=True)
        current = next((v for k, v in query if k == page_param), None)
        first = int(current) + 1 if current and current.isdigit() else max(page_from, 1) + 1

        def at(n: int) -> str:
            q = [(k, str(n) if k == page_param else v) for k, v in query]
            if current is None:
                q.append((page_param, str(n)))
            return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(q), ""))
        return (at(n) for n in itertools.count(first))
    return None


def own_url(doc, base: str, page_url: str) -> str | None:
    """The URL an article page says is its own (`<link rel="canonical">`,
    else `og:url`), honoured only on the page's own host: a page cannot
    speak for another site. Whether it may speak for another page of its
    site is the store's to say (an item published from another URL keeps
    it)."""
    for found in (doc.xpath("//link[@rel='canonical']/@href"), doc.xpath("//meta[@property='og:url']/@content")):
        value = found[0].strip() if found else ""
        if value:
            url = canonical_url(urljoin(base, value))
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") and parts.netloc == urlsplit(canonical_url(page_url)).netloc:
                return url
    return None


def unreadable(url: str, exc: Exception) -> FetchError:
    """A page that was fetched but could not be read (an empty document, a
    shape no reader expects): that page's problem, not its source's. Not
    fetched again until its listing shows it anew (like a 404)."""
    reason = str(exc).splitlines()[0][:300] if str(exc) else ""
    return FetchError(url, f"could not be read: {exc.__class__.__name__}" + (f": {reason}" if reason else ""),
                      permanent=True)


def narrow(text: str | None, field: Field) -> tuple[str | None, bool]:
    """A field's value from the text its selector found: the pattern's first
    group (or whole match) when it has one. (value, the pattern matched?)"""
    if text is None or not field.pattern:
        return text, True
    m = re.search(field.pattern, text)
    if m is None:
        return None, False
    value = m.group(1) if m.re.groups else m.group(0)
    return (value.strip() or None), True


class WebGatherer:
    """Source type `web` (see sources.SourceType): a gather opens an HTTP
    client (and a browser, if the source renders pages) for its duration."""

    local = False

    def __init__(self, settings: Source, site_link: str):
        self.settings = settings
        self.site_link = site_link

    def describe(self) -> str:
        return (f"web, {len(self.settings.web.start)} listing page(s) "
                f"(`feedpub try {self.settings.name}` fetches them once)")

    def gather(self, recall: Recall, *, should_stop=None, only=None, hold=None, settle: float = 0.0,
               listing=None, progress=None) -> Gathered:
        web, name = self.settings.web, self.settings.name
        recalled = recall(None)
        memory = {url: json.loads(text) for url, text in recalled.items()}
        with Http.for_source(web, self.site_link) as http, browser_for(web, http) as browser:
            if progress is not None:
                http.on_request = lambda: progress("fetched")
            http.remember_robots({url: (v["robots"], v["fetched"]) for url, v in memory.items() if "robots" in v})
            result = WebSource(self.settings, http, browser).gather(memory, should_stop=should_stop)
            fetched = http.requests
            hosts = {host: (n, not_modified, round(seconds, 3)) for host, (n, not_modified, seconds) in http.tally.items()}
            for url, (text, fetched_at) in http.robots_fetched.items():
                result.remember[url] = {"robots": text, "fetched": int(fetched_at)}
        if not result.articles and result.listings and not any("listing_date" in v for v in memory.values()):
            result.problems.append(Problem(name, web.start[0].url, "this source has published nothing yet: its "
                                           "item or link selector finds no article page", "warning"))
        if not result.listings and not result.unchanged and result.problems:
            raise SourceError("no listing page could be fetched: " + "; ".join(
                f"{p.location}: {p.reason}" for p in result.problems[:3]))
        # What is remembered of an article (the date its listing gave) is its
        # unit's memo, kept with it when it is stored and only then.
        # Memory that has not changed (a listing answered 304 again) is not written again.
        remember = {url: memo for url, values in result.remember.items()
                    if (memo := url_memo(values)) != recalled.get(url)}
        return Gathered([Unit(raw.location, raws=[raw], task=result.listed.get(raw.location)) for raw in result.articles],
                        [(p, p.location) for p in result.problems], remember=remember, fetched=fetched,
                        hosts=hosts)

    def read(self, task) -> list[RawArticle]:
        raise TypeError("a web source's units are fetched by gather")

    def where(self, location: str) -> str:
        return location

    def memo(self, unit: Unit) -> str | None:
        return url_memo({"listing_date": unit.task})


_MARKUP = re.compile(r"<[a-zA-Z/]|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+\d*);")


def _as_text(value: str | None) -> str | None:
    """A title from JSON as text: APIs often hand HTML (WordPress's
    `title.rendered`: `&#8220;`, `<em>`), which must not be published as
    entity names."""
    if value is None or not _MARKUP.search(value):
        return value
    from lxml import html as lxml_html
    return select.text_of(lxml_html.fragment_fromstring(value, create_parent="div"))


@contextmanager
def browser_for(web, http):
    """A headless browser for a source that renders its pages (else None)."""
    if web.render != "browser" and (web.article is None or web.article.render != "browser"):
        yield None
        return
    from .browser import Browser
    browser = Browser(http, memory=web.browser_memory)
    try:
        yield browser
    finally:
        browser.close()


class WebSource:
    def __init__(self, settings: Source, http: Http, browser=None):
        self.should_stop = lambda: False
        self.settings = settings
        self.web = settings.web
        self.http = http
        # Pages fetched by a browser (render = "browser") or plainly.
        self.get_listing = browser.get if browser is not None and self.web.render == "browser" else http.get
        self.get_article = browser.get if browser is not None and self.web.article is not None \
            and self.web.article.render == "browser" else http.get
        self.browser = browser
        self.missed: dict[str, str] = {}           # field -> a URL where its pattern found nothing
        # The article fields that must be found on every page (those given
        # selectors; with auto, the title, the date and the body), the pages
        # read, and per field the pages where it was not.
        a = self.web.article
        self.expected = () if a is None else tuple(
            key for key in ("title", "date", "body", "source", "breadcrumb", "author")
            if getattr(a, key) is not None or (a.auto and key in ("title", "date", "body")))
        self.read_pages: list[str] = []
        self.lacking: dict[str, list[str]] = {}
        self.first_pages: list[bool] = []          # did next_page find a link on each first listing page?

    def gather(self, memory: dict[str, dict], should_stop=None) -> Fetched:
        """What the listings (and article pages) hold now. `should_stop()`
        ends it early between pages: what was not fetched is fetched next time."""
        self.should_stop = should_stop or (lambda: False)
        out = Fetched()
        candidates: list[Candidate] = []
        seen: set[str] = set()
        for start in self.web.start:
            if self.should_stop():
                break
            candidates += self._listing(start.url, start.category, memory, out, seen)
        if out.listings and out.empty == out.listings:
            out.problems.append(Problem(
                self.settings.name, self.web.start[0].url,
                f"the item selector {self.web.item!r} matched nothing on any listing page: the site may have "
                f"changed its layout, and the feeds will go stale until the selectors are fixed"))
        if self.web.article is None:
            out.articles += [self._from_listing(c) for c in candidates]
        else:
            if self.get_article is self.http.get:
                with ThreadPoolExecutor(max_workers=self.web.concurrency) as pool:
                    results = list(pool.map(self._article, candidates))
            else:                                        # one browser, driven from this thread
                results = [self._article(c) for c in candidates]
            for c, (article, failure) in zip(candidates, results):
                if article is not None:
                    out.articles.append(article)
                if failure is not None:
                    out.problems.append(Problem(self.settings.name, c.url, failure.reason))
                    if failure.permanent:
                        out.remember[c.url] = {"listing_date": c.date}   # a 404 is not fetched again until relisted
            if any(article is None and (failure is None or not failure.permanent) for article, failure in results):
                # An article page failed for now (timeout, 5xx): keep the listings'
                # validators unsaved, so the next gather reads them again and retries.
                for url in [u for u, v in out.remember.items() if "etag" in v]:
                    del out.remember[url]
        if self.first_pages and not any(self.first_pages) and self.web.max_pages > 1:
            out.problems.append(Problem(self.settings.name, self.web.start[0].url,
                                        f"next_page {self.web.next_page!r} matched nothing on any first listing page: "
                                        f"only first pages were read", "warning"))
        for url, refused in sorted((self.browser.refused if self.browser is not None else {}).items()):
            hosts = sorted({urlsplit(u).netloc or u.split(":", 1)[0] for u in refused})
            out.problems.append(Problem(self.settings.name, url, f"the page asked for {len(refused)} resource(s) "
                                        f"this source may not fetch, refused: {', '.join(hosts)[:300]}", "warning"))
        out.problems += self._lacking()
        for name, url in sorted(self.missed.items()):
            out.problems.append(Problem(self.settings.name, url, f"the pattern of {name} matched nothing in what "
                                        f"its selector found (this page and maybe others)", "warning"))
        return out

    # -- listing pages ------------------------------------------------------------
    def listed(self, page: Page) -> tuple[list[Listed], str]:
        """The items of one listing page (HTML or JSON), and the URL their
        links are relative to."""
        w = self.web
        if w.listing == "json":
            text = decode.decode_declared(page.content, [page.charset, "utf-8"]).text
            try:
                data = jsontext.loads(text)
            except ValueError as exc:
                data = embedded.page_data(text) if text.lstrip()[:1] == "<" else None
                if data is None:                             # a page, but not one carrying its data
                    raise FetchError(page.url, f"not JSON, nor a page carrying JSON data: {exc}",
                                     permanent=False) from None
            items = select.compile_path(w.item).search(data)
            items = items if isinstance(items, list) else []

            def get(item, f):
                return None if f is None else self._narrowed(select.json_value(item, f.select), f, page.url)
            return [Listed(_as_text(get(i, w.title)), get(i, w.link), get(i, w.date), get(i, w.source),
                           get(i, w.summary)) for i in items if isinstance(i, dict)], page.url
        doc, base = parse(page)

        def text(el, f):
            return None if f is None else self._narrowed(select.value(el, f.select), f, page.url)
        def link(el):                               # a link's pattern leaves out what is no article (an ad)
            return narrow(link_of(el, w.link.select), w.link)[0]
        found = [Listed(text(el, w.title), link(el), text(el, w.date), text(el, w.source),
                        text(el, w.summary)) for el in select.matches(doc, w.item)]
        if w.link.pattern and found and not any(item.href for item in found):
            self.missed.setdefault(w.link.select, page.url)     # on no item at all: the pattern is wrong
        self._doc = doc
        return found, base

    def _lacking(self) -> list[Problem]:
        """An article field found on no page read is an error (the site
        changed, or its selector is wrong); on some pages only, a warning;
        each with the count and a page that lacked it."""
        out = []
        pages = len(self.read_pages)
        for key in self.expected:
            missing = self.lacking.get(key, [])
            if not missing:
                continue
            f = getattr(self.web.article, key)
            how = f"selector {f.select!r}" if f is not None else "auto"
            if len(missing) == pages:
                out.append(Problem(self.settings.name, self.web.start[0].url,
                                   f"article field {key} ({how}) found nothing on any of the {pages} article "
                                   f"page(s) read, e.g. {missing[0]}: the site may have changed, or the selector "
                                   f"is wrong"))
            else:
                out.append(Problem(self.settings.name, self.web.start[0].url,
                                   f"article field {key} ({how}) found nothing on {len(missing)} of the {pages} "
                                   f"article page(s) read, e.g. {missing[0]}", "warning"))
        return out

    def _narrowed(self, text: str | None, f: Field, url: str) -> str | None:
        value, matched = narrow(text, f)
        if not matched:
            self.missed.setdefault(f.select, url)
        return value

    def _listing(self, url: str, category: str | None, memory, out: Fetched, seen: set[str]) -> list[Candidate]:
        found: list[Candidate] = []
        visited: set[str] = set()
        numbered = page_urls(url, self.web.page_url, self.web.page_param, self.web.page_from)
        for n in range(self.web.max_pages):
            if url in visited or self.should_stop():
                break                                        # a pagination loop, or stopping
            visited.add(url)
            known = memory.get(url, {})
            try:
                page = self.get_listing(url, etag=known.get("etag"), last_modified=known.get("last_modified"))
                try:
                    items, base = self.listed(page) if page.status != 304 else ([], url)
                except FetchError:
                    raise
                except Exception as exc:                     # a page that cannot be read: this start entry's
                    raise unreadable(url, exc) from None
            except FetchError as exc:
                # Past the last numbered page: 404 (WordPress's REST API: 400).
                if not (n and numbered is not None and exc.status in (400, 404)):
                    out.problems.append(Problem(self.settings.name, url, exc.reason))
                break
            if page.status == 304:
                out.unchanged += 1
                break                                        # nothing new here, nor further on
            out.listings += 1
            usable = [i for i in items if i.href]
            if not usable:
                if n == 0:
                    out.empty += 1
                    what = (f"matched {len(items)} element(s), none with a link (placeholders a script fills?)"
                            if items else "matched nothing")
                    out.problems.append(Problem(self.settings.name, url,
                                                f"the item selector {self.web.item!r} {what}", "warning"))
                else:
                    out.listings -= 1                        # past the last page: an empty one is not a listing
                break
            new_here = elsewhere = 0
            for item in usable:
                link = canonical_url(urljoin(base, item.href))
                if link in seen:
                    continue
                seen.add(link)
                try:
                    self.http.check_host(link)
                except FetchError:
                    elsewhere += 1                           # another host: neither fetched nor published
                    continue
                if link in memory and memory[link].get("listing_date") == item.date:
                    continue                                 # stored, and the listing shows nothing newer
                new_here += 1
                out.listed[link] = item.date
                found.append(Candidate(link, item.title, item.date, category, page, item.source, item.summary))
            if elsewhere:
                out.problems.append(Problem(self.settings.name, url, f"{elsewhere} item link(s) lead to other hosts "
                                            f"and were left out (allow_hosts names hosts to follow)", "warning"))
            out.remember[url] = {"etag": page.etag, "last_modified": page.last_modified}
            if numbered is not None:
                nxt = next(numbered)
            elif self.web.next_page and self.web.listing == "html":
                href = link_of(self._doc, self.web.next_page)
                if n == 0:
                    self.first_pages.append(href is not None)
                nxt = urljoin(base, href) if href else None
            else:
                nxt = None
            if not new_here or not nxt:
                break
            url = nxt
        return found

    def _from_listing(self, c: Candidate) -> RawArticle:
        return RawArticle(
            source=self.settings.name, location=c.url, gathered_at=c.listed_at.date, title=c.title, date=c.date,
            link=c.url, categories=(c.category,) if c.category else (), timezone=self.settings.timezone,
            default_category=self.settings.category, body_format="html", body="",
            source_name=source_text(c.source) if c.source else None, summary=c.summary)

    # -- article pages --------------------------------------------------------------
    def _article(self, c: Candidate) -> tuple[RawArticle | None, FetchError | None]:
        if self.should_stop():
            return None, None                                # not fetched: next time
        try:
            page = self.get_article(c.url)
        except FetchError as exc:
            return None, exc
        try:
            return self._read_article(c, page), None
        except Exception as exc:                             # whatever the page holds costs that page only
            return None, unreadable(c.url, exc)

    def _read_article(self, c: Candidate, page: Page) -> RawArticle:
        text = page_text(page)
        doc, base = parse(page, text)
        a = self.web.article
        found = auto.read_page(parse(page, text)[0], text) if a.auto else {}

        def get(f, key):                                 # a selector wins over what auto finds
            value = None if f is None else self._narrowed(select.value(doc, f.select), f, c.url)
            return value or found.get(key)
        title = get(a.title, "title")
        date = get(a.date, "date")
        crumb = get(a.breadcrumb, "breadcrumb")
        body = (select.inner_html(doc, a.body.select) if a.body else None) or found.get("body")
        author = get(a.author, "author")
        source_name = get(a.source, "source")
        found_here = {"title": title, "date": date, "body": body, "breadcrumb": crumb, "author": author,
                      "source": source_name}
        self.read_pages.append(c.url)
        for key in self.expected:
            if not found_here[key]:
                self.lacking.setdefault(key, []).append(c.url)
        title = title or (doc.xpath("string(//h1)") or "").strip() or c.title
        source_name = source_name or c.source
        link = own_url(doc, base, page.url) or c.url
        return RawArticle(
            source=self.settings.name, location=c.url, gathered_at=page.date,
            title=title, date=date, listing_date=c.date,       # normalize weighs the two
            body=body or "", body_format="html", base_url=base, summary=None if body else c.summary,
            breadcrumb=crumb_text(crumb) if crumb else None,
            categories=(c.category,) if c.category and not crumb else (),
            source_name=source_text(source_name) if source_name else None,
            author=author,
            link=link, claimed=link != c.url, timezone=self.settings.timezone,
            default_category=self.settings.category,
        )

    # -- feedpub try ------------------------------------------------------------------
    def trial(self) -> list[tuple]:
        """What each selector finds on every start page (its first listing
        page) and on one article page: (where, field, raw value, the page's
        server Date), nothing stored. `feedpub try` shows beside each raw
        value what feedpub makes of it, as `build` would: relative and
        year-less dates against the server's clock, not this machine's."""
        rows = self._trial()
        return [row if len(row) == 4 else (*row, None) for row in rows]

    def _trial(self) -> list[tuple]:
        w = self.web
        rows: list[tuple] = []
        first_link = None
        for start in w.start:
            try:
                page = self.get_listing(start.url)
                items, base = self.listed(page)
            except FetchError as exc:
                rows.append((start.url, "fetch", f"failed: {exc.reason}"))
                continue
            rows.append((start.url, f"item {w.item!r}", f"{len(items)} match(es)"))
            if start.category:
                rows.append((start.url, "category", start.category))
            for n, item in enumerate(items[:5]):
                link = canonical_url(urljoin(base, item.href)) if item.href else None
                first_link = first_link or link
                rows.append((start.url, f"[{n}] title", item.title))
                rows.append((start.url, f"[{n}] link", link))
                for key in ("date", "source", "summary"):
                    if getattr(w, key) is not None:
                        rows.append((start.url, f"[{n}] {key}", getattr(item, key), page.date))
            numbered = page_urls(start.url, w.page_url, w.page_param, w.page_from)
            if numbered is not None:
                rows.append((start.url, "next page", next(numbered)))
            elif w.next_page and w.listing == "html":
                nxt = link_of(self._doc, w.next_page)
                rows.append((start.url, f"next_page {w.next_page!r}", urljoin(base, nxt) if nxt else None))
        if w.article and first_link:
            art_page = self.get_article(first_link)
            art_text = page_text(art_page)
            art, art_base = parse(art_page, art_text)
            where: dict = {}
            found = auto.read_page(parse(art_page, art_text)[0], art_text, where) if w.article.auto else {}
            for key in ("title", "date", "source", "breadcrumb", "author", "body"):
                f = getattr(w.article, key)
                if f is not None:
                    raw = (select.inner_html(art, f.select) if key == "body" else narrow(select.value(art, f.select),
                                                                                         f)[0])
                    label = key
                elif key in found:
                    raw, label = found[key], f"{key} (auto, from {where.get(key, 'nowhere')})"
                else:
                    continue
                if key == "body":
                    raw = None if raw is None else f"{len(raw)} characters of HTML"
                rows.append((first_link, label, raw, art_page.date))
            canonical = art.xpath("//link[@rel='canonical']/@href")
            rows.append((first_link, "canonical link", canonical[0] if canonical else None))
        return rows
