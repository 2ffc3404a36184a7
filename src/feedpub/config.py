"""TOML -> typed, validated settings: the one place that knows the defaults.

A wrong configuration is the only thing that stops feedpub, so every message
names the file and the key, and unknown keys are refused rather than ignored
(a typo in `max_itmes` must not silently publish 50 items).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dateutil import tz

from .locations import DEFAULT_CONFIG, DEFAULT_STORE_URL, local_path, sqlite_file, store_url
from . import patterns

SOURCE_TYPES = ("folder", "web", "sql")


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Site:
    title: str
    link: str
    feeds_url: str
    language: str = "en"
    timezone: str = "UTC"
    description: str = ""
    author: str = ""
    copyright: str = ""
    icon: str | None = None          # a small square image URL (Atom icon, JSON Feed favicon)
    logo: str | None = None          # a larger image URL (RSS image, Atom logo, JSON Feed icon)
    email: str | None = None         # the newsroom's address: RSS items then carry <author>


FORMATS = ("rss", "atom", "json")
VARIANTS = ("zh-Hans", "zh-Hant", "zh-TW", "zh-HK", "zh-CN")   # script variants OpenCC converts to


@dataclass(frozen=True)
class Output:
    dir: Path
    max_items: int = 50
    summary_length: int = 200
    formats: tuple[str, ...] = FORMATS
    full_text: bool = True           # False: summaries only
    max_bytes: int = 1_000_000       # no feed file larger: items are dropped from the end
    archive_page_size: int = 50      # RFC 5005 archive pages; at most max_items
    stylesheet: bool = True          # the XSL that makes feeds readable in a browser
    variants: tuple[str, ...] = ()   # script variants written beside every feed: "zh-Hans", "zh-Hant"


@dataclass(frozen=True)
class WebSub:
    hubs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Serve:
    cache_size: int = 64 * 1024 * 1024   # bytes of files `feedpub serve` keeps in memory
    metrics: bool = False                # /metrics (Prometheus text format) from the store
    header_timeout: float = 10.0         # seconds a client has to send a whole request head
    keep_alive: float = 15.0             # seconds an idle connection is kept open
    max_connections: int = 1024          # open at once; past it a new one gets 503


@dataclass(frozen=True)
class Store:
    url: str
    status_file: Path | None = None  # `feedpub run`'s status for monitoring (None: the store only)
    busy_timeout: float = 60.0       # seconds a write waits while another writer holds the store


@dataclass(frozen=True)
class StartPage:
    url: str
    category: str | None = None


@dataclass(frozen=True)
class Field:
    """Where a value is: a selector (CSS with @attr, or a JMESPath in a JSON
    listing), and optionally a regular expression whose first group, searched
    in the selected text, is the value (`來源：\\s*(\\S+)` on a byline)."""

    select: str
    pattern: str | None = None


@dataclass(frozen=True)
class ArticleSelectors:
    title: Field | None = None
    date: Field | None = None
    source: Field | None = None
    body: Field | None = None
    breadcrumb: Field | None = None
    author: Field | None = None
    auto: bool = False           # read what no selector names from meta tags, bylines and the main text
    render: str = "http"         # or "browser": fetched by headless Chromium, after its scripts ran


@dataclass(frozen=True)
class Web:
    """What a `web` source reads: listing pages, and optionally each article page."""

    start: tuple[StartPage, ...]
    item: str
    title: Field
    link: Field
    date: Field | None = None
    source: Field | None = None
    summary: Field | None = None
    next_page: str | None = None
    max_pages: int = 3
    listing: str = "html"        # or "json": start URLs are JSON endpoints, selectors JMESPath
    page_url: str | None = None  # "index_{n}.html": pages a script pager makes, {n} from page_from up
    page_from: int = 1
    page_param: str | None = None   # "page": the start URL's query parameter raised page by page
    render: str = "http"         # or "browser": listing pages fetched by headless Chromium
    article: ArticleSelectors | None = None
    robots: bool = True
    delay: float = 1.0           # seconds between two requests to one host
    timeout: float = 20.0
    retries: int = 2
    concurrency: int = 2         # requests at once to one host
    user_agent: str | None = None
    deadline: float = 60.0       # seconds a page may take in all (a server that drips never hangs a gather)
    max_page_size: int = 10 * 1024 * 1024   # bytes of a page, counted after decompression
    allow_hosts: tuple[str, ...] = ()        # hosts fetched besides the start URLs' own
    browser_memory: int = 1024 ** 3          # render = "browser": Chromium's memory (PSS) past which it is killed
    per_host: int = 1                        # [web]: requests at once to one host, from all sources together
    max_connections: int = 32                # [web]: requests in flight at once, all hosts together


@dataclass(frozen=True)
class Sql:
    """What a `sql` source runs: a read-only query, and which column is which field."""

    url: str
    query: str
    fields: dict
    timeout: float = 30.0
    since: object = "1970-01-01 00:00:00"   # :since before anything was seen


@dataclass(frozen=True)
class Source:
    name: str
    type: str
    path: Path | None
    timezone: str
    category: str | None = None
    link_template: str | None = None
    extensions: tuple[str, ...] = (".txt", ".md", ".markdown", ".json", ".html", ".htm")
    every: float | None = 300.0      # seconds between gathers (None: cron decides)
    cron: str | None = None          # "*/10 * * * *" in the source's zone
    jitter: float = 0.0              # seconds of random delay, so many sources don't tick at once
    misfire_grace: float = 300.0     # a run missed by more than this is skipped, not caught up
    watch: bool = False              # folder: publish new files as they land
    rescan: float = 600.0            # watched folder: scanned whole this often all the same
    web: Web | None = None           # web: what to fetch and how
    sql: Sql | None = None           # sql: what to query


@dataclass(frozen=True)
class CategoryOverride:
    slug: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class FilteredFeed:
    """A feed of the articles about one subject, across categories."""

    slug: str                        # where its files go, below the output folder
    title: str
    include: tuple[str, ...]         # any of these words (or /regex/), in the title or the text
    exclude: tuple[str, ...] = ()    # ... and none of these
    categories: tuple[str, ...] = () # only under these categories (as configured; none: all)


@dataclass(frozen=True)
class Settings:
    path: Path
    site: Site
    output: Output
    store: Store
    sources: tuple[Source, ...]
    categories: dict[str, CategoryOverride] = field(default_factory=dict)
    websub: WebSub = field(default_factory=WebSub)
    serve: Serve = field(default_factory=Serve)
    feeds: tuple[FilteredFeed, ...] = ()


class _Reader:
    """Walks the TOML tables, collecting typed values with precise errors."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {message}")

    def table(self, data: dict, key: str, allowed: set[str], required: bool = False) -> dict:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(key, "missing table")
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        self.known(value, key, allowed)
        return value

    def known(self, table: dict, where: str, allowed: set[str]) -> None:
        for k in table:
            if k not in allowed:
                hint = f" (known keys: {', '.join(sorted(allowed))})"
                raise self.fail(f"{where}.{k}", "unknown key" + hint)

    def str(self, table: dict, where: str, key: str, default: Any = ..., nonempty: bool = True) -> Any:
        if key not in table:
            if default is ...:
                raise self.fail(f"{where}.{key}", "missing")
            return default
        value = table[key]
        if not isinstance(value, str) or (nonempty and not value.strip()):
            raise self.fail(f"{where}.{key}", f"must be a non-empty string, not {value!r}")
        return value

    def int(self, table: dict, where: str, key: str, default: int, low: int, high: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(f"{where}.{key}", f"must be a whole number from {low} to {high}, not {value!r}")
        return value

    def zone(self, table: dict, where: str, key: str, default: str) -> str:
        name = self.str(table, where, key, default)
        if tz.gettz(name) is None or "/" not in name and name not in ("UTC", "GMT"):
            raise self.fail(f"{where}.{key}", f"unknown time zone {name!r} (use an IANA name such as 'Asia/Shanghai')")
        return name

    def url(self, table: dict, where: str, key: str) -> str:
        value = self.str(table, where, key)
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise self.fail(f"{where}.{key}", f"must be an absolute http(s) URL, not {value!r}")
        return value if value.endswith("/") or key != "feeds_url" else value + "/"

    def duration(self, table: dict, where: str, key: str, default: float) -> float:
        if key not in table:
            return default
        value = table[key]
        seconds = parse_duration(value) if isinstance(value, str) else None
        if seconds is None:
            raise self.fail(f"{where}.{key}", f"must be a duration such as \"30s\", \"5m\" or \"1h\", not {value!r}")
        return seconds

    def size(self, table: dict, where: str, key: str, default: int) -> int:
        """ "10MB", "512KB", "1GB" or a number of bytes."""
        if key not in table:
            return default
        value = table[key]
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*", value, re.I) if isinstance(value, str) else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        if m is None or float(m.group(1)) <= 0:
            raise self.fail(f"{where}.{key}", f"must be a size such as \"10MB\" or \"512KB\", not {value!r}")
        unit = (m.group(2) or "B").upper().replace("I", "")
        return int(float(m.group(1)) * {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}[unit])

    def local_path(self, raw: str) -> Path:
        return local_path(raw, self.path)


def load(path: str | Path | None = None) -> Settings:
    """Read and validate a configuration file."""
    path = Path(path) if path is not None else DEFAULT_CONFIG
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse(data, path.resolve())


def parse(data: dict, path: Path) -> Settings:
    r = _Reader(path)
    r.known(data, "(top level)", {"site", "output", "store", "sources", "categories", "websub", "serve", "feeds",
                                  "web"})

    s = r.table(data, "site", {"title", "link", "feeds_url", "language", "timezone", "description", "author",
                               "copyright", "icon", "logo", "email"}, required=True)
    email = r.str(s, "site", "email", "", nonempty=False) or None
    if email is not None and not re.fullmatch(r"[^@\s()<>]+@[^@\s()<>]+\.[^@\s()<>]+", email):
        raise r.fail("site.email", f"must be an email address such as newsroom@example.com, not {email!r}")
    site = Site(
        title=r.str(s, "site", "title"),
        link=r.url(s, "site", "link"),
        feeds_url=r.url(s, "site", "feeds_url"),
        language=r.str(s, "site", "language", "en"),
        timezone=r.zone(s, "site", "timezone", "UTC"),
        description=r.str(s, "site", "description", "", nonempty=False),
        author=r.str(s, "site", "author", "", nonempty=False),
        copyright=r.str(s, "site", "copyright", "", nonempty=False),
        icon=r.url(s, "site", "icon") if "icon" in s else None,
        logo=r.url(s, "site", "logo") if "logo" in s else None,
        email=email,
    )

    o = r.table(data, "output", {"dir", "max_items", "summary_length", "formats", "full_text", "max_bytes",
                                 "archive_page_size", "stylesheet", "variants"})
    variants = o.get("variants", [])
    if not isinstance(variants, list) or not all(v in VARIANTS for v in variants) or len(set(variants)) < len(variants):
        raise r.fail("output.variants", f"must be a list of {', '.join(map(repr, VARIANTS))}, not {variants!r}")
    formats = o.get("formats", list(FORMATS))
    if not isinstance(formats, list) or not formats or not all(f in FORMATS for f in formats):
        raise r.fail("output.formats", f"must be a non-empty list of {', '.join(map(repr, FORMATS))}, not {formats!r}")
    max_items = r.int(o, "output", "max_items", 50, 1, 10_000)
    page_size = r.int(o, "output", "archive_page_size", min(50, max_items), 1, 10_000)
    if page_size > max_items:
        raise r.fail("output.archive_page_size", f"must be at most max_items ({max_items}), so that every item "
                                                 f"is in the current feed or in a closed archive page")
    for key in ("full_text", "stylesheet"):
        if not isinstance(o.get(key, True), bool):
            raise r.fail(f"output.{key}", "must be true or false")
    output = Output(
        dir=r.local_path(r.str(o, "output", "dir", "feeds")).resolve(),
        max_items=max_items,
        summary_length=r.int(o, "output", "summary_length", 200, 20, 10_000),
        formats=tuple(f for f in FORMATS if f in formats),
        full_text=o.get("full_text", True),
        max_bytes=r.int(o, "output", "max_bytes", 1_000_000, 10_000, 1_000_000_000),
        archive_page_size=page_size,
        stylesheet=o.get("stylesheet", True),
        variants=tuple(variants),
    )

    st = r.table(data, "store", {"url", "status_file", "busy_timeout"})
    store_url = _store_url(r, r.str(st, "store", "url", DEFAULT_STORE_URL))
    status_file = r.str(st, "store", "status_file", "", nonempty=False) if "status_file" in st else None
    if status_file is None:
        # Monitoring state stays beside the store, never in the published folder.
        database = sqlite_file(store_url)
        status = database.parent / "status.json" if database else None
    else:
        status = r.local_path(status_file).resolve() if status_file else None
    if status is not None and (status == output.dir or output.dir in status.parents):
        raise r.fail("store.status_file", f"{status} is inside the output folder {output.dir}: anyone who reads "
                                          f"the feeds would read the machine's host names, paths and errors")
    store = Store(url=store_url, status_file=status, busy_timeout=r.duration(st, "store", "busy_timeout", 60.0))

    wb = r.table(data, "web", {"per_host", "max_connections"})
    hosts = dict(per_host=r.int(wb, "web", "per_host", Web.per_host, 1, 16),
                 max_connections=r.int(wb, "web", "max_connections", Web.max_connections, 1, 1024))

    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list) or not all(isinstance(x, dict) for x in raw_sources):
        raise r.fail("sources", "must be an array of tables ([[sources]])")
    sources: list[Source] = []
    for n, src in enumerate(raw_sources):
        where = f"sources[{n}]"
        name = r.str(src, where, "name")
        where = f"sources[{n}] ({name})"
        kind = r.str(src, where, "type")
        if kind not in SOURCE_TYPES:
            raise r.fail(f"{where}.type", f"unknown source type {kind!r} (known: {', '.join(SOURCE_TYPES)})")
        common = {"name", "type", "timezone", "category", "every", "cron", "jitter", "misfire_grace"}
        zone = r.zone(src, where, "timezone", site.timezone)
        every, cron = _schedule(r, src, where, zone)
        base = dict(name=name, type=kind, timezone=zone, category=r.str(src, where, "category", None),
                    every=every, cron=cron,
                    jitter=r.duration(src, where, "jitter", min(30.0, (every or 600.0) / 10)),
                    misfire_grace=r.duration(src, where, "misfire_grace", 300.0))
        if kind == "folder":
            r.known(src, where, common | {"path", "link_template", "extensions", "watch", "rescan"})
            sources.append(Source(**base, **_folder(r, src, where)))
        elif kind == "web":
            r.known(src, where, common | WEB_KEYS)
            sources.append(Source(**base, path=None, web=dataclasses.replace(_web(r, src, where), **hosts)))
        else:
            r.known(src, where, common | {"url", "query", "fields", "timeout", "since"})
            sources.append(Source(**base, path=None, sql=_sql(r, src, where)))
    names = [x.name for x in sources]
    for name in names:
        if names.count(name) > 1:
            raise r.fail("sources", f"two sources are named {name!r}; names must be unique")

    cats_raw = data.get("categories", {})
    if not isinstance(cats_raw, dict):
        raise r.fail("categories", "must be a table of tables ([categories.\"a/b\"])")
    categories = {}
    for key, val in cats_raw.items():
        where = f"categories.{key!r}"
        if not isinstance(val, dict):
            raise r.fail(where, "must be a table with slug and/or title")
        r.known(val, where, {"slug", "title"})
        slug = r.str(val, where, "slug", None)
        if slug is not None and not _valid_slug_path(slug):
            raise r.fail(f"{where}.slug", f"{slug!r} must be lowercase ASCII words joined by '-' and '/', "
                                          f"and not start with a name feedpub uses itself (articles, archive)")
        categories[key] = CategoryOverride(slug=slug, title=r.str(val, where, "title", None))

    ws = r.table(data, "websub", {"hubs"})
    hubs = ws.get("hubs", [])
    if not isinstance(hubs, list) or not all(isinstance(h, str) for h in hubs):
        raise r.fail("websub.hubs", "must be a list of hub URLs")
    for n, _ in enumerate(hubs):
        r.url({"hub": hubs[n]}, f"websub.hubs[{n}]", "hub")

    sv = r.table(data, "serve", {"cache_size", "metrics", "header_timeout", "keep_alive", "max_connections"})
    if not isinstance(sv.get("metrics", False), bool):
        raise r.fail("serve.metrics", "must be true or false")
    serve = Serve(cache_size=r.size(sv, "serve", "cache_size", Serve.cache_size), metrics=sv.get("metrics", False),
                  header_timeout=r.duration(sv, "serve", "header_timeout", Serve.header_timeout),
                  keep_alive=r.duration(sv, "serve", "keep_alive", Serve.keep_alive),
                  max_connections=r.int(sv, "serve", "max_connections", Serve.max_connections, 1, 1_000_000))

    feeds = _filtered_feeds(r, data.get("feeds", []), categories)

    return Settings(path=path, site=site, output=output, store=store, sources=tuple(sources),
                    categories=categories, websub=WebSub(tuple(hubs)), serve=serve, feeds=feeds)


def _filtered_feeds(r: _Reader, raw, categories: dict) -> tuple[FilteredFeed, ...]:
    if not isinstance(raw, list):
        raise r.fail("feeds", "must be an array of tables: [[feeds]]")
    taken = {ov.slug: key for key, ov in categories.items() if ov.slug}
    out = []
    for n, f in enumerate(raw):
        where = f"feeds[{n}]"
        if not isinstance(f, dict):
            raise r.fail(where, "must be a table: [[feeds]]")
        r.known(f, where, {"slug", "title", "include", "exclude", "categories"})
        slug = r.str(f, where, "slug")
        if not _valid_slug_path(slug):
            raise r.fail(f"{where}.slug", f"{slug!r} must be lowercase ASCII words joined by '-' and '/', "
                                          f"and not start with a name feedpub uses itself (articles, archive)")
        if slug in taken:
            raise r.fail(f"{where}.slug", f"{slug!r} is already the folder of {taken[slug]!r}")
        taken[slug] = where
        words = {}
        for key in ("include", "exclude", "categories"):
            value = f.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise r.fail(f"{where}.{key}", "must be a list of non-empty strings")
            for v in value:
                if key != "categories" and len(v) > 2 and v.startswith("/") and v.endswith("/"):
                    try:
                        patterns.compile(v[1:-1])
                    except patterns.PatternError as exc:
                        raise r.fail(f"{where}.{key}", f"{v} is not a regular expression feedpub can run: {exc}") from None
            words[key] = tuple(value)
        if not words["include"]:
            raise r.fail(f"{where}.include", "must name at least one word (or /regex/) a matching article holds")
        out.append(FilteredFeed(slug=slug, title=r.str(f, where, "title"), **words))
    return tuple(out)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float | None:
    """ "90s", "5m", "1h30m" -> seconds; None if it is not a duration."""
    text = text.strip().lower()
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    return total if pos == len(text) and text else None


def _folder(r: _Reader, src: dict, where: str) -> dict:
    folder = r.local_path(r.str(src, where, "path")).resolve()
    if not folder.is_dir():
        raise r.fail(f"{where}.path", f"no such folder: {folder}")
    exts = src.get("extensions", list(Source.extensions))
    if not isinstance(exts, list) or not all(isinstance(e, str) and e.startswith(".") for e in exts):
        raise r.fail(f"{where}.extensions", "must be a list of file endings such as \".txt\"")
    template = r.str(src, where, "link_template", None)
    if template is not None:
        try:
            template.format(stem="x", path="x", n=0)
        except (KeyError, IndexError, ValueError) as exc:
            raise r.fail(f"{where}.link_template", f"placeholders are {{stem}}, {{path}} and {{n}}: {exc}") from None
    watch = src.get("watch", False)
    if not isinstance(watch, bool):
        raise r.fail(f"{where}.watch", "must be true or false")
    rescan = r.duration(src, where, "rescan", Source.rescan)
    if rescan <= 0:
        raise r.fail(f"{where}.rescan", "must be a positive duration such as \"10m\"")
    return dict(path=folder, link_template=template, extensions=tuple(e.lower() for e in exts), watch=watch,
                rescan=rescan)


WEB_KEYS = {"start", "item", "title", "link", "date", "next_page", "max_pages", "article", "robots", "delay",
            "timeout", "retries", "user_agent", "concurrency", "deadline", "max_page_size", "allow_hosts",
            "source", "summary", "listing", "page_url", "page_from", "page_param", "render", "browser_memory"}
ARTICLE_KEYS = {"title", "date", "source", "body", "breadcrumb", "author"}


def _selector(r: _Reader, table: dict, where: str, key: str, required: bool = False) -> Field | None:
    """A field: a selector as written (the web source type checks its syntax,
    sources.check), or a table { select = "…", pattern = "…" }."""
    value = table.get(key)
    if isinstance(value, dict):
        w = f"{where}.{key}"
        r.known(value, w, {"select", "pattern"})
        pattern = r.str(value, w, "pattern", None)
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise r.fail(f"{w}.pattern", f"not a regular expression: {exc}") from None
        return Field(r.str(value, w, "select"), pattern)
    text = r.str(table, where, key, ... if required else None)
    return None if text is None else Field(text)


def _web(r: _Reader, src: dict, where: str) -> Web:
    starts = src.get("start")
    if not isinstance(starts, list) or not starts:
        raise r.fail(f"{where}.start", "must be a list of listing pages: [{ url = \"https://…\", category = \"a/b\" }]")
    pages = []
    for n, entry in enumerate(starts):
        w = f"{where}.start[{n}]"
        if isinstance(entry, str):
            entry = {"url": entry}
        if not isinstance(entry, dict):
            raise r.fail(w, "must be a table { url = …, category = … }")
        r.known(entry, w, {"url", "category"})
        pages.append(StartPage(url=r.url(entry, w, "url"), category=r.str(entry, w, "category", None)))
    art = src.get("article")
    article = None
    if art is not None:
        if not isinstance(art, dict):
            raise r.fail(f"{where}.article", "must be a table [sources.article]")
        r.known(art, f"{where}.article", ARTICLE_KEYS | {"auto", "render"})
        auto = art.get("auto", False)
        if not isinstance(auto, bool):
            raise r.fail(f"{where}.article.auto", "must be true or false")
        article = ArticleSelectors(**{k: _selector(r, art, f"{where}.article", k) for k in ARTICLE_KEYS}, auto=auto,
                                   render=_render(r, art, f"{where}.article"))
    robots = src.get("robots", True)
    if not isinstance(robots, bool):
        raise r.fail(f"{where}.robots", "must be true or false")
    return Web(
        start=tuple(pages),
        item=r.str(src, where, "item"),
        title=_selector(r, src, where, "title", required=True),
        link=_selector(r, src, where, "link", required=True),
        date=_selector(r, src, where, "date"),
        source=_selector(r, src, where, "source"),
        summary=_selector(r, src, where, "summary"),
        next_page=r.str(src, where, "next_page", None),
        max_pages=r.int(src, where, "max_pages", 3, 1, 1000),
        **_paging(r, src, where),
        article=article,
        robots=robots,
        delay=r.duration(src, where, "delay", 1.0),
        timeout=r.duration(src, where, "timeout", 20.0),
        retries=r.int(src, where, "retries", 2, 0, 10),
        concurrency=r.int(src, where, "concurrency", 2, 1, 8),
        user_agent=r.str(src, where, "user_agent", None),
        deadline=r.duration(src, where, "deadline", Web.deadline),
        max_page_size=r.size(src, where, "max_page_size", Web.max_page_size),
        allow_hosts=_hosts(r, src, where),
        browser_memory=r.size(src, where, "browser_memory", Web.browser_memory),
    )


def _paging(r: _Reader, src: dict, where: str) -> dict:
    listing = r.str(src, where, "listing", "html")
    if listing not in ("html", "json"):
        raise r.fail(f"{where}.listing", f"must be \"html\" or \"json\", not {listing!r}")
    ways = [k for k in ("next_page", "page_url", "page_param") if k in src]
    if len(ways) > 1:
        raise r.fail(where, f"give one way to the next page, not {' and '.join(ways)}")
    page_url = r.str(src, where, "page_url", None)
    if page_url is not None:
        try:
            page_url.format(n=2)
        except (KeyError, IndexError, ValueError) as exc:
            raise r.fail(f"{where}.page_url", f"the page number is {{n}} (\"index_{{n}}.html\"): {exc}") from None
        if "{n}" not in page_url:
            raise r.fail(f"{where}.page_url", "must contain {n}, the page number: \"index_{n}.html\"")
    if listing == "json" and "next_page" in src:
        raise r.fail(f"{where}.next_page", "a JSON listing pages by page_param or page_url")
    return dict(listing=listing, page_url=page_url, page_from=r.int(src, where, "page_from", 1, 0, 1_000_000),
                page_param=r.str(src, where, "page_param", None), render=_render(r, src, where))


def _render(r: _Reader, table: dict, where: str) -> str:
    render = r.str(table, where, "render", "http")
    if render not in ("http", "browser"):
        raise r.fail(f"{where}.render", f"must be \"http\" or \"browser\", not {render!r}")
    return render


def _hosts(r: _Reader, src: dict, where: str) -> tuple[str, ...]:
    hosts = src.get("allow_hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h.strip() and "/" not in h for h in hosts):
        raise r.fail(f"{where}.allow_hosts", "must be a list of host names (with a port if not the default), "
                                             "e.g. [\"news.example.com\", \"img.example.com:8080\"]")
    return tuple(h.strip().lower() for h in hosts)


SQL_FIELDS = ("id", "title", "body", "category", "published", "updated", "link", "author", "source", "summary")


def _sql(r: _Reader, src: dict, where: str) -> Sql:
    import sqlalchemy as sa
    url = r.str(src, where, "url")
    try:
        sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise r.fail(f"{where}.url", f"not a SQLAlchemy URL such as 'mysql+pymysql://reader@host/cms': {url!r}") \
            from None
    fields = src.get("fields")
    if not isinstance(fields, dict) or "title" not in fields or \
            not all(isinstance(k, str) and k in SQL_FIELDS and isinstance(v, str) for k, v in fields.items()):
        raise r.fail(f"{where}.fields", f"must map fields ({', '.join(SQL_FIELDS)}; title required) to column "
                                        f"names, e.g. {{ title = \"title\", published = \"pubdate\" }}")
    since = src.get("since", "1970-01-01 00:00:00")
    if not isinstance(since, (str, int)):
        raise r.fail(f"{where}.since", "must be a string or a whole number")
    return Sql(url=url, query=r.str(src, where, "query"), fields=dict(fields),
               timeout=r.duration(src, where, "timeout", 30.0), since=since)


def _schedule(r: _Reader, src: dict, where: str, zone: str) -> tuple[float | None, str | None]:
    if "every" in src and "cron" in src:
        raise r.fail(where, "give either 'every' or 'cron', not both")
    cron = r.str(src, where, "cron", None)
    if cron is not None:
        from apscheduler.triggers.cron import CronTrigger
        try:
            CronTrigger.from_crontab(cron, timezone=zone)
        except ValueError as exc:
            raise r.fail(f"{where}.cron", f"not a crontab expression ({exc}): {cron!r}") from None
        return None, cron
    every = r.duration(src, where, "every", 300.0)
    if every < 0.1:
        raise r.fail(f"{where}.every", "must be at least 0.1s")
    return every, None


def _valid_slug_path(slug: str) -> bool:
    from .identity import RESERVED
    parts = slug.split("/")
    return parts[0] not in RESERVED and all(re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", part) for part in parts)


def _store_url(r: _Reader, url: str) -> str:
    """Make a relative SQLite path relative to the config file, not the cwd."""
    if "://" not in url:
        raise r.fail("store.url", f"must be a SQLAlchemy URL such as 'sqlite:///state/feedpub.db', not {url!r}")
    return store_url(url, r.path)
