"""A small website for the web-source tests: real HTTP on 127.0.0.1, served from a dict.

Supports what the web source must cope with: ETag/Last-Modified with 304s,
a fixed Date header, charsets in the header or not at all, slow pages,
failures on the first request, and a log of every request.
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Resource:
    body: bytes
    content_type: str = "text/html"          # no charset unless given
    delay: float = 0.0
    fail_first: int = 0                      # answer 503 this many times first
    status: int = 200
    hold: threading.Event | None = None      # answer only once this is set (a test's "mid-gather")
    location: str | None = None              # a Location header (with status 30x: a redirect)
    meet: threading.Barrier | None = None    # answer once as many requests (any server's) wait here


@dataclass
class Site:
    date: datetime = datetime(2020, 7, 1, 1, 30, tzinfo=timezone.utc)
    pages: dict[str, Resource] = field(default_factory=dict)
    log: list[tuple[str, str, int]] = field(default_factory=list)   # (method, path, status) as answered
    arrivals: list[str] = field(default_factory=list)              # paths as asked (before any delay)
    last_modified: datetime = datetime(2020, 6, 30, 0, 0, tzinfo=timezone.utc)
    in_flight: int = 0                                             # requests being answered now
    most_in_flight: int = 0                                        # ... and the most at once
    met: list[bool] = field(default_factory=list)                  # each `meet` barrier: passed (True) or broken

    def requests(self, path: str) -> int:
        return self.arrivals.count(path)


def serve(site: Site):
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def date_time_string(self, timestamp=None):
            return email.utils.format_datetime(site.date, usegmt=True)

        def do_GET(self):
            site.arrivals.append(self.path)
            with lock:
                site.in_flight += 1
                site.most_in_flight = max(site.most_in_flight, site.in_flight)
            self.counted = True
            try:
                self._get()
            finally:
                self._answered()

        def _answered(self):
            """No longer in flight: from here the client can have the answer."""
            if getattr(self, "counted", False):
                self.counted = False
                with lock:
                    site.in_flight -= 1

        def _get(self):
            res = site.pages.get(self.path)
            if res is None:
                return self._send(404, b"not found", "text/plain")
            if res.fail_first > 0:
                res.fail_first -= 1
                return self._send(503, b"busy", "text/plain")
            if res.hold is not None:
                res.hold.wait(30)
            if res.meet is not None:
                try:
                    res.meet.wait()
                    site.met.append(True)
                except threading.BrokenBarrierError:
                    site.met.append(False)
            if res.delay:
                time.sleep(res.delay)
            etag = '"' + hashlib.sha1(res.body).hexdigest()[:16] + '"'
            lm = email.utils.format_datetime(site.last_modified, usegmt=True)
            if self.headers.get("If-None-Match") == etag or self.headers.get("If-Modified-Since") == lm:
                return self._send(304, b"", None, etag=etag, lm=lm)
            self._send(res.status, res.body, res.content_type, etag=etag, lm=lm, location=res.location)

        def _send(self, status, body, ctype, etag=None, lm=None, location=None):
            site.log.append(("GET", self.path, status))
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            if ctype:
                self.send_header("Content-Type", ctype)
            if etag:
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", lm)
            self.send_header("Content-Length", str(len(body)))
            self._answered()
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass                     # the client gave up (a size limit, a deadline): not the server's error

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd


@contextmanager
def served(*builders):
    """A Site made by `builders` (each given the site), served on 127.0.0.1
    for the with-block: (site, its base URL)."""
    site = Site()
    for build in builders:
        build(site)
    httpd = serve(site)
    try:
        yield site, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
