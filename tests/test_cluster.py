"""Several `feedpub run` processes on one PostgreSQL store, one of them killed midway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import pytest
import sqlalchemy as sa

from conftest import config_text, dump, edit_config, make_site, wait_for

pytestmark = pytest.mark.slow        # real publisher processes, killed and restarted


def walk_ids(out: Path, rel: str) -> list[str]:
    ids, path = [], out / rel
    while path is not None:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.bozo_exception)
        ids += [e.id for e in parsed.entries]
        prev = [link.href for link in parsed.feed.get("links", []) if link.rel == "prev-archive"]
        path = out / prev[0].removeprefix("https://news.example.com/feeds/") if prev else None
    return ids


def all_published(out: Path) -> bool:
    """Every feed walks to all its items (a page may be missing mid-publish)."""
    try:
        return all(len(set(walk_ids(out, rel))) == n for rel, n in EXPECTED)
    except (OSError, AssertionError):
        return False


# every article exactly once, in every feed that should hold it
EXPECTED = (("atom.xml", 1000), ("wu-liu-zi-xun/atom.xml", 667), ("zheng-ce-fa-gui/rss.xml", 333),
            ("wu-liu-zi-xun/gang-kou-hang-yun/rss.xml", 333))


def test_three_publishers_one_killed(tmp_path, pg_url):
    site = make_site(tmp_path, pg_url)
    edit_config(site, source={"every": "0.5s", "jitter": "0s"}, output={"archive_page_size": 50})
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    procs = [subprocess.Popen([sys.executable, "-m", "feedpub", "run", "--config", str(site.config_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(3)]
    engine = sa.create_engine(pg_url)

    def count():
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM articles")).scalar()

    try:
        for batch in range(10):
            for i in range(batch * 100, batch * 100 + 100):
                crumb = ("首頁 > 物流資訊 > 行業新聞", "首頁 > 物流資訊 > 港口航運", "首頁 > 政策法規")[i % 3]
                tmp = site.root / f"{i:04d}.incoming"
                tmp.write_text(dump(crumb, f"集群{i:04d}", f"2020/{i // 100 + 1}/{i % 28 + 1} 10:{i % 60:02d}:00",
                                    "來處", f"第{i}篇。"), encoding="utf-8")
                os.replace(tmp, site.inbox / f"{i:04d}.txt")
            if batch == 4:
                procs[1].kill()                                  # SIGKILL, mid-stream
                procs[1].wait(timeout=10)
            time.sleep(0.3)
        wait_for(lambda: count() == 1000, timeout=180)
        # the survivors' next ticks publish everything: wait until the feeds say so
        wait_for(lambda: all_published(site.out), timeout=60, step=0.25)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    assert procs[0].returncode == 0 and procs[2].returncode == 0, (procs[0].stderr.read(), procs[2].stderr.read())

    # every article exactly once, in every feed that should hold it
    for rel, expected in EXPECTED:
        ids = walk_ids(site.out, rel)
        assert len(set(ids)) == expected, rel
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(DISTINCT id) FROM articles")).scalar() == 1000
        # no source was gathered by two processes at once
        rows = conn.execute(sa.text("SELECT source, pid, started, ended FROM gathers ORDER BY started")).all()
    engine.dispose()
    assert rows and {r.pid for r in rows} <= {p.pid for p in procs}        # which one wins a tick is chance
    done = [r for r in rows if r.ended is not None]
    for a, b in zip(done, done[1:]):
        assert b.started >= a.ended or b.pid == a.pid, (a, b)

    # the files the processes wrote are the bytes a fresh single build writes from the store
    rebuilt = tmp_path / "rebuilt"
    (tmp_path / "rebuild.toml").write_text(config_text(site, output={"dir": str(rebuilt)}))
    r = subprocess.run([sys.executable, "-m", "feedpub", "build", "--full", "--config", str(tmp_path / "rebuild.toml")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    ours = {p.relative_to(site.out).as_posix(): p.read_bytes() for p in site.out.rglob("*")
            if p.is_file()}
    fresh = {p.relative_to(rebuilt).as_posix(): p.read_bytes() for p in rebuilt.rglob("*") if p.is_file()}
    assert sorted(ours) == sorted(fresh)
    assert [k for k in ours if ours[k] != fresh[k]] == []
