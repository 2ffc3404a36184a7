"""Bytes -> files that a reader polling mid-write never sees half of.

A file whose bytes are already on disk is not touched (its mtime stays, so
static servers keep answering 304). Otherwise the bytes go to a temporary
file in the same folder, are fsynced, and renamed over the old file: the
rename is atomic, so a reader sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


class PublishError(Exception):
    """A file could not be written; the message names it."""


def _inside(root: Path, rel: str) -> Path:
    target = (root / rel).resolve()
    if target != root and root not in target.parents:
        raise PublishError(f"{rel}: refuses to write outside {root}")
    return target


def write_if_changed(root: Path, rel: str, data: bytes, *, pending_dirs: set | None = None) -> bool:
    """Write `data` to root/rel atomically unless it is already there.

    Returns True if the file was written. With `pending_dirs`, the folder's
    fsync (which makes the rename durable) is left to `sync_dirs`, once per
    folder for a whole batch of files instead of once per file.
    """
    root = root.resolve()
    target = _inside(root, rel)
    try:
        if target.stat().st_size == len(data) and target.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise PublishError(f"{target}: cannot read: {exc.strerror or exc}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise PublishError(f"{target}: cannot write: {exc.strerror or exc}") from None
        raise
    if pending_dirs is None:
        _fsync_dir(target.parent)
    else:
        pending_dirs.add(target.parent)
    return True


def sync_dirs(folders: set) -> None:
    """Make a batch of renames durable: one fsync per folder."""
    for folder in sorted(folders):
        _fsync_dir(folder)
    folders.clear()


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


def remove_stale_temp_files(root: Path, older_than: float = 600.0) -> int:
    """Temporary files left by a process killed mid-write: never a feed.

    Only old ones go: a young one may be another publisher's write in progress.
    """
    removed = 0
    if not root.exists():
        return 0
    limit = time.time() - older_than
    for path in root.rglob(".*.tmp"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except OSError:
            pass
    return removed
