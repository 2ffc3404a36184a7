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

The record also names the configuration it was made with (its path and a
hash of its bytes) and the paths the fingerprint covers (a `Subject`), so
`early` can answer from the command line and that file alone: a cron run
with nothing new imports neither the configuration's code nor the
pipeline's.

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
from .locations import DEFAULT_CONFIG, DEFAULT_STORE_URL, PENDING_META, sqlite_file, store_url
from .report import build_line

_CODE = Path(__file__).resolve().parent


class _Unknown(Exception):
    """Something the fingerprint cannot vouch for: build the slow way."""


class Subject:
    """What a fingerprint covers, as plain paths: the configuration file, the
    store's file, each folder source (name, folder) and the output folder.
    Taken from the settings, or read back from the last clean build's record."""

    __slots__ = ("config", "database", "sources", "output")

    def __init__(self, config, database, sources, output):
        self.config, self.database, self.output = Path(config), Path(database), Path(output)
        self.sources = tuple((str(name), Path(folder)) for name, folder in sources)

    @classmethod
    def of(cls, settings) -> Subject | None:
        """None when a build with these settings cannot have a fingerprint."""
        if not settings.sources or any(s.type != "folder" or s.path is None for s in settings.sources):
            return None
        url = settings.store.url
        database = None if "?" in url else sqlite_file(url)
        if database is None:
            return None
        return cls(settings.path, database, [(s.name, s.path) for s in settings.sources], settings.output.dir)

    def plain(self) -> dict:
        return {"config": str(self.config), "database": str(self.database),
                "sources": [[name, str(folder)] for name, folder in self.sources], "output": str(self.output)}

    def __eq__(self, other) -> bool:
        return isinstance(other, Subject) and self.plain() == other.plain()

    @property
    def place(self) -> Path:
        return _place(self.database)


def _place(database: Path) -> Path:
    """Where the fingerprint is kept: beside the store's file."""
    return database.with_name(database.name + ".unchanged")


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


def _made_with(config: Path, data: bytes) -> dict:
    """The configuration a record was made with: its path, its bytes, and the
    home folder its `~` paths were resolved in."""
    return {"path": str(config), "sha256": hashlib.sha256(data).hexdigest(), "home": os.environ.get("HOME", "")}


def inputs(subject: Subject | None, listed: dict[str, Files] | None = None) -> str | None:
    """The fingerprint of what a build reads, taken before it reads it (a
    file that changes during the build is then seen as changed next time).
    `listed` receives, per source, the files walked (only with a fingerprint)."""
    if subject is None:
        return None
    digest = hashlib.sha256(f"{__version__} {sys.version}\n".encode())
    walked = {}
    try:
        _tree(_CODE, digest, skip_links=True, only=".py")
        digest.update(subject.config.read_bytes())
        for name, folder in subject.sources:
            digest.update(f"source {name} {folder}\n".encode("utf-8", "surrogateescape"))
            files = Files() if listed is not None else None
            _tree(folder, digest, skip_links=False, files=files)
            if files is not None:
                walked[name] = files
    except (_Unknown, OSError):
        return None
    if listed is not None:
        listed.update(walked)
    return digest.hexdigest()


def _outputs(subject: Subject) -> str:
    digest = hashlib.sha256()
    if subject.output.is_dir():
        _tree(subject.output, digest, skip_links=False)
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


def remember(subject: Subject | None, fingerprint: str | None, files: int) -> None:
    """After a clean build (the store closed): what the next one compares."""
    if subject is None or fingerprint is None:
        return
    try:
        _write(subject.place, {"inputs": fingerprint, "outputs": _outputs(subject),
                               "store": _store_stamp(subject.database), "files": files,
                               "made_with": _made_with(subject.config, subject.config.read_bytes()),
                               "subject": subject.plain()})
    except (_Unknown, OSError):
        forget(subject)


def forget(subject: Subject | None) -> None:
    """A build that did not end cleanly: the next one must not be skipped."""
    if subject is not None:
        try:
            os.unlink(subject.place)
        except OSError:
            pass


def nothing_to_do(subject: Subject | None, fingerprint: str | None) -> dict | None:
    """The remembered build when nothing it depended on has changed since,
    else None."""
    if subject is None or fingerprint is None:
        return None
    try:
        known = json.loads(subject.place.read_text(encoding="utf-8"))
        if known.get("inputs") != fingerprint or known.get("store") != _store_stamp(subject.database) \
                or known.get("outputs") != _outputs(subject):
            return None
        with sqlite3.connect(f"file:{subject.database}?mode=ro", uri=True, timeout=10) as db:
            row = db.execute("SELECT value FROM meta WHERE name = ?", (PENDING_META,)).fetchone()
        if row and row[0].strip():
            return None                      # a crashed gather's changes wait to be published
        return known
    except (_Unknown, OSError, ValueError, sqlite3.Error, AttributeError):
        return None


def record(subject: Subject, known: dict, started: float, ended: float) -> None:
    """Note the run in the store, as a full build would (`feedpub status`, the
    status file and /metrics show when each source last succeeded), and keep
    the fingerprint valid for the store as it now is."""
    when = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    try:
        with sqlite3.connect(subject.database, timeout=10) as db:
            for name, _ in subject.sources:
                db.execute("UPDATE source_status SET last_run = ?, last_success = ?, last_duration = ?, "
                           "runs = runs + 1, failures = 0, last_new = 0, last_updated = 0, last_problems = 0 "
                           "WHERE source = ?", (when, when, ended - started, name))
        db.close()
        _write(subject.place, {**known, "store": _store_stamp(subject.database)})
    except (OSError, sqlite3.Error):
        forget(subject)


class Check:
    """A nothing-new check: its answer (the record of the build it matched, or
    None), and what a build with changes reuses (the fingerprint, the files
    walked) when it runs with the same `subject`."""

    def __init__(self, subject: Subject | None, fingerprint: str | None, listed: dict, known: dict | None):
        self.subject, self.fingerprint, self.listed, self.known = subject, fingerprint, listed, known


def check(subject: Subject | None, started: float, clock) -> Check:
    """Compare, and record the run when nothing changed."""
    listed: dict = {}
    fingerprint = inputs(subject, listed)
    known = nothing_to_do(subject, fingerprint)
    if known is not None:
        record(subject, known, started, clock())
    return Check(subject, fingerprint, listed, known)


def summary(found: Check) -> str:
    """What `feedpub build` prints when nothing changed."""
    return (build_line(sources=len(found.subject.sources), skipped=found.known["files"])
            + f" (nothing changed since the last build)\nfeeds in {found.subject.output}")


def build_command(argv: list[str]) -> Path | None:
    """The configuration file of a plain `feedpub build [-q] [-c FILE]`;
    None for any other command line (parsed as usual, later)."""
    if not argv or argv[0] != "build":
        return None
    config, rest = None, list(argv[1:])
    while rest:
        arg = rest.pop(0)
        if arg in ("-q", "--quiet"):
            continue
        if arg in ("-c", "--config") and rest and config is None:
            config = rest.pop(0)
        elif arg.startswith("--config=") and config is None:
            config = arg[len("--config="):]
        else:
            return None
    return Path(config) if config is not None else DEFAULT_CONFIG


def early(argv: list[str], clock) -> Check | None:
    """The nothing-new check of a plain `feedpub build`, before the
    configuration's code is imported: the last clean build's record is found
    from the store URL in the file, and used only if that file is byte for
    byte the one it was made with. None when it cannot tell."""
    started = clock()
    path = build_command(argv)
    if path is None:
        return None
    try:
        import tomllib
        config = path.resolve()
        data = config.read_bytes()
        store = tomllib.loads(data.decode("utf-8")).get("store", {})
        url = store.get("url", DEFAULT_STORE_URL) if isinstance(store, dict) else None
        database = sqlite_file(store_url(url, config)) if isinstance(url, str) and "?" not in url else None
        if database is None:
            return None
        known = json.loads(_place(database).read_text(encoding="utf-8"))
        if known.get("made_with") != _made_with(config, data):
            return None
        plain = known["subject"]
        subject = Subject(plain["config"], plain["database"], plain["sources"], plain["output"])
        if subject.database != database:
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):   # TOMLDecodeError is a ValueError
        return None
    return check(subject, started, clock)
