"""Nothing gathered is lost: `feedpub run` with several sources storing side
by side, and a store another process holds while a gather wants to write.

Real web sources over HTTP on 127.0.0.1, a real folder, real SQLite and
PostgreSQL stores, the real scheduler; every wait polls for its condition.
"""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import threading
from collections import Counter

import feedparser
import pytest

import sitesrv
from conftest import new_pg_database, drop_pg_database, wait_for
from feedpub import config
from feedpub.build import build, open_store
from feedpub.metrics import exposition
from feedpub.scheduler import Publisher

WEB_SOURCES, PER_SOURCE = 4, 20


def article(title: str, when: str) -> bytes:
    return (f'<html><head><meta charset="utf-8"><title>{title}</title></head><body>'
            f'<div class="crumb">首頁 &gt; 新聞</div><h1>{title}</h1><div class="info">發佈時間：'
            f'<span class="time">{when}</span></div><div class="content"><p>{title}的正文。</p></div>'
            f'</body></html>').encode()


def newsroom(site: sitesrv.Site, sources: int = WEB_SOURCES, jitter: float = 0.0) -> list[str]:
    """`sources` category listings of PER_SOURCE articles each; every page
    answers after up to `jitter` seconds (so gathers interleave). Returns
    every title."""
    rng = random.Random(sources)
    titles = []
    for s in range(sources):
        items = []
        for n in range(PER_SOURCE):
            path, title = f"/c{s}/2020/06/{n:03d}.html", f"第{s}欄第{n}篇報道"
            site.pages[path] = sitesrv.Resource(article(title, f"2020-06-{1 + n:02d} 10:{s:02d}:{n:02d}"),
                                                "text/html; charset=utf-8", delay=rng.uniform(0, jitter))
            items.append(f'<li><a href="{path}">{title}</a><span>06-{1 + n:02d}</span></li>')
            titles.append(title)
        site.pages[f"/c{s}/"] = sitesrv.Resource(
            f'<html><head><meta charset="utf-8"></head><body><ul class="list">{"".join(items)}</ul>'
            f'</body></html>'.encode(), "text/html; charset=utf-8", delay=rng.uniform(0, jitter))
    return titles


def configure(root, base: str, store_url: str, sources: int = WEB_SOURCES, folder: bool = True,
              busy_timeout: str | None = None) -> config.Settings:
    """A web source per listing (and a folder of PER_SOURCE Markdown files)."""
    inbox = root / "inbox"
    inbox.mkdir(exist_ok=True)
    for n in range(PER_SOURCE if folder else 0):
        (inbox / f"{n:03d}.md").write_text(f"---\ntitle: 本地稿件{n}\ndate: 2020-06-01 09:00:{n:02d}\n"
                                           f"category: 本地\n---\n本地稿件{n}的正文。\n", encoding="utf-8")
    web = "".join(textwrap.dedent(f"""
        [[sources]]
        name = "web{s}"
        type = "web"
        every = "1h"
        delay = "0s"
        robots = false
        start = [{{ url = "{base}/c{s}/", category = "新聞/第{s}欄" }}]
        item = "ul.list li"
        title = "a"
        link = "a@href"
        date = "span"

        [sources.article]
        title = "h1"
        date = ".info .time"
        body = "div.content"
    """) for s in range(sources))
    cfg = root / "feedpub.toml"
    cfg.write_text(textwrap.dedent(f"""
        [site]
        title = "測試新聞網"
        link = "{base}/"
        feeds_url = "https://feeds.example.com/"
        timezone = "Asia/Shanghai"

        [output]
        dir = "feeds"
        max_items = 500

        [store]
        url = "{store_url}"
        {f'busy_timeout = "{busy_timeout}"' if busy_timeout else ""}
    """) + (textwrap.dedent("""
        [[sources]]
        name = "inbox"
        type = "folder"
        path = "inbox"
        every = "1h"
    """) if folder else "") + web, encoding="utf-8")
    return config.load(cfg)


def feed_titles(root) -> Counter:
    parsed = feedparser.parse((root / "feeds" / "rss.xml").read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    return Counter(e.title for e in parsed.entries)


@pytest.fixture
def server():
    site = sitesrv.Site()
    httpd = sitesrv.serve(site)
    yield site, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_run_with_five_sources_stores_every_article_exactly_once(server, tmp_path, engine):
    """Four web sources and a folder gather at once at start-up and store side
    by side, while a monitor reads the store's status all along: 20 times,
    each from an empty store, every article is stored once and published once."""
    site, base = server
    titles = newsroom(site, jitter=0.02)
    wanted = Counter(titles + [f"本地稿件{n}" for n in range(PER_SOURCE)])
    for round_ in range(20):
        root = tmp_path / f"round{round_}"
        root.mkdir()
        database = new_pg_database() if engine == "postgresql" else None
        url = database or f"sqlite:///{root}/state/feedpub.db"
        publisher = Publisher(configure(root, base, url))
        watching = threading.Event()

        def monitor():                           # `feedpub status` and /metrics read while gathers write
            while not watching.is_set():
                publisher.store.status()
        reader = threading.Thread(target=monitor)
        publisher.start()
        reader.start()
        try:
            wait_for(lambda: publisher.ticks >= WEB_SOURCES + 1 and not publisher.busy, timeout=60)
        finally:
            watching.set()
            reader.join()
            status = publisher.store.status()["sources"]
            stored = publisher.store.article_count()
            publisher.stop()
            if database:
                drop_pg_database(database)
        assert stored == sum(wanted.values()), f"round {round_}: {stored} stored"
        assert feed_titles(root) == wanted, f"round {round_}"
        assert all(row["failures"] == 0 and row["open_errors"] == 0 for row in status), status


def hold_the_write_lock(database):
    """Another process that takes SQLite's write lock (as a backup tool or a
    second feedpub would) and keeps it until told on its stdin."""
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sqlite3, sys
        db = sqlite3.connect({str(database)!r}, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        print("held", flush=True)
        sys.stdin.readline()
        db.execute("COMMIT")
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def release(holder) -> None:
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.wait(timeout=10) == 0


def test_a_store_held_by_another_process_mid_gather_is_waited_for(server, tmp_path, caplog):
    """The store is taken by another process while a source's pages are
    being fetched: the gather's write waits, says so, and stores everything."""
    site, base = server
    titles = newsroom(site, sources=2)
    settings = configure(tmp_path, base, f"sqlite:///{tmp_path}/state/feedpub.db", sources=2, folder=False)
    gate = threading.Event()
    site.pages["/c1/2020/06/007.html"].hold = gate          # web1 is mid-gather until this page answers
    store = open_store(settings)
    done: dict = {}
    builder = threading.Thread(target=lambda: done.update(summary=build(settings, store=store, record=True)))
    builder.start()
    try:
        wait_for(lambda: "/c1/2020/06/007.html" in site.arrivals)
        holder = hold_the_write_lock(tmp_path / "state" / "feedpub.db")
        gate.set()
        wait_for(lambda: store.busy_retries >= 2)            # web1's write was refused, and tried again
        release(holder)
        builder.join(timeout=60)
        assert not builder.is_alive()
        summary = done["summary"]
        assert summary.articles["new"] == 2 * PER_SOURCE and not summary.problems
        assert feed_titles(tmp_path) == Counter(titles)
        assert any("the store is busy" in r.getMessage() and "article file(s) or page(s) of web" in r.getMessage()
                   for r in caplog.records)
        again = build(settings, store=store)
        assert again.articles["new"] == 0 and again.written == 0
    finally:
        gate.set()
        store.close()


def test_a_store_busy_past_busy_timeout_loses_nothing_and_says_so(server, tmp_path, caplog):
    """Under `feedpub run`, a write that waits longer than [store]
    busy_timeout gives up: the tick fails and says so (log, `status`,
    /metrics), nothing of it is remembered as seen, and the next tick
    stores every article."""
    site, base = server
    titles = newsroom(site, sources=2)
    settings = configure(tmp_path, base, f"sqlite:///{tmp_path}/state/feedpub.db", sources=2, folder=False,
                         busy_timeout="1s")
    edit = settings.path.read_text(encoding="utf-8").replace('every = "1h"', 'every = "2s"\njitter = "0s"')
    settings.path.write_text(edit, encoding="utf-8")
    gate = threading.Event()
    site.pages["/c1/2020/06/007.html"].hold = gate
    publisher = Publisher(config.load(settings.path))
    publisher.start()
    holder = None

    def web1():
        return next((row for row in publisher.store.status()["sources"] if row["source"] == "web1"), {})
    try:
        wait_for(lambda: "/c1/2020/06/007.html" in site.arrivals)
        holder = hold_the_write_lock(tmp_path / "state" / "feedpub.db")
        gate.set()
        wait_for(lambda: any(r.getMessage().startswith("web1: failed") for r in caplog.records), timeout=30)
        failed = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("web1: failed"))
        assert "not stored, the store" in failed and "stayed busy" in failed
        release(holder)
        holder = None
        # The failed run is recorded once the store takes writes again, and
        # the next tick stores what the failed one could not.
        wait_for(lambda: "stayed busy" in (web1().get("last_error") or ""), timeout=30)
        wait_for(lambda: publisher.store.article_count() == 2 * PER_SOURCE, timeout=30)
        wait_for(lambda: web1().get("failures") == 0 and not publisher.busy, timeout=30)
        assert web1()["last_success"] > web1()["last_error_at"]
        metrics = exposition(publisher.store)().decode()
        assert 'feedpub_source_last_error_timestamp_seconds{source="web1"}' in metrics
        wait_for(lambda: feed_titles(tmp_path) == Counter(titles), timeout=30)
    finally:
        gate.set()
        if holder is not None:
            release(holder)
        publisher.stop()
