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
from concurrent.futures.process import BrokenProcessPool
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Iterator

import sqlalchemy as sa

from .coalesce import Changes, Regenerations
from .config import Settings
from .identity import learn_slugs, slug
from .model import Article, Problem
from .normalize import normalize
from .regenerate import Unwatched, regenerate
from .report import build_line
from .sources import SourceError, source_type
from .store import Store, StoreError, id_authority, is_busy
from .fetch_workers import Ahead, sendable, spread
from .workers import cores, die_with_parent, pool as worker_pool

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
    hosts: dict = field(default_factory=dict)   # host -> [requests, 304s, seconds on the network] (web sources)
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
        return build_line(sources=self.sources, new=a["new"], updated=a["updated"], unchanged=a["unchanged"],
                          read=self.files_read, skipped=self.files_skipped, errors=self.errors,
                          warnings=self.warnings, written=self.written, files_unchanged=self.unchanged)


def open_store(settings: Settings) -> Store:
    return Store(settings.store.url, id_authority=id_authority(settings.site.feeds_url),
                 patience=settings.store.busy_timeout)


def build(settings: Settings, *, now: datetime | None = None, full: bool = False, store: Store | None = None,
          sources=None, settle: float = 0.0, should_stop=None, only: dict | None = None,
          regenerations: Regenerations | None = None, hold: dict | None = None, record: bool = False, progress=None,
          listed: dict | None = None, quiet_render_done: bool = False) -> Summary:
    """Gather the sources (all, or those given), then regenerate what changed.

    `settle` > 0 defers files still being written (their size or mtime moved
    during that many seconds); `should_stop()` ends the gather early, keeping
    what was read; `regenerations` takes the changes when the scheduler's
    gathers run side by side (one regeneration at a time, changes merged).
    `progress.advance(kind, n, total=None)` hears of pages fetched, files
    read, articles stored and files written as they happen (kinds
    "fetched", "read", "stored", "written"), for a display. With `record`, each source's run is kept in the store (what `feedpub
    status` shows; the scheduler records its own ticks). `only` maps a folder source's name to the locations to look
    at instead of scanning the folder (a watcher's events), `hold` to those
    not to read yet (a writer still has them open: deferred), `listed` to
    its files as a walk just made found them (location, size, mtime_ns):
    not walked again, and let go of once gathered. A source that cannot be
    read at all is reported and skipped. `quiet_render_done`: this process
    has regenerated since it read its configuration (`feedpub run` after
    its first tick), so a gather that changed nothing skips regeneration
    when nothing is left unpublished.
    """
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    own_store = store is None
    store = store or open_store(settings)
    summary = Summary()
    ahead: dict = {}
    try:
        summary.progress = progress or Unwatched()
        chosen = list(settings.sources if sources is None else sources)
        if regenerations is not None:
            regenerations.begin(summary.token)
        ahead = _fetch_ahead(settings, store, chosen, full=full, should_stop=should_stop, progress=summary.progress,
                             now=now)
        runs: list[tuple[str, dict]] = []           # with `record`: each source's run, kept in one transaction
        troubled = store.sources_with_problems()    # whose last gather left problems to replace
        for source in chosen:
            started = time.monotonic()
            problems_before = len(summary.problems)
            try:
                gather(settings, store, source, now=now, full=full, summary=summary, settle=settle,
                       should_stop=should_stop, only=(only or {}).get(source.name),
                       hold=(hold or {}).get(source.name), listing=(listed or {}).pop(source.name, None),
                       fetched=ahead.pop(source.name, None), troubled=source.name in troubled)
                if record:
                    tally = summary.by_source[source.name]
                    runs.append((source.name, dict(ended=now, duration=time.monotonic() - started, new=tally["new"],
                                                   updated=tally["updated"],
                                                   problems=len(summary.problems) - problems_before)))
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
                    runs.append((source.name, dict(ended=now, duration=time.monotonic() - started, error=reason)))
        _record(store, runs, summary.hosts if record else {})
        if _refile_topics(settings, store):
            summary.changed_categories = None                 # the filtered feeds changed: render them all
        if quiet_render_done and summary.changed_categories == set() and not summary.changed_articles \
                and not full and not store.pending():
            return summary                   # nothing changed, nothing left unpublished: no feed to render
        changes = Changes(None if full or summary.changed_categories is None else frozenset(summary.changed_categories),
                          None if full else frozenset(summary.changed_articles), frozenset({summary.token}))

        def render(changes: Changes, in_flight: frozenset[str]):
            started = time.monotonic()
            with store.advisory_lock("regenerate", wait=True):   # one renderer across publishers too
                result = regenerate(settings, store, tokens=changes.tokens, in_flight=in_flight,
                                    progress=summary.progress, changed_categories=changes.categories,
                                    changed_articles=changes.articles)
            if result.written:
                store.note_regeneration(now, result.written, time.monotonic() - started)
            return result

        if regenerations is None:
            results = [render(changes, frozenset())]
        else:
            results = regenerations.hand_over(summary.token, changes, render)
            if regenerations.closed:         # stopping: what was stored stays pending for the next run
                log.info("stopping: the regeneration is left to the next run")
        for result in results:
            summary.written += result.written
            summary.unchanged += result.unchanged
            summary.changed_feeds += [url for url in result.changed_feeds if url not in summary.changed_feeds]
        return summary
    except sa.exc.SQLAlchemyError as exc:        # the store failed under us (disk, corruption, connection)
        raise StoreError(f"the store {store.safe_url} failed: {exc.__class__.__name__}: "
                         f"{getattr(exc, 'orig', None) or exc}") from None
    finally:
        if isinstance(ahead, Ahead):
            ahead.close()                    # fetching workers still at work when the build ended early
        if regenerations is not None:
            regenerations.end(summary.token)
        if own_store:
            store.close()


def _record(store: Store, runs: list[tuple[str, dict]], hosts: dict) -> None:
    """Keep the sources' runs and what was asked of each host for `status`,
    in one transaction; a store that stays busy loses only these notes (logged)."""
    try:
        store.record_runs(runs, hosts)
    except StoreError as exc:
        log.error("could not record the run of %s: %s", ", ".join(name for name, _ in runs), exc)


PROCESS_FETCH_MIN = 8     # web sources: from this many on, a build gathers them in worker processes


def _fetch_ahead(settings: Settings, store: Store, sources, *, full: bool, should_stop, progress,
                 now: datetime) -> dict:
    """Start every remote source's fetching at once (each in a thread: they
    wait on the network, each host in turn, never across hosts), so a build
    over hundreds of sites is bound by the network, not by one site after
    another; many web sources are gathered by worker processes, on every
    core (fetch_workers). Storing stays in `gather`, one source after
    another in the configured order: the same items, ids and bytes as
    fetching one by one. {source name: future of (source, its Gathered)}."""
    remote = [s for s in sources if not source_type(s.type).local]
    if len(remote) < 2:
        return {}
    # As many sources side by side as requests may be in flight ([web] max_connections): each host still gets one at a time.
    limit = max((s.web.max_connections for s in remote if s.web is not None), default=1)
    ahead: dict = {}
    spreading = _worth_workers(store, remote, full) if cores() >= 2 and store.shareable and should_stop is None else []
    if spreading:
        ahead = spread(spreading, _gather_group, (settings, store.url, store.id_authority, full, now),
                       workers=cores(), limit=limit, progress=progress,
                       fallback=lambda s: _fetch(settings, store, s, full, None, progress))
        remote = [s for s in remote if s.name not in ahead]
    if not remote:
        return ahead
    pool = ThreadPoolExecutor(max_workers=min(limit, len(remote)), thread_name_prefix="feedpub-fetch")
    try:
        ahead.update({s.name: pool.submit(_fetch, settings, store, s, full, should_stop, progress) for s in remote})
        return ahead
    finally:
        pool.shutdown(wait=False)          # the threads end with their fetch; the futures hold the results


def _worth_workers(store: Store, remote, full: bool) -> list:
    """The web sources to gather in worker processes: all of them (so each
    host is still asked by one process, and requests in flight stay within
    max_connections), when at least PROCESS_FETCH_MIN will read every
    article page (never gathered before, or --full); else none: starting
    the workers costs more than a quiet re-gather (a 304 per listing) saves."""
    web = [s for s in remote if s.type == "web" and s.web is not None and s.web.render == "http"]
    if len(web) < PROCESS_FETCH_MIN:
        return []
    known = set() if full else store.remembering()
    return web if sum(s.name not in known for s in web) >= PROCESS_FETCH_MIN else []


def _gather_group(settings: Settings, url: str, authority: str, full: bool, now: datetime, group: int,
                  names: list[str], share: int, results, owner: int) -> None:
    """In a worker process (fetch_workers.spread): fetch these sources side
    by side (at most `share` requests in flight), read and normalize what
    each found, and send each back as soon as it is done."""
    die_with_parent(owner)
    chosen = {s.name: s for s in settings.sources}
    store = Store(url, id_authority=authority)
    progress = _Sent(results)

    def one(name: str) -> None:
        s = chosen[name]
        try:
            source, found = _fetch(settings, store, replace(s, web=replace(s.web, max_connections=share)), full,
                                   None, progress)
            found.read = [_read_unit(settings, now, source, unit) for unit in found.units]
            found.units = []
            results.put(("done", group, name, (found, _level_slugs(found.read))))
        except BaseException as exc:
            results.put(("failed", group, name, sendable(exc)))
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(share, len(names))), thread_name_prefix="feedpub-fetch") as pool:
            list(pool.map(one, names))
    finally:
        store.close()
        results.put(("end", group))
        results.close()
        results.join_thread()             # everything sent before this process ends


class _Sent:
    """A fetching worker's progress: each page fetched, told to the build's process."""

    def __init__(self, results):
        self.results = results

    def advance(self, kind: str, n: int = 1, total: int | None = None) -> None:
        if kind == "fetched":
            self.results.put(("fetched", n))


def _fetch(settings: Settings, store: Store, source_settings, full: bool, should_stop, progress, **where):
    """One source's gather (what it finds, nothing stored): (the source, its
    Gathered). `where`: a folder's only/hold/settle/listing (see `gather`)."""
    name = source_settings.name
    source = source_type(source_settings.type)(source_settings, settings.site.link)
    return source, source.gather((lambda keys=None: {}) if full else (lambda keys=None: store.memory(name, keys)),
                                 should_stop=should_stop, progress=progress.advance, **where)


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

    def refile(tx, batch):
        for pk, title, body, keys in batch:
            tx.set_topics(pk, feeds_for(settings.feeds, title, html_to_text(body), keys))
    while True:
        batch = store.topic_inputs(after)
        if not batch:
            break
        store.write(lambda tx: refile(tx, batch), what="filing articles in [[feeds]]")
        after = batch[-1][0]
    store.set_meta(TOPICS, wanted)
    return True


def gather(settings: Settings, store: Store, source_settings, *, now: datetime, full: bool,
           summary: Summary, settle: float = 0.0, should_stop=None, only=None, hold=None,
           listing=None, fetched=None, troubled: bool = True) -> None:
    """Read what is new or changed in one source into the store: the same
    path for every source type (sources.SourceType). `fetched`: the future
    of its gather, started earlier beside other sources' (_fetch_ahead);
    `troubled`: its last gather left problems of its own (to replace)."""
    summary.sources += 1
    name = source_settings.name
    if fetched is not None:
        source, found = fetched.result()
        if source is None:                   # gathered, read and normalized by a fetching worker
            found, slugs = found
            learn_slugs(slugs)
    else:
        source, found = _fetch(settings, store, source_settings, full, should_stop, summary.progress,
                               only=only, hold=hold, settle=settle, listing=listing)
    del listing                             # a walk of every file: not kept while they are read
    summary.files_read += found.fetched
    summary.files_skipped += found.skipped
    summary.deferred.extend(found.deferred)
    units = len(found.units) if found.read is None else len(found.read)
    summary.progress.advance("read", 0, total=units)
    stale = store.problem_locations(name) if units else set()
    reads = _read_units(settings, now, source, found.units) if found.read is None else (r for r in found.read)
    stopped = unstored = False
    try:
        batch: list[_Read] = []
        for read in reads:
            batch.append(read)
            if len(batch) == BATCH:
                unstored |= _store_batch(store, summary, now, name, batch, stale)
                batch = []
            if should_stop is not None and should_stop():
                stopped = True
                break                   # what was read so far is kept and published
        unstored |= _store_batch(store, summary, now, name, batch, stale)
    finally:
        reads.close()                   # stops the workers if the gather ended early
    # The source's own problems, and its memory once every unit is stored (a
    # crash, a stop or a unit that could not be stored before then makes the
    # next gather read them again: a listing's validators saved now would
    # hide the unstored article behind a 304).
    remember = {} if stopped or unstored else found.remember

    def keep(tx):
        tx.replace_source_problems(name, [p for p, _ in found.problems], now)
        tx.remember(name, remember)
    for host, (n, not_modified, seconds) in found.hosts.items():
        tally = summary.hosts.setdefault(host, [0, 0, 0.0])
        tally[0], tally[1], tally[2] = tally[0] + n, tally[1] + not_modified, tally[2] + seconds
    if found.problems or remember or troubled:
        store.write(keep, what=f"{name}'s memory")
    for p, where in found.problems:
        _report(p, where)
    summary.problems.extend(p for p, _ in found.problems)


def preview(settings: Settings, source, *, now: datetime) -> tuple:
    """What a gather of a source (a SourceType) would find and make of it,
    read and normalized exactly as `gather` does, as if nothing had been seen
    before, with nothing stored (`feedpub check`): (Gathered, its reads)."""
    found = source.gather(lambda keys=None: {})
    return found, _read_units(settings, now, source, found.units)


BATCH = 500          # units read, normalized and stored together (one savepoint, a few INSERTs)


@dataclass
class _Read:
    """One file, page or row, read and normalized, not stored yet."""

    location: str
    where: str                              # how messages name it
    articles: list[Article]
    problems: list[Problem]
    usable: bool | None                     # False: retry it next time; None: feedpub failed on it
    memo: str | None = None                 # what the source remembers of it once usable
    fetched: bool = False                   # read here (a file), not by the source's gather (a page, a row)


def _store_batch(store: Store, summary: Summary, now: datetime, name: str, reads: list[_Read],
                 stale: set[str]) -> bool:
    """Store a batch in one transaction: its articles, the files they came
    from, what the source remembers of them and the publish-pending mark, so
    a crash keeps whole batches only. A busy store is waited for (Store.write);
    one that stays busy raises StoreBusy, and nothing of the batch is kept.
    True if a read of it could not be stored (it is read again next time)."""
    summary.files_read += sum(r.fetched for r in reads)
    if not reads:
        return False
    outcomes, failed, taken = store.write(lambda tx: _store(tx, summary.token, now, name, reads, stale),
                                          what=f"{len(reads)} article file(s) or page(s) of {name}")
    for i, problem in failed.items():
        reads[i].usable, reads[i].problems = None, [problem]
    before = summary.articles["new"] + summary.articles["updated"]
    for saved in outcomes:
        summary.articles[saved.outcome] += 1
        summary.by_source[name][saved.outcome] += 1
        summary.changed_categories |= saved.category_keys
        if saved.outcome in ("new", "updated"):
            summary.changed_articles.add(saved.article_pk)
    for read in reads:
        for p in read.problems:
            _report(p, read.where)
        summary.problems.extend(read.problems)
    for p in taken:
        _report(p, p.location)
    summary.problems.extend(taken)
    summary.progress.advance("read", len(reads))
    summary.progress.advance("stored", summary.articles["new"] + summary.articles["updated"] - before)
    return any(r.usable is None for r in reads)


PARALLEL_MIN = 400      # files: below this, starting workers costs more than they save
CHUNK = 100             # files per task sent to a worker


def _read_units(settings: Settings, now: datetime, source, units: list) -> Iterator[_Read]:
    """Read and normalize units, in order; on every core when there are many
    files to read (parsing is pure CPU work: Markdown, sanitizing, folding, dates)."""
    workers = cores()
    if workers < 2 or len(units) < PARALLEL_MIN or all(u.raws is not None for u in units):
        for unit in units:
            yield _read_unit(settings, now, source, unit)
        return
    chunks = [units[i:i + CHUNK] for i in range(0, len(units), CHUNK)]
    pool = worker_pool(workers)
    pending: deque = deque()
    done = 0                                 # chunks handed on whole
    try:
        # A few chunks in flight, not all: parsed articles wait here only until
        # they are stored, so memory stays flat however many files there are.
        for chunk in chunks:
            pending.append(pool.submit(_read_chunk, settings, now, source.settings, chunk))
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
            for unit in chunk:
                yield _read_unit(settings, now, source, unit)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _read_chunk(settings: Settings, now: datetime, source_settings, units: list) -> tuple[list[_Read], dict]:
    """In a worker: the reads, and the slugs of their category levels (see identity.learn_slugs)."""
    source = source_type(source_settings.type)(source_settings, settings.site.link)
    reads = [_read_unit(settings, now, source, unit) for unit in units]
    return reads, _level_slugs(reads)


def _level_slugs(reads: list[_Read]) -> dict[str, str]:
    """The slug of every category level of these reads' articles, worked out
    where they were read (a worker), for the storing process to learn."""
    levels = {level for read in reads for art in read.articles for path in art.categories
              for level in path.key.split("/")}
    return {level: slug(level) for level in levels}


def _read_unit(settings: Settings, now: datetime, source, unit) -> _Read:
    where = source.where(unit.location)
    if unit.raws is not None:
        read = _read(settings, now, source.settings.name, unit.location, where, lambda: unit.raws)
    else:
        read = _read(settings, now, source.settings.name, unit.location, where, lambda: source.read(unit.task))
        read.fetched = True
    read.memo = source.memo(unit)
    return read


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


def _store(tx, token: str, now: datetime, source: str, reads: list[_Read], stale: set[str]) -> tuple[list, dict]:
    """Store a batch of reads in one savepoint; if anything in it fails, store
    them one by one, so a failure costs only the read that caused it (it is
    recorded as a problem, and what the source remembers of it is not).
    Touches nothing but the transaction (Store.write may run it again):
    returns what was saved, {index of a read that failed: its problem} and
    the problems of articles the store refused (a page's claim on an item
    published from another place).
    A busy store is not a read's failure: it ends the whole attempt."""
    for read in reads:
        if read.usable is None:                            # feedpub failed reading it: its problem is kept
            if read.location in stale:
                tx.clear_problems(source, read.location)
            for p in read.problems:
                tx.record_problem(p, now)
    result, error = _in_savepoint(tx, lambda: _store_reads(
        tx, token, now, source, [r for r in reads if r.usable is not None], stale))
    if error is None:
        return result[0], {}, result[1]
    outcomes, failed, taken = [], {}, []
    for i, read in enumerate(reads):
        if read.usable is None:
            continue
        result, error = _in_savepoint(tx, lambda: _store_reads(tx, token, now, source, [read], stale))
        if error is None:
            outcomes.extend(result[0])
            taken.extend(result[1])
        else:
            failed[i] = Problem(source, read.location, _internal(error))
            tx.record_problem(failed[i], now)
    return outcomes, failed, taken


def _in_savepoint(tx, work):
    """work() in a savepoint: (its result, None), or (None, the exception)
    with the savepoint rolled back. A busy store is re-raised: it is not
    the work's failure, and ends the whole transaction."""
    savepoint = tx.conn.begin_nested()
    try:
        result = work()
        savepoint.commit()
        return result, None
    except Exception as exc:
        savepoint.rollback()
        tx.forget_cache()
        if is_busy(exc):
            raise
        log.debug("%s", traceback.format_exc())
        return None, exc


def _store_reads(tx, token: str, now: datetime, source: str, reads: list[_Read], stale: set[str]) -> tuple:
    """(what was saved, the problems of articles refused by the store)."""
    for read in reads:
        if read.location in stale:
            tx.clear_problems(source, read.location)       # a file read again starts with a clean slate
    arts = [(read, a) for read in reads for a in read.articles]
    saved = tx.save_many([a for _, a in arts], now)
    if any(s.outcome in ("new", "updated") for s in saved):
        tx.add_pending(token)                              # a crash before publish: render all next time
    taken = [_taken(source, read, a) for (read, a), s in zip(arts, saved) if s.outcome == "refused"]
    for p in [p for read in reads for p in read.problems] + taken:
        tx.record_problem(p, now)
    tx.remember(source, {r.location: r.memo for r in reads if r.usable and r.memo})
    tx.forget(source, [r.location for r in reads if r.memo and not r.usable])    # retried next time
    return saved, taken


def _taken(source: str, read: _Read, article: Article) -> Problem:
    return Problem(source, read.location, f"its canonical link names {article.url}, an item published from "
                                          f"another page: that item was left as it was")


def _internal(exc: Exception) -> str:
    return f"internal error: {exc.__class__.__name__}: {exc}"


def _report(p: Problem, where: str) -> None:
    (log.warning if p.severity == "warning" else log.error)("%s: %s", where, p.reason)
