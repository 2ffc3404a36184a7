"""`feedpub build` with nothing to do, answered before the pipeline is loaded.

A cron job runs `feedpub build` every few minutes and most runs find nothing
new; loading what only a change needs (SQLAlchemy, feedgen, the parsers)
costs several times more than finding that out. After a build that read
every source and published everything without a problem, a fingerprint of
what it depended on is kept beside the store: feedpub's own code, the
configuration file, every file under the folder sources (name, size,
mtime), every file of the output folder, and the store file. The next build
compares them first; when all match and no crashed gather left changes
unpublished, it records the run in the store and stops.

Only for folder sources (a website or a database must be asked) and a
SQLite store in a file (a server's may be written by other publishers).
Anything unexpected (a symbolic link, an unreadable folder, a store of
another shape) means "not known to be unchanged": the full build runs.
Standard library only: importing the pipeline is what this avoids.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .config import Settings, sqlite_file
from .model import PENDING_META
_CODE = Path(__file__).resolve().parent


class _Unknown(Exception):
    """Something the fingerprint cannot vouch for: build the slow way."""


class Files:
    """Every file one fingerprint walk met below a source folder, as
    (location, size, mtime_ns): what a folder source would list, handed to
    it so that a build with changes does not walk the folder a second time.
    Kept as the walk's own lines and turned into tuples only when a build
    asks (the nothing-new answer, the common one, never does)."""

    def __init__(self):
        self._folders: list[tuple[str, list[str]]] = []

    def __iter__(self):
        for rel, lines in self._folders:
            for line in lines:
                if line.startswith("f "):
                    name, size, mtime = line[2:].rsplit(" ", 2)
                    yield (f"{rel}/{name}" if rel else name, int(size), int(mtime))


def _tree(root: Path, digest, *, skip_links: bool, only: str = "", files: Files | None = None) -> int:
    """Feed every file under `root` (path, size, mtime) into `digest`, in a
    fixed order; returns how many. A symbolic link is unknown ground (its
    target may change without any stat here changing) unless skipped.
    `only`: files whose names end so (the code's *.py, not its caches);
    `files` keeps what was met."""
    count = 0
    stack = [""]
    while stack:
        rel = stack.pop()
        lines = []
        try:
            with os.scandir(root / rel if rel else root) as it:
                for entry in it:
                    name = entry.name
                    if entry.is_symlink():
                        if skip_links:
                            continue
                        raise _Unknown(f"{rel}/{name} is a symbolic link")
                    if entry.is_dir(follow_symlinks=False):
                        if not (only and name == "__pycache__"):
                            lines.append(f"d {name}")
                            stack.append(f"{rel}/{name}" if rel else name)
                    elif not only or name.endswith(only):
                        st = entry.stat(follow_symlinks=False)
                        lines.append(f"f {name} {st.st_size} {st.st_mtime_ns}")
        except OSError as exc:
            raise _Unknown(str(exc)) from None
        lines.sort()
        if files is not None:
            files._folders.append((rel, lines))
        count += len(lines)
        digest.update(f"{rel}\n{chr(10).join(lines)}\n\n".encode("utf-8", "surrogateescape"))
    return count


def _database(settings: Settings) -> Path | None:
    """The store's file; None for a server or a URL with options (unknown ground)."""
    url = settings.store.url
    return None if "?" in url else sqlite_file(url)


def place(settings: Settings) -> Path | None:
    """Where the fingerprint is kept, or None when this build cannot have one."""
    if not settings.sources or any(s.type != "folder" or s.path is None for s in settings.sources):
        return None
    database = _database(settings)
    return database.with_name(database.name + ".unchanged") if database else None


def inputs(settings: Settings, listed: dict[str, Files] | None = None) -> str | None:
    """The fingerprint of what a build reads, taken before it reads it (a
    file that changes during the build is then seen as changed next time).
    `listed` receives, per source, the files walked (only with a fingerprint)."""
    if place(settings) is None:
        return None
    digest = hashlib.sha256(f"{__version__} {sys.version}\n".encode())
    walked = {}
    try:
        _tree(_CODE, digest, skip_links=True, only=".py")
        digest.update(Path(settings.path).read_bytes())
        for source in settings.sources:
            digest.update(f"source {source.name} {source.path}\n".encode("utf-8", "surrogateescape"))
            files = Files() if listed is not None else None
            _tree(Path(source.path), digest, skip_links=False, files=files)
            if files is not None:
                walked[source.name] = files
    except (_Unknown, OSError):
        return None
    if listed is not None:
        listed.update(walked)
    return digest.hexdigest()


def _outputs(settings: Settings) -> str:
    digest = hashlib.sha256()
    if settings.output.dir.is_dir():
        _tree(settings.output.dir, digest, skip_links=False)
    return digest.hexdigest()


def _store_stamp(database: Path) -> list:
    """The store file as it stands. A reader opening the store may create an
    empty write-ahead log; only one with something in it counts."""
    st = os.stat(database)
    stamp = [st.st_ino, st.st_size, st.st_mtime_ns]
    try:
        wal = os.stat(f"{database}-wal")
        if wal.st_size:
            stamp += [wal.st_size, wal.st_mtime_ns]
    except FileNotFoundError:
        pass
    return stamp


def _write(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def remember(settings: Settings, fingerprint: str | None, files: int) -> None:
    """After a clean build (the store closed): what the next one compares."""
    path = place(settings)
    if path is None or fingerprint is None:
        return
    try:
        _write(path, {"inputs": fingerprint, "outputs": _outputs(settings),
                      "store": _store_stamp(_database(settings)), "files": files})
    except (_Unknown, OSError):
        forget(settings)


def forget(settings: Settings) -> None:
    """A build that did not end cleanly: the next one must not be skipped."""
    path = place(settings)
    if path is not None:
        try:
            os.unlink(path)
        except OSError:
            pass


def nothing_to_do(settings: Settings, fingerprint: str | None) -> dict | None:
    """The remembered build when nothing it depended on has changed since,
    else None."""
    path = place(settings)
    if path is None or fingerprint is None:
        return None
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
        if known.get("inputs") != fingerprint or known.get("store") != _store_stamp(_database(settings)) \
                or known.get("outputs") != _outputs(settings):
            return None
        with sqlite3.connect(f"file:{_database(settings)}?mode=ro", uri=True, timeout=10) as db:
            row = db.execute("SELECT value FROM meta WHERE name = ?", (PENDING_META,)).fetchone()
        if row and row[0].strip():
            return None                      # a crashed gather's changes wait to be published
        return known
    except (_Unknown, OSError, ValueError, sqlite3.Error, AttributeError):
        return None


def record(settings: Settings, known: dict, started: float, ended: float) -> None:
    """Note the run in the store, as a full build would (`feedpub status`, the
    status file and /metrics show when each source last succeeded), and keep
    the fingerprint valid for the store as it now is."""
    database = _database(settings)
    when = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    try:
        with sqlite3.connect(database, timeout=10) as db:
            for source in settings.sources:
                db.execute("UPDATE source_status SET last_run = ?, last_success = ?, last_duration = ?, "
                           "runs = runs + 1, failures = 0, last_new = 0, last_updated = 0, last_problems = 0 "
                           "WHERE source = ?", (when, when, ended - started, source.name))
        db.close()
        _write(place(settings), {**known, "store": _store_stamp(database)})
    except (OSError, sqlite3.Error):
        forget(settings)
