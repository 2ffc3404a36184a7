"""A new site in one command (issue 23): `feedpub suggest HOME` on a portal
built the way real ones are (tests/homesite.py: a nested menu, boxes, a
sidebar, traps), appended to a configuration holding only [site],
[output] and [store], publishes every article of every category, each in
its own category, with its exact time, once."""

from __future__ import annotations

import calendar
import subprocess
import sys
import textwrap
import tomllib
from collections import Counter
from datetime import datetime, timezone

import feedparser
import pytest
import tomli_w

import homesite
import sitesrv
from conftest import web_site_config


def run(*args):
    return subprocess.run([sys.executable, "-m", "feedpub", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def portal(tmp_path):
    with sitesrv.served(homesite.home_site, homesite.ad_site) as (site, base):
        yield site, base, tmp_path


def bare_config(tmp_path, base: str) -> str:
    return web_site_config(base, "物流港航网", max_items=200)


def without_delay(cfg) -> None:
    """The polite delay between requests, taken out for a loopback test site
    (data in, data out: nothing else of the suggested blocks changes)."""
    data = tomllib.loads(cfg.read_text(encoding="utf-8"))
    for source in data["sources"]:
        source["delay"] = "0s"
    cfg.write_text(tomli_w.dumps(data), encoding="utf-8")


def published(tmp_path) -> list[tuple[str, str, datetime]]:
    """(title, category, UTC instant) of every item of the all-articles feed."""
    feed = feedparser.parse((tmp_path / "feeds" / "atom.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    return [(e.title, max((t.term for t in e.get("tags", [])), key=lambda t: t.count("/"), default=""),
             datetime.fromtimestamp(calendar.timegm(e.published_parsed), timezone.utc)) for e in feed.entries]


def test_suggest_on_the_home_page_publishes_every_category(portal):
    site, base, tmp = portal
    r = run("suggest", base + "/")
    assert r.returncode == 0, r.stderr
    blocks = tomllib.loads(r.stdout)["sources"]
    assert [b["start"][0]["category"] for b in blocks] == list(homesite.CATEGORIES)
    assert len({b["name"] for b in blocks}) == len(blocks)
    assert all(b["article"] == {"auto": True} for b in blocks)
    assert "not used: 关于我们" in r.stdout                                   # said, not silently dropped
    cold = next(b for b in blocks if b["start"][0]["category"] == "物流/冷链物流")
    assert cold["link"]["select"] == "a@href" and "/ad/click" in r.stdout          # the ad, left out, and said
    cfg = tmp / "feedpub.toml"
    cfg.write_text(bare_config(tmp, base) + r.stdout, encoding="utf-8")
    without_delay(cfg)
    r = run("build", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    items = published(tmp)
    titles = Counter(title for title, _, _ in items)
    assert all(n == 1 for n in titles.values()), [t for t, n in titles.items() if n > 1]   # no duplicate
    want = {title: (category, when) for category, title, when, _ in homesite.ARTICLES}
    got = {title: (category, when) for title, category, when in items}
    assert got == want                           # every article, its own category, its exact time; nothing else
    assert "t20200601_9999.html: HTTP 404" in r.stderr                     # the dead link, reported
    before = {p: p.stat().st_mtime_ns for p in (tmp / "feeds").rglob("*") if p.is_file()}
    r = run("build", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert {p: p.stat().st_mtime_ns for p in (tmp / "feeds").rglob("*") if p.is_file()} == before


def hand_config(tmp_path, base: str, article: str) -> "Path":
    cfg = tmp_path / "feedpub.toml"
    cfg.write_text(bare_config(tmp_path, base) + textwrap.dedent(f"""
        [[sources]]
        name = "port"
        type = "web"
        delay = "0s"
        start = [{{ url = "{base}/port/news/", category = "港航/港口动态" }}]
        item = "ul.news-list li"
        title = "a@title"
        link = "a@href"
        date = "span.date"
        next_page = "a:contains('下一页')@href"
        max_pages = 5

        [sources.article]
    """) + textwrap.dedent(article), encoding="utf-8")
    return cfg


def test_an_article_field_that_finds_nothing_is_loud(portal):
    """Misspelt date and body selectors: the build says so per field with a
    count (an error: no page had it), and so do `status` and /metrics."""
    from prometheus_client.parser import text_string_to_metric_families
    site, base, tmp = portal
    cfg = hand_config(tmp, base, """
        title = "h1"
        date = ".info .tiem"
        body = "div.article-contnet"
    """)
    r = run("build", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    for field, selector in (("date", ".info .tiem"), ("body", "div.article-contnet")):
        assert f"article field {field} (selector {selector!r}) found nothing on any of the 13 article page(s)" \
            in r.stderr, r.stderr
    assert "problems: 2 error(s)" in r.stdout
    r = run("status", "--config", str(cfg))
    assert "problems now: 2 error(s)" in r.stdout, r.stdout
    from feedpub import config
    from feedpub.build import open_store
    from feedpub.metrics import exposition
    store = open_store(config.load(cfg))
    try:
        samples = {(s.name, s.labels.get("source")): s.value for family in
                   text_string_to_metric_families(exposition(store)().decode()) for s in family.samples}
    finally:
        store.close()
    assert samples[("feedpub_source_open_errors", "port")] == 2
    # Fixed, the next build clears them: status shows what is wrong now.
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(".info .tiem", ".info").replace("contnet", "content"))
    r = run("build", "--config", str(cfg), "--full")
    assert r.returncode == 0 and "problems: 0 error(s)" in r.stdout, r.stdout + r.stderr
    assert "problems now: 0 error(s), 0 warning(s)" in run("status", "--config", str(cfg)).stdout


def test_an_article_field_some_pages_lack_is_a_warning_with_its_count(portal):
    site, base, tmp = portal
    for n in (0, 2):                                             # two of the pages without the byline
        path = homesite.article_path(n)
        site.pages[path].body = site.pages[path].body.replace("发布时间：".encode(), "".encode()).replace(
            b'<div class="info">', b'<div class="source-line">')
    cfg = hand_config(tmp, base, """
        title = "h1"
        date = ".info"
        body = "div.article-content"
    """)
    r = run("build", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "article field date (selector '.info') found nothing on 2 of the 13 article page(s)" in r.stderr
    assert "problems: 0 error(s), 1 warning(s)" in r.stdout


def test_try_reads_dates_against_the_servers_clock_and_shows_what_auto_found(portal):
    site, base, tmp = portal
    page = site.pages["/port/news/"]
    page.body = page.body.replace(b'<span class="date">2020-06-28</span>', b'<span class="date">17\xe5\x88\x86\xe9\x90\x98\xe5\x89\x8d</span>')
    cfg = hand_config(tmp, base, "auto = true\n")
    r = run("try", "port", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "17分鐘前  ->  2020-07-01 09:13:00 +0800 (Asia/Shanghai) relative to the server's Date" in r.stdout
    first = homesite.PINNED                                     # the first item listed
    assert f"title (auto, from the headline (h1)): {first[1]}" in r.stdout
    assert f"date (auto, from the byline): 发布时间：{first[2].astimezone(homesite.SHANGHAI):%Y-%m-%d %H:%M:%S}" \
        in r.stdout
    assert "body (auto, from the main text (trafilatura)):" in r.stdout


def test_check_lists_the_categories_a_web_source_names(portal):
    site, base, tmp = portal
    r = run("check", "--config", str(hand_config(tmp, base, "auto = true\n")))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "categories it would publish: 2" in r.stdout and "港航 › 港口动态" in r.stdout


@pytest.fixture
def shaped(tmp_path):
    import shapes
    with sitesrv.served(shapes.shapes_site) as (site, base):
        yield site, base, tmp_path


def test_every_listing_shape_from_the_home_page(shaped):
    """Numbered pages, WordPress archives, ?page=N, 'load more' fragments, a
    shell filled from a JSON endpoint, __NEXT_DATA__, __INITIAL_STATE__ and a
    JSON-LD ItemList (tests/shapes.py): suggest HOME reads each, and the
    build publishes every article of every category at its exact time."""
    import shapes
    site, base, tmp = shaped
    r = run("suggest", base + "/")
    assert r.returncode == 0, r.stderr
    blocks = {b["start"][0]["category"]: b for b in tomllib.loads(r.stdout)["sources"]}
    assert list(blocks) == list(shapes.CATEGORIES)
    assert blocks["分页/数字分页"]["page_url"] == "/num/index_{n}.html"
    assert blocks["分页/博客归档"]["page_url"] == "/category/port/archive/page/{n}/"
    assert blocks["分页/参数分页"]["page_param"] == "page"
    assert blocks["分页/加载更多"]["next_page"] == "button.load-more@data-next"
    assert blocks["数据/接口列表"]["start"][0]["url"] == base + "/api/list?cat=7&page=1"
    assert {blocks[k]["listing"] for k in ("数据/接口列表", "数据/页面数据", "数据/页面状态", "数据/结构化列表")} == {"json"}
    cfg = tmp / "feedpub.toml"
    cfg.write_text(bare_config(tmp, base) + r.stdout, encoding="utf-8")
    without_delay(cfg)
    r = run("build", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    items = published(tmp)
    assert len(items) == len({title for title, _, _ in items})                   # no duplicate
    assert {title: (category, when) for title, category, when in items} == {
        title: (category, when) for category, title, when in shapes.ARTICLES}
    before = {p: p.stat().st_mtime_ns for p in (tmp / "feeds").rglob("*") if p.is_file()}
    assert run("build", "--config", str(cfg)).returncode == 0
    assert {p: p.stat().st_mtime_ns for p in (tmp / "feeds").rglob("*") if p.is_file()} == before


def test_a_long_build_on_a_pipe_says_how_far_it_is(portal):
    """A first build of a site read politely takes minutes: on a pipe (cron),
    it prints its progress every few seconds instead of nothing."""
    import threading
    site, base, tmp = portal
    gate = threading.Event()
    held = homesite.article_path(5)
    site.pages[held].hold = gate                             # the build is mid-way until the test has seen progress
    cfg = hand_config(tmp, base, "auto = true\n")
    proc = subprocess.Popen([sys.executable, "-m", "feedpub", "build", "--config", str(cfg)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()                        # the first line it writes while it waits
        assert line.startswith("feedpub: ") and "page(s) fetched" in line and "article(s) stored" in line, line
    finally:
        gate.set()
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "13 new" in out


def test_a_long_gather_under_run_logs_how_far_it_is(portal, caplog):
    """Under `feedpub run` a first gather of a site that takes minutes logs
    a line every few seconds while it runs, with the pages it fetched."""
    import logging
    import threading

    from conftest import wait_for
    from feedpub import config
    from feedpub.scheduler import Publisher
    site, base, tmp = portal
    gate = threading.Event()
    site.pages[homesite.article_path(5)].hold = gate        # the gather is mid-way until the test has seen progress
    p = Publisher(config.load(hand_config(tmp, base, "auto = true\n")))
    p.progress_every = 0.2
    caplog.set_level(logging.INFO, logger="feedpub.run")
    p.start()
    try:
        # The first lines may come before the first page is in (a loaded machine): a later one has pages.
        line = wait_for(lambda: next((r.getMessage() for r in caplog.records
                                      if "still gathering" in r.getMessage() and "page(s) fetched" in r.getMessage()),
                                     None), timeout=30)
        assert line.startswith("port: still gathering (") and "page(s) fetched" in line, line
        assert not p.last                                    # said while the gather runs, not after
    finally:
        gate.set()
        wait_for(lambda: "port" in p.last, timeout=60)
        p.stop()
    assert p.last["port"].articles["new"] == 13
