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


# Imported once by the forkserver: every worker it forks has the pipeline
# loaded, and nothing else (see `pool`); pypinyin too (0.1 s of CPU and its
# tables: a worker slugs the category levels it reads), loaded once, not per worker.
PRELOAD = ["feedpub._forkserver_guard", "feedpub.build", "pypinyin"]


def pool(workers: int) -> ProcessPoolExecutor:
    """Workers forked from a forkserver that has imported the pipeline.

    Forking the publisher itself would be quicker to start, but its workers
    would inherit its heap: a cold build of 200,000 files holds a list of
    every file, and each worker counted it again (its pages are shared until
    touched, and counted in each process's resident memory all the same).
    Forking a process with threads (`feedpub run`: scheduler, watcher) could
    also inherit a held lock. A forkserver has neither.
    """
    return ProcessPoolExecutor(workers, mp_context=_forkserver(), initializer=die_with_parent,
                               initargs=(os.getpid(),))


def warm() -> None:
    """Start the forkserver now, so that it imports the pipeline while this
    process does its own start-up (a first build, which will parse on every
    core), instead of once the first worker is asked for."""
    _forkserver()
    from multiprocessing import forkserver
    forkserver.ensure_running()


def context():
    """The multiprocessing context of feedpub's workers (forked from the forkserver, see `pool`)."""
    return _forkserver()


def _forkserver():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


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
