"""One build: gather every source, normalize, store, render, publish.

This is the pipeline end to end, used by `feedpub build` and by each tick of
the scheduler. Errors are values here: a file that cannot be used becomes a
recorded problem (path and reason) and the build goes on; only a bad
configuration or an unusable store stops it.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from collections import Counter, defaultdict, deque
from contextlib import contextmanager, nullcontext
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

from .config import Settings
from .identity import learn_slugs, slug
from .model import Article, Problem
from .normalize import normalize
from .regenerate import Unwatched, regenerate
from .sources import SourceError
from .sources.folder import FolderSource
import sqlalchemy as sa

from .store import Store, StoreError, id_authority
from .workers import cores, pool as worker_pool

log = logging.getLogger("feedpub")


@dataclass
class Summary:
    sources: int = 0
    articles: Counter = field(default_factory=Counter)    # new / updated / unchanged
    by_source: defaultdict = field(default_factory=lambda: defaultdict(Counter))   # the same, per source
    files_read: int = 0
    files_skipped: int = 0
    problems: list[Problem] = field(default_factory=list)
    changed_categories: set[str] = field(default_factory=set)
    changed_articles: set[int] = field(default_factory=set)
    failed_sources: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)    # files still being written, left for later
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    progress: object = field(default=None, repr=False)     # hears of the work as it is done
    changed_feeds: list[str] = field(default_factory=list)      # URLs, for WebSub pings
    written: int = 0
    unchanged: int = 0

    @property
    def errors(self) -> int:
        return sum(p.severity == "error" for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == "warning" for p in self.problems)

    def line(self) -> str:
        a = self.articles
        return (f"{self.sources} source(s); articles: {a['new']} new, {a['updated']} updated, "
                f"{a['unchanged']} unchanged ({self.files_read} file(s) or page(s) read, {self.files_skipped} unchanged "
                f"file(s) skipped); problems: {self.errors} error(s), {self.warnings} warning(s); "
                f"files: {self.written} written, {self.unchanged} unchanged")


def open_store(settings: Settings) -> Store:
    return Store(settings.store.url, id_authority=id_authority(settings.site.feeds_url))


def build(settings: Settings, *, now: datetime | None = None, full: bool = False, store: Store | None = None,
          sources=None, settle: float = 0.0, should_stop=None, only: dict | None = None,
          render_lock=None, hold: dict | None = None, record: bool = False, progress=None) -> Summary:
    """Gather the sources (all, or those given), then regenerate what changed.

    `settle` > 0 defers files still being written (their size or mtime moved
    during that many seconds); `should_stop()` ends the gather early, keeping
    what was read; `render_lock` is held around the regeneration (the
    scheduler's gathers run side by side, its regenerations one at a time).
    `progress.advance(kind, n, total=None)` hears of files read, articles
    stored and files written as they happen (kinds "read", "stored",
    "written"), for a display. With `record`, each source's run is kept in the store (what `feedpub
    status` shows; the scheduler records its own ticks). `only` maps a folder source's name to the locations to look
    at instead of scanning the folder (a watcher's events), `hold` to those
    not to read yet (a writer still has them open: deferred). A source that
    cannot be read at all is reported and skipped.
    """
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    own_store = store is None
    store = store or open_store(settings)
    try:
        summary = Summary()
        summary.progress = progress or Unwatched()
        for source in (settings.sources if sources is None else sources):
            started = time.monotonic()
            problems_before = len(summary.problems)
            try:
                gather(settings, store, source, now=now, full=full, summary=summary, settle=settle,
                       should_stop=should_stop, only=(only or {}).get(source.name),
                       hold=(hold or {}).get(source.name))
                if record:
                    tally = summary.by_source[source.name]
                    store.record_run(source.name, ended=now, duration=time.monotonic() - started,
                                     new=tally["new"], updated=tally["updated"],
                                     problems=len(summary.problems) - problems_before)
                continue
            except Exception as exc:        # one source failing costs that source only
                where = str(source.path) if source.path else (
                    source.web.start[0].url if source.web else source.name)
                reason = str(exc) if isinstance(exc, SourceError) else f"{exc.__class__.__name__}: {exc}"
                if not isinstance(exc, SourceError):
                    log.debug("%s", traceback.format_exc())
                p = Problem(source.name, where, reason)
                summary.problems.append(p)
                summary.failed_sources.append(source.name)
                _report(p, where)
                if record:
                    store.record_run(source.name, ended=now, duration=time.monotonic() - started, error=reason)
        if _refile_topics(settings, store):
            summary.changed_categories = None                 # the filtered feeds changed: render them all
        render_started = time.monotonic()
        # One renderer at a time (in this process, and across publishers), newest state wins.
        with render_lock or nullcontext(), store.advisory_lock("regenerate", wait=True):
            result = regenerate(settings, store, token=summary.token, progress=summary.progress,
                                changed_categories=None if full or summary.changed_categories is None
                                else summary.changed_categories,
                                changed_articles=None if full else summary.changed_articles)
        summary.written, summary.unchanged = result.written, result.unchanged
        if result.written:
            store.note_regeneration(now, result.written, time.monotonic() - render_started)
        summary.changed_feeds = result.changed_feeds
        return summary
    except sa.exc.SQLAlchemyError as exc:        # the store failed under us (disk, corruption, connection)
        raise StoreError(f"the store {store.safe_url} failed: {exc.__class__.__name__}: "
                         f"{getattr(exc, 'orig', None) or exc}") from None
    finally:
        if own_store:
            store.close()


TOPICS = "topics_config"     # meta: the [[feeds]] the stored articles were filed by


def _refile_topics(settings: Settings, store: Store) -> bool:
    """When [[feeds]] changed since the articles were filed, file every
    stored article again (a feed added, dropped or with other words must
    hold what it would have held from the start). True if it did."""
    wanted = repr(settings.feeds)
    if (store.get_meta(TOPICS) or repr(())) == wanted:
        return False
    from .normalize.text import html_to_text
    from .normalize.topics import feeds_for
    after = 0
    while True:
        batch = store.topic_inputs(after)
        if not batch:
            break
        with store.transaction() as tx:
            for pk, title, body, keys in batch:
                tx.set_topics(pk, feeds_for(settings.feeds, title, html_to_text(body), keys))
        after = batch[-1][0]
    store.set_meta(TOPICS, wanted)
    return True


def gather(settings: Settings, store: Store, source_settings, *, now: datetime, full: bool,
           summary: Summary, settle: float = 0.0, should_stop=None, only=None, hold=None) -> None:
    """Read what is new or changed in one source into the store."""
    summary.sources += 1
    if source_settings.type == "web":
        _gather_web(settings, store, source_settings, now=now, full=full, summary=summary, should_stop=should_stop)
    elif source_settings.type == "sql":
        _gather_sql(settings, store, source_settings, now=now, full=full, summary=summary)
    else:
        _gather_folder(settings, store, source_settings, now=now, full=full, summary=summary, settle=settle,
                       should_stop=should_stop, only=only, hold=hold)


BATCH = 500          # files read, normalized and stored together (one savepoint, a few INSERTs)


@dataclass
class _Read:
    """One file or page, read and normalized, not stored yet."""

    location: str
    where: str                              # how messages name it
    articles: list[Article]
    problems: list[Problem]
    usable: bool | None                     # False: retry it next time; None: feedpub failed on it
    memo: str | None = None                 # what the source remembers of a file (FileState.memo) once usable


def _gather_folder(settings: Settings, store: Store, source_settings, *, now: datetime, full: bool,
                   summary: Summary, settle: float, should_stop, only=None, hold=None) -> None:
    source = FolderSource(source_settings)
    if only is None:
        states = source.scan()
        known = {} if full else store.memory(source_settings.name)
        if source.problems:                  # links that lead nowhere: reported, as a file would be
            found = [Problem(source_settings.name, loc, reason) for loc, reason in source.problems]
            with store.transaction() as tx:
                for p in found:
                    tx.record_problem(p, now)
            for p in found:
                _report(p, str(source.root / p.location))
            summary.problems.extend(found)
    else:
        states = source.stat(only)
        known = {} if full else store.memory(source_settings.name, [s.location for s in states])
    files = []
    for state in states:
        if known.get(state.location) == state.memo:
            summary.files_skipped += 1
        elif hold and state.location in hold:
            summary.deferred.append(state.location)          # its writer still has it open
        else:
            files.append(state)
    if settle and files:
        time.sleep(settle)
        files, growing = source.settled(files)
        summary.deferred.extend(growing)
    summary.progress.advance("read", 0, total=len(files))
    name = source_settings.name
    with store.transaction() as tx:
        stale = tx.problem_locations(name)
    reads = _read_files(settings, now, source_settings, files)
    try:
        batch: list[_Read] = []
        for read in reads:
            batch.append(read)
            if len(batch) == BATCH:
                _store_batch(store, summary, now, name, batch, stale)
                batch = []
            if should_stop is not None and should_stop():
                break                   # what was read so far is kept and published
        _store_batch(store, summary, now, name, batch, stale)
    finally:
        reads.close()                   # stops the workers if the gather ended early


def _store_batch(store: Store, summary: Summary, now: datetime, name: str, reads: list[_Read],
                 stale: set[str]) -> None:
    summary.files_read += len(reads)
    if reads:
        # One transaction per batch: each holds its articles, the files they came
        # from and the publish-pending mark, so a crash keeps whole batches only.
        before = summary.articles["new"] + summary.articles["updated"]
        with store.transaction() as tx:
            _store(tx, summary, now, name, reads, stale)
        summary.progress.advance("read", len(reads))
        summary.progress.advance("stored", summary.articles["new"] + summary.articles["updated"] - before)


PARALLEL_MIN = 400      # files: below this, starting workers costs more than they save
CHUNK = 100             # files per task sent to a worker


def _read_files(settings: Settings, now: datetime, source_settings, files: list) -> Iterator[_Read]:
    """Read and normalize files, in order; on every core when there are many
    (parsing is pure CPU work: Markdown, sanitizing, folding, dates)."""
    workers = cores()
    if workers < 2 or len(files) < PARALLEL_MIN:
        for state in files:
            yield _read_file(settings, now, source_settings, state)
        return
    chunks = [files[i:i + CHUNK] for i in range(0, len(files), CHUNK)]
    pool = worker_pool(workers)
    pending: deque = deque()
    done = 0                                 # chunks handed on whole
    try:
        # A few chunks in flight, not all: parsed articles wait here only until
        # they are stored, so memory stays flat however many files there are.
        for chunk in chunks:
            pending.append(pool.submit(_read_chunk, settings, now, source_settings, chunk))
            if len(pending) > 2 * workers:
                reads, slugs = pending.popleft().result()
                done += 1
                learn_slugs(slugs)
                yield from reads
        while pending:
            reads, slugs = pending.popleft().result()
            done += 1
            learn_slugs(slugs)
            yield from reads
    except BrokenProcessPool as exc:         # a worker died (killed, out of memory): go on without them
        log.warning("parsing workers stopped (%s); reading the rest in this process", exc)
        for chunk in chunks[done:]:
            for state in chunk:
                yield _read_file(settings, now, source_settings, state)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _read_chunk(settings: Settings, now: datetime, source_settings, states: list) -> tuple[list[_Read], dict]:
    """In a worker: the reads, and the slugs of their category levels (see identity.learn_slugs)."""
    reads = [_read_file(settings, now, source_settings, state) for state in states]
    levels = {level for read in reads for art in read.articles for path in art.categories
              for level in path.key.split("/")}
    return reads, {level: slug(level) for level in levels}


def _read_file(settings: Settings, now: datetime, source_settings, state) -> _Read:
    source = FolderSource(source_settings)
    read = _read(settings, now, source_settings.name, state.location, str(source.root / state.location),
                 lambda: source.read(state))
    read.memo = state.memo
    return read


def _gather_web(settings: Settings, store: Store, source_settings, *, now: datetime, full: bool,
                summary: Summary, should_stop=None) -> None:
    from .sources.http import Http          # imported here: a folder-only tick never loads httpx
    from .sources.web import WebSource, memo, recall

    web = source_settings.web
    memory = {} if full else recall(store.memory(source_settings.name))
    with Http.for_source(web, settings.site.link) as http, browser_for(web, http) as browser:
        result = WebSource(source_settings, http, browser).gather(memory, should_stop=should_stop)
        summary.files_read += http.requests
    if not result.articles and result.listings and not any("listing_date" in v for v in memory.values()):
        result.problems.append(Problem(source_settings.name, web.start[0].url, "this source has published nothing "
                                       "yet: its item or link selector finds no article page", "warning"))
    if not result.listings and not result.unchanged and result.problems:
        raise SourceError("no listing page could be fetched: " + "; ".join(
            f"{p.location}: {p.reason}" for p in result.problems[:3]))
    name = source_settings.name
    with store.transaction() as tx:
        reads = [_read(settings, now, name, raw.location, raw.location, lambda raw=raw: [raw])
                 for raw in result.articles]
        _store(tx, summary, now, name, reads, tx.problem_locations(name))
        for p in result.problems:
            tx.record_problem(p, now)
            _report(p, p.location)
        summary.problems.extend(result.problems)
        tx.remember(name, {url: memo(values) for url, values in result.remember.items()})


@contextmanager
def browser_for(web, http):
    """A headless browser for a source that renders its pages (else None)."""
    if web.render != "browser" and (web.article is None or web.article.render != "browser"):
        yield None
        return
    from .sources.browser import Browser
    browser = Browser(http)
    try:
        yield browser
    finally:
        browser.close()


def _gather_sql(settings: Settings, store: Store, source_settings, *, now: datetime, full: bool,
                summary: Summary) -> None:
    from .sources.sql import SqlSource

    name = source_settings.name
    articles, since = SqlSource(source_settings).gather(None if full else store.memory(name, ["since"]).get("since"))
    summary.files_read += len(articles)
    with store.transaction() as tx:
        stale = tx.problem_locations(name)
        for start in range(0, len(articles), BATCH):
            reads = [_read(settings, now, name, raw.location, f"{name}: {raw.location}", lambda raw=raw: [raw])
                     for raw in articles[start:start + BATCH]]
            _store(tx, summary, now, name, reads, stale)
        if since:
            tx.remember(name, {"since": since})     # with the rows: a crash re-reads them, never skips them


def _read(settings: Settings, now: datetime, source: str, location: str, where: str, read) -> _Read:
    """Read and normalize what one file or page holds (no store involved).

    A SourceError makes it unusable (retried next time); any other exception
    is feedpub's own bug, and must cost this one file, not the run."""
    try:
        articles, problems, usable = [], [], True
        try:
            raws = read()
        except SourceError as exc:
            raws, usable = [], False
            problems.append(Problem(source, location, str(exc)))
        for raw in raws:
            article, probs = normalize(raw, now=now, summary_length=settings.output.summary_length,
                                       base_url=settings.site.link, feeds=settings.feeds)
            problems.extend(probs)
            if article is None:
                usable = False
            else:
                articles.append(article)
        return _Read(location, where, articles, problems, usable)
    except Exception as exc:
        log.debug("%s", traceback.format_exc())
        return _Read(location, where, [], [Problem(source, location, _internal(exc))], None)


def _store(tx, summary: Summary, now: datetime, source: str, reads: list[_Read], stale: set[str]) -> None:
    """Store a batch of reads in one savepoint; if anything in it fails, store
    them one by one, so a failure costs only the read that caused it."""
    savepoint = tx.conn.begin_nested()
    try:
        outcomes = _store_reads(tx, summary.token, now, source, [r for r in reads if r.usable is not None], stale)
        savepoint.commit()
    except Exception:
        savepoint.rollback()
        tx.forget_cache()
        log.debug("%s", traceback.format_exc())
        outcomes = []
        for read in reads:
            if read.usable is None:
                continue
            savepoint = tx.conn.begin_nested()
            try:
                outcomes.extend(_store_reads(tx, summary.token, now, source, [read], stale))
                savepoint.commit()
            except Exception as exc:
                savepoint.rollback()
                tx.forget_cache()
                log.debug("%s", traceback.format_exc())
                read.usable, read.problems = None, [Problem(source, read.location, _internal(exc))]
    for saved in outcomes:
        summary.articles[saved.outcome] += 1
        summary.by_source[source][saved.outcome] += 1
        summary.changed_categories |= saved.category_keys
        if saved.outcome != "unchanged":
            summary.changed_articles.add(saved.article_pk)
    for read in reads:
        for p in read.problems:
            _report(p, read.where)
        summary.problems.extend(read.problems)


def _store_reads(tx, token: str, now: datetime, source: str, reads: list[_Read], stale: set[str]) -> list:
    for read in reads:
        if read.location in stale:
            tx.clear_problems(source, read.location)       # a file read again starts with a clean slate
    saved = tx.save_many([a for read in reads for a in read.articles], now)
    if any(s.outcome != "unchanged" for s in saved):
        tx.add_pending(token)                              # a crash before publish: render all next time
    for read in reads:
        for p in read.problems:
            tx.record_problem(p, now)
    tx.remember(source, {r.location: r.memo for r in reads if r.usable and r.memo})
    tx.forget(source, [r.location for r in reads if r.memo and not r.usable])    # retried next time
    return saved


def _internal(exc: Exception) -> str:
    return f"internal error: {exc.__class__.__name__}: {exc}"


def _report(p: Problem, where: str) -> None:
    (log.warning if p.severity == "warning" else log.error)("%s: %s", where, p.reason)
