"""Gather+publish throughput with 1, 2 and 3 `feedpub run` processes on PostgreSQL, and 1 on SQLite.

    .venv/bin/python bench/cluster.py [--articles 3000] [--sources 6]

The articles wait in `--sources` folders before the processes start; the clock
runs from the start until the store holds every article and nothing is left
to publish. Each process schedules every source; PostgreSQL advisory locks let
one process gather a source per tick. The baseline is the single SQLite
process, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
PG_ADMIN = os.environ.get("FEEDPUB_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

ARTICLE = """當前位置: 首頁 > 物流資訊 > {cat} > {title}

    {title}

    2020/{month}/{day} {hour}:{minute:02d}:00

    來源:基準測試

      {title}的正文。物流業景氣指數回升,倉儲和配送需求持續回暖。{pad}
"""
CATS = ["行業新聞", "港口航運", "倉儲配送", "企業動態", "冷鏈物流"]


def corpus(root: Path, articles: int, sources: int) -> None:
    for s in range(sources):
        (root / f"in{s}").mkdir()
    for n in range(articles):
        day, minutes = divmod(n, 1440)
        text = ARTICLE.format(cat=CATS[n % len(CATS)], title=f"吞吐{n:06d}", month=day // 28 % 12 + 1,
                              day=day % 28 + 1, hour=minutes // 60, minute=minutes % 60, pad="。" * 200)
        (root / f"in{n % sources}" / f"{n:06d}.txt").write_text(text, encoding="utf-8")


def config(root: Path, store: str, sources: int) -> Path:
    lines = ['[site]', 'title = "Bench"', 'link = "https://news.example.com/"',
             'feeds_url = "https://news.example.com/feeds/"', 'timezone = "Asia/Shanghai"',
             '[output]', 'dir = "feeds"', '[store]', f'url = "{store}"']
    for s in range(sources):
        lines += ['[[sources]]', f'name = "in{s}"', 'type = "folder"', f'path = "in{s}"', 'every = "1s"',
                  'jitter = "0.2s"']
    cfg = root / "feedpub.toml"
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return cfg


def measure(root: Path, store: str, processes: int, articles: int, sources: int) -> float:
    cfg = config(root, store, sources)
    engine = sa.create_engine(store)
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "feedpub", "run", "--config", str(cfg)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, PYTHONPATH=str(HERE.parent / "src")))
             for _ in range(processes)]
    try:
        while True:
            time.sleep(0.1)
            try:
                with engine.connect() as conn:
                    n = conn.execute(sa.text("SELECT count(*) FROM articles")).scalar()
                    pending = conn.execute(sa.text("SELECT value FROM meta WHERE name = 'publish_pending'")).scalar()
            except sa.exc.SQLAlchemyError:
                continue                        # schema not created yet
            if n == articles and not pending:
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > 1800:
                raise SystemExit("no result within 30 minutes")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        engine.dispose()


def pg_database() -> tuple[str, callable]:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = "feedpub_bench_" + uuid.uuid4().hex[:8]
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), drop


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=3000)
    ap.add_argument("--sources", type=int, default=6)
    args = ap.parse_args()
    results = []
    for label, engine, procs in (("SQLite", "sqlite", 1), ("PostgreSQL", "pg", 1), ("PostgreSQL", "pg", 2),
                                 ("PostgreSQL", "pg", 3)):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            corpus(root, args.articles, args.sources)
            if engine == "pg":
                url, drop = pg_database()
            else:
                url, drop = f"sqlite:///{root}/state.db", (lambda: None)
            try:
                seconds = measure(root, url, procs, args.articles, args.sources)
            finally:
                drop()
        results.append((label, procs, seconds))
        print(f"{label:<11} {procs} process(es): {seconds:7.2f} s  {args.articles / seconds:8.1f} articles/s",
              flush=True)
    base = results[0][2]
    print(f"\n{args.articles} articles in {args.sources} folder sources; baseline SQLite x1 = {base:.2f} s")
    print(f"{'store':<11}{'procs':>6}{'seconds':>10}{'articles/s':>12}{'vs SQLite x1':>14}")
    for label, procs, seconds in results:
        print(f"{label:<11}{procs:>6}{seconds:>10.2f}{args.articles / seconds:>12.1f}{args.articles / seconds / (args.articles / base):>13.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
