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


def run(*args):
    return subprocess.run([sys.executable, "-m", "feedpub", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def portal(tmp_path):
    site = sitesrv.Site()
    homesite.home_site(site)
    httpd = sitesrv.serve(site)
    yield site, f"http://127.0.0.1:{httpd.server_address[1]}", tmp_path
    httpd.shutdown()


def bare_config(tmp_path, base: str) -> str:
    return textwrap.dedent(f"""
        [site]
        title = "物流港航网"
        link = "{base}/"
        feeds_url = "https://feeds.example.com/"
        timezone = "Asia/Shanghai"
        [output]
        dir = "feeds"
        max_items = 200
        [store]
        url = "sqlite:///state.db"
    """)


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
