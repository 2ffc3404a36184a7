"""Source type `web`: a website's category listing pages, and its article pages.

What RSSHub and RSS-Bridge do by code, from configuration: CSS selectors pick
the items of each listing page (paginated), and, if `[sources.article]` is
set, the title, time, source, body and breadcrumb of each new article page.
Like every source, it returns what the pages say as written (dates,
breadcrumbs) plus the HTTP `Date` each page came with, so relative dates
resolve against the server's clock. What it remembered from the last gather
(ETags, listing dates) comes in as `memory` and goes out as `remember`.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import html as lxml_html

from ..config import Source
from ..model import Problem, RawArticle
from . import decode, select
from .formats import crumb_text, source_text
from .http import FetchError, Http, Page

TRACKING = re.compile(r"^(utm_[a-z]+|spm|from|fbclid|gclid|mc_[a-z]+|_hsenc|_hsmi|ref|share_from)$", re.I)


def canonical_url(url: str) -> str:
    """The URL without tracking parameters or fragment: one story, one URL."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING.match(k)]
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", urlencode(query), ""))


@dataclass
class Gathered:
    articles: list[RawArticle] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    remember: dict[str, dict] = field(default_factory=dict)   # url -> etag / last_modified / listing_date
    listings: int = 0              # listing pages fetched (200)
    unchanged: int = 0             # listing pages answered 304
    empty: int = 0                 # listing pages where the item selector matched nothing


@dataclass(frozen=True)
class Candidate:
    url: str
    title: str | None
    date: str | None
    category: str | None
    listed_at: Page


def parse(page: Page):
    """Bytes -> lxml document, decoded by header, then meta, then detection."""
    text = decode.decode_declared(page.content, [page.charset, decode.declared_charset(page.content)]).text
    doc = lxml_html.document_fromstring(text or "<html></html>")
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


class WebSource:
    def __init__(self, settings: Source, http: Http):
        self.should_stop = lambda: False
        self.settings = settings
        self.web = settings.web
        self.http = http

    def gather(self, memory: dict[str, dict], should_stop=None) -> Gathered:
        """What the listings (and article pages) hold now. `should_stop()`
        ends it early between pages: what was not fetched is fetched next time."""
        self.should_stop = should_stop or (lambda: False)
        out = Gathered()
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
            for c in candidates:
                out.remember[c.url] = {"listing_date": c.date}
            return out
        with ThreadPoolExecutor(max_workers=self.web.concurrency) as pool:
            results = list(pool.map(self._article, candidates))
        for c, (article, failure) in zip(candidates, results):
            if article is not None:
                out.articles.append(article)
            if failure is not None:
                out.problems.append(Problem(self.settings.name, c.url, failure.reason))
            if article is not None or (failure is not None and failure.permanent):
                out.remember[c.url] = {"listing_date": c.date}   # a 404 is not fetched again until relisted
        if any(url not in out.remember for url in (c.url for c in candidates)):
            # An article page failed for now (timeout, 5xx): keep the listings'
            # validators unsaved, so the next gather reads them again and retries.
            for url in [u for u, v in out.remember.items() if "etag" in v]:
                del out.remember[url]
        return out

    def trial(self) -> list[tuple[str, str, object]]:
        """What each selector finds on the first listing page and one article page.

        For `feedpub try`: (where, selector name, what it found), nothing stored.
        """
        w = self.web
        start = w.start[0].url
        page = self.http.get(start)
        doc, base = parse(page)
        items = select.matches(doc, w.item)
        rows: list[tuple[str, str, object]] = [(start, f"item {w.item!r}", f"{len(items)} match(es)")]
        first_link = None
        for n, el in enumerate(items[:5]):
            href = link_of(el, w.link)
            link = canonical_url(urljoin(base, href)) if href else None
            first_link = first_link or link
            rows.append((start, f"[{n}] title {w.title!r}", select.value(el, w.title)))
            rows.append((start, f"[{n}] link {w.link!r}", link))
            if w.date:
                rows.append((start, f"[{n}] date {w.date!r}", select.value(el, w.date)))
        if w.next_page:
            nxt = link_of(doc, w.next_page)
            rows.append((start, f"next_page {w.next_page!r}", urljoin(base, nxt) if nxt else None))
        if w.article and first_link:
            art_page = self.http.get(first_link)
            art, art_base = parse(art_page)
            for key in ("title", "date", "source", "breadcrumb", "author"):
                sel = getattr(w.article, key)
                if sel:
                    rows.append((first_link, f"{key} {sel!r}", select.value(art, sel)))
            if w.article.body:
                body = select.inner_html(art, w.article.body)
                rows.append((first_link, f"body {w.article.body!r}",
                             None if body is None else f"{len(body)} characters of HTML"))
            canonical = art.xpath("//link[@rel='canonical']/@href")
            rows.append((first_link, "canonical link", canonical[0] if canonical else None))
        return rows

    # -- listing pages ------------------------------------------------------------
    def _listing(self, url: str, category: str | None, memory, out: Gathered, seen: set[str]) -> list[Candidate]:
        found: list[Candidate] = []
        visited: set[str] = set()
        for _ in range(self.web.max_pages):
            if url in visited or self.should_stop():
                break                                        # a pagination loop, or stopping
            visited.add(url)
            known = memory.get(url, {})
            try:
                page = self.http.get(url, etag=known.get("etag"), last_modified=known.get("last_modified"))
            except FetchError as exc:
                out.problems.append(Problem(self.settings.name, url, exc.reason))
                break
            if page.status == 304:
                out.unchanged += 1
                break                                        # nothing new here, nor further on
            out.listings += 1
            doc, base = parse(page)
            items = select.matches(doc, self.web.item)
            if not items:
                out.empty += 1
                out.problems.append(Problem(self.settings.name, url,
                                            f"the item selector {self.web.item!r} matched nothing", "warning"))
                break
            new_here = elsewhere = 0
            for el in items:
                href = link_of(el, self.web.link)
                if not href:
                    continue
                link = canonical_url(urljoin(base, href))
                if link in seen:
                    continue
                seen.add(link)
                try:
                    self.http.check_host(link)
                except FetchError:
                    elsewhere += 1                           # another host: neither fetched nor published
                    continue
                date = select.value(el, self.web.date) if self.web.date else None
                if link in memory and memory[link].get("listing_date") == date:
                    continue                                 # stored, and the listing shows nothing newer
                new_here += 1
                found.append(Candidate(link, select.value(el, self.web.title), date, category, page))
            if elsewhere:
                out.problems.append(Problem(self.settings.name, url, f"{elsewhere} item link(s) lead to other hosts "
                                            f"and were left out (allow_hosts names hosts to follow)", "warning"))
            out.remember[url] = {"etag": page.etag, "last_modified": page.last_modified}
            nxt = link_of(doc, self.web.next_page) if self.web.next_page else None
            if not new_here or not nxt:
                break
            url = urljoin(base, nxt)
        return found

    def _from_listing(self, c: Candidate) -> RawArticle:
        return RawArticle(
            source=self.settings.name, location=c.url, gathered_at=c.listed_at.date, title=c.title, date=c.date,
            link=c.url, categories=(c.category,) if c.category else (), timezone=self.settings.timezone,
            default_category=self.settings.category, body_format="html", body="")

    # -- article pages --------------------------------------------------------------
    def _article(self, c: Candidate) -> tuple[RawArticle | None, FetchError | None]:
        if self.should_stop():
            return None, None                                # not fetched: next time
        try:
            page = self.http.get(c.url)
        except FetchError as exc:
            return None, exc
        doc, base = parse(page)
        a = self.web.article
        title = select.value(doc, a.title) if a.title else None
        title = title or (doc.xpath("string(//h1)") or "").strip() or c.title
        date = select.value(doc, a.date) if a.date else None
        source_name = select.value(doc, a.source) if a.source else None
        crumb = select.value(doc, a.breadcrumb) if a.breadcrumb else None
        canonical = doc.xpath("//link[@rel='canonical']/@href")
        link = canonical_url(urljoin(base, canonical[0].strip())) if canonical and canonical[0].strip() else c.url
        body = select.inner_html(doc, a.body) if a.body else None
        return RawArticle(
            source=self.settings.name, location=c.url, gathered_at=page.date,
            title=title, date=date or c.date,                  # the article page's date wins
            body=body or "", body_format="html", base_url=base,
            breadcrumb=crumb_text(crumb) if crumb else None,
            categories=(c.category,) if c.category and not crumb else (),
            source_name=source_text(source_name) if source_name else None,
            author=select.value(doc, a.author) if a.author else None,
            link=link, timezone=self.settings.timezone, default_category=self.settings.category,
        ), None

