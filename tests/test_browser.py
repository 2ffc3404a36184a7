"""The XSL view and index.html in a real browser: headless Chromium over 127.0.0.1.

Chromium comes from Debian's `chromium` package (.ci/run installs it). On a
developer machine without it the test is skipped with a reason; in CI
(CI=true) a missing browser fails instead of skipping silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from feedpub.serve import FeedServer
from conftest import dump

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


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


def test_feeds_and_index_render_for_people(site, browser, tmp_path):
    site.write("a.txt", dump("首頁 > 物流資訊 > 行業新聞", "瀏覽器裡的第一篇", "2020/6/1 22:46:13", "來處"))
    site.write("b.txt", dump("首頁 > 物流資訊 > 港口航運", "瀏覽器裡的第二篇", "2020/6/2 22:46:13", "來處"))
    site.build()
    server = FeedServer(site.out, ("127.0.0.1", 0)).start()
    try:
        base = server.url
        for rel in ("rss.xml", "atom.xml", "wu-liu-zi-xun/hang-ye-xin-wen/atom.xml"):
            page = dom(base + rel, tmp_path)
            assert "這是一個訂閱源" in page, page[:500]                   # the XSL view, not raw XML
            assert "瀏覽器裡的第一篇" in page and "<pre" not in page
        index = dom(base, tmp_path)
        assert "瀏覽器裡的第一篇" in index and "瀏覽器裡的第二篇" in index and "港口航運" in index
    finally:
        server.stop()
