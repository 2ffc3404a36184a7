"""Scheduler ticks measured in process: what `feedpub run` pays per tick.

    .venv/bin/python bench/tick.py CONFIG CORPUS_FOLDER [--rounds 5] [--format markdown|textdump] [--watch]

Opens the store once, as `feedpub run` does, then times ticks with nothing
new, and with one new article dropped into CORPUS_FOLDER before the tick.
Without --watch a tick is `build()`, the call a scheduled tick makes (it
stats every file). With --watch the source is watched, as with `watch =
true`: a real Publisher with its watchdog observer, and the tick looks only
at the files the events named. Prints one JSON line: seconds per tick and
the process's peak RSS. Interpreter start and imports are paid once by a
running publisher, so they are not in these figures (bench/run.py also
times whole `feedpub build` processes, which include them).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import time
from pathlib import Path

from feedpub.build import build, open_store
from feedpub.config import load
from feedpub.scheduler import Publisher


def new_file(folder: Path, template: str, ext: str, staging: Path) -> None:
    marker = f"新增{time.time_ns()}號"
    text = template.replace('title: "', f'title: "{marker}') if ext == "md" else template.replace(
        "\n\n    ", f"\n\n    {marker}", 1)
    # Written outside the source folder (`staging`, on the same file system),
    # then renamed in: the file lands whole, as a CMS export does, so a
    # watched tick never meets it still open.
    name = f"tick{time.time_ns()}.{ext}"
    tmp = staging / f".{name}.incoming"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, folder / name)


def scan_ticks(settings, folder: Path, template: str, ext: str, rounds: int):
    store = open_store(settings)
    first = build(settings, store=store)                  # warm-up: imports, caches, page cache
    assert not first.articles["new"], "the store is not warm: run a build first"
    quiet, one = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        summary = build(settings, store=store)
        quiet.append(time.perf_counter() - t)
        assert summary.written == 0 and summary.files_read == 0, summary.line()
        new_file(folder, template, ext, settings.path.parent)
        t = time.perf_counter()
        summary = build(settings, store=store)
        one.append(time.perf_counter() - t)
        assert summary.articles["new"] == 1 and summary.files_read == 1, summary.line()
    store.close()
    return quiet, one


def watched_ticks(settings, folder: Path, template: str, ext: str, rounds: int):
    source = dataclasses.replace(settings.sources[0], watch=True, every=3600.0, cron=None)
    settings = dataclasses.replace(settings, sources=(source,))
    # Debounced watch ticks are held off, so the ticks timed here are the only ones;
    # settle=0: the 0.2 s a new file must stand still is a wait, not work (it is
    # in the watch latency that bench/latency.py measures).
    p = Publisher(settings, settle=0.0, debounce=3600, max_delay=3600)
    p.start()
    try:
        deadline = time.monotonic() + 600
        while p.ticks < 1 and time.monotonic() < deadline:     # the start-up tick: a whole scan
            time.sleep(0.05)
        name, quiet, one = source.name, [], []
        p.tick(name)                                           # warm-up
        for _ in range(rounds):
            t = time.perf_counter()
            p.tick(name)
            quiet.append(time.perf_counter() - t)
            assert p.last[name].files_read == 0 and p.last[name].written == 0, p.last[name].line()
            new_file(folder, template, ext, settings.path.parent)
            while not p._changed[name]:                         # the watcher has seen it
                time.sleep(0.005)
            t = time.perf_counter()
            p.tick(name)
            one.append(time.perf_counter() - t)
            assert p.last[name].articles["new"] == 1 and p.last[name].files_read == 1, p.last[name].line()
    finally:
        p.stop()
    return quiet, one


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("folder", type=Path, help="where new articles are dropped")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--format", choices=["markdown", "textdump"], default="markdown")
    ap.add_argument("--watch", action="store_true", help="a watched folder (watch = true)")
    args = ap.parse_args()
    settings = load(args.config)
    ext = "md" if args.format == "markdown" else "txt"
    template = min(args.folder.glob(f"*.{ext}")).read_text(encoding="utf-8")
    ticks = watched_ticks if args.watch else scan_ticks
    quiet, one = ticks(settings, args.folder, template, ext, args.rounds)
    print(json.dumps({"quiet": quiet, "one": one, "quiet_median": statistics.median(quiet),
                      "one_median": statistics.median(one),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
