"""Bytes -> files that a reader polling mid-write never sees half of.

A file whose bytes are already on disk is not touched (its mtime stays, so
static servers keep answering 304). Otherwise the bytes go to a temporary
file in the same folder, are synced to disk, and renamed over the old file:
the rename is atomic, so a reader sees the old file or the new one, never a
mix. `Batch` does the same for many files with one sync for all.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import tempfile
import time
from pathlib import Path

from .workers import pid_alive


class PublishError(Exception):
    """A file could not be written; the message names it."""


def _inside(root: Path, rel: str) -> Path:
    target = (root / rel).resolve()
    if target != root and root not in target.parents:
        raise PublishError(f"{rel}: refuses to write outside {root}")
    return target


def write_if_changed(root: Path, rel: str, data: bytes) -> bool:
    """Write `data` to root/rel atomically unless it is already there.

    Returns True if the file was written. For many files, `Batch` is faster.
    """
    root = root.resolve()
    target = _inside(root, rel)
    if _holds(target, data):
        return False
    make_folder(target.parent)
    tmp = _temp_copy(target, data, fsync=True)
    try:
        os.replace(tmp, target)
    except OSError as exc:
        _unlink(tmp)
        raise PublishError(f"{target}: cannot write: {exc.strerror or exc}") from None
    _fsync_dir(target.parent)
    return True


def listing(root: Path, folders) -> dict[str, frozenset[str]]:
    """The names in these folders of the output (relative; "" is the root),
    for a regeneration to plan with; a folder that does not exist is empty."""
    out = {}
    for folder in folders:
        try:
            out[folder] = frozenset(os.listdir(root / folder if folder else root))
        except OSError:
            out[folder] = frozenset()
    return out


def make_folder(folder: Path) -> None:
    """mkdir -p, failing with a PublishError that names the folder and why."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise PublishError(f"{folder}: cannot be a folder: a file of that name is in the way") from None
    except OSError as exc:
        raise PublishError(f"{folder}: cannot create the folder: {exc.strerror or exc}") from None


def _holds(target: Path, data: bytes) -> bool:
    """Does the file already hold exactly these bytes? (Then it is left alone.)"""
    try:
        return target.stat().st_size == len(data) and target.read_bytes() == data
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise PublishError(f"{target}: cannot read: {exc.strerror or exc}") from None


def _temp_copy(target: Path, data: bytes, *, fsync: bool, owner: int | None = None) -> str:
    """`data` in a new temporary file beside `target` (mode 0644): its path.
    `owner` is the process that will rename it (default: this one)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.~{_owner(owner)}~", suffix=".tmp", dir=target.parent)
    except OSError as exc:                     # a read-only or full folder, one we may not write in
        raise PublishError(f"{target.parent}: cannot write a file there: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            os.fchmod(f.fileno(), 0o644)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
    except BaseException as exc:
        _unlink(tmp)
        if isinstance(exc, OSError):
            raise PublishError(f"{target}: cannot write: {exc.strerror or exc}") from None
        raise
    return tmp


class Batch:
    """Many files published together, each still atomically.

    Every changed file goes to a temporary file beside its target; `flush`
    makes all of them durable with one sync of the filesystem, then renames
    each over its target (in the order written) and fsyncs each folder once.
    A rename never exposes unsynced bytes, as with `write_if_changed`, but
    10,000 files cost one sync instead of 10,000 fsyncs. Used as a context
    manager: flushed on success, temporary files removed on any exception.
    """

    def __init__(self, root: Path, limit: int = 2000, owner: int | None = None):
        self.root = root.resolve()
        self.limit = limit                         # files held back at most before a flush
        # The process that will rename the files: a worker's temporary files
        # carry its publisher's pid, so they are litter only once the
        # publisher is gone, not when the worker that wrote them exits.
        self.owner = owner
        self._pending: list[tuple[str, Path]] = []
        self._made: set[Path] = set()
        self.written = self.unchanged = 0

    def write(self, rel: str, data: bytes, *, once: bool = False) -> bool:
        """Queue `data` for root/rel unless the file already holds it (with
        `once`, unless the file exists at all: a page that never changes)."""
        target = self._target(rel)
        if (once and target.exists()) or _holds(target, data):
            self.unchanged += 1
            return False
        if target.parent not in self._made:
            make_folder(target.parent)
            self._made.add(target.parent)
        self._pending.append((_temp_copy(target, data, fsync=False, owner=self.owner), target))
        self.written += 1
        if len(self._pending) >= self.limit:
            self.flush()
        return True

    def flush(self) -> None:
        if not self._pending:
            return
        try:
            _sync_filesystem(self.root)
        except OSError as exc:
            self.discard()
            raise PublishError(f"{self.root}: cannot sync: {exc.strerror or exc}") from None
        folders = set()
        for tmp, target in self._pending:
            try:
                os.replace(tmp, target)
            except OSError as exc:
                self.discard()
                raise PublishError(f"{target}: cannot write: {exc.strerror or exc}") from None
            folders.add(target.parent)
        self._pending.clear()
        for folder in sorted(folders):
            _fsync_dir(folder)

    def hand_over(self) -> list[tuple[str, Path]]:
        """The queued (temporary file, target) pairs, for another process's
        Batch to `adopt` and publish with its own (a worker renders, one
        process syncs and renames, so the order of renames still holds)."""
        pending, self._pending = self._pending, []
        return pending

    def adopt(self, pending: list[tuple[str, Path]]) -> None:
        self._pending.extend(pending)
        if len(self._pending) >= self.limit:
            self.flush()

    def discard(self) -> None:
        for tmp, _ in self._pending:
            _unlink(tmp)
        self._pending.clear()

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is None:
            self.flush()
        else:
            self.discard()

    def _target(self, rel: str) -> Path:
        """root/rel, refusing what would land outside root (cheaper than resolve())."""
        norm = os.path.normpath(rel)
        if os.path.isabs(norm) or norm == ".." or norm.startswith("../"):
            raise PublishError(f"{rel}: refuses to write outside {self.root}")
        return self.root / norm


def _sync_filesystem(path: Path) -> None:
    """syncfs(2) where there is one (Linux), else sync(2)."""
    if _syncfs is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if _syncfs(fd) != 0:
            import ctypes
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)


def _load_syncfs():
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


_syncfs = _load_syncfs()


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (a crash after it keeps the new name)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _owner(pid: int | None = None) -> str:
    """Who renames a temporary file into place: this host (hashed) and the
    process, in its name, so a later run knows at once whether it is gone."""
    return f"{_HOST}-{pid or os.getpid()}"


_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_OWNED = re.compile(r"\.~([0-9a-f]{8})-(\d+)~")


def remove_stale_temp_files(root: Path, older_than: float = 600.0) -> int:
    """Temporary files left by a process killed mid-write: never a feed.

    A file whose writer was a process of this host that is gone goes at once
    (its name says who wrote it); any other only once older than
    `older_than` seconds: it may be another publisher's write in progress.
    """
    removed = 0
    if not root.exists():
        return 0
    limit = time.time() - older_than
    for path in root.rglob(".*.tmp"):
        m = _OWNED.search(path.name)
        dead = m is not None and m.group(1) == _HOST and not pid_alive(int(m.group(2)))
        try:
            if dead or path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except OSError:
            pass
    return removed


def remove_legacy_status(root: Path) -> bool:
    """Remove the status.json that feedpub before 0.2 wrote into the output
    folder (host names, pids, paths, errors: not for the public). Only a file
    that is plainly that document goes."""
    import json
    path = root / "status.json"
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    if not (isinstance(doc, dict) and set(doc) == {"sources", "processes"}):
        return False
    _unlink(str(path))
    return True


def output_problem(root: Path, room: int = 10 * 1024 * 1024) -> str | None:
    """What would stop a build from publishing into `root`, or None (for
    `feedpub check`: nothing is written to find out)."""
    folder = root
    while not folder.exists():
        if folder.parent == folder:
            return f"{root}: no existing folder above it"
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder}: a file is where the output folder (or one above it) should be"
    try:
        st = os.statvfs(folder)
    except OSError as exc:
        return f"{folder}: {exc.strerror or exc}"
    if st.f_flag & os.ST_RDONLY:
        return f"{folder}: on a read-only file system"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{folder}: not writable by this user"
    if st.f_bavail * st.f_frsize < room:
        return f"{folder}: only {st.f_bavail * st.f_frsize:,} bytes free"
    return None
