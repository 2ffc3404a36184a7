"""`feedpub run`: keep the feeds current, unattended, for months.

APScheduler 3.x (the stable line) runs one job per source on its `every` or
`cron` schedule, coalesced, one instance at a time, with jitter. All jobs run
on a single worker thread: feedgen switches the process locale while it
renders and SQLite wants one writer, and a tick that only stats files is cheap.
Folder sources may also be watched (watchdog): events are debounced into one
gather, so 1,000 files copied at once cause one regeneration, not 1,000, and
a watched folder's gather looks only at the files its events named (the
whole folder is scanned at start, every `rescan` seconds and whenever the
events cannot be trusted), so a tick costs the same at 1,000 or 200,000 files.

Everything a restart needs is in the store; the process holds nothing that
would be lost by `kill -9` except the work in progress, and every file it
writes is either the old or the new complete version.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta, timezone

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from . import publish
from .build import build, open_store
from .coalesce import Regenerations
from .config import Settings, Source
from .report import Progress
from .store import StoreError
from .websub import Pinger
from .workers import pid_alive

log = logging.getLogger("feedpub.run")

MAX_BACKOFF = 3600.0
STOP_GRACE = 5.0        # seconds a stop waits for gathers to end before leaving them behind
QUIET = 10.0            # a file left open is read once nothing has happened to it for this long
STATUS_EVERY = 5.0      # seconds between two writes of status.json after quiet ticks
PROGRESS_EVERY = 10.0   # seconds between two progress lines of a gather still running


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Publisher:
    """The long-running publisher: schedule, watch, gather, regenerate."""

    # debounce: the quiet after an event before gathering. Events arrive
    # microseconds apart within a burst (a copy of 1,000 files), so 50 ms
    # still makes one gather of it; a file some writer still has open is
    # held back by its open/close events, not by this wait.
    def __init__(self, settings: Settings, *, settle: float = 0.2, debounce: float = 0.05,
                 max_delay: float = 1.2, rescan: float | None = None, verbose: bool = False):
        self.settings = settings
        self.settle = settle            # a file must stand still this long before it is read
        self.debounce = debounce        # quiet time after the last watch event
        self.max_delay = max_delay      # ... but never longer than this after the first
        self.rescan = rescan            # overrides each watched source's `rescan` (tests, benchmarks)
        self.verbose = verbose
        self.store = open_store(settings)
        self.lock = self.store.run_lock()
        self.stopping = threading.Event()
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.started = _utcnow().replace(microsecond=0)
        # Gathers run side by side; regenerations one at a time, the changes of
        # gathers that end meanwhile merged into the next (`coalesce`). Folders
        # (and the heartbeat) have threads of their own, so a source stuck on a
        # slow server never delays a watched folder; remote sources share a
        # pool sized by what may be in flight at once
        # (`remote_threads`): hundreds of sites are not hundreds of threads
        # contending for the interpreter while they wait on the same limit.
        folders = sum(s.type == "folder" for s in settings.sources)
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=remote_threads(settings.sources)),
                       "local": ThreadPoolExecutor(max_workers=2 * folders + 2)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=timezone.utc,
        )
        self._retry_at: dict[str, float] = {}
        self._first_poke: dict[str, float] = {}
        self._poke_lock = threading.Lock()
        self._observers = []
        self._watchers: dict[str, object] = {}     # source name -> its running observer
        self._changed: dict[str, set[str]] = {}     # watched source -> files its events named
        self._open: dict[str, dict[str, list]] = {}       # watched source -> open file -> [opens, last event]
        self._rescan_at: dict[str, float] = {}      # watched source -> when a whole scan is due
        self._source_locks = {s.name: threading.Lock() for s in settings.sources}
        self._regenerations = Regenerations()
        self._active = 0                            # ticks running now
        self._active_changed = threading.Condition()
        self.pinger = Pinger(settings.websub.hubs) if settings.websub.hubs else None
        self.stuck = 0                  # gathers still running when stop() gave up waiting
        self.ticks = 0                  # gathers run, for tests and status
        self.last: dict = {}            # source name -> Summary of its last gather
        self._counts: tuple[float, dict] | None = None   # (when, articles per source) for status.json
        self.regenerations = 0          # ticks that wrote at least one file
        self._unrecorded: list[tuple[str, dict]] = []   # runs the store was too busy to take, oldest first
        self._rendered = False          # a tick has regenerated (quiet ticks may skip it from then on)
        self._status_at = 0.0           # when status.json was last written
        self._record_lock = threading.Lock()
        self._gathering: dict[str, Progress] = {}   # source name -> what its running tick has done so far
        self.progress_every = PROGRESS_EVERY

    # -- life cycle --------------------------------------------------------
    def start(self) -> None:
        self.lock.acquire()             # raises StoreLocked: a second `run` refuses
        self.store.heartbeat(self.host, self.pid, self.started, started=self.started)
        # Temporary files of this host's dead processes go at once; others only
        # when old (on a shared store, a young one may be another publisher's write).
        removed = publish.remove_stale_temp_files(self.settings.output.dir)
        if removed:
            log.info("removed %d temporary file(s) left by an earlier process", removed)
        if publish.remove_legacy_status(self.settings.output.dir):
            log.info("removed status.json from the output folder (it now lives beside the store)")
        for source in self.settings.sources:
            self.scheduler.add_job(
                self.tick, self._trigger(source), args=[source.name], id=f"gather:{source.name}",
                name=f"gather {source.name}", next_run_time=_utcnow(),        # first run at start-up
                misfire_grace_time=max(1, int(source.misfire_grace)), coalesce=True, max_instances=1,
                executor="local" if source.type == "folder" else "default")
            if source.watch:
                self._watch(source)
        self.scheduler.add_job(self._heartbeat, IntervalTrigger(seconds=30), id="heartbeat", executor="local")
        self.scheduler.add_job(self._log_progress, IntervalTrigger(seconds=self.progress_every), id="progress",
                               executor="local")
        self.scheduler.start()

    def stop(self) -> None:
        """Finish the write in progress, then stop. Idempotent."""
        self.stopping.set()
        for obs in self._observers:
            obs.stop()
        for obs in self._observers:
            obs.join(timeout=5)
        self._observers.clear()
        if self.scheduler.running:
            # Not shutdown(wait=True): it holds the job store lock while it
            # waits, and a running tick asks the job store for its next run.
            self.scheduler.shutdown(wait=False)
        # Gathers see `stopping` between files and pages and end early, keeping
        # what they stored; a regeneration in progress finishes its writes.
        # A gather stuck inside one request is left behind after the grace
        # time: what it had not committed is lost, as after kill -9, and the
        # store and the files stay whole.
        with self._active_changed:
            self._active_changed.wait_for(lambda: self._active == 0, timeout=STOP_GRACE)
        self.stuck = self._active
        self._regenerations.close()              # no regeneration runs from here on
        self._clear_dead_peers()
        if self.pinger:
            self.pinger.close()
        try:
            self.store.forget_process(self.host, self.pid)
        finally:
            self.lock.release()
            self.store.close()

    def _trigger(self, source: Source):
        if source.cron:
            return CronTrigger.from_crontab(source.cron, timezone=source.timezone)
        return IntervalTrigger(seconds=source.every, jitter=source.jitter or None)

    def _heartbeat(self) -> None:
        try:
            self.store.heartbeat(self.host, self.pid, _utcnow().replace(microsecond=0))
        except StoreError as exc:
            log.warning("could not write the heartbeat: %s", exc)
            return
        if self._unrecorded:
            with self._record_lock:
                self._flush_records()
        self._write_status(changed=False)
        self._clear_dead_peers()

    def _clear_dead_peers(self) -> None:
        """A publisher of this host killed mid-write (kill -9, out of memory)
        leaves temporary files in the shared output folder that no restart of
        its own will remove: the survivors do, and forget its heartbeat."""
        dead = dead_peers(self.store.process_ids(self.host), self.pid, pid_alive)
        if not dead:
            return
        removed = publish.remove_stale_temp_files(self.settings.output.dir)
        for pid in dead:
            self.store.forget_process(self.host, pid)
        log.info("publisher %s of this host is gone: removed %d temporary file(s) it left",
                 ", ".join(map(str, dead)), removed)

    # -- watching ----------------------------------------------------------
    def _watch(self, source: Source) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        publisher = self
        root = os.path.realpath(source.path)
        self._changed[source.name] = set()
        self._open[source.name] = {}
        self._rescan_at[source.name] = 0.0              # the first tick scans the whole folder

        def location(path) -> str | None:
            rel = os.path.relpath(os.path.realpath(os.fsdecode(path)), root)
            return None if rel.startswith("..") else rel.replace(os.sep, "/")

        class Poke(FileSystemEventHandler):
            def on_any_event(self, event):
                kind = event.event_type
                if event.is_directory:
                    if kind in ("created", "moved", "deleted"):   # a folder came, went or moved: look at everything
                        publisher.note_change(source.name, None)
                        publisher.poke(source.name)
                    return
                if kind in ("opened", "closed", "closed_no_write"):
                    # inotify's IN_OPEN / IN_CLOSE_*: while anyone has it open, a
                    # writer may be half way (a slow copy pausing between chunks).
                    publisher.note_open(source.name, location(event.src_path), +1 if kind == "opened" else -1)
                    if kind != "closed":
                        return
                if kind not in ("created", "modified", "moved", "closed", "deleted"):
                    return
                for path in (event.src_path, getattr(event, "dest_path", "") or ""):
                    if path:
                        publisher.note_change(source.name, location(path))
                publisher.poke(source.name)

        observer = Observer()
        observer.schedule(Poke(), str(source.path), recursive=True)
        observer.daemon = True
        observer.start()
        self._observers.append(observer)
        self._watchers[source.name] = observer

    def note_change(self, name: str, location: str | None) -> None:
        """A watcher's event: this file changed (None: anything may have)."""
        with self._poke_lock:
            if location is None:
                self._rescan_at[name] = 0.0
                return
            self._changed[name].add(location)
            if location in self._open[name]:
                self._open[name][location][1] = time.monotonic()

    def note_open(self, name: str, location: str | None, delta: int) -> None:
        """Someone opened (+1) or closed (-1) a file of a watched folder."""
        if location is None:
            return
        with self._poke_lock:
            opened = self._open[name]
            count = opened.get(location, [0, 0.0])[0] + delta
            if count > 0:
                opened[location] = [count, time.monotonic()]
            else:
                opened.pop(location, None)

    def _held(self, name: str) -> tuple[set[str], float | None]:
        """The files of a watched source that someone still has open (a writer
        may be half way), and when the first of them will have been quiet
        for QUIET seconds: a file left open but no longer written to is read
        then, as it is."""
        with self._poke_lock:
            opened = self._open.get(name, {})
            held, due = held_files({loc: at for loc, (_, at) in opened.items()}, time.monotonic())
            for loc in [loc for loc in opened if loc not in held]:
                del opened[loc]
            return held, due

    def _take_changes(self, name: str) -> set[str] | None:
        """The files a watched source's events named since its last gather, or
        None when the whole folder must be scanned: at start, every `rescan`
        (10 minutes by default: a safety net for events a filesystem never
        sent), after a folder-level event, or when the watcher has stopped."""
        if name not in self._changed:
            return None
        with self._poke_lock:
            changed, self._changed[name] = self._changed[name], set()
            now = time.monotonic()
            if rescan_due(now, self._rescan_at[name], self._watchers[name].is_alive()):
                every = self.rescan or next(s.rescan for s in self.settings.sources if s.name == name)
                self._rescan_at[name] = now + every
                return None
            return changed

    def _give_back(self, name: str, locations) -> None:
        """Files to look at again on the next gather (still being written, or the gather failed)."""
        if name in self._changed and locations:
            with self._poke_lock:
                self._changed[name].update(locations)

    def poke(self, name: str, at: float | None = None) -> None:
        """Something changed in a watched folder: gather soon, once per burst
        (or at the monotonic time `at`, when a held file will be quiet)."""
        if self.stopping.is_set():
            return
        now = time.monotonic()
        with self._poke_lock:
            first = self._first_poke.setdefault(name, now)
            delay = gather_delay(now, first, self.debounce, self.max_delay, at)
            run_at = _utcnow() + timedelta(seconds=delay)
            try:
                pending = self.scheduler.get_job(f"watch:{name}")
                if pending is not None and pending.next_run_time is not None and pending.next_run_time <= run_at:
                    return          # a gather is due sooner (a file closed meanwhile): never put it off

                # max_instances=2: a poke during the watch tick itself (files still
                # arriving) queues one more tick behind it instead of being dropped.
                self.scheduler.add_job(self._watch_tick, DateTrigger(run_date=run_at), args=[name], executor="local",
                                       id=f"watch:{name}", replace_existing=True, misfire_grace_time=60,
                                       max_instances=2, coalesce=True)
            except Exception:  # the scheduler is shutting down
                pass

    def _watch_tick(self, name: str) -> None:
        with self._poke_lock:
            self._first_poke.pop(name, None)
        self.tick(name)

    @property
    def busy(self) -> bool:
        """A gather or regeneration is running right now."""
        return self._active > 0

    # -- one gather ----------------------------------------------------------
    def tick(self, name: str) -> None:
        """Gather one source and regenerate the feeds it changed."""
        with self._active_changed:
            self._active += 1
        try:
            with self._source_locks[name]:          # one tick of a source at a time
                if not self.stopping.is_set():
                    self._locked_tick(name)
        finally:
            with self._active_changed:
                self._active -= 1
                self._active_changed.notify_all()

    def _locked_tick(self, name: str) -> None:
        # On PostgreSQL, several publishers share the store: one gathers
        # each source per tick, the others skip it.
        with self.store.advisory_lock(f"source:{name}", wait=False) as mine:
            if not mine:
                log.debug("%s: another publisher is gathering it; skipped", name)
                return
            started = self.store.gather_started(name, self.host, self.pid, _utcnow())
            try:
                self._tick(name)
            finally:
                self.store.gather_ended(started, _utcnow())

    def _tick(self, name: str) -> None:
        source = next(s for s in self.settings.sources if s.name == name)
        if time.monotonic() < self._retry_at.get(name, 0.0):
            return                                    # backing off after failures
        started = time.monotonic()
        error = None
        summary = None
        changed = self._take_changes(name)
        held, _ = self._held(name)
        self._gathering[name] = progress = Progress(started)
        try:
            # Files named by events were closed by their writers or renamed into
            # place: read at once. A whole scan may meet files written while no
            # one watched: those must stand still for `settle` first.
            summary = build(self.settings, store=self.store, sources=[source],
                            settle=self.settle if changed is None else 0.0,
                            should_stop=self.stopping.is_set, only=None if changed is None else {name: changed},
                            regenerations=self._regenerations, hold={name: held} if held else None,
                            quiet_render_done=self._rendered, progress=progress)
            self._rendered = True
            if summary.failed_sources:
                error = "; ".join(p.reason for p in summary.problems if p.source == name and p.severity == "error")
            self._give_back(name, summary.deferred)
            self.last[name] = summary
        except Exception as exc:                      # a source that raises costs its own tick only
            error = f"{exc.__class__.__name__}: {exc}"
            log.debug("tick %s failed", name, exc_info=True)
        finally:
            self._gathering.pop(name, None)
        if error and name in self._changed:
            self.note_change(name, None)              # after a failure, the next gather scans everything
        duration = time.monotonic() - started
        self.ticks += 1
        next_run = self._next_run(name)
        failures = self._record_run(name, dict(
            hosts=summary.hosts if summary else {},
            ended=_utcnow().replace(microsecond=0), duration=duration, error=error, next_run=next_run,
            new=summary.articles["new"] if summary else 0, updated=summary.articles["updated"] if summary else 0,
            problems=len(summary.problems) if summary else 0))
        if error:
            backoff = retry_after(failures, source.every)
            self._retry_at[name] = time.monotonic() + backoff * 0.9
            log.error("%s: failed (%d in a row; next try in %.0fs): %s", name, failures, backoff, error)
        else:
            self._retry_at.pop(name, None)
            self._log_tick(name, summary, duration)
            if summary.written:
                self.regenerations += 1
            if self.pinger and summary.changed_feeds:
                self.pinger.submit(summary.changed_feeds)
            if summary.deferred:
                # Files still being written: look again when they are quiet, as
                # they are now (one closed during this gather is due at once).
                self.poke(name, at=self._held(name)[1])
        self._write_status(changed=summary is None or bool(summary.articles["new"] or summary.articles["updated"]
                                                            or summary.problems or summary.written))

    def _record_run(self, name: str, run: dict) -> int:
        """Keep a tick's run in the store (`status`, /metrics); returns the
        failures in a row. A store too busy to take it (the very failure a
        run may be reporting) leaves it here until the next tick or
        heartbeat writes it, after any kept before it."""
        with self._record_lock:
            self._unrecorded.append((name, run))
            return self._flush_records().get(name, 1 if run["error"] else 0)

    def _flush_records(self) -> dict[str, int]:
        """Write the runs kept for later, oldest first (the record lock held)."""
        done = {}
        try:
            while self._unrecorded:
                source, run = self._unrecorded[0]
                done[source] = self.store.record_run(source, **run)
                self._unrecorded.pop(0)
        except StoreError as exc:
            log.error("could not record %d run(s) yet, kept for the next try: %s", len(self._unrecorded), exc)
        return done

    def _next_run(self, name: str) -> datetime | None:
        if self.stopping.is_set():
            return None
        job = self.scheduler.get_job(f"gather:{name}")
        return job.next_run_time if job is not None else None

    def _log_progress(self) -> None:
        """A line per gather running longer than `progress_every`: a first
        gather of a site read politely takes minutes, and silence would
        look like a hang."""
        now = time.monotonic()
        for name, p in list(self._gathering.items()):
            if now - p.started >= self.progress_every:
                log.info("%s: still gathering (%ds): %s", name, now - p.started, p.line())

    def _log_tick(self, name: str, summary, duration: float) -> None:
        a = summary.articles
        busy = a["new"] or a["updated"] or summary.problems or summary.written
        if busy or self.verbose:
            log.info("%s: %d new, %d updated, %d unchanged, %d problem(s); %d file(s) written (%.2fs)",
                     name, a["new"], a["updated"], a["unchanged"], len(summary.problems), summary.written, duration)

    def _write_status(self, changed: bool = True) -> None:
        """The status file (beside the store, never in the published folder):
        the last success per source, for monitoring.

        Its article counts are a COUNT over every origin: after a tick that
        changed nothing they are reused for up to a minute, so a quiet tick's
        cost does not grow with the archive."""
        path = self.settings.store.status_file
        if path is None:
            return
        now = time.monotonic()
        if not changed and now - self._status_at < STATUS_EVERY:
            return                    # a quiet tick: at most every STATUS_EVERY s (the heartbeat writes it too)
        self._status_at = now
        try:
            if changed or self._counts is None or now - self._counts[0] > 60:
                self._counts = (now, self.store.article_counts())
            data = status_document(self.store.status(self._counts[1]))
            publish.write_if_changed(path.parent, path.name,
                                     json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode())
        except Exception as exc:
            log.warning("could not write %s: %s", path, exc)

    # -- foreground ----------------------------------------------------------
    def run_forever(self) -> int:
        """Run until SIGINT/SIGTERM; a second signal exits at once."""
        import signal

        def first(signum, frame):
            if self.stopping.is_set():
                os._exit(130)
            log.info("stopping (%s): finishing the write in progress; a second signal exits at once",
                     signal.Signals(signum).name)
            self.stopping.set()

        signal.signal(signal.SIGINT, first)
        signal.signal(signal.SIGTERM, first)
        self.start()
        log.info("feedpub run: %d source(s); output %s; Ctrl-C stops", len(self.settings.sources),
                 self.settings.output.dir)
        while not self.stopping.wait(0.5):
            pass
        self.stop()
        if self.stuck:
            # A gather waiting on a server that does not answer: nothing of it
            # is half-written, so leave it rather than wait up to its deadline.
            log.warning("stopped; left %d gather(s) waiting on a server", self.stuck)
            logging.shutdown()
            os._exit(0)
        log.info("stopped")
        return 0


# -- the policy, as arithmetic on values ---------------------------------------

def remote_threads(sources) -> int:
    """Threads for the ticks of web and SQL sources: one each, but no more
    than twice the requests that may be in flight at once ([web]
    max_connections) plus the SQL sources (a few more wait their turn)."""
    web = [s for s in sources if s.type == "web"]
    sql = sum(s.type == "sql" for s in sources)
    limit = 2 * web[0].web.max_connections if web else 0
    return max(1, min(len(web), limit) + sql)


def dead_peers(pids: list[int], me: int, alive) -> list[int]:
    """The publishers of this host, other than this one, that are gone."""
    return sorted(pid for pid in pids if pid != me and not alive(pid))


def retry_after(failures: int, every: float | None) -> float:
    """Seconds before a failing source is tried again: its interval doubled
    for each failure in a row (a minute for cron sources), at most an hour."""
    return min(MAX_BACKOFF, (every or 60.0) * (2 ** max(0, failures - 1)))


def rescan_due(now: float, rescan_at: float, watcher_alive: bool) -> bool:
    """Must a watched folder be scanned whole (not only the files its events
    named)? When its rescan time has come, or its watcher has stopped."""
    return now >= rescan_at or not watcher_alive


def gather_delay(now: float, first: float, debounce: float, max_delay: float, at: float | None = None) -> float:
    """Seconds from now to the gather that a watched folder's event asks for:
    `debounce` after the event, but never later than `max_delay` after the
    first event of the burst (so a steady stream of files still publishes);
    with `at`, not before then (a held file will have been quiet)."""
    delay = min(debounce, max(0.0, first + max_delay - now))
    return max(delay, at - now) if at is not None else delay


def held_files(open_since: dict[str, float], now: float, quiet: float = QUIET) -> tuple[set[str], float | None]:
    """Of the files someone has open (each with its last event), those to
    hold back, and when the first of them will have been quiet for `quiet`
    seconds (then it is read as it is)."""
    held = {loc for loc, at in open_since.items() if now - at < quiet}
    return held, min((open_since[loc] + quiet for loc in held), default=None)


def status_document(status: dict) -> dict:
    """The store's status as JSON-ready data."""
    def iso(v):
        return v.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(v, datetime) else v
    return {
        "sources": [{k: iso(v) for k, v in row.items()} for row in status["sources"]],
        "processes": [{k: iso(v) for k, v in row.items()} for row in status["processes"]],
        "hosts": status.get("hosts", []),
    }
