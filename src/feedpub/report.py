"""The line a build ends with, in one place: a full build and the
nothing-new fast path (which loads none of the pipeline) print the same."""

from __future__ import annotations


def build_line(*, sources: int, new: int = 0, updated: int = 0, unchanged: int = 0, read: int = 0,
               skipped: int = 0, errors: int = 0, warnings: int = 0, written: int = 0,
               files_unchanged: int = 0) -> str:
    return (f"{sources} source(s); articles: {new} new, {updated} updated, {unchanged} unchanged "
            f"({read} file(s) or page(s) read, {skipped} unchanged file(s) skipped); "
            f"problems: {errors} error(s), {warnings} warning(s); "
            f"files: {written} written, {files_unchanged} unchanged")
