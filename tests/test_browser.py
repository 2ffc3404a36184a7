"""Feeds, pages and the index in a real browser: headless Chromium over 127.0.0.1.

Chromium comes from Debian's `chromium` package (.ci/run installs it). On a
developer machine without it the test is skipped with a reason; in CI
(CI=true) a missing browser fails instead of skipping silently.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import threading
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urljoin

import pytest

from feedpub.serve import FeedServer
from conftest import configure, dump

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NOTE = "这是一个订阅源"        # the how-to-subscribe note of a zh-CN site


def dom(url: str, tmp_path) -> str:
    profile = tmp_path / "profile"
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.fixture
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run must install Debian's chromium package")
        pytest.skip("chromium is not installed here (apt-get install chromium); CI runs this test")
    return CHROMIUM


def _site(site):
    configure(site, max_items=2, archive_page_size=2)
    for n in range(1, 6):
        site.write(f"a{n}.txt", dump("首頁 > 物流資訊 > 行業新聞", f"瀏覽器裡的第{n}篇", f"2020/6/{n} 22:46:13", "來處"))
    site.write("b.txt", dump("首頁 > 物流資訊 > 港口航運", "港口的一篇", "2020/6/9 22:46:13", "來處"))
    site.build()


@pytest.fixture
def static_server(site):
    """A plain static server (no content negotiation), as most sites have."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site.out))
    handler.log_message = lambda *a: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_a_feed_opened_in_a_browser_is_a_page_that_says_how_to_subscribe(site, browser, tmp_path):
    _site(site)
    server = FeedServer(site.out, ("127.0.0.1", 0)).start()
    try:
        base = server.url
        feeds = {"rss.xml": "https://news.example.com/feeds/rss.xml",
                 "atom.xml": "https://news.example.com/feeds/rss.xml",
                 "wu-liu-zi-xun/hang-ye-xin-wen/atom.xml": "https://news.example.com/feeds/wu-liu-zi-xun/hang-ye-xin-wen/rss.xml",
                 # an archive page: the page of its channel, naming the current feed
                 "wu-liu-zi-xun/hang-ye-xin-wen/archive/1.rss.xml":
                     "https://news.example.com/feeds/wu-liu-zi-xun/hang-ye-xin-wen/rss.xml"}
        assert (site.out / "wu-liu-zi-xun/hang-ye-xin-wen/archive/1.rss.xml").is_file()
        for rel, subscribe in feeds.items():
            page = dom(base + rel, tmp_path)
            assert NOTE in page and f"<code>{subscribe}</code>" in page, (rel, page[:800])
            assert "瀏覽器裡的第5篇" in page and "<pre" not in page and "XSLT" not in page
        # a feed reader asking for the same URL still gets the feed, unchanged
        req = urllib.request.Request(base + "rss.xml", headers={"Accept": "application/rss+xml, */*"})
        with urllib.request.urlopen(req) as resp:
            assert resp.read() == (site.out / "rss.xml").read_bytes()
        index = dom(base, tmp_path)
        assert "瀏覽器裡的第5篇" in index and "港口的一篇" in index and NOTE in index
    finally:
        server.stop()


def test_every_link_people_follow_works_where_the_folder_is_served(site, browser, tmp_path):
    """Links on the index and the category pages are relative: a preview on
    127.0.0.1 (whatever feeds_url says) can be clicked through."""
    _site(site)
    server = FeedServer(site.out, ("127.0.0.1", 0)).start()
    try:
        base = server.url
        for page_url in (base, base + "wu-liu-zi-xun/index.html", base + "wu-liu-zi-xun/hang-ye-xin-wen/index.html"):
            page = dom(page_url, tmp_path)
            body = page.split("<body", 1)[1]
            hrefs = re.findall(r'<a href="([^"]+)"', body)
            assert len(hrefs) > 5
            for href in hrefs:
                assert not href.startswith("http"), href          # no item here has a URL of its own
                with urllib.request.urlopen(urljoin(page_url, href)) as resp:
                    assert resp.status == 200, href
    finally:
        server.stop()


def test_the_xsl_view_still_serves_static_servers(site, browser, tmp_path, static_server):
    """A plain static server sends the XML: browsers that still have XSLT show
    the feed's view, which for an archive page names the current feed."""
    _site(site)
    page = dom(static_server + "wu-liu-zi-xun/hang-ye-xin-wen/archive/1.atom.xml", tmp_path)
    assert NOTE in page, page[:800]
    assert "<code>https://news.example.com/feeds/wu-liu-zi-xun/hang-ye-xin-wen/atom.xml</code>" in page
    page = dom(static_server + "rss.xml", tmp_path)
    assert NOTE in page and "瀏覽器裡的第5篇" in page
