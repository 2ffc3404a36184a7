"""Process pools for the steps that are pure CPU work (parsing files,
rendering archive pages): Python runs one thread at a time, so more cores
means more processes."""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor


def cores() -> int:
    """Worker processes worth starting (a few: each holds its own caches)."""
    return min(os.cpu_count() or 1, 4)


def pool(workers: int) -> ProcessPoolExecutor:
    # fork is cheap and inherits what is imported, but forking a process with
    # threads (`feedpub run`: scheduler, watcher) can inherit a held lock:
    # there, workers come from a clean forkserver process instead.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))
