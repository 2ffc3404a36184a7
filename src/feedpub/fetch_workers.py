"""Web sources gathered from worker processes: a build over hundreds of sites.

Fetching is waiting, but parsing each page and normalizing its article is
CPU work, and one interpreter does it on one core whatever the number of
threads: a first build over 200 portals kept one core of two busy. Here the
sources are split into one group per core, every source whose start pages
share a host in the same group (so a host still gets its requests from one
process, one at a time by default); a worker process fetches its group's
sources side by side in threads, reads and normalizes what each found and
sends it back as soon as that source is done. Storing stays in the calling
process, in the configured order (build.gather): the same items, ids and
bytes as one source after another.

Requests in flight stay within `[web] max_connections` (each worker gets its
share). A worker that dies has its unfinished sources fetched in this
process instead; a build that ends early stops the workers.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import urlsplit

from .workers import context

log = logging.getLogger("feedpub")


def groups(sources, count: int) -> list[list]:
    """`sources` in at most `count` groups of about equal size, each host's
    sources (by their start pages) in one group, the configured order kept
    within each group."""
    owner: dict[str, int] = {}                  # host -> index of a source that starts there
    parent = list(range(len(sources)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    for i, s in enumerate(sources):
        for start in s.web.start:
            host = urlsplit(start.url).netloc.lower()
            if host in owner:
                parent[root(i)] = root(owner[host])
            else:
                owner[host] = i
    clusters: dict[int, list[int]] = {}
    for i in range(len(sources)):
        clusters.setdefault(root(i), []).append(i)
    bins: list[list[int]] = [[] for _ in range(min(count, len(clusters)))]
    for cluster in sorted(clusters.values(), key=len, reverse=True):     # largest first, each to the emptiest
        min(bins, key=len).extend(cluster)
    return [[sources[i] for i in sorted(b)] for b in bins if b]


class Ahead(dict):
    """{source name: Future of (None, Gathered)}, whose `read` holds the
    units read and normalized already; `close` stops the workers."""

    def __init__(self):
        super().__init__()
        self.processes: list = []

    def close(self) -> None:
        for p in self.processes:
            if p.is_alive():
                p.terminate()
        for p in self.processes:
            p.join(5)


def spread(sources, group_task, args: tuple, *, workers: int, limit: int, progress, fallback) -> Ahead:
    """Start `group_task(*args, group, names, share, results, owner)` in a
    worker process per group of `sources` (it puts ("fetched", n), ("done",
    group, name, Gathered), ("failed", group, name, exception) and at its
    end ("end", group) on `results`); `fallback(source)` gathers one here
    (a worker that died). `progress.advance` hears of every page fetched."""
    ahead = Ahead()
    parts = groups(sources, workers)
    share = max(1, limit // len(parts))
    results = context().Queue()
    unfinished: list[set[str]] = []
    for group, part in enumerate(parts):
        for s in part:
            ahead[s.name] = Future()
        p = context().Process(target=group_task, args=(*args, group, [s.name for s in part], share, results,
                                                       os.getpid()),
                              daemon=True, name="feedpub-fetch")
        p.start()
        ahead.processes.append(p)
        unfinished.append({s.name for s in part})
    by_name = {s.name: s for s in sources}
    futures = dict(ahead)
    threading.Thread(target=_collect, args=(results, ahead.processes, unfinished, futures, by_name, progress,
                                            fallback), daemon=True, name="feedpub-fetch-results").start()
    return ahead


def _collect(results, processes, unfinished, futures, by_name, progress, fallback) -> None:
    """Hand each source's result to its future as it comes; the sources of a
    worker that ended without finishing them are gathered here instead."""
    running = set(range(len(processes)))
    while running:
        try:
            message = results.get(timeout=0.5)
        except queue.Empty:
            for i in list(running):
                if not processes[i].is_alive() and processes[i].exitcode is not None:
                    running.discard(i)
                    _fall_back(unfinished[i], futures, by_name, fallback)
            continue
        except (EOFError, OSError, pickle.UnpicklingError) as exc:    # the queue itself broke
            log.warning("fetching workers stopped answering (%s); gathering the rest here", exc)
            for i in running:
                _fall_back(unfinished[i], futures, by_name, fallback)
            return
        kind = message[0]
        if kind == "fetched":
            progress.advance("fetched", message[1])
        elif kind == "end":
            running.discard(message[1])
        else:
            group, name, value = message[1], message[2], message[3]
            unfinished[group].discard(name)
            if kind == "done":
                futures[name].set_result((None, value))
            else:
                futures[name].set_exception(value)


def _fall_back(names: set[str], futures, by_name, fallback) -> None:
    if not names:
        return
    log.warning("a fetching worker stopped; gathering %s here", ", ".join(sorted(names)))
    pool = ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="feedpub-fetch")
    for name in sorted(names):
        pool.submit(_settle, futures[name], fallback, by_name[name])
    names.clear()
    pool.shutdown(wait=False)


def _settle(future: Future, work, *args) -> None:
    try:
        future.set_result(work(*args))
    except BaseException as exc:
        future.set_exception(exc)


def sendable(exc: BaseException) -> BaseException:
    """`exc`, or a RuntimeError saying the same if it cannot go through a pipe."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{exc.__class__.__name__}: {exc}")
