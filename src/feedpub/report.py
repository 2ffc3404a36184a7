"""The lines a build prints, in one place: the line it ends with (a full
build and the nothing-new fast path, which loads none of the pipeline,
print the same) and how far a long one is (on a pipe, and under `run`)."""

from __future__ import annotations

import threading


def build_line(*, sources: int, new: int = 0, updated: int = 0, unchanged: int = 0, read: int = 0,
               skipped: int = 0, errors: int = 0, warnings: int = 0, written: int = 0,
               files_unchanged: int = 0) -> str:
    return (f"{sources} source(s); articles: {new} new, {updated} updated, {unchanged} unchanged "
            f"({read} file(s) or page(s) read, {skipped} unchanged file(s) skipped); "
            f"problems: {errors} error(s), {warnings} warning(s); "
            f"files: {written} written, {files_unchanged} unchanged")


class Progress:
    """What a build has done so far, as build's `progress` hears it: pages
    fetched, files or pages read (of how many found), articles stored,
    files written. Sources fetched side by side report from their threads."""

    def __init__(self, started: float = 0.0):
        self.started = started
        self.found = 0
        self.counts = {"fetched": 0, "read": 0, "stored": 0, "written": 0}
        self._lock = threading.Lock()

    def advance(self, kind: str, n: int = 1, total: int | None = None) -> None:
        with self._lock:
            self.counts[kind] += n
            if total is not None and kind == "read":
                self.found += total

    def line(self) -> str:
        c = self.counts
        of = f" of {self.found}" if self.found else ""
        fetched = f"{c['fetched']} page(s) fetched, " if c["fetched"] else ""
        return (f"{fetched}{c['read']}{of} file(s) or page(s) read, {c['stored']} article(s) stored, "
                f"{c['written']} file(s) written")
