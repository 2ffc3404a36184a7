"""`feedpub run` with a real scheduler, real files and real processes.

No sleeps longer than needed: every wait polls for its condition with a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import feedparser
import pytest

from feedpub.build import open_store
from feedpub.scheduler import Publisher
from feedpub.store import StoreLocked
from conftest import dump, edit_config, wait_for

HYXW = "首頁 > 物流資訊 > 行業新聞"


def configure(site, **source_options):
    edit_config(site, source=source_options)


def titles(site, rel="rss.xml"):
    path = site.out / rel
    if not path.exists():
        return set()
    return {e.title for e in feedparser.parse(path.read_bytes()).entries}


def drop(site, name, title, when="2020/6/1 22:46:13"):
    """A file as a copy lands: written elsewhere, renamed in."""
    tmp = site.root / (name + ".incoming")
    tmp.write_text(dump(HYXW, title, when, "來處"), encoding="utf-8")
    os.replace(tmp, site.inbox / name)


@pytest.fixture
def publisher_for(site):
    started = []

    def make(**options):
        configure(site, **options)
        p = Publisher(site.settings())
        p.start()
        started.append(p)
        return p

    yield make
    for p in started:
        if not p.stopping.is_set():
            p.stop()


def test_a_new_file_is_published_on_the_next_tick(site, publisher_for):
    site.write("a.txt", dump(HYXW, "第一篇", "2020/6/1 10:00:00", "來處"))
    p = publisher_for(every="0.5s", jitter="0s")
    wait_for(lambda: "第一篇" in titles(site))                      # first run at start-up
    drop(site, "b.txt", "第二篇")
    wait_for(lambda: "第二篇" in titles(site), timeout=5)
    status = p.store.status()["sources"][0]
    assert status["source"] == "inbox" and status["articles"] == 2 and status["failures"] == 0
    assert (site.root / "state" / "status.json").exists()          # beside the store,
    assert not (site.out / "status.json").exists()                  # never in the published folder


def test_a_watched_folder_publishes_within_2_seconds(site, publisher_for):
    p = publisher_for(every="1h", watch=True)
    wait_for(lambda: p.ticks >= 1)
    for n in range(3):
        t0 = time.monotonic()
        drop(site, f"w{n}.txt", f"觀察{n}")
        wait_for(lambda: f"觀察{n}" in titles(site), timeout=5, step=0.01)
        assert time.monotonic() - t0 < 2.0


@pytest.mark.slow
def test_a_slow_copy_is_published_once_whole(site, publisher_for):
    """A copy that pauses between chunks (a slow disk, a network share) is
    read once its writer closes it (inotify's IN_CLOSE_WRITE), never half."""
    p = publisher_for(every="1h", watch=True)
    wait_for(lambda: p.ticks >= 1)
    text = dump(HYXW, "慢慢複製的文章", "2020/6/1 22:46:13", "來處", "第一段。", "第二段。", "最後一段。")
    data = text.encode()
    thirds = [data[:len(data) // 3], data[len(data) // 3:2 * len(data) // 3], data[2 * len(data) // 3:]]
    seen: list[str] = []
    done = threading.Event()

    def watch_feed():
        rss = site.out / "rss.xml"
        while not done.is_set():
            if rss.exists():
                for e in feedparser.parse(rss.read_bytes()).entries:
                    if e.title == "慢慢複製的文章":
                        seen.append(e.description)
            time.sleep(0.01)
    watcher = threading.Thread(target=watch_feed)
    watcher.start()
    try:
        with open(site.inbox / "slow.txt", "wb") as f:
            for part in thirds:
                f.write(part)
                f.flush()
                time.sleep(0.6)                      # longer than the debounce and the settle wait
        wait_for(lambda: seen, timeout=10)
        wait_for(lambda: not p.busy, timeout=10)
    finally:
        done.set()
        watcher.join()
    assert seen and all("最後一段。" in d for d in seen)         # never a half file
    assert p.store.article_count() == 1
    assert all(s.articles["updated"] == 0 for s in p.last.values())


@pytest.mark.slow
def test_a_burst_of_1000_files_gives_few_regenerations(site, publisher_for):
    p = publisher_for(every="1h", watch=True)
    wait_for(lambda: p.ticks >= 1)
    before = p.regenerations
    for n in range(1000):
        site.write(f"burst/{n:04d}.txt", dump(HYXW, f"批量{n:04d}", f"2020/6/1 10:{n // 60 % 60:02d}:{n % 60:02d}",
                                              "來處"), mtime=time_now())
    wait_for(lambda: p.store.article_count() == 1000, timeout=60, step=0.1)
    wait_for(lambda: p.regenerations > before and not p.busy, timeout=60, step=0.05)
    # a trailing debounced tick, if any, has run: none is scheduled and none runs
    wait_for(lambda: p.scheduler.get_job("watch:inbox") is None and not p.busy, timeout=60, step=0.05)
    assert "批量0999" in titles(site)
    assert 1 <= p.regenerations - before <= 3


def time_now():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc)


def feeds_snapshot(site):
    """Every output file, bytes and mtime."""
    return {p.relative_to(site.out).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(site.out.rglob("*")) if p.is_file()}


def test_a_quiet_tick_rewrites_no_feed(site, publisher_for):
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    p = publisher_for(every="0.2s", jitter="0s")
    wait_for(lambda: p.ticks >= 1 and "甲" in titles(site))
    before = feeds_snapshot(site)
    ticks = p.ticks
    wait_for(lambda: p.ticks >= ticks + 3)
    after = feeds_snapshot(site)
    assert sorted(after) == sorted(before)
    assert [k for k in after if after[k] != before[k]] == []


def test_a_failing_source_does_not_stop_another(site, publisher_for):
    other = site.root / "other"
    other.mkdir()
    edit_config(site, source={"every": "0.3s", "jitter": "0s"}, more_sources=[
        {"name": "other", "type": "folder", "path": "other", "every": "0.3s", "jitter": "0s"}])
    settings = site.settings()
    other.rmdir()                                     # gone after the configuration was checked
    p = Publisher(settings)
    p.start()
    try:
        drop(site, "a.txt", "照常發佈")
        wait_for(lambda: "照常發佈" in titles(site), timeout=5)

        def status():
            return {r["source"]: r for r in p.store.status()["sources"]}
        # sources tick side by side: wait until each has recorded a run
        wait_for(lambda: status().get("other", {}).get("failures") and status().get("inbox", {}).get("last_success"))
        rows = status()
        assert "does not exist" in rows["other"]["last_error"]
        assert rows["inbox"]["failures"] == 0
    finally:
        p.stop()


def test_a_second_publisher_on_the_same_store_refuses(site, publisher_for):
    publisher_for(every="1h")
    second = Publisher(site.settings())
    with pytest.raises(StoreLocked, match="another `feedpub run`"):
        second.start()
    second.store.close()


def test_restart_keeps_ids_and_dates(site):
    configure(site, every="0.2s", jitter="0s")
    site.write("a.txt", dump(HYXW, "無日期", None, "來處"))
    p = Publisher(site.settings())
    p.start()
    wait_for(lambda: "無日期" in titles(site))
    p.stop()
    first = feedparser.parse((site.out / "atom.xml").read_bytes()).entries[0]
    os.utime(site.inbox / "a.txt")                    # touched: read again after the restart
    p = Publisher(site.settings())
    p.start()
    try:
        wait_for(lambda: p.ticks >= 2)
    finally:
        p.stop()
    again = feedparser.parse((site.out / "atom.xml").read_bytes()).entries
    assert [(e.id, e.published, e.updated) for e in again] == [(first.id, first.published, first.updated)]


# -- real processes and signals ------------------------------------------------

def start_run(site, *extra):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "feedpub", "run", "--config", str(site.config_path), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def many_articles(site, n):
    for i in range(n):
        site.write(f"bulk/{i:05d}.txt", dump(HYXW if i % 2 else "首頁 > 物流資訊 > 港口航運", f"文章{i:05d}",
                                             f"2020/{i % 12 + 1}/{i % 28 + 1} 10:{i // 60 % 60:02d}:{i % 60:02d}",
                                             "來處", "正文。" * 20))


def feeds_are_whole(out: Path) -> None:
    for path in out.rglob("*.xml"):
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.bozo_exception)


@pytest.mark.slow
def test_sigterm_during_regeneration_finishes_cleanly(site):
    configure(site, every="1h")
    many_articles(site, 1500)
    proc = start_run(site)
    try:
        wait_for(lambda: (site.out / "articles").exists(), timeout=60, step=0.01)   # publishing has begun
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - t0 < 10
    finally:
        if proc.poll() is None:
            proc.kill()
    assert list(site.out.rglob("*.tmp")) == []
    feeds_are_whole(site.out)
    # the next start carries on and publishes everything
    (site.root / "state" / "status.json").unlink(missing_ok=True)
    proc = start_run(site)
    try:
        wait_for(lambda: (site.root / "state" / "status.json").exists(), timeout=60, step=0.05)   # first tick done
        assert len(titles(site, "atom.xml")) == 50
        assert len(list((site.out / "articles").rglob("*.html"))) == 1500
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


@pytest.mark.slow
def test_kill_9_leaves_whole_files_and_the_next_start_carries_on(site):
    configure(site, every="1h")
    many_articles(site, 1500)
    proc = start_run(site)
    try:
        wait_for(lambda: (site.out / "articles").exists(), timeout=60, step=0.01)
        time.sleep(0.3)
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    feeds_are_whole(site.out)                        # old or new, never half
    (site.root / "state" / "status.json").unlink(missing_ok=True)
    proc = start_run(site)                           # the lock died with the process
    try:
        wait_for(lambda: (site.root / "state" / "status.json").exists(), timeout=60, step=0.05)
        assert len(titles(site, "wu-liu-zi-xun/gang-kou-hang-yun/atom.xml")) == 50
        assert len(list((site.out / "articles").rglob("*.html"))) == 1500
        assert not list(site.out.rglob("*.tmp"))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    feeds_are_whole(site.out)


def test_a_publisher_removes_what_a_killed_peer_of_this_host_left(site, publisher_for):
    # On a shared store, a killed peer never restarts to clean up after itself.
    from feedpub import publish
    p = publisher_for(every="1h")
    wait_for(lambda: (site.root / "state" / "status.json").exists())
    peer = subprocess.Popen([sys.executable, "-c", "pass"])
    peer.wait()
    p.store.heartbeat(p.host, peer.pid, time_now())
    litter = publish.Batch(site.out, owner=peer.pid)
    litter.write("rss.xml", b"half a feed")
    assert list(site.out.glob(".rss.xml.*.tmp"))
    p.stop()
    assert not list(site.out.rglob("*.tmp"))
    store = open_store(site.settings())
    try:
        assert store.process_ids(p.host) == []           # neither the peer nor the stopped publisher
    finally:
        store.close()


def test_second_run_process_refuses_with_a_clear_message(site):
    configure(site, every="1h")
    first = start_run(site)
    try:
        wait_for(lambda: (site.root / "state" / "feedpub.db.lock").exists() and (site.out / "rss.xml").exists(),
                 timeout=30)
        second = subprocess.run([sys.executable, "-m", "feedpub", "run", "--config", str(site.config_path)],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert "another `feedpub run`" in second.stderr and str(first.pid) in second.stderr
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=10) == 0


def test_a_watched_folder_reads_only_the_files_its_events_name(site, publisher_for):
    for n in range(30):
        site.write(f"old/{n:02d}.txt", dump(HYXW, f"舊{n:02d}", f"2020/6/1 10:00:{n:02d}", "來處"))
    p = publisher_for(every="0.3s", jitter="0s", watch=True)
    wait_for(lambda: "舊29" in titles(site) and p.ticks >= 1)       # the start-up tick scans everything
    assert p.store.article_count() == 30
    drop(site, "new.txt", "新來的")
    wait_for(lambda: "新來的" in titles(site), timeout=5)
    wait_for(lambda: p.last["inbox"].articles["new"] == 0 and not p.busy)
    ticks = p.ticks
    wait_for(lambda: p.ticks >= ticks + 2)                          # quiet scheduled ticks
    quiet = p.last["inbox"]
    assert (quiet.files_read, quiet.files_skipped) == (0, 0)        # no scan: nothing was even stat'ed
    # An edit in place (no rename, the folder's own mtime does not move) is an event too.
    path = site.inbox / "old" / "07.txt"
    with open(path, "w", encoding="utf-8") as f:
        f.write(dump(HYXW, "舊07改", "2020/6/1 10:00:07", "來處"))
    wait_for(lambda: "舊07改" in titles(site), timeout=5)
    assert p.store.article_count() == 31


def test_a_watched_folder_is_scanned_whole_when_events_cannot_be_trusted(site, publisher_for, tmp_path):
    site.write("a.txt", dump(HYXW, "甲", "2020/6/1 10:00:00", "來處"))
    p = publisher_for(every="0.3s", jitter="0s", watch=True)
    wait_for(lambda: "甲" in titles(site))
    # A folder moved in whole: one event for the folder, none for its files.
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "b.txt").write_text(dump(HYXW, "乙", "2020/6/1 11:00:00", "來處"), encoding="utf-8")
    os.replace(batch, site.inbox / "batch")
    wait_for(lambda: "乙" in titles(site), timeout=5)
    # The watcher dies (inotify limits, a remote filesystem): ticks fall back to scanning.
    watcher = p._watchers["inbox"]
    watcher.stop()
    watcher.join(timeout=5)
    site.write("c.txt", dump(HYXW, "丙", "2020/6/1 12:00:00", "來處"))
    wait_for(lambda: "丙" in titles(site), timeout=5)
    ticks = p.ticks
    wait_for(lambda: p.ticks > ticks)                               # a tick that has surely ended
    assert p.last["inbox"].files_skipped >= 2                       # every tick scans the folder now


def test_a_watched_folder_is_still_scanned_whole_every_rescan_seconds(site):
    configure(site, every="0.2s", jitter="0s", watch=True, rescan="0.5s")
    p = Publisher(site.settings())
    p.start()
    try:
        wait_for(lambda: p.ticks >= 1)
        # A file whose event never came (dropped while the watcher was not listening).
        p._watchers["inbox"].unschedule_all()
        site.write("lost.txt", dump(HYXW, "遺漏", "2020/6/1 12:00:00", "來處"))
        wait_for(lambda: "遺漏" in titles(site), timeout=5)
    finally:
        p.stop()


def test_a_gather_due_soon_is_never_put_off_by_a_later_one(site):
    """A copy that closes its file while a gather runs asks for a gather at
    once; the gather ending then asks to look again when held files are
    quiet (10 s later). The sooner one stands: the file is published within
    the second the README promises, not after the quiet wait."""
    configure(site, every="1h", watch=True)
    p = Publisher(site.settings(), debounce=5.0, max_delay=5.0)   # "soon" long enough to look at
    p.start()
    try:
        wait_for(lambda: p.ticks >= 1 and not p.busy)
        p.poke("inbox")                                  # the close's event: gather soon
        soon = p.scheduler.get_job("watch:inbox").next_run_time
        p.poke("inbox", at=time.monotonic() + 10)        # the gather's own "when they are quiet"
        assert p.scheduler.get_job("watch:inbox").next_run_time == soon
    finally:
        p.stop()


def test_remote_ticks_share_threads_sized_by_what_may_be_in_flight(site):
    """500 web sites are not 500 threads: as many as twice [web]
    max_connections, plus one per SQL source; folders run apart."""
    import dataclasses

    from feedpub.config import Web
    from feedpub.scheduler import remote_threads
    folder = site.settings().sources[0]
    web = dataclasses.replace(folder, type="web", web=Web(start=(), item="li", title=None, link=None,
                                                          max_connections=32))
    assert remote_threads([folder]) == 1
    assert remote_threads([web] * 3) == 3
    assert remote_threads([web] * 500) == 64
    assert remote_threads([web] * 500 + [dataclasses.replace(folder, type="sql")] * 2) == 66
