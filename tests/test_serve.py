"""The output folder over real HTTP on 127.0.0.1: types, validators, HEAD, gzip, escapes."""

from __future__ import annotations

import email.utils
import gzip
import http.client
import threading
import time

import pytest

from feedpub.serve import FeedServer
from conftest import configure, dump, edit_config, wait_for


@pytest.fixture
def served(site):
    site.write("a.txt", dump("首頁 > 物流資訊 > 行業新聞", "標題" * 30, "2020/6/1 22:46:13", "來處", "正文。" * 100))
    site.build()
    (site.root / "secret.txt").write_text("outside")
    (site.out / ".hidden").write_text("hidden")
    (site.out / "empty-dir").mkdir()
    server = FeedServer(site.out, ("127.0.0.1", 0)).start()
    host, port = server.address
    yield site, host, port
    server.stop()


def request(host, port, method, path, headers=None):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request(method, path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


@pytest.mark.parametrize("path,ctype", [
    ("/rss.xml", "application/rss+xml; charset=utf-8"),
    ("/atom.xml", "application/atom+xml; charset=utf-8"),
    ("/wu-liu-zi-xun/hang-ye-xin-wen/rss.xml", "application/rss+xml; charset=utf-8"),
    ("/feeds.opml", "text/x-opml; charset=utf-8"),
    ("/", "text/html; charset=utf-8"),
    ("/wu-liu-zi-xun/", "text/html; charset=utf-8"),
])
def test_content_types(served, path, ctype):
    site, host, port = served
    resp, body = request(host, port, "GET", path)
    assert resp.status == 200 and resp.getheader("Content-Type") == ctype
    rel = path.lstrip("/") + ("index.html" if path.endswith("/") else "")
    assert body == (site.out / rel).read_bytes()


def test_etag_and_last_modified_give_304(served):
    site, host, port = served
    resp, _ = request(host, port, "GET", "/rss.xml")
    etag, lm = resp.getheader("ETag"), resp.getheader("Last-Modified")
    assert etag.startswith('"') and not etag.startswith("W/")
    assert email.utils.parsedate_to_datetime(lm)
    r304, body = request(host, port, "GET", "/rss.xml", {"If-None-Match": etag})
    assert (r304.status, body, r304.getheader("ETag")) == (304, b"", etag)
    r304, body = request(host, port, "GET", "/rss.xml", {"If-Modified-Since": lm})
    assert (r304.status, body) == (304, b"")
    r200, _ = request(host, port, "GET", "/rss.xml", {"If-None-Match": '"something-else"'})
    assert r200.status == 200
    r200, _ = request(host, port, "GET", "/rss.xml", {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert r200.status == 200


def test_etag_changes_when_the_feed_does(served):
    site, host, port = served
    first, _ = request(host, port, "GET", "/rss.xml")
    site.write("b.txt", dump("首頁 > 物流資訊 > 行業新聞", "新文章", "2020/6/2 22:46:13", "來處"))
    site.build()
    second, body = request(host, port, "GET", "/rss.xml", {"If-None-Match": first.getheader("ETag")})
    assert second.status == 200 and "新文章".encode() in body
    assert second.getheader("ETag") != first.getheader("ETag")


def test_head_has_headers_and_no_body(served):
    site, host, port = served
    resp, body = request(host, port, "HEAD", "/atom.xml")
    assert resp.status == 200 and body == b""
    assert int(resp.getheader("Content-Length")) == (site.out / "atom.xml").stat().st_size


def test_gzip_when_asked(served):
    site, host, port = served
    resp, body = request(host, port, "GET", "/rss.xml", {"Accept-Encoding": "gzip, deflate"})
    assert resp.getheader("Content-Encoding") == "gzip" and "Accept-Encoding" in resp.getheader("Vary")
    assert gzip.decompress(body) == (site.out / "rss.xml").read_bytes()
    etag = resp.getheader("ETag")
    again, _ = request(host, port, "GET", "/rss.xml", {"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status == 304
    plain, body = request(host, port, "GET", "/rss.xml", {"Accept-Encoding": "gzip;q=0"})
    assert plain.getheader("Content-Encoding") is None and body == (site.out / "rss.xml").read_bytes()


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/wu-liu-zi-xun/../../secret.txt",
                                  "/..%2fsecret.txt", "/.hidden", "/empty-dir/", "/nope.xml", "/%00"])
def test_nothing_outside_the_folder_and_no_listings(served, path):
    site, host, port = served
    resp, body = request(host, port, "GET", path)
    assert resp.status == 404
    assert b"outside" not in body and b"hidden" not in body and b"<a " not in body


def test_other_methods_are_refused(served):
    _, host, port = served
    resp, _ = request(host, port, "POST", "/rss.xml")
    assert resp.status == 501


def test_browsers_get_the_category_page_and_readers_the_feed(served):
    site, host, port = served
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    resp, body = request(host, port, "GET", "/wu-liu-zi-xun/hang-ye-xin-wen/rss.xml", {"Accept": browser})
    assert resp.getheader("Content-Type") == "text/html; charset=utf-8" and "Accept" in resp.getheader("Vary")
    assert body == (site.out / "wu-liu-zi-xun/hang-ye-xin-wen/index.html").read_bytes()
    assert resp.getheader("Content-Location") == "index.html"
    for reader in ("application/rss+xml, application/atom+xml, text/xml;q=0.9, */*;q=0.8", "*/*", None,
                   "application/xml, text/html;q=0.5", "text/html;q=abc, application/xml"):
        resp, body = request(host, port, "GET", "/rss.xml", {"Accept": reader} if reader else {})
        assert resp.getheader("Content-Type") == "application/rss+xml; charset=utf-8", reader
        assert body == (site.out / "rss.xml").read_bytes()


def test_an_archive_page_sends_a_browser_to_its_category_page(site):
    configure(site, max_items=2, archive_page_size=2)
    for n in range(1, 6):
        site.write(f"a{n}.txt", dump("首頁 > 物流資訊 > 行業新聞", f"第{n}篇", f"2020/6/{n} 22:46:13", "來處"))
    site.build()
    server = FeedServer(site.out, ("127.0.0.1", 0)).start()
    try:
        host, port = server.address
        path = "/wu-liu-zi-xun/hang-ye-xin-wen/archive/1.atom.xml"
        resp, _ = request(host, port, "GET", path, {"Accept": "text/html,application/xml;q=0.9"})
        assert resp.status == 302 and resp.getheader("Location") == "../index.html"
        resp, body = request(host, port, "GET", path, {"Accept": "application/atom+xml"})
        assert resp.status == 200 and body == (site.out / path.lstrip("/")).read_bytes()
    finally:
        server.stop()


@pytest.mark.parametrize("header", ["gzip;q=abc", "gzip;q=", ";;,", "gzip;q=0.5;x", "*;q=1e999"])
def test_malformed_accept_encoding_is_not_an_error(served, header):
    _, host, port = served
    resp, _ = request(host, port, "GET", "/rss.xml", {"Accept-Encoding": header})
    assert resp.status == 200


def test_a_path_longer_than_the_os_allows_is_a_bad_request(served):
    _, host, port = served
    for path in ("/" + "a" * 5000, "/" + "/".join(["b" * 250] * 30) + "/rss.xml"):
        resp, _ = request(host, port, "GET", path)
        assert resp.status in (400, 404)
    resp, _ = request(host, port, "GET", "/" + "a" * 5000)
    assert resp.status == 400
    resp, _ = request(host, port, "GET", "/rss.xml")                 # and the server still serves
    assert resp.status == 200


def test_a_client_that_goes_away_is_one_debug_line(site, caplog, capfd):
    import logging
    import socket
    site.write("a.txt", dump("首頁 > 物流資訊 > 行業新聞", "長文", "2020/6/1 22:46:13", "來處", "正文。" * 200000))
    site.build()
    page = next((site.out / "articles").rglob("*.html")).relative_to(site.out).as_posix()   # 1.8 MB
    server = FeedServer(site.out, ("127.0.0.1", 0)).start()
    host, port = server.address
    try:
        with caplog.at_level(logging.DEBUG, logger="feedpub.serve"):
            for _ in range(5):
                s = socket.create_connection((host, port))
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.sendall(f"GET /{page} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                s.recv(10)
                s.close()                                        # a reset while the server writes
            wait_for(lambda: any("client gone" in r.getMessage() for r in caplog.records), timeout=10)
            resp, _ = request(host, port, "GET", "/rss.xml")
            assert resp.status == 200
    finally:
        server.stop()
    served = [r for r in caplog.records if r.name == "feedpub.serve"]
    assert all(r.levelno == logging.DEBUG for r in served)
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.slow
def test_serve_memory_stays_within_its_cache_budget(site, tmp_path):
    """2,000 distinct 1 MB files served: the server keeps at most [serve]
    cache_size of them (hard links: one megabyte on disk, 2,000 files to it)."""
    import os
    import subprocess
    import sys
    big = site.out / "big"
    big.mkdir(parents=True)
    (big / "0.html").write_bytes(os.urandom(1 << 20))
    for n in range(1, 2000):
        os.link(big / "0.html", big / f"{n}.html")
    edit_config(site, serve={"cache_size": "32MB"})
    proc = subprocess.Popen([sys.executable, "-m", "feedpub", "serve", "127.0.0.1:0", "--config", str(site.config_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = proc.stdout.readline().split(" at ")[1].split()[0]
        host, port = url.removeprefix("http://").rstrip("/").split(":")

        def peak_kb():
            return int(next(line for line in open(f"/proc/{proc.pid}/status") if line.startswith("VmHWM")).split()[1])
        request(host, int(port), "GET", "/big/0.html")
        before = peak_kb()
        for n in range(2000):
            resp, body = request(host, int(port), "GET", f"/big/{n}.html")
            assert resp.status == 200 and len(body) == 1 << 20
        assert peak_kb() - before < (32 + 16) * 1024           # the budget, and a few buffers in flight
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_metrics_in_the_prometheus_format_when_asked(site):
    import subprocess
    import sys
    from prometheus_client.parser import text_string_to_metric_families
    site.write("a.txt", dump("首頁 > 物流資訊 > 行業新聞", "甲", "2020/6/1 22:46:13", "來處"))
    site.write("bad.json", "{oops")
    assert subprocess.run([sys.executable, "-m", "feedpub", "build", "--config", str(site.config_path)],
                          capture_output=True).returncode == 0

    def serve():
        proc = subprocess.Popen([sys.executable, "-m", "feedpub", "serve", "127.0.0.1:0", "--config",
                                 str(site.config_path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        url = proc.stdout.readline().split(" at ")[1].split()[0]
        host, port = url.removeprefix("http://").rstrip("/").split(":")
        return proc, host, int(port)

    proc, host, port = serve()                                   # off by default
    try:
        assert request(host, port, "GET", "/metrics")[0].status == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    edit_config(site, serve={"metrics": True})
    proc, host, port = serve()
    try:
        resp, body = request(host, port, "GET", "/metrics")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/plain; version=0.0.4")
    samples = {(s.name, s.labels.get("source")): s.value
               for family in text_string_to_metric_families(body.decode()) for s in family.samples}
    assert samples[("feedpub_source_articles", "inbox")] == 1
    assert samples[("feedpub_source_open_errors", "inbox")] == 1
    assert samples[("feedpub_source_last_new_articles", "inbox")] == 1
    assert samples[("feedpub_source_last_success_timestamp_seconds", "inbox")] > 1.7e9
    assert samples[("feedpub_regenerations_total", None)] == 1
    assert samples[("feedpub_files_written_total", None)] == samples[("feedpub_regeneration_last_files_written", None)] > 5
    assert samples[("process_resident_memory_bytes", None)] > 0
    assert not (site.out / "metrics").exists()


def half_sent(host, port, drip: bool = False):
    """A connection that sends part of a request head and never finishes it
    (with `drip`, one more header line every half second, for ever)."""
    import socket
    s = socket.create_connection((host, port))
    s.sendall(b"GET /rss.xml HTTP/1.1\r\nHost: feeds.example.com\r\n")
    if drip:
        def more():
            n = 0
            while True:
                time.sleep(0.5)
                n += 1
                try:
                    s.sendall(b"X-Drip-%d: 1\r\n" % n)
                except OSError:
                    return                               # closed by the server: as it should be
        threading.Thread(target=more, daemon=True).start()
    return s


def closed_by_server(s) -> bool:
    import select
    import socket
    if not select.select([s], [], [], 0)[0]:
        return False
    try:
        return s.recv(1024, socket.MSG_DONTWAIT) == b""
    except ConnectionResetError:
        return True


def test_half_sent_requests_are_closed_at_the_header_timeout_while_readers_are_served(site):
    """50 connections that never finish their request head (25 silent, 25
    sending a header line every half second) are each closed once
    [serve] header_timeout has passed; readers are served all along."""
    from feedpub.serve import Limits
    site.write("a.txt", dump("首頁 > 物流資訊 > 行業新聞", "甲", "2020/6/1 22:46:13", "來處"))
    site.build()
    server = FeedServer(site.out, ("127.0.0.1", 0), limits=Limits(header_timeout=2)).start()
    host, port = server.address
    slow = [half_sent(host, port, drip=n % 2 == 1) for n in range(50)]
    try:
        wait_for(lambda: server.open == 50)
        for _ in range(5):                                       # a reader polling meanwhile
            resp, body = request(host, port, "GET", "/rss.xml")
            assert resp.status == 200 and body == (site.out / "rss.xml").read_bytes()
        wait_for(lambda: all(closed_by_server(s) for s in slow), timeout=30)   # a guard, not a measure
        wait_for(lambda: server.open == 0)
    finally:
        for s in slow:
            s.close()
        server.stop()


def test_past_max_connections_a_new_connection_gets_503_at_once(site):
    from feedpub.serve import Limits
    site.write("a.txt", dump("首頁 > 物流資訊 > 行業新聞", "甲", "2020/6/1 22:46:13", "來處"))
    site.build()
    server = FeedServer(site.out, ("127.0.0.1", 0), limits=Limits(max_connections=10, header_timeout=60)).start()
    host, port = server.address
    slow = [half_sent(host, port) for _ in range(10)]
    try:
        wait_for(lambda: server.open == 10)
        resp, _ = request(host, port, "GET", "/rss.xml")
        assert resp.status == 503 and resp.getheader("Retry-After") == "1"
        for s in slow[:5]:
            s.close()
        wait_for(lambda: server.open == 5)
        assert request(host, port, "GET", "/rss.xml")[0].status == 200
    finally:
        for s in slow:
            s.close()
        server.stop()


def test_a_connection_serves_requests_one_after_another_and_is_closed_when_idle(site):
    """Keep-alive as readers use it: several requests on one connection, and
    the connection closed by the server after [serve] keep_alive idle."""
    import socket
    from feedpub.serve import Limits
    site.write("a.txt", dump("首頁 > 物流資訊 > 行業新聞", "甲", "2020/6/1 22:46:13", "來處"))
    site.build()
    server = FeedServer(site.out, ("127.0.0.1", 0), limits=Limits(keep_alive=1, max_requests=3)).start()
    host, port = server.address
    try:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        for _ in range(3):
            conn.request("GET", "/rss.xml")
            resp = conn.getresponse()
            assert resp.status == 200 and resp.read() == (site.out / "rss.xml").read_bytes()
        assert resp.getheader("Connection") == "close"               # the third of max_requests = 3
        conn.close()
        s = socket.create_connection((host, port))
        s.sendall(b"GET /rss.xml HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_for(lambda: closed_by_server(s), timeout=30)             # answered, then idle past keep_alive
        s.close()
    finally:
        server.stop()


def test_metrics_are_read_from_the_store_at_most_once_a_second(site):
    """Any number of monitors polling /metrics cost one read of the store a
    second (a snapshot), so readers of the feeds never wait behind them."""
    import sqlalchemy as sa

    from feedpub.build import open_store
    from feedpub.metrics import due, exposition
    assert due(5.0, None) and due(6.0, 5.0) and not due(5.99, 5.0)
    site.write("a.txt", dump("首頁 > 物流資訊 > 行業新聞", "甲", "2020/6/1 22:46:13", "來處"))
    site.build()
    store = open_store(site.settings())
    reads = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *a: reads.append(a[2]))
    now = [1000.0]
    render = exposition(store, clock=lambda: now[0])
    try:
        first = render()
        assert b'feedpub_source_articles{source="inbox"} 1.0' in first
        read_once = len(reads)
        assert read_once > 0
        for _ in range(50):                                   # 50 polls within the same second
            now[0] += 0.01
            assert render() == first
        assert len(reads) == read_once
        now[0] += 0.6                                         # a second after the first rendering
        render()
        assert len(reads) > read_once
    finally:
        store.close()
