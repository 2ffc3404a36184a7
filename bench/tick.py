"""Scheduler ticks measured in process: what `feedpub run` pays per tick.

    .venv/bin/python bench/tick.py CONFIG CORPUS_FOLDER [--rounds 5] [--format markdown|textdump]

Opens the store once, as `feedpub run` does, then times `build()` (the call
each tick makes) with nothing new, and with one new article dropped into
CORPUS_FOLDER before the tick. Prints one JSON line: seconds per tick and the
process's peak RSS. Interpreter start and imports are paid once by a running
publisher, so they are not in these figures (bench/run.py also times whole
`feedpub build` processes, which include them).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

from feedpub.build import build, open_store
from feedpub.config import load


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("folder", type=Path, help="where new articles are dropped")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--format", choices=["markdown", "textdump"], default="markdown")
    args = ap.parse_args()
    settings = load(args.config)
    store = open_store(settings)
    ext = "md" if args.format == "markdown" else "txt"
    template = min(args.folder.glob(f"*.{ext}")).read_text(encoding="utf-8")
    first = build(settings, store=store)                  # warm-up: imports, caches, page cache
    assert not first.articles["new"], "the store is not warm: run a build first"
    quiet, one = [], []
    for n in range(args.rounds):
        t = time.perf_counter()
        summary = build(settings, store=store)
        quiet.append(time.perf_counter() - t)
        assert summary.written == 0 and summary.files_read == 0, summary.line()
        marker = f"新增{time.time_ns()}號"
        text = template.replace('title: "', f'title: "{marker}') if ext == "md" else template.replace(
            "\n\n    ", f"\n\n    {marker}", 1)
        (args.folder / f"tick{time.time_ns()}.{ext}").write_text(text, encoding="utf-8")
        t = time.perf_counter()
        summary = build(settings, store=store)
        one.append(time.perf_counter() - t)
        assert summary.articles["new"] == 1 and summary.files_read == 1, summary.line()
    store.close()
    print(json.dumps({"quiet": quiet, "one": one, "quiet_median": statistics.median(quiet),
                      "one_median": statistics.median(one),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
