"""kill -9 at random instants of `feedpub run` while files arrive: after a
clean restart every article is published once, with its page, and no
temporary file is left. FEEDPUB_KILLS sets the number of kills (5 here; the
closing note of issue 17 gives a run with more)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import feedparser
import pytest

from conftest import dump, edit_config, wait_for

pytestmark = pytest.mark.slow        # real publisher processes, killed and restarted

KILLS = int(os.environ.get("FEEDPUB_KILLS", "5"))
LIMIT = 3000                     # files that arrive at most (all of them fit in one feed)


def start(site):
    log = open(site.root / "run.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "feedpub", "run", "--config", str(site.config_path)],
                            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))


def test_random_kills_while_files_arrive_lose_nothing(site):
    edit_config(site, output={"max_items": LIMIT}, source={"watch": True, "every": "2s"})
    rnd = random.Random(int(os.environ.get("FEEDPUB_SEED", "17")))
    arrived: list[str] = []
    stop = threading.Event()

    def arrive():                                    # files land as copies do: written aside, renamed in
        n = 0
        while not stop.is_set() and n < LIMIT - 40:
            for _ in range(rnd.randint(1, 40)):
                title = f"到達{n:05d}"
                tmp = site.root / f"{n}.incoming"
                tmp.write_text(dump("首頁 > 物流資訊 > " + ("行業新聞" if n % 2 else "港口航運"), title,
                                    f"2020/{n % 12 + 1}/{n % 28 + 1} 10:{n // 60 % 60:02d}:{n % 60:02d}", "來處"),
                               encoding="utf-8")
                os.replace(tmp, site.inbox / f"{n:05d}.txt")
                arrived.append(title)
                n += 1
            stop.wait(rnd.uniform(0.0, 0.3) * (1 + KILLS / 5))
    writer = threading.Thread(target=arrive)
    writer.start()
    try:
        for _ in range(KILLS):
            proc = start(site)
            stop.wait(rnd.uniform(0.3, 2.5))
            proc.kill()                              # kill -9: no clean-up of any kind
            proc.wait(timeout=30)
    finally:
        stop.set()
        writer.join()
    proc = start(site)
    try:
        rss = site.out / "rss.xml"

        def published():
            return rss.exists() and len(feedparser.parse(rss.read_bytes()).entries) == len(arrived)
        wait_for(published, timeout=240, step=0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, (site.root / "run.log").read_text()[-3000:]
    entries = feedparser.parse((site.out / "rss.xml").read_bytes()).entries
    assert sorted(e.title for e in entries) == sorted(arrived)                 # each once
    pages = {p.relative_to(site.out).as_posix() for p in (site.out / "articles").rglob("*.html")}
    assert {e.link.removeprefix("https://news.example.com/feeds/") for e in entries} <= pages
    assert len(pages) == len(arrived)
    for rel in ("wu-liu-zi-xun/hang-ye-xin-wen/rss.xml", "wu-liu-zi-xun/gang-kou-hang-yun/rss.xml"):
        got = [e.title for e in feedparser.parse((site.out / rel).read_bytes()).entries]
        assert len(got) == len(set(got)) and set(got) <= set(arrived)
    assert [p for p in Path(site.out).rglob("*") if p.name.startswith(".")] == []     # no temporary file left
    print(f"{KILLS} kill(s) -9 while {len(arrived)} files arrived: each published once, with its page")


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (from /proc: parent links)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        found.update(kids)
        todo.extend(kids)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_die_with_the_publisher(site):
    """kill -9 of `feedpub run` mid-gather of 1,500 files: its forkserver,
    workers and resource tracker are gone within 2 s, so nothing writes into
    the output folder after it."""
    edit_config(site, source={"watch": True})
    proc = start(site)
    try:
        wait_for(lambda: (site.root / "state" / "status.json").exists(), timeout=60)   # watching now
        for i in range(1500):
            site.write(f"bulk/{i:05d}.txt", dump("首頁 > 物流資訊 > 行業新聞", f"文章{i:05d}",
                                                 f"2020/{i % 12 + 1}/{i % 28 + 1} 10:00:00", "來處", "正文。" * 20))
        wait_for(lambda: len(descendants(proc.pid)) >= 3, timeout=60, step=0.01)  # workers at it
        family = descendants(proc.pid)
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_for(lambda: not any(alive(p) for p in family), timeout=2, step=0.05)
