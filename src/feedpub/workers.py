"""Process pools for the steps that are pure CPU work (parsing files,
rendering archive pages): Python runs one thread at a time, so more cores
means more processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor


def cores() -> int:
    """Worker processes worth starting (a few: each holds its own caches)."""
    return min(os.cpu_count() or 1, 4)


def pool(workers: int) -> ProcessPoolExecutor:
    # fork is cheap and inherits what is imported, but forking a process with
    # threads (`feedpub run`: scheduler, watcher) can inherit a held lock:
    # there, workers come from a clean forkserver process instead.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["feedpub._forkserver_guard"])
    return ProcessPoolExecutor(workers, mp_context=context, initializer=die_with_parent,
                               initargs=(os.getpid(),))


def die_with_parent(owner: int) -> None:
    """A worker ends the moment the publisher it works for does (kill -9
    included): it must not go on writing into an output folder nobody owns.

    Linux's parent-death signal kills it when its parent dies: the publisher
    itself (fork), or the forkserver, which holds the same signal on the
    publisher. A thread also watches the publisher, where prctl is missing.
    """
    parent = os.getppid()
    arm_parent_death_signal()
    threading.Thread(target=_watch, args=(owner,), daemon=True, name="feedpub-owner").start()
    if os.getppid() != parent:
        os._exit(1)                              # gone before the signal was armed


PR_SET_PDEATHSIG = 1


def arm_parent_death_signal() -> bool:
    """SIGKILL this process when its parent dies (Linux); False where there is no such thing."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def pid_alive(pid: int) -> bool:
    """Is the process running? A zombie (dead, not yet reaped: orphans wait
    for init to reap them) is not."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] != b"Z"
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch(owner: int) -> None:
    while pid_alive(owner):
        time.sleep(0.5)
    os._exit(1)
