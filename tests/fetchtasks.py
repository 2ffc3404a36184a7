"""Group tasks for fetch_workers.spread tests: module-level, so a worker
process (forked from the forkserver, tests/ on its path) can import them."""

from __future__ import annotations

import os
import threading


def first_group_dies(payload, group, names, share, results, owner):
    """Group 0's worker dies at once; any other sends each name back."""
    if group == 0:
        os._exit(3)
    for name in names:
        results.put(("fetched", 1))
        results.put(("done", group, name, (payload, name)))
    results.put(("end", group))
    results.close()
    results.join_thread()


class Counted:
    def __init__(self):
        self.fetched = 0
        self._lock = threading.Lock()

    def advance(self, kind, n=1, total=None):
        with self._lock:
            if kind == "fetched":
                self.fetched += n
