"""`feedpub suggest URL` on each HTML listing of the test portals: the block it
prints, appended to a configuration with only [site], [output] and [store],
publishes every article of that listing from the listing alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import feedparser
import pytest

import portals


def run(*args):
    return subprocess.run([sys.executable, "-m", "feedpub", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("path,category,articles", [
    ("/gov/tzgg/index.html", "政策法規/通知公告", portals.TRS_ARTICLES),
    ("/html/hyxw/index.html", "物流資訊/行業新聞", [a for a in portals.PHP_ARTICLES if a[0].endswith("行業新聞")]),
    ("/html/twwl/index.html", "物流資訊/台灣物流", [a for a in portals.PHP_ARTICLES if a[0].endswith("台灣物流")]),
], ids=["trs-script-pager", "phpcms", "phpcms-big5"])
def test_a_suggested_source_publishes_the_whole_listing(portal, path, category, articles):
    site, base, tmp = portal
    r = run("suggest", base + path, "--category", category)
    assert r.returncode == 0, r.stderr
    block = r.stdout
    assert f"# {min(len(articles), 5 if 'gov' in path else 4)} item(s) found" in block
    assert articles[0][1] in block                                   # the first titles, as comments
    cfg = tmp / "suggested.toml"
    cfg.write_text(textwrap.dedent(f"""
        [site]
        title = "建議"
        link = "{base}/"
        feeds_url = "https://feeds.example.com/"
        timezone = "Asia/Shanghai"
        [output]
        dir = "feeds"
        max_items = 100
        [store]
        url = "sqlite:///state.db"
    """) + block)
    r = run("build", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    titles = {e.title for e in feedparser.parse((tmp / "feeds" / "rss.xml").read_bytes()).entries}
    assert titles == {title for _, title, _, _ in articles}


def test_a_listing_a_script_fills_is_said_so(portal):
    site, base, tmp = portal
    r = run("suggest", base + "/news/list.html")
    assert r.returncode == 0 and "# unsure:" in r.stdout and "JSON endpoint" in r.stdout
