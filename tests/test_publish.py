"""Atomic, skip-if-equal writes: a reader polling mid-write never sees half a file."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from feedpub import publish


def test_skips_equal_bytes_and_keeps_mtime(tmp_path):
    assert publish.write_if_changed(tmp_path, "a/b.xml", b"one") is True
    path = tmp_path / "a" / "b.xml"
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert publish.write_if_changed(tmp_path, "a/b.xml", b"one") is False
    assert path.stat().st_mtime_ns == 1_000_000_000
    assert publish.write_if_changed(tmp_path, "a/b.xml", b"two") is True
    assert path.read_bytes() == b"two"
    assert [p.name for p in path.parent.iterdir()] == ["b.xml"]          # no temp file left


def test_refuses_to_write_outside_the_output_folder(tmp_path):
    with pytest.raises(publish.PublishError):
        publish.write_if_changed(tmp_path / "out", "../escape.xml", b"x")
    assert not (tmp_path / "escape.xml").exists()


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    publish.write_if_changed(tmp_path, "f.xml", b"old")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(publish.PublishError, match="No space left"):
        publish.write_if_changed(tmp_path, "f.xml", b"new")
    assert (tmp_path / "f.xml").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.xml"]


def readers_during(path, versions, write_all) -> set[int]:
    """Two threads read `path` while `write_all()` rewrites it; every read must
    be one of `versions`, whole. Returns which versions were seen."""
    stop = threading.Event()
    seen, bad = set(), []

    def reader():
        while not stop.is_set():
            data = path.read_bytes()
            if data in versions:
                seen.add(versions.index(data))
            else:
                bad.append(len(data))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        write_all()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert bad == []
    return seen


def test_concurrent_readers_see_only_whole_versions(tmp_path):
    versions = [bytes([65 + n]) * (2_000_000 + n * 1000) for n in range(4)]
    publish.write_if_changed(tmp_path, "feed.xml", versions[0])

    def write_all():
        for round_ in range(12):
            publish.write_if_changed(tmp_path, "feed.xml", versions[round_ % 4])

    assert len(readers_during(tmp_path / "feed.xml", versions, write_all)) >= 2


def test_stale_temp_files_are_removed(tmp_path):
    (tmp_path / "x").mkdir()
    stale = tmp_path / "x" / ".rss.xml.abc123.tmp"
    stale.write_bytes(b"half")
    os.utime(stale, (0, 0))
    fresh = tmp_path / "x" / ".atom.xml.def456.tmp"
    fresh.write_bytes(b"being written right now")
    assert publish.remove_stale_temp_files(tmp_path) == 1
    assert not stale.exists() and fresh.exists()


def test_a_workers_temp_files_outlive_the_worker_until_its_publisher_renames_them(tmp_path):
    # A worker renders into temporary files and exits; the publisher renames
    # them later. A sweep in between (another publisher's start, a heartbeat)
    # must see them as the live publisher's, not as a dead worker's litter.
    import multiprocessing
    me = os.getpid()

    def render(queue):
        batch = publish.Batch(tmp_path, limit=1000, owner=me)
        batch.write("a.xml", b"worker's")
        queue.put(batch.hand_over())

    queue = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=render, args=(queue,))
    child.start()
    pending = queue.get(timeout=30)
    child.join(timeout=30)
    assert child.exitcode == 0 and f"-{me}~" in pending[0][0]
    assert publish.remove_stale_temp_files(tmp_path) == 0
    with publish.Batch(tmp_path) as batch:
        batch.adopt(pending)
    assert (tmp_path / "a.xml").read_bytes() == b"worker's"


def test_temp_files_of_a_dead_publisher_of_this_host_go_at_once(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    pending = publish.Batch(tmp_path, owner=gone.pid)
    pending.write("x/rss.xml", b"half")
    mine = publish.Batch(tmp_path)
    mine.write("x/atom.xml", b"in progress")
    assert publish.remove_stale_temp_files(tmp_path) == 1
    assert [p.name for p in (tmp_path / "x").iterdir()] == [Path(mine.hand_over()[0][0]).name]


def test_a_batch_publishes_every_file_at_flush_and_skips_equal_ones(tmp_path):
    publish.write_if_changed(tmp_path, "same.xml", b"same")
    os.utime(tmp_path / "same.xml", ns=(1_000_000_000, 1_000_000_000))
    with publish.Batch(tmp_path) as batch:
        assert batch.write("a/one.xml", b"1") is True
        assert batch.write("a/b/two.xml", b"2") is True
        assert batch.write("same.xml", b"same") is False
        assert not (tmp_path / "a" / "one.xml").exists()        # nothing is visible before the flush
    assert (tmp_path / "a" / "one.xml").read_bytes() == b"1"
    assert (tmp_path / "a" / "b" / "two.xml").read_bytes() == b"2"
    assert (tmp_path / "same.xml").stat().st_mtime_ns == 1_000_000_000
    assert oct((tmp_path / "a" / "one.xml").stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in tmp_path.rglob(".*")) == []  # no temp file left
    assert (batch.written, batch.unchanged) == (2, 1)


def test_a_batch_that_fails_leaves_the_old_files_and_no_temp(tmp_path):
    publish.write_if_changed(tmp_path, "f.xml", b"old")
    with pytest.raises(RuntimeError):
        with publish.Batch(tmp_path) as batch:
            batch.write("f.xml", b"new")
            batch.write("g.xml", b"new")
            raise RuntimeError("render failed half way")
    assert (tmp_path / "f.xml").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.xml"]


def test_a_batch_whose_sync_fails_renames_nothing(tmp_path, monkeypatch):
    publish.write_if_changed(tmp_path, "f.xml", b"old")

    def broken_sync(path):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(publish, "_sync_filesystem", broken_sync)
    batch = publish.Batch(tmp_path)
    batch.write("f.xml", b"new")
    with pytest.raises(publish.PublishError, match="Input/output error"):
        batch.flush()
    assert (tmp_path / "f.xml").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.xml"]


def test_a_batch_refuses_to_write_outside_the_output_folder(tmp_path):
    batch = publish.Batch(tmp_path / "out")
    for rel in ("../escape.xml", "a/../../escape.xml", "/etc/escape.xml"):
        with pytest.raises(publish.PublishError, match="outside"):
            batch.write(rel, b"x")
    assert not (tmp_path / "escape.xml").exists()


def test_a_batch_flushes_when_full_and_readers_see_only_whole_versions(tmp_path):
    versions = [bytes([65 + n]) * (1_000_000 + n * 1000) for n in range(4)]
    publish.write_if_changed(tmp_path, "feed.xml", versions[0])

    def write_all():
        with publish.Batch(tmp_path, limit=1) as batch:     # limit 1: every write is flushed at once
            for round_ in range(1, 13):
                batch.write("feed.xml", versions[round_ % 4])
                assert (tmp_path / "feed.xml").read_bytes() == versions[round_ % 4]

    assert len(readers_during(tmp_path / "feed.xml", versions, write_all)) >= 2
