"""Serve the output folder read-only, with the headers feed readers rely on.

The files are the product and any static server will do (see the README's
nginx snippet); this one is for `feedpub serve` and `feedpub run --serve`:
the right content types, strong ETags and Last-Modified with 304s, HEAD,
gzip when asked, and nothing outside the folder, ever. What to answer is
`respond` (a function of the folder and the request); `FeedServer` holds
the connections, within `Limits` no client can stretch.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import hashlib
import http.client
import io
import logging
import os
import posixpath
import re
import socket
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
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


@dataclass
class Answer:
    """One response, before it is written: status, headers, body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    close: bool = False                  # the connection ends after it


def _plain(status: HTTPStatus, close: bool = False) -> Answer:
    # No server-generated HTML beyond a line: nothing to reflect, nothing to list.
    body = f"{status.value} {status.phrase}\n".encode()
    return Answer(status.value, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
                  body, close)


@dataclass(frozen=True)
class Folder:
    """What the server answers from: the output folder, its byte cache and
    /metrics (when enabled)."""

    root: Path
    cache: ByteCache
    metrics: object = None                        # () -> bytes of /metrics, when enabled


def respond(folder: Folder, method: str, target: str, headers) -> Answer:
    """The answer to one request (GET or HEAD) for a file of the folder.
    `headers` is the request's (anything with a case-blind .get)."""
    if method not in ("GET", "HEAD"):
        return _plain(HTTPStatus.NOT_IMPLEMENTED, close=True)
    try:
        return _respond(folder, target, headers)
    except OSError as exc:
        # A path the OS cannot even look up (longer than its limit, say):
        # the request is bad, not the server.
        log.debug("%s: %s", target[:200], exc)
        return _plain(HTTPStatus.BAD_REQUEST)


def _resolve(root: Path, target: str) -> Path | None:
    raw = unquote(urlsplit(target).path)
    if "\x00" in raw or "\\" in raw:
        return None
    parts = [p for p in raw.split("/") if p]
    if any(p in (".", "..") for p in parts):
        return None
    path = root.joinpath(*parts) if parts else root
    try:
        real = Path(os.path.realpath(path))
    except ValueError:
        return None
    if real != root and root not in real.parents:
        return None
    if real.is_dir():
        real = real / "index.html"            # never a listing
    if not real.is_file() or any(p.startswith(".") for p in parts):
        return None
    return real


def _respond(folder: Folder, target: str, headers) -> Answer:
    if folder.metrics is not None and urlsplit(target).path == "/metrics":
        body = folder.metrics()
        return Answer(200, [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"),
                            ("Content-Length", str(len(body))), ("Cache-Control", "no-store")], body)
    root = folder.root
    path = _resolve(root, target)
    if path is None:
        return _plain(HTTPStatus.NOT_FOUND)
    browser = wants_html(headers.get("Accept"))
    location = None
    if browser:
        # A feed opened in a browser: the category's page, which says how to
        # subscribe (Chromium is removing XSLT, so the XSL view is a fallback).
        feed = path.relative_to(root).as_posix()
        rel = page_for_feed(feed)
        page = root / rel if rel else None
        if page is not None and page.is_file():
            location = quote(posixpath.relpath(rel, posixpath.dirname(feed) or "."))
            if posixpath.dirname(rel) != posixpath.dirname(feed):
                # An archive page: its category's page is elsewhere, and its
                # relative links must resolve from there, so send the browser there.
                return Answer(302, [("Location", location), ("Vary", "Accept, Accept-Encoding"),
                                    ("Cache-Control", "public, max-age=60"), ("Content-Length", "0")])
            path = page
    try:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        data, etag = folder.cache.get(key, lambda: _load(str(path)))
    except OSError:
        return _plain(HTTPStatus.NOT_FOUND)
    ctype = content_type(path, data)
    if ctype.startswith(("application/rss+xml", "application/atom+xml")) and browser:
        # Browsers show rss+xml as text; as XML they apply the feed's XSL view.
        ctype = "application/xml; charset=utf-8"
    use_gzip = ctype.startswith(_COMPRESSIBLE) and _accepts_gzip(headers.get("Accept-Encoding")) and len(data) > 200
    if use_gzip:
        etag = etag[:-1] + '-gz"'
    last_modified = email.utils.formatdate(st.st_mtime, usegmt=True)
    if _not_modified(headers, etag, int(st.st_mtime)):
        return Answer(304, [("ETag", etag), ("Last-Modified", last_modified), ("Vary", "Accept, Accept-Encoding")])
    body = folder.cache.get(key + ("gzip",), lambda: _gzip(data)) if use_gzip else data
    out = [("Content-Type", ctype), ("Content-Length", str(len(body))), ("ETag", etag),
           ("Last-Modified", last_modified), ("Cache-Control", "public, max-age=60"),
           ("Vary", "Accept, Accept-Encoding"), ("X-Content-Type-Options", "nosniff")]
    if location:
        out.append(("Content-Location", location))
    if use_gzip:
        out.append(("Content-Encoding", "gzip"))
    return Answer(200, out, body)


def _not_modified(headers, etag: str, mtime: int) -> bool:
    inm = headers.get("If-None-Match")
    if inm is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or etag in tags
    ims = headers.get("If-Modified-Since")
    if ims:
        try:
            since = email.utils.parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        return since is not None and since.timestamp() >= mtime
    return False


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


def _enough_descriptors(wanted: int) -> None:
    """Raise this process's open-file limit towards `wanted` (within the hard
    limit): a soft limit of 1,024 would refuse connections before
    max_connections does, with errors instead of a 503."""
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            top = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, top), hard))
    except (ImportError, ValueError, OSError):
        pass


@dataclass(frozen=True)
class Limits:
    """What one client may hold of the server (README, "Serving the feeds")."""

    header_timeout: float = 10.0     # seconds from a connection's start (or its idle wait's end) to a whole request head
    keep_alive: float = 15.0         # seconds an idle connection is kept for its next request
    max_requests: int = 100          # requests on one connection, then it is closed
    max_connections: int = 1024      # open at once; past it a new connection gets 503 and is closed
    backlog: int = 1024              # connections the kernel holds before the server accepts them
    write_timeout: float = 60.0      # seconds a client may take to take one response
    workers: int = 8                 # threads that read files (and /metrics) for answers


MAX_HEAD = 64 * 1024                 # bytes of a request line and its headers
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: 24\r\nRetry-After: 1\r\nConnection: close\r\n\r\n503 Service Unavailable\n")


class FeedServer:
    """The output folder over HTTP/1.1, startable in the background.

    Connections are held by one asyncio loop, not a thread each: a client
    that sends its request slowly (or never) costs a few kilobytes until
    `header_timeout` closes it, whatever it drips, and never delays another
    client. Whole requests are answered by a few threads (file reads and
    /metrics may block); past `max_connections`, a new connection gets a
    503 at once instead of waiting behind the others."""

    def __init__(self, root: Path, address: tuple[str, int], cache_bytes: int = DEFAULT_CACHE, metrics=None,
                 limits: Limits = Limits()):
        _return_large_blocks()
        _enough_descriptors(limits.max_connections + 256)
        self.cache = ByteCache(cache_bytes)
        self.folder = Folder(Path(os.path.realpath(root)), self.cache, metrics)
        self.limits = limits
        self.sock = socket.create_server(address, backlog=limits.backlog,
                                         family=socket.AF_INET6 if ":" in address[0] else socket.AF_INET)
        self.open = 0                                # connections open now
        self.refused = 0                             # connections answered 503 (over max_connections)
        self._workers = ThreadPoolExecutor(limits.workers, thread_name_prefix="feedpub-serve")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._writers: set = set()                   # connections open now (closed at stop)
        self.thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.getsockname()[:2]

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def start(self) -> FeedServer:
        self.thread = threading.Thread(target=self.serve_forever, name="feedpub-serve", daemon=True)
        self.thread.start()
        self._ready.wait()
        return self

    def serve_forever(self) -> None:
        """Serve until stop() (from another thread) or Ctrl-C."""
        try:
            asyncio.run(self._main())
        finally:
            self._ready.set()
            self.sock.close()
            self._workers.shutdown(wait=False, cancel_futures=True)

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stopping.set)
            except RuntimeError:                     # the loop ended meanwhile
                pass
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.sock.close()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._metrics_turn = asyncio.Semaphore(1)
        server = await asyncio.start_server(self._connection, sock=self.sock, limit=MAX_HEAD,
                                            backlog=self.limits.backlog)
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            # Connections end as they would if their clients left (each task
            # finishes on its own); what is still running after that is cancelled.
            for writer in list(self._writers):
                writer.transport.abort()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if tasks:
                _, late = await asyncio.wait(tasks, timeout=2)
                for task in late:
                    task.cancel()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?",)
        if self._stopping.is_set():
            writer.transport.abort()
            return
        self._writers.add(writer)
        try:
            if self.open >= self.limits.max_connections:
                self.refused += 1
                writer.write(BUSY)
                await asyncio.wait_for(writer.drain(), self.limits.header_timeout)
                return
            self.open += 1
            try:
                await self._serve(reader, writer)
            finally:
                self.open -= 1
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError) as exc:
            log.debug("%s: client gone (%s)", peer[0], exc.__class__.__name__)
        finally:
            self._writers.discard(writer)
            writer.transport.abort() if writer.transport.get_write_buffer_size() else writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Requests on one connection, one after another, until it closes,
        idles past keep_alive, is slow past header_timeout or has had
        max_requests."""
        limits = self.limits
        for n in range(limits.max_requests):
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"),
                                              limits.header_timeout if n == 0 else limits.keep_alive)
            except asyncio.LimitOverrunError:
                await self._write(writer, _plain(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, close=True), "GET")
                return
            except asyncio.IncompleteReadError:
                return                                    # the client closed (between requests: as it may)
            request = parse_head(head)
            if request is None:
                await self._write(writer, _plain(HTTPStatus.BAD_REQUEST, close=True), "GET")
                return
            method, target, headers, keep = request
            if self.folder.metrics is not None and urlsplit(target).path == "/metrics":
                # Monitors take turns (one /metrics answered at a time), so any
                # number polling back to back delay a feed's reader by one answer.
                async with self._metrics_turn:
                    answer = await self._respond(method, target, headers)
            else:
                answer = await self._respond(method, target, headers)
            keep = keep and not answer.close and n + 1 < limits.max_requests and not self._stopping.is_set()
            log.debug("%s %s %s -> %d", (writer.get_extra_info("peername") or ("?",))[0], method, target[:200],
                      answer.status)
            await self._write(writer, answer, method, keep)
            if not keep:
                return

    async def _respond(self, method: str, target: str, headers) -> Answer:
        return await asyncio.get_running_loop().run_in_executor(self._workers, respond, self.folder, method,
                                                                target, headers)

    async def _write(self, writer: asyncio.StreamWriter, answer: Answer, method: str, keep: bool = False) -> None:
        status = HTTPStatus(answer.status)
        lines = [f"HTTP/1.1 {status.value} {status.phrase}", f"Server: feedpub/{__version__}",
                 f"Date: {email.utils.formatdate(usegmt=True)}"]
        lines += [f"{k}: {v}" for k, v in answer.headers]
        lines.append("Connection: keep-alive" if keep else "Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        # One write, head and body together: two small segments would wait
        # on the reader's delayed ACK (40 ms a request on a kept connection).
        writer.write(head + answer.body if method != "HEAD" and answer.body else head)
        await asyncio.wait_for(writer.drain(), self.limits.write_timeout)


def parse_head(head: bytes):
    """A request line and headers -> (method, target, headers, keep-alive?),
    or None when it is not HTTP/1.x."""
    line, _, rest = head.partition(b"\r\n")
    parts = line.decode("latin-1").split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.1", "HTTP/1.0") or not parts[1]:
        return None
    method, target, version = parts
    try:
        headers = http.client.parse_headers(io.BytesIO(rest))
    except http.client.HTTPException:
        return None
    connection = (headers.get("Connection") or "").lower()
    keep = "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
    has_body = headers.get("Transfer-Encoding") or (headers.get("Content-Length") or "0").strip() not in ("", "0")
    return method, target, headers, keep and not has_body     # a body is never read: the connection ends after it
