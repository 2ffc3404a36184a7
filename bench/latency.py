"""Publish latency of `feedpub run` with a watched folder: file dropped -> feed on disk holds it.

    .venv/bin/python bench/latency.py [--drops 100] [--archive 1000]

Drops files one at a time into a watched inbox (already holding --archive
articles) and polls the category feed until it contains the new title.
Prints median and p95 over the drops. As the baseline, measured in the same
run on the same store: one `feedpub build` process after a drop, which is what
a cron-driven setup pays on top of waiting for its next minute.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from feedpub import config  # noqa: E402
from feedpub.scheduler import Publisher  # noqa: E402

CONFIG = """
[site]
title = "Bench"
link = "https://news.example.com/"
feeds_url = "https://news.example.com/feeds/"
timezone = "Asia/Shanghai"
[output]
dir = "feeds"
[store]
url = "sqlite:///state/feedpub.db"
[[sources]]
name = "inbox"
type = "folder"
path = "inbox"
every = "1h"
watch = {watch}
"""

ARTICLE = """當前位置: 首頁 > 物流資訊 > 行業新聞 > {title}

    {title}

    {year}/{month}/{day} {hour}:{minute:02d}:00

    來源:基準測試

      {title}的正文。物流業景氣指數回升,倉儲和配送需求持續回暖。
"""


def article(n: int, title: str, year: int = 2020) -> str:
    """Archive articles are from 2020; dropped ones are newer, so they lead the feed."""
    day, minutes = divmod(n, 1440)
    return ARTICLE.format(title=title, year=year, month=day // 28 + 1, day=day % 28 + 1,
                          hour=minutes // 60, minute=minutes % 60)


def drop(inbox: Path, name: str, text: str) -> None:
    tmp = inbox.parent / (name + ".incoming")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, inbox / name)


def holds(feed: Path, title: str) -> bool:
    try:
        return title.encode() in feed.read_bytes()
    except FileNotFoundError:
        return False


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drops", type=int, default=100)
    ap.add_argument("--archive", type=int, default=1000)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inbox = root / "inbox"
        inbox.mkdir()
        for n in range(args.archive):
            (inbox / f"old{n:05d}.txt").write_text(article(n, f"存檔{n:05d}"), encoding="utf-8")
        (root / "feedpub.toml").write_text(CONFIG.format(watch="true"), encoding="utf-8")
        settings = config.load(root / "feedpub.toml")
        feed = settings.output.dir / "wu-liu-zi-xun" / "hang-ye-xin-wen" / "atom.xml"

        publisher = Publisher(settings)
        publisher.start()
        deadline = time.monotonic() + 300
        while publisher.ticks < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        watch = []
        try:
            for n in range(args.drops):
                title = f"新稿{n:05d}"
                t0 = time.perf_counter()
                drop(inbox, f"new{n:05d}.txt", article(n, title, 2021))
                while not holds(feed, title):
                    if time.perf_counter() - t0 > 30:
                        raise SystemExit(f"drop {n} not published within 30 s")
                    time.sleep(0.005)
                watch.append(time.perf_counter() - t0)
                time.sleep(0.05)
        finally:
            publisher.stop()

        build = []
        for n in range(min(10, args.drops)):
            title = f"批次{n:05d}"
            drop(inbox, f"cron{n:05d}.txt", article(n, title, 2022))
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "feedpub", "build", "--config", str(root / "feedpub.toml")],
                           check=True, capture_output=True, env=dict(os.environ, PYTHONPATH=str(HERE.parent / "src")))
            build.append(time.perf_counter() - t0)
            assert holds(feed, title)

    med, p95 = statistics.median(watch), percentile(watch, 0.95)
    base = statistics.median(build)
    print(f"archive {args.archive} articles, {args.drops} drops into a watched folder")
    print(f"{'':28}{'median':>10}{'p95':>10}{'min':>10}{'max':>10}")
    print(f"{'watch: drop -> feed':28}{med:>9.3f}s{p95:>9.3f}s{min(watch):>9.3f}s{max(watch):>9.3f}s")
    print(f"{'baseline: one build process':28}{base:>9.3f}s{percentile(build, 0.95):>9.3f}s"
          f"{min(build):>9.3f}s{max(build):>9.3f}s")
    print(f"ratio watch/baseline (median): {med / base:.2f}")
    print(f"targets: median <= 0.25 s: {'met' if med <= 0.25 else 'NOT met'}; "
          f"p95 <= 0.5 s: {'met' if p95 <= 0.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
