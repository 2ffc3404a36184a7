"""Serve the output folder read-only, with the headers feed readers rely on.

The files are the product and any static server will do (see the README's
nginx snippet); this one is for `feedpub serve` and `feedpub run --serve`:
the right content types, strong ETags and Last-Modified with 304s, HEAD,
gzip when asked, and nothing outside the folder, ever.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import logging
import os
import posixpath
import re
import threading
from collections import OrderedDict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from . import __version__

log = logging.getLogger("feedpub.serve")

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".xsl": "text/xsl; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}
_COMPRESSIBLE = ("text/", "application/rss+xml", "application/atom+xml", "application/xml",
                 "application/feed+json", "application/json", "image/svg+xml")


def content_type(path: Path, head: bytes) -> str:
    """Feeds by what they are, not only by their name (archives are *.xml too)."""
    ext = path.suffix.lower()
    if ext == ".xml":
        start = head[:1024]
        if b"<rss" in start:
            return "application/rss+xml; charset=utf-8"
        if b"<feed" in start:
            return "application/atom+xml; charset=utf-8"
        return "application/xml; charset=utf-8"
    if ext == ".json":
        return "application/feed+json; charset=utf-8" if b"jsonfeed.org" in head[:1024] \
            else "application/json; charset=utf-8"
    return _TYPES.get(ext, "application/octet-stream")


class ByteCache:
    """File bytes (and their gzip) kept for re-serving, least recently used
    out first, bounded by their total size, not their number: 2,000 distinct
    article pages of a megabyte each must not take 2 GB. A file larger than
    a quarter of the budget is served without being kept."""

    def __init__(self, budget: int):
        self.budget = budget
        self.size = 0
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, make):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                return value
        value = make()
        cost = _cost(value)
        if cost <= self.budget // 4:
            with self._lock:
                if key not in self._items:
                    self._items[key] = value
                    self.size += cost
                while self.size > self.budget:
                    _, old = self._items.popitem(last=False)
                    self.size -= _cost(old)
        return value


def _cost(value) -> int:
    return len(value[0]) if isinstance(value, tuple) else len(value)


def _load(path: str) -> tuple[bytes, str]:
    """File bytes and strong ETag."""
    data = Path(path).read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


DEFAULT_CACHE = 64 * 1024 * 1024


def _media_ranges(header: str | None) -> list[tuple[str, float]]:
    """An Accept-style header -> [(token, q)] in the order given; a malformed
    q counts as 0 (a client's typo must not crash its request)."""
    out = []
    for part in (header or "").split(","):
        token, *params = part.split(";")
        token = token.strip().lower()
        if not token:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(1.0, max(0.0, float(value)))
                except ValueError:
                    q = 0.0
        out.append((token, q))
    return out


def _accepts_gzip(header: str | None) -> bool:
    for token, q in _media_ranges(header):
        if token in ("gzip", "*"):
            return q > 0
    return False


_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_XML_TYPES = ("application/xml", "text/xml")


def wants_html(accept: str | None) -> bool:
    """A person's browser navigating, not a feed reader: it prefers HTML to
    XML and names no feed type (readers send feed types, */* or nothing)."""
    ranges = _media_ranges(accept)
    if any(token in _FEED_TYPES for token, _ in ranges):
        return False

    def best(types) -> tuple[float, int]:
        found = [(q, -i) for i, (token, q) in enumerate(ranges) if token in types]
        return max(found, default=(0.0, -len(ranges)))
    html = best(_HTML_TYPES)
    return html[0] > 0 and html > best(_XML_TYPES)


# rss.xml, atom.xml and their script variants (rss.zh-Hans.xml); archive pages 3.rss.xml, 3.rss.zh-Hant.xml
_CURRENT_FEED = re.compile(r"(?:rss|atom)(?:\.zh-[A-Za-z]+)?\.xml")
_ARCHIVE_PAGE = re.compile(r"\d+\.(?:rss|atom)(?:\.zh-[A-Za-z]+)?\.xml")


def page_for_feed(rel: str) -> str | None:
    """The HTML page that stands for a feed file in a browser: its category's
    page (for an archive page too: people subscribe to the current feed)."""
    folder, _, name = rel.rpartition("/")
    if _CURRENT_FEED.fullmatch(name):
        pass
    elif folder.rpartition("/")[2] == "archive" and _ARCHIVE_PAGE.fullmatch(name):
        folder = folder.rpartition("/")[0]
    else:
        return None
    return f"{folder}/index.html" if folder else "index.html"


class Handler(BaseHTTPRequestHandler):
    server_version = f"feedpub/{__version__}"
    root: Path = Path(".")
    cache: ByteCache = ByteCache(DEFAULT_CACHE)
    metrics = None                                # () -> bytes of /metrics, when enabled

    def log_message(self, fmt, *args):
        log.debug("%s %s", self.address_string(), fmt % args)

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, TimeoutError) as exc:        # the client went away: its business
            log.debug("%s: client gone (%s)", self.client_address[0], exc.__class__.__name__)

    def do_HEAD(self):
        self._answer(head=True)

    def do_GET(self):
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        try:
            self._serve(head)
        except (ConnectionError, TimeoutError):
            raise                                             # handled once, in handle()
        except OSError as exc:
            # A path the OS cannot even look up (longer than its limit, say):
            # the request is bad, not the server.
            log.debug("%s: %s", self.path[:200], exc)
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad request")

    def _resolve(self) -> Path | None:
        raw = unquote(urlsplit(self.path).path)
        if "\x00" in raw or "\\" in raw:
            return None
        parts = [p for p in raw.split("/") if p]
        if any(p in (".", "..") for p in parts):
            return None
        target = self.root.joinpath(*parts) if parts else self.root
        try:
            real = Path(os.path.realpath(target))
        except ValueError:
            return None
        if real != self.root and self.root not in real.parents:
            return None
        if real.is_dir():
            real = real / "index.html"            # never a listing
        if not real.is_file() or any(p.startswith(".") for p in parts):
            return None
        return real

    def _serve(self, head: bool) -> None:
        if self.metrics is not None and urlsplit(self.path).path == "/metrics":
            self._send_metrics(head)
            return
        path = self._resolve()
        if path is None:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return
        location = None
        if self._browser():
            # A feed opened in a browser: the category's page, which says how to
            # subscribe (Chromium is removing XSLT, so the XSL view is a fallback).
            feed = path.relative_to(self.root).as_posix()
            rel = page_for_feed(feed)
            page = self.root / rel if rel else None
            if page is not None and page.is_file():
                location = quote(posixpath.relpath(rel, posixpath.dirname(feed) or "."))
                if posixpath.dirname(rel) != posixpath.dirname(feed):
                    # An archive page: its category's page is elsewhere, and its
                    # relative links must resolve from there, so send the browser there.
                    self._redirect(location)
                    return
                path = page
        try:
            st = path.stat()
            key = (str(path), st.st_mtime_ns, st.st_size)
            data, etag = self.cache.get(key, lambda: _load(str(path)))
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return
        ctype = content_type(path, data)
        if ctype.startswith(("application/rss+xml", "application/atom+xml")) and self._browser():
            # Browsers show rss+xml as text; as XML they apply the feed's XSL view.
            ctype = "application/xml; charset=utf-8"
        use_gzip = ctype.startswith(_COMPRESSIBLE) and _accepts_gzip(self.headers.get("Accept-Encoding")) \
            and len(data) > 200
        if use_gzip:
            etag = etag[:-1] + '-gz"'
        last_modified = email.utils.formatdate(st.st_mtime, usegmt=True)
        if self._not_modified(etag, int(st.st_mtime)):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            self.send_header("Vary", "Accept, Accept-Encoding")
            self.end_headers()
            return
        body = self.cache.get(key + ("gzip",), lambda: _gzip(data)) if use_gzip else data
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", last_modified)
        self.send_header("Cache-Control", "public, max-age=60")
        self.send_header("Vary", "Accept, Accept-Encoding")
        self.send_header("X-Content-Type-Options", "nosniff")
        if location:
            self.send_header("Content-Location", location)
        if use_gzip:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_metrics(self, head: bool) -> None:
        body = self.metrics()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.FOUND)
        self.send_header("Location", location)
        self.send_header("Vary", "Accept, Accept-Encoding")
        self.send_header("Cache-Control", "public, max-age=60")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _browser(self) -> bool:
        return wants_html(self.headers.get("Accept"))

    def _not_modified(self, etag: str, mtime: int) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return "*" in tags or etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = email.utils.parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
            return since is not None and since.timestamp() >= mtime
        return False

    def send_error(self, code, message=None, explain=None):
        # No server-generated HTML beyond a line: nothing to reflect, nothing to list.
        body = f"{code} {message or ''}\n".encode()
        self.send_response(code, message)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def parse_address(text: str) -> tuple[str, int]:
    """ "127.0.0.1:8080" or ":8080" or "8080" -> (host, port)."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"not an address: {text!r} (use HOST:PORT, e.g. 127.0.0.1:8080)")
    return (host.strip("[]") or "127.0.0.1"), int(port)


def _return_large_blocks() -> None:
    """glibc raises its mmap threshold as large blocks are freed, after which
    megabyte file buffers come from per-thread heaps that keep the memory
    (a thread per request: many heaps). A fixed threshold gives each freed
    buffer back at once, so the process holds about what the cache holds."""
    try:
        import ctypes
        ctypes.CDLL(None).mallopt(-3, 128 * 1024)          # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


class FeedServer:
    """A threaded server over one folder, startable in the background."""

    def __init__(self, root: Path, address: tuple[str, int], cache_bytes: int = DEFAULT_CACHE, metrics=None):
        _return_large_blocks()
        self.cache = ByteCache(cache_bytes)
        handler = type("BoundHandler", (Handler,), {"root": Path(os.path.realpath(root)), "cache": self.cache,
                                                    "metrics": staticmethod(metrics) if metrics else None})
        self.httpd = ThreadingHTTPServer(address, handler)
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> FeedServer:
        # A short poll: stop() (shutdown) returns within it, not within half a second.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="feedpub-serve", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def serve_forever(self) -> None:
        self.httpd.serve_forever()
