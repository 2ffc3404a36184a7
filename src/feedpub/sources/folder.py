"""Source type `folder`: article files below a directory, recursively.

Scanning only stats files, so the caller can skip every file whose
(path, size, mtime) it has already seen without opening it; `read` turns one
file into RawArticles. A file that cannot be used raises `SourceError` with the
reason: the caller records it and goes on with the next file.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..config import Source
from ..model import Problem, RawArticle
from . import Gathered, Recall, SourceError, Unit, decode
from .formats import PARSERS, FormatError

# Files still being written or left by editors: never read them.
TEMP_PATTERNS = ("*.part", "*.partial", "*.tmp", "*.temp", "*.crdownload", "*.swp", "*~", ".~*", "~$*", ".#*")
_TEMP = re.compile("|".join(fnmatch.translate(p) for p in TEMP_PATTERNS))
MAX_BYTES = 20 * 1024 * 1024


def _article_name(name: str, extensions) -> bool:
    """A file `scan` and `stat` read: not hidden, a wanted extension, not a
    temporary file. (Run for every file of the archive on every scan: the
    extension is cut by hand, as os.path.splitext would for a name that
    does not start with a dot.)"""
    dot = name.rfind(".")
    return dot > 0 and not name.startswith(".") and name[dot:].lower() in extensions and not _TEMP.match(name)


@dataclass(frozen=True, slots=True)
class FileState:
    """What a scan knows about a file without opening it."""

    location: str          # POSIX path relative to the source folder, as text (what the store keeps)
    size: int
    mtime_ns: int
    path: str = ""         # the same as the file system spells it, if its name is not valid UTF-8

    @classmethod
    def of(cls, rel: str, size: int, mtime_ns: int) -> "FileState":
        """The state of the file at `rel` as the file system spells it."""
        shown = readable_name(rel)
        return cls(shown, size, mtime_ns, "" if shown == rel else rel)

    @property
    def on_disk(self) -> str:
        return self.path or self.location

    @property
    def memo(self) -> str:
        """What the source remembers of a file it read: one with the same
        size and mtime is not read again."""
        return f"{self.size} {self.mtime_ns}"


def readable_name(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (os.scandir keeps them as
    lone surrogates, which no database or feed can hold) become \\xNN."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")


class FolderSource:
    """Source type `folder` (see sources.SourceType)."""

    local = True

    def __init__(self, settings: Source, site_link: str = ""):
        self.settings = settings
        self.root = settings.path
        self.problems: list[tuple[str, str]] = []   # (location, reason) met by the last scan
        self._real_root: str | None = None

    def describe(self) -> str:
        return f"folder {self.root} (zone {self.settings.timezone})"

    def gather(self, recall: Recall, *, should_stop=None, only=None, hold=None, settle: float = 0.0,
               listing=None, progress=None) -> Gathered:
        """The files new or changed since they were read: all of the folder's,
        or only those at `only` (a watcher's events); those in `hold` (a
        writer still has them open) and those that move during `settle`
        seconds are left for a later gather."""
        if only is None:
            states = self.scan() if listing is None else self.listed(listing)
            known = recall(None)
            problems = [(Problem(self.settings.name, loc, reason), self.where(loc)) for loc, reason in self.problems]
        else:
            states = self.stat(only)
            known = recall([s.location for s in states])
            problems = []
        found = Gathered([], problems)
        files = []
        for state in states:
            if known.get(state.location) == state.memo:
                found.skipped += 1
            elif hold and state.location in hold:
                found.deferred.append(state.location)          # its writer still has it open
            else:
                files.append(state)
        if settle and files:
            time.sleep(settle)
            files, growing = self.settled(files)
            found.deferred.extend(growing)
        found.units = [Unit(s.location, task=s) for s in files]
        return found

    def where(self, location: str) -> str:
        return str(self.root / location)

    def memo(self, unit: Unit) -> str | None:
        return unit.task.memo

    def scan(self) -> list[FileState]:
        """Every article file below the folder, in a stable order.

        Runs on every tick over the whole archive, so it is plain os.scandir
        and string work (no pathlib, one regex for the temp patterns)."""
        if not self.root.is_dir():
            raise SourceError(f"the folder {self.root} does not exist (any more)")
        found: list[FileState] = []
        self.problems = []
        exts = self.settings.extensions
        todo = [(str(self.root), "")]
        while todo:
            folder, prefix = todo.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue                      # vanished or unreadable: nothing to read there
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        todo.append((entry.path, prefix + name + "/"))
                        continue
                    if not _article_name(name, exts):
                        continue
                    st = entry.stat()
                except OSError as exc:
                    if entry.is_symlink():        # dangling, or a loop: say so; a plain file just vanished
                        why = "a symbolic link loop" if exc.errno == errno.ELOOP else \
                            f"a symbolic link to {os.readlink(entry.path)!r}, which does not exist"
                        self.problems.append((readable_name(prefix + name), f"{why}: not read"))
                    continue
                found.append(FileState.of(prefix + name, st.st_size, st.st_mtime_ns))
        found.sort(key=lambda f: f.location)
        return found

    def listed(self, files) -> list[FileState]:
        """What `scan` would find, from a walk already made ((location, size,
        mtime_ns) of every file below the folder, links excluded: the
        nothing-new check's), with the same filters and order."""
        self.problems = []
        exts = self.settings.extensions
        found = []
        for rel, size, mtime_ns in files:
            if rel.startswith(".") or "/." in rel or not _article_name(rel.rpartition("/")[2], exts):
                continue                                # hidden at any depth, or not an article file
            found.append(FileState.of(rel, size, mtime_ns))
        found.sort(key=lambda f: f.location)
        return found

    def stat(self, locations) -> list[FileState]:
        """What `scan` would say about these locations only (those that still
        exist and are article files): for watched folders, whose events name
        the files that changed, so a tick costs the same however big the archive."""
        if not self.root.is_dir():
            raise SourceError(f"the folder {self.root} does not exist (any more)")
        found = []
        exts = self.settings.extensions
        for location in sorted(set(locations)):
            parts = location.split("/")
            if any(p.startswith(".") or p in ("", "..") for p in parts) or not _article_name(parts[-1], exts):
                continue
            try:
                st = os.stat(os.path.join(self.root, location))   # a link: `read` decides if it may be read
            except OSError:
                continue                      # gone again: nothing to read
            if stat.S_ISREG(st.st_mode):
                found.append(FileState.of(location, st.st_size, st.st_mtime_ns))
        return found

    def settled(self, states: list[FileState]) -> tuple[list[FileState], list[str]]:
        """Those files whose size and mtime did not move since `states` was taken.

        A file still growing is left for the next gather (a copy in progress
        must not be published half). Returns (settled files, locations that moved).
        """
        ready, moving = [], []
        for state in states:
            try:
                st = os.stat(self.root / state.on_disk)
            except OSError:
                moving.append(state.location)   # gone again (renamed away, deleted): nothing to read
                continue
            if (st.st_size, st.st_mtime_ns) == (state.size, state.mtime_ns):
                ready.append(state)
            else:
                moving.append(state.location)
        return ready, moving

    def inside(self, path) -> str:
        """The real path of a file of this folder, once symbolic links are
        resolved; a link that leads out of the folder is refused, never read
        (`ln -s /etc/passwd inbox/leak.txt` must not publish the password file).

        Most files are reached through no link at all: looking at the parts
        below the folder (two or three lstat calls) tells, and only a path
        with a link in it is resolved whole."""
        if self._real_root is None:
            self._real_root = os.path.realpath(self.root)
        root = self._real_root
        rel = os.path.relpath(path, self.root)
        plain = not rel.startswith("..")
        at = root
        for part in rel.split(os.sep) if plain else ():
            at = os.path.join(at, part)
            try:
                if stat.S_ISLNK(os.lstat(at).st_mode):
                    plain = False
                    break
            except OSError:
                plain = False
                break
        real = at if plain else os.path.realpath(path)
        if os.path.commonpath([root, real]) != root:
            raise SourceError(f"a symbolic link to {real}, outside the folder {root}: not read")
        return real

    def read(self, state: FileState) -> list[RawArticle]:
        """Read one file into its articles, or raise SourceError."""
        path = self.root / state.on_disk
        if state.size > MAX_BYTES:
            raise SourceError(f"file is {state.size:,} bytes, more than the {MAX_BYTES:,} an article may have")
        real = self.inside(path)
        try:
            data = Path(real).read_bytes()
        except OSError as exc:
            raise SourceError(f"cannot read: {exc.strerror or exc}") from None
        kind = decode.binary_kind(data)
        if kind:
            raise SourceError(f"a {kind} file, not an article (named {path.suffix}): not read")
        ext = path.suffix.lower()
        declared = decode.declared_charset(data) if ext in (".html", ".htm") else None
        decoded = decode.decode(data, declared)
        try:
            records = PARSERS[ext](decoded.text)
        except FormatError as exc:
            raise SourceError(str(exc)) from None
        except RecursionError:
            raise SourceError("nested too deeply to read") from None
        gathered = datetime.fromtimestamp(state.mtime_ns / 1e9, timezone.utc).replace(microsecond=0)
        notes = (decoded.note,) if decoded.note else ()
        if state.path:
            notes += (f"the file name is not valid UTF-8; published as {state.location!r}",)
        stem = readable_name(path.stem)
        articles = []
        for n, fields in enumerate(records):
            location = state.location if len(records) == 1 else f"{state.location}#{fields.get('id') or n}"
            if not fields.get("link") and self.settings.link_template:
                fields["link"] = self.settings.link_template.format(stem=stem, path=state.location, n=n)
            articles.append(RawArticle(
                source=self.settings.name,
                location=location,
                gathered_at=gathered,
                timezone=self.settings.timezone,
                default_category=self.settings.category,
                notes=notes,
                **fields,
            ))
        return articles
