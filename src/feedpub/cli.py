"""The command line: `feedpub check` and `feedpub build`.

Exit status: 0 done (problems with single files or pages are reported, not
fatal); 1 `feedpub try` could not fetch its page; 2 the configuration cannot
be used (a wrong key or value, a store URL without its dialect or driver, a
store behind this feedpub's schema, a store another `feedpub run` holds);
3 the store or the output folder cannot be used right now (read-only, full,
corrupt, unreachable): one message naming the path and the reason, and the
feeds already published are left as they were.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from . import __version__, config, sources, unchanged

# The pipeline (SQLAlchemy, feedgen, the parsers) is imported where a command
# needs it: `feedpub build` with nothing new answers before loading it.


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="feedpub", description="Publish RSS and Atom feeds per category.")
    ap.add_argument("--version", action="version", version=f"feedpub {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", "-c", default=None,
                       help=f"configuration file (default: {config.DEFAULT_CONFIG})")
        p.add_argument("--verbose", "-v", action="store_true", help="say more")
        return p

    with_config(sub.add_parser("check", help="validate the configuration; list sources and categories"))
    b = with_config(sub.add_parser("build", help="gather new articles and regenerate the feeds once"))
    b.add_argument("--full", action="store_true", help="re-read every file, not only new or changed ones")
    b.add_argument("--quiet", "-q", action="store_true", help="no progress display, only the summary")
    r = with_config(sub.add_parser("run", help="keep the feeds current on a schedule (Ctrl-C stops)"))
    r.add_argument("--serve", metavar="HOST:PORT", help="also serve the output folder, e.g. 127.0.0.1:8080")
    s = with_config(sub.add_parser("serve", help="serve the output folder read-only"))
    s.add_argument("address", nargs="?", default="127.0.0.1:8080", metavar="HOST:PORT")
    with_config(sub.add_parser("migrate", help="upgrade the store's schema to this feedpub's"))
    t = with_config(sub.add_parser("try", help="fetch a web source once and show what each selector finds"))
    t.add_argument("source", help="the name of a web source")
    sg = sub.add_parser("suggest", help="propose the [[sources]] that read a site, from its home page (or one "
                                        "listing, with --category)")
    sg.add_argument("url", help="the site's home page, or any page with its menu; with --category, a listing")
    sg.add_argument("--category", help="read URL as one listing whose articles go to this category, "
                                       "e.g. 物流資訊/港口航運")
    sg.add_argument("--name", default=None, help="the source's name, with --category (default: from the host "
                                                 "and the listing's path)")
    st = with_config(sub.add_parser("status", help="per source: last run, next run, articles, last error"))
    st.add_argument("--json", action="store_true", help="machine-readable")
    return ap


def main(argv: list[str] | None = None, *, early: unchanged.Check | None = None) -> int:
    """`early`: the nothing-new check `feedpub.command` made before loading
    this, which a build with changes reuses."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s" if args.command == "run"
                        else "%(message)s")
    logging.getLogger("feedpub").setLevel(logging.DEBUG if getattr(args, "verbose", False) else logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)   # its per-job lines drown ours
    logging.getLogger("httpx").setLevel(logging.WARNING)         # one line per request
    logging.getLogger("alembic").setLevel(logging.WARNING)       # migrations say what they do themselves
    if args.command == "suggest":
        return _suggest(args.url, args.category, args.name)
    try:
        settings = config.load(args.config)
        sources.check(settings)
    except config.ConfigError as exc:
        print(f"feedpub: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "build" and _nothing_new(settings, args, early):
        return 0
    from .publish import PublishError
    from .store import StoreBehind, StoreConfigError, StoreError, StoreLocked
    try:
        if args.command == "check":
            return _check(settings)
        if args.command == "run":
            return _run(settings, args)
        if args.command == "serve":
            return _serve(settings, args.address)
        if args.command == "status":
            return _status(settings, args.json)
        if args.command == "try":
            return _try(settings, args.source)
        if args.command == "migrate":
            return _migrate(settings)
        return _build(settings, args)
    except (StoreConfigError, StoreBehind, StoreLocked) as exc:
        print(f"feedpub: {exc}", file=sys.stderr)
        return 2
    except config.ConfigError as exc:                # what only the store can tell (a slug already taken)
        print(f"feedpub: configuration error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"feedpub: {exc}", file=sys.stderr)
        return 3
    except PublishError as exc:
        print(f"feedpub: cannot publish: {exc} (the feeds already there are unchanged)", file=sys.stderr)
        return 3


def _build(settings: config.Settings, args) -> int:
    database = config.sqlite_file(settings.store.url)
    if database is not None and not database.exists():
        from .workers import warm
        warm()                          # a first build reads every file on every core: workers get ready meanwhile
    from . import publish
    from .build import build

    # Temporary files left by a killed process: once per run, not per tick
    # (a walk of the whole output folder).
    publish.remove_stale_temp_files(settings.output.dir)
    display = None if args.quiet else _Display() if sys.stderr.isatty() else _Ticker()
    unchanged.forget(args.subject)       # until this build has ended cleanly
    listed, args.listed = args.listed, None   # build lets each folder's listing go once it is gathered
    interrupted = False
    try:
        summary = build(settings, full=args.full, record=True, progress=display, listed=listed)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if display is not None:
            display.close()
    if interrupted:
        # Ctrl-C: each stored batch is its own transaction and marked for
        # publishing, so the next build publishes it. Fetching threads still
        # on their sites are not waited for (worker processes die with this one).
        print("feedpub: interrupted: what was stored is published by the next build", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(130)
    if settings.websub.hubs and summary.changed_feeds:
        from .websub import ping
        ping(settings.websub.hubs, summary.changed_feeds)
    if not summary.problems and not summary.failed_sources and not summary.deferred:
        unchanged.remember(args.subject, args.fingerprint, summary.files_read + summary.files_skipped)
    print(summary.line())
    print(f"feeds in {settings.output.dir}")
    return 0


def _nothing_new(settings: config.Settings, args, early: unchanged.Check | None) -> bool:
    """`feedpub build` when nothing changed since the last clean build: the
    run recorded and the summary printed without loading the pipeline."""
    subject = unchanged.Subject.of(settings)
    if args.full:
        found = unchanged.Check(subject, None, {}, None)
    elif early is not None and early.subject == subject:
        found = early                    # made before this configuration was loaded: it said "changed"
    else:
        found = unchanged.check(subject, time.monotonic(), time.monotonic)
    args.subject, args.fingerprint = subject, found.fingerprint
    args.listed = found.listed           # the folders as the fingerprint walked them: build need not again
    if found.known is None:
        return False
    print(unchanged.summary(found))
    return True


class _Ticker:
    """The progress of a long `feedpub build` on a pipe (cron, CI): a line
    on stderr every EVERY seconds once it has run that long: pages
    fetched, files and pages read, articles stored, files written. A web
    site read politely (`delay` between two requests to a host) can take
    minutes, and silence would look like a hang."""

    EVERY = 5.0

    def __init__(self):
        import threading

        from .report import Progress
        self._clock = time.monotonic
        self._progress = Progress(self._clock())
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="feedpub-progress", daemon=True)
        self._thread.start()

    def advance(self, kind: str, n: int = 1, total: int | None = None) -> None:
        self._progress.advance(kind, n, total)

    def _tick(self) -> None:
        while not self._done.wait(self.EVERY):
            print(f"feedpub: {self._clock() - self._progress.started:.0f}s: {self._progress.line()}",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        self._done.set()
        self._thread.join()


class _Display:
    """The live progress of a `feedpub build` on a terminal (rich): files read,
    articles stored, files written. It appears only once the build has run
    for a second (a quick build prints its summary alone) and is gone when
    the build ends; on a pipe, and under `feedpub run` (which logs), there
    is none."""

    AFTER = 1.0

    def __init__(self):
        import threading
        import time
        self._lock = threading.Lock()
        self._clock = time.monotonic
        self._started = self._clock()
        self._progress = None
        self._tasks: dict[str, int] = {}
        self._counts = {"fetched": [0, None], "read": [0, None], "stored": [0, None], "written": [0, None]}

    def advance(self, kind: str, n: int = 1, total: int | None = None) -> None:
        with self._lock:                   # sources fetched side by side report from their threads
            count = self._counts[kind]
            count[0] += n
            if total is not None:
                count[1] = (count[1] or 0) + total if kind == "read" else total
            if self._progress is None and self._clock() - self._started >= self.AFTER:
                self._show()
            if self._progress is not None:
                self._progress.update(self._tasks[kind], completed=count[0], total=count[1])

    def _show(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        self._progress = Progress(TextColumn("{task.description:>16}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        for kind, label in (("fetched", "pages fetched"), ("read", "files read"), ("stored", "articles stored"),
                            ("written", "files written")):
            done, total = self._counts[kind]
            self._tasks[kind] = self._progress.add_task(label, completed=done, total=total)
        self._progress.start()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _check(settings: config.Settings) -> int:
    """What `build` would publish, read from the sources, without writing anything."""
    from collections import Counter
    from datetime import datetime, timezone

    from .build import preview
    from .identity import path_slugs
    from .normalize import categories as cat_rules
    from .publish import output_problem
    from .sources import SourceError, source_type
    from .store import StoreError, probe

    print(f"configuration {settings.path}: OK")
    print(f"site: {settings.site.title} <{settings.site.link}>, feeds at {settings.site.feeds_url}")
    problems = 0
    trouble = output_problem(settings.output.dir)
    print(f"output: {settings.output.dir} (newest {settings.output.max_items} per feed)"
          + (f"\n  problem: {trouble}" if trouble else ""))
    fatal = bool(trouble)
    try:
        print(f"store: {probe(settings.store.url)}")
    except StoreError as exc:
        print(f"store: {settings.store.url}\n  problem: {exc}")
        fatal = True
    problems += fatal
    now = datetime.now(timezone.utc)
    tally: Counter = Counter()
    shown: dict[str, tuple[str, str]] = {}
    for src in settings.sources:
        source = source_type(src.type)(src, settings.site.link)
        if not source.local:                   # fetching or querying is for `build` (and `try`)
            print(f"source {src.name!r}: {source.describe()}")
            for start in (src.web.start if src.web else ()):
                path, _ = cat_rules.make_path(cat_rules.levels_from_path(start.category or src.category or ""))
                if path is not None:
                    for prefix in path.prefixes():
                        shown.setdefault(prefix.key, (" › ".join(prefix.levels), "/".join(path_slugs(prefix.key))))
                        tally.setdefault(prefix.key, 0)
                print(f"  {start.url}  ->  " + (f"category {' › '.join(path.levels)}" if path else
                                                 "no category of its own (the articles' breadcrumbs name theirs)"))
            continue
        try:
            found, reads = preview(settings, source, now=now)
        except SourceError as exc:
            print(f"source {src.name!r}: {source.describe()}\n  problem: {exc}")
            problems += 1
            continue
        print(f"source {src.name!r}: {source.describe()}: {len(found.units)} article file(s)")
        for p, where in found.problems:
            print(f"  {p.severity}: {where}: {p.reason}")
            problems += 1
        for read in reads:
            for p in read.problems:
                print(f"  {p.severity}: {read.where}: {p.reason}")
                problems += 1
            for article in read.articles:
                for path in article.categories:
                    for prefix in path.prefixes():
                        tally[prefix.key] += 1
                        shown.setdefault(prefix.key, (" › ".join(prefix.levels), "/".join(path_slugs(prefix.key))))
    overrides = {cat_rules.key_of(k): v for k, v in settings.categories.items()}
    print(f"categories it would publish: {len(tally)}")
    for key in sorted(tally):
        display, slug = shown[key]
        ov = overrides.get(key)
        print(f"  {ov.title if ov and ov.title else display}  ->  {ov.slug if ov and ov.slug else slug}/"
              + (f"  ({tally[key]} article(s))" if tally[key] else "  (a web source's; articles come with build)"))
    print(f"problems: {problems}")
    return 3 if fatal else 0


def _run(settings: config.Settings, args) -> int:
    from .scheduler import Publisher

    server = None
    if args.serve:
        try:
            server = _server(settings, args.serve)
        except (ValueError, OSError) as exc:
            print(f"feedpub: cannot serve on {args.serve}: {exc}", file=sys.stderr)
            return 2
    publisher = Publisher(settings, verbose=args.verbose)
    if server:
        settings.output.dir.mkdir(parents=True, exist_ok=True)
        server.start()
        logging.getLogger("feedpub").info("serving %s at %s", settings.output.dir, server.url)
    try:
        return publisher.run_forever()
    finally:
        if server:
            server.stop()


def _server(settings: config.Settings, address: str):
    """The feed server [serve] describes, bound to `address` (ValueError, OSError)."""
    from .serve import FeedServer, Limits, parse_address
    sv = settings.serve
    return FeedServer(settings.output.dir, parse_address(address), sv.cache_size, _metrics(settings),
                      Limits(header_timeout=sv.header_timeout, keep_alive=sv.keep_alive,
                             max_connections=sv.max_connections))


def _metrics(settings: config.Settings):
    """What renders /metrics, when [serve] metrics = true (read from the store)."""
    if not settings.serve.metrics:
        return None
    from .build import open_store
    from .metrics import exposition
    return exposition(open_store(settings))


def _serve(settings: config.Settings, address: str) -> int:
    try:
        server = _server(settings, address)
    except (ValueError, OSError) as exc:
        print(f"feedpub: cannot serve on {address}: {exc}", file=sys.stderr)
        return 2
    print(f"serving {settings.output.dir} at {server.url} (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _status(settings: config.Settings, as_json: bool) -> int:
    import json

    from .build import open_store
    from .scheduler import status_document

    store = open_store(settings)
    try:
        doc = status_document(store.status())
    finally:
        store.close()
    if as_json:
        print(json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True))
        return 0
    configured = {s.name for s in settings.sources}
    rows = {r["source"]: r for r in doc["sources"]}
    for name in sorted(configured | set(rows)):
        r = rows.get(name, {})
        flag = "" if name in configured else "  (no longer configured)"
        print(f"{name}{flag}")
        print(f"  last run {r.get('last_run') or 'never'}, last success {r.get('last_success') or 'never'}, "
              f"next run {r.get('next_run') or '-'}")
        print(f"  articles {r.get('articles', 0)}; last run: {r.get('last_new', 0)} new, "
              f"{r.get('last_updated', 0)} updated; problems now: {r.get('open_errors', 0)} error(s), "
              f"{r.get('open_warnings', 0)} warning(s)")
        if r.get("failures"):
            print(f"  FAILING ({r['failures']} in a row) since {r.get('last_error_at')}: {r.get('last_error')}")
        elif r.get("last_error"):
            print(f"  last error {r.get('last_error_at')}: {r.get('last_error')}")
    for h in doc.get("hosts", []):
        share = h["not_modified"] / h["requests"] if h["requests"] else 0.0
        print(f"host {h['host']}: {h['requests']} request(s), {share:.0%} answered 304, "
              f"{h['network_seconds']:.1f} s on the network")
    for p in doc["processes"]:
        print(f"process {p['pid']} on {p['host']}: started {p['started']}, heartbeat {p['heartbeat']}")
    return 0


def _try(settings: config.Settings, name: str) -> int:
    """Fetch every start page and one article page; print what each field
    finds as written, and what feedpub makes of it."""
    from .sources.http import FetchError, Http
    from .sources.web import WebSource, browser_for

    source = next((s for s in settings.sources if s.name == name), None)
    if source is None or source.type != "web":
        names = ", ".join(s.name for s in settings.sources if s.type == "web") or "none"
        print(f"feedpub: no web source named {name!r} (web sources: {names})", file=sys.stderr)
        return 2
    web = source.web
    with Http.for_source(web, settings.site.link, retries=0, delay=0) as http, browser_for(web, http) as browser:
        try:
            rows = WebSource(source, http, browser).trial()
        except FetchError as exc:
            print(f"feedpub: {exc}", file=sys.stderr)
            return 1
    where = None
    title = None
    for page, what, found, served in rows:
        if page != where:
            print(page)
            where = page
        field = what.split(" (auto")[0].rpartition(" ")[2]
        if field == "title":
            title = found
        shown = "(nothing: check this selector)" if found in (None, "", "0 match(es)") else found
        made = _made_of(field, found, source, title, served) if found else None
        print(f"  {what}: {shown}" + (f"  ->  {made}" if made and made != found else ""))
    return 0


def _made_of(field: str, raw: str, source, title: str | None, served=None) -> str | None:
    """What normalize makes of a raw value, for `feedpub try`."""
    from datetime import datetime, timezone

    from .identity import path_slugs
    from .normalize import categories as cat_rules, text, timestamps
    from .sources.formats import crumb_text, source_text
    if field == "date":
        zone = timestamps.zone(source.timezone)
        try:
            parsed = timestamps.parse_detail(raw, zone=zone, gathered_at=served or datetime.now(timezone.utc))
        except timestamps.TimestampError as exc:
            return f"not a date ({exc}): the listing's date, else the time first seen"
        local = parsed.when.astimezone(zone)
        return f"{local:%Y-%m-%d %H:%M:%S %z} ({source.timezone})" + (
            " relative to the server's Date" if parsed.relative else "")
    if field == "source":
        return text.clean_line(source_text(raw))
    if field in ("category", "breadcrumb"):
        levels = (cat_rules.levels_from_path(raw) if field == "category"
                  else cat_rules.levels_from_breadcrumb(crumb_text(raw), title or ""))
        path, _ = cat_rules.make_path(levels)
        return f"category {' › '.join(path.levels)} ({'/'.join(path_slugs(path.key))})" if path else "no category"
    if field == "title":
        return text.clean_line(raw)
    return None


def _suggest(url: str, category: str | None, name: str | None) -> int:
    """Fetch a page and print the [[sources]] blocks that read its site (or, with --category, it)."""
    from urllib.parse import urlsplit

    from .sources.http import FetchError, Http
    from .sources.suggest import propose

    if urlsplit(url).scheme not in ("http", "https"):
        print(f"feedpub: {url!r} is not an http(s) URL", file=sys.stderr)
        return 2
    with Http(contact="https://pypi.org/project/feedpub/", retries=0, delay=0,
              hosts=[urlsplit(url).netloc]) as http:
        try:
            print(propose(http, url, category, name), end="")
        except FetchError as exc:
            print(f"feedpub: {exc}", file=sys.stderr)
            return 1
    return 0


def _migrate(settings: config.Settings) -> int:
    import sqlalchemy as sa

    from .store import Store, id_authority, schema_revision

    engine = sa.create_engine(settings.store.url)
    try:
        with engine.begin() as conn:
            before, head = schema_revision(conn)
    finally:
        engine.dispose()
    store = Store(settings.store.url, id_authority=id_authority(settings.site.feeds_url), migrate=True)
    store.close()
    if before == head:
        print(f"store is up to date (schema revision {head})")
    else:
        print(f"store upgraded from schema revision {before or '(empty)'} to {head}")
    return 0
