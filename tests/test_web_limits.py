"""A hostile web server costs one reported problem per page: a deadline and a
size limit per page (counted after decompression), hosts kept to the start
URLs', and a stuck source never delays a watched folder or a stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import feedparser
import pytest

import hostile
from conftest import dump, need_browser, peak_build, wait_for
from feedpub.sources.http import FetchError, Http


def article(title: str) -> bytes:
    return (f'<html><head><meta charset="utf-8"></head><body><h1>{title}</h1>'
            f'<div class="info"><span class="time">2020-06-01 10:00:00</span></div>'
            f'<div class="content"><p>{title}的正文。</p></div></body></html>').encode()


def listing(links) -> bytes:
    items = "".join(f'<li><a href="{href}" title="{title}">{title}</a></li>' for href, title in links)
    return f'<html><head><meta charset="utf-8"></head><body><ul class="list">{items}</ul></body></html>'.encode()


@pytest.fixture
def servers():
    """The hostile site, and another one it links and redirects to."""
    other = hostile.Hostile({"/secret": article("另一台主機的內部頁")})
    other_httpd = other.serve()
    other_base = f"http://127.0.0.1:{other_httpd.server_address[1]}"
    site = hostile.Hostile({}, elsewhere=other_base + "/secret")
    httpd = site.serve()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    site.pages.update({
        "/good1": article("好文章一"), "/good2": article("好文章二"),
        "/news/": listing([("/good1", "好文章一"), ("/drip", "滴水"), ("/drip-headers", "標頭滴水"),
                           ("/endless", "無盡"), ("/bomb", "炸彈"), ("/redirect-out", "轉走"),
                           (other_base + "/secret", "別處"), ("/good2", "好文章二")]),
    })
    yield site, base, other
    site.close(httpd)
    other.close(other_httpd)


def web_config(tmp_path, base, *, extra="", watched: str | None = None, timeout="1s"):
    cfg = tmp_path / "feedpub.toml"
    folder = textwrap.dedent(f"""
        [[sources]]
        name = "inbox"
        type = "folder"
        path = "{watched}"
        watch = true
        every = "1h"
    """) if watched else ""
    cfg.write_text(textwrap.dedent(f"""
        [site]
        title = "測試站"
        link = "{base}/"
        feeds_url = "https://feeds.example.com/"
        timezone = "Asia/Shanghai"

        [output]
        dir = "feeds"

        [store]
        url = "sqlite:///state.db"

        [[sources]]
        name = "portal"
        type = "web"
        every = "1h"
        delay = "0s"
        timeout = "{timeout}"
        retries = 0
        robots = false
        start = [{{ url = "{base}/news/", category = "物流資訊/港口航運" }}]
        item = "ul.list li"
        title = "a@title"
        link = "a@href"
        {extra}

        [sources.article]
        title = "h1"
        date = ".info .time"
        body = "div.content"
    """) + folder)
    return cfg


@pytest.mark.slow
def test_each_hostile_page_is_one_problem_and_the_good_ones_publish(servers, tmp_path):
    site, base, other = servers
    news = site.pages["/news/"]
    site.pages["/news/"] = listing([("/good1", "好文章一"), ("/good2", "好文章二")])
    (tmp_path / "baseline").mkdir()
    baseline = peak_build(web_config(tmp_path / "baseline", base))["rss_kb"]     # the same build, no hostile page
    site.pages["/news/"] = news
    cfg = web_config(tmp_path, base, extra='deadline = "3s"\nmax_page_size = "1MB"')
    result = peak_build(cfg)
    problems = {loc.rpartition("/")[2]: reason for loc, reason in result["problems"]}
    assert "took longer than 3s" in problems.pop("drip")
    assert "took longer than 3s" in problems.pop("drip-headers")                # its headers never end
    assert "larger than 1,048,576 bytes" in problems.pop("endless")
    assert "larger than 1,048,576 bytes" in problems.pop("bomb")                  # counted decompressed
    assert "is not one of this source's hosts" in problems.pop("redirect-out")
    assert "lead to other hosts" in problems.pop("")                             # the listing's warning
    assert problems == {}
    assert result["new"] == 2
    assert "/secret" not in other.hits                                           # never fetched
    feed = feedparser.parse((tmp_path / "feeds" / "rss.xml").read_bytes())
    assert {e.title for e in feed.entries} == {"好文章一", "好文章二"}
    assert result["rss_kb"] - baseline < 64 * 1024, (baseline, result["rss_kb"])   # not the bomb's 256 MB


@pytest.mark.parametrize("path", ["/drip-headers", "/robots.txt"])
def test_a_header_drip_ends_at_the_deadline(servers, path):
    """One deadline from the first byte sent to the last byte read, headers
    included, on the path every listing, JSON listing, robots.txt, `try` and
    `suggest` fetch takes (each header line comes well within the timeout):
    a page whose headers never end fails at its deadline; a robots.txt that
    never ends is given up at its own, and the page is fetched."""
    site, base, _ = servers
    site.header_drips.add("/robots.txt")
    site.pages["/page"] = article("好文章")
    http = Http(contact="https://feeds.example.com/", timeout=5, deadline=2, retries=2, delay=0)
    outcome: list = []

    def fetch():
        try:
            outcome.append(http.get(base + ("/page" if path == "/robots.txt" else path)))
        except FetchError as exc:
            outcome.append(exc)
    fetcher = threading.Thread(target=fetch, daemon=True)
    fetcher.start()
    fetcher.join(timeout=60)                       # a guard against hanging, not a measure of time
    assert not fetcher.is_alive(), "the fetch is still waiting on headers that never end"
    (result,) = outcome
    if path == "/robots.txt":
        assert b"\xe5\xa5\xbd\xe6\x96\x87\xe7\xab\xa0" in result.content      # 好文章: robots.txt given up, page read
    else:
        assert isinstance(result, FetchError) and "took longer than 2s in all" in result.reason
    assert site.hits.count(path) == 1                    # one deadline for the page: no retry after it passed


def test_allow_hosts_names_more_hosts(servers, tmp_path):
    site, base, other = servers
    site.pages["/news/"] = listing([(site.elsewhere, "別處的文章")])
    other_host = site.elsewhere.split("/")[2]
    cfg = web_config(tmp_path, base, extra=f'allow_hosts = ["{other_host}"]')
    assert peak_build(cfg)["new"] == 1 and "/secret" in other.hits


@pytest.mark.slow
def test_a_stuck_source_never_delays_a_watched_folder_nor_a_stop(servers, tmp_path):
    site, base, _ = servers
    site.pages["/news/"] = listing([("/drip", "滴水")])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cfg = web_config(tmp_path, base, extra='deadline = "600s"', timeout="600s", watched=str(inbox))
    proc = subprocess.Popen([sys.executable, "-m", "feedpub", "run", "--config", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        wait_for(lambda: "/drip" in site.hits, timeout=60)                  # the web gather is stuck now
        (inbox / "a.txt").write_text(dump("首頁 > 物流資訊 > 行業新聞", "資料夾裡的文章", "2020/6/1 10:00:00", "來處"))
        rss = tmp_path / "feeds" / "rss.xml"
        wait_for(lambda: rss.exists() and "資料夾裡的文章" in {e.title for e in feedparser.parse(rss.read_bytes()).entries},
                 timeout=30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0                                     # seconds, not the 600s deadline
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "waiting on a server" in proc.stderr.read()


SPIN = (b'<html><head><meta charset="utf-8"></head><body><h1>\xe8\xbd\x89\xe5\x9c\x88</h1><script>'
        b'window.addEventListener("load", () => setTimeout(() => { for (;;) {} }, 50));</script></body></html>')
HUGE_DOM = (b'<html><head><meta charset="utf-8"></head><body><h1>\xe5\xb7\xa8\xe9\xa0\x81</h1><div id="x"></div><script>'
            b'const p = "<p>" + "x".repeat(1000) + "</p>"; document.getElementById("x").innerHTML = '
            b'Array(60000).fill(p).join("");</script></body></html>')          # 60 MB of DOM, made by the script


def tree_memory(pid: int) -> int:
    """PSS of a process and everything below it, in bytes (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                children.setdefault(int(f.read().rpartition(b")")[2].split()[1]), []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += next(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration):
            pass
    return total


def build_watching_memory(cfg) -> tuple[dict, int]:
    """`feedpub build` in a process of its own: its problems and new articles,
    and the most memory its process tree (Chromium included) held."""
    probe = textwrap.dedent(f"""
        import json
        from feedpub import config
        from feedpub.build import build
        s = build(config.load({str(cfg)!r}))
        print(json.dumps({{"problems": [[p.location, p.reason] for p in s.problems], "new": s.articles["new"]}}))
    """)
    proc = subprocess.Popen([sys.executable, "-c", probe], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, guard = 0, time.monotonic() + 180                 # a guard against hanging, not a measure of time
    try:
        while proc.poll() is None:
            assert time.monotonic() < guard, "the build is still running: a page's script holds it"
            peak = max(peak, tree_memory(proc.pid))
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1]), peak


@pytest.mark.slow
def test_a_page_whose_script_spins_or_swells_costs_that_page_only(servers, tmp_path):
    """render = "browser": a page whose script never yields after load ends
    at the page's deadline; one that builds a 60 MB DOM is stopped when
    Chromium passes browser_memory; the good pages beside them publish, and
    the process tree never holds much more than the cap."""
    need_browser()
    site, base, _ = servers
    site.pages.update({"/spin": SPIN, "/huge": HUGE_DOM,
                       "/news/": listing([("/good1", "好文章一"), ("/spin", "轉圈"), ("/huge", "巨頁"),
                                          ("/good2", "好文章二")])})
    cfg = web_config(tmp_path, base, timeout="20s", extra='deadline = "8s"\nbrowser_memory = "1GB"')
    cfg.write_text(cfg.read_text().replace('[sources.article]\n', '[sources.article]\nrender = "browser"\n'))
    result, peak = build_watching_memory(cfg)
    problems = {loc.rpartition("/")[2]: reason for loc, reason in result["problems"]}
    assert "took longer than 8s in all" in problems.pop("spin")
    huge = problems.pop("huge")                      # stopped at the cap, or (a busy machine) at the deadline
    assert "grew past 1,073,741,824 bytes" in huge or "took longer than 8s in all" in huge, huge
    assert problems == {} and result["new"] == 2
    feed = feedparser.parse((tmp_path / "feeds" / "rss.xml").read_bytes())
    assert {e.title for e in feed.entries} == {"好文章一", "好文章二"}
    print(f"the build's processes held {peak >> 20} MB at most")
    assert peak < 1.5 * 1024 ** 3, f"the build's processes held {peak >> 20} MB at most"      # 2.7 GB unbounded
