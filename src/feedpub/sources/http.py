"""A polite HTTP client for `web` sources, on httpx.

Polite means: a User-Agent that names feedpub and the site's contact URL,
robots.txt obeyed, at most `concurrency` requests at once per host with a
minimum delay between them, retries with exponential backoff on 5xx and
timeouts (never on 4xx), and conditional GETs so an unchanged page costs a 304.
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import socket
import threading
import time
import urllib.robotparser
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from .. import __version__




class HostGate:
    """One host's turn, shared by every web source of this process: at
    most `per_host` requests to it at once, and each source's `delay`
    since the last request to it, whoever made that one. Sources on other
    hosts never wait for it."""

    def __init__(self, per_host: int):
        self.per_host = per_host
        self.slots = threading.BoundedSemaphore(per_host)
        self.turn = threading.Lock()
        self.last = 0.0


_GATES: dict[str, HostGate] = {}
_GATES_LOCK = threading.Lock()
_IN_FLIGHT: list = [None, 0]         # [the process-wide semaphore, its size]


def host_gate(netloc: str, per_host: int) -> HostGate:
    with _GATES_LOCK:
        gate = _GATES.get(netloc)
        if gate is None or gate.per_host != per_host:     # a configuration with another per_host
            gate = _GATES[netloc] = HostGate(per_host)
        return gate


def in_flight(limit: int) -> threading.BoundedSemaphore:
    """The process-wide limit of requests in flight (`[web] max_connections`)."""
    with _GATES_LOCK:
        if _IN_FLIGHT[1] != limit:
            _IN_FLIGHT[:] = [threading.BoundedSemaphore(limit), limit]
        return _IN_FLIGHT[0]


ROBOTS_TTL = 24 * 3600          # seconds a robots.txt is used before it is asked for again (RFC 9309: a day)


def robots_fresh(now: float, fetched_at: float, ttl: float = ROBOTS_TTL) -> bool:
    """Is a robots.txt fetched at `fetched_at` still to be used at `now`
    (a minute of clock adjustment backwards tolerated)?"""
    return -60 <= now - fetched_at < ttl


def _robots_parser(text: str | None):
    if text is None:
        return None
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(text.splitlines())
    return parser


class FetchError(Exception):
    """A page could not be had; the message says why (status, timeout ...)."""

    def __init__(self, url: str, reason: str, status: int | None = None, permanent: bool | None = None):
        super().__init__(f"{url}: {reason}")
        self.url, self.reason, self.status = url, reason, status
        # 4xx and robots.txt won't change by asking again soon; timeouts and 5xx may
        self.permanent = permanent if permanent is not None else (status is not None and 400 <= status < 500)


@dataclass(frozen=True)
class Response:
    """What one request got, read whole within the limits."""

    url: str                       # after redirects
    status_code: int
    headers: httpx.Headers
    content: bytes
    charset: str | None


class _Deflate:
    """HTTP "deflate" is zlib-wrapped by the standard, raw deflate by many servers."""

    def __init__(self):
        self._d = None
        self.unconsumed_tail = b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._d is None:
            raw = len(data) < 2 or (data[0] & 0x0F) != 8 or ((data[0] << 8) | data[1]) % 31
            self._d = zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
        out = self._d.decompress(data, max_length)
        self.unconsumed_tail = self._d.unconsumed_tail
        return out


# -- one deadline per page, headers included ---------------------------------------
# httpx's timeouts bound each wait on the socket, not the whole exchange: a
# server that sends a header line a second is never "timed out" (encode/httpx
# #1450). Every socket wait of a fetch goes through this backend, which cuts
# it to what is left of the page's deadline (kept per thread: a fetch runs on
# the thread that asked for it).
_deadline = threading.local()


def _left(exc_type) -> float | None:
    """None: no deadline is set on this thread; else the seconds left (> 0),
    or `exc_type` raised when none are."""
    ends = getattr(_deadline, "ends", None)
    if ends is None:
        return None
    left = ends - time.monotonic()
    if left <= 0:
        raise exc_type("the deadline of the page passed")
    return left


def _cut(timeout: float | None, exc_type) -> float | None:
    left = _left(exc_type)
    return timeout if left is None else left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _cut(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _cut(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname,
                                                      _cut(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self):
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return _DeadlineStream(self._backend.connect_tcp(host, port, _cut(timeout, httpcore.ConnectTimeout),
                                                         local_address, socket_options))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return _DeadlineStream(self._backend.connect_unix_socket(path, _cut(timeout, httpcore.ConnectTimeout),
                                                                 socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


@functools.lru_cache(maxsize=1)
def _ssl_context():
    """One TLS context (the CA certificates loaded once, 20 ms of CPU) for
    every client of this process: a build over 500 sites makes 500 clients."""
    return httpx.create_ssl_context()


class _Transport(httpx.HTTPTransport):
    """httpx's own transport, its connection pool on the deadline backend."""

    def __init__(self):
        super().__init__(verify=_ssl_context())
        limits = httpx.Limits()
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend())


class _Within:
    """Every socket wait of this thread's fetch ends by `ends` (monotonic)."""

    def __init__(self, ends: float):
        self.ends = ends

    def __enter__(self):
        self.outer = getattr(_deadline, "ends", None)
        _deadline.ends = self.ends if self.outer is None else min(self.ends, self.outer)

    def __exit__(self, *exc):
        _deadline.ends = self.outer


def _netloc(netloc: str) -> str:
    """host[:port], lowercased, without the default ports."""
    netloc = netloc.strip().lower()
    for default in (":80", ":443"):
        if netloc.endswith(default):
            return netloc[:-len(default)]
    return netloc


def _is_private(host: str) -> bool:
    """Does the host name a private, loopback, link-local or reserved address
    (or resolve to one)? A host that does not resolve is not private: its
    fetch fails on its own."""
    host = host.strip("[]")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(info[4][0].split("%")[0])
                         for info in socket.getaddrinfo(host, None)]
        except (OSError, UnicodeError, ValueError):
            return False
    return any(not a.is_global for a in addresses)


@dataclass(frozen=True)
class Page:
    url: str                       # after redirects
    status: int                    # 200, or 304 for "not modified"
    content: bytes
    charset: str | None            # from Content-Type
    etag: str | None
    last_modified: str | None
    date: datetime                 # the server's Date header (else our clock): "now" for relative dates


def server_date(header: str | None) -> datetime:
    """When the server says it answered (its Date header), else now: what
    relative listing dates (3小時前) count back from."""
    date = None
    if header:
        try:
            date = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            date = None
    if date is None or date.tzinfo is None:
        date = datetime.now(timezone.utc)
    return date


class Http:
    def __init__(self, *, contact: str, user_agent: str | None = None, timeout: float = 20.0, retries: int = 2,
                 delay: float = 1.0, concurrency: int = 2, robots: bool = True, backoff: float = 0.5,
                 deadline: float = 60.0, max_bytes: int = 10 * 1024 * 1024, hosts=None,
                 private: bool | None = None, per_host: int = 1, max_connections: int = 32):
        self.client = httpx.Client(
            headers={"User-Agent": user_agent or f"feedpub/{__version__} (+{contact})",
                     "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                     "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(timeout), follow_redirects=False, transport=_Transport())
        self.timeout, self.deadline, self.max_bytes = timeout, deadline, max_bytes
        self.retries, self.delay, self.backoff, self.robots = retries, delay, backoff, robots
        self.concurrency = concurrency      # the source's article pages fetched at once (each within its host's gate)
        self.per_host, self.max_connections = per_host, max_connections
        # Where this client may go: None, anywhere; else these hosts (host[:port]),
        # and private or loopback addresses only when `private` (a start URL is one).
        self.hosts = None if hosts is None else {_netloc(h) for h in hosts}
        self.private = private
        self._resolved: dict[str, bool] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self._guard = threading.Lock()
        self.requests = 0
        self.on_request = lambda: None      # hears of each request as it is sent (progress)
        self.robots_fetched: dict[str, tuple[str | None, float]] = {}   # robots URL -> (text, fetched at)
        self.tally: dict[str, list] = {}     # host -> [requests, 304 answers, seconds on the network]

    @classmethod
    def for_source(cls, web, contact: str, **overrides) -> Http:
        """A client with a web source's politeness settings."""
        starts = [p.url for p in web.start]
        options = dict(user_agent=web.user_agent, timeout=web.timeout, retries=web.retries, delay=web.delay,
                       concurrency=web.concurrency, per_host=web.per_host, max_connections=web.max_connections,
                       robots=web.robots, deadline=web.deadline,
                       max_bytes=web.max_page_size, hosts=[urlsplit(u).netloc for u in starts] + list(web.allow_hosts),
                       private=any(_is_private(urlsplit(u).hostname or "") for u in starts))
        return cls(contact=contact, **{**options, **overrides})

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- politeness ------------------------------------------------------------
    def _gate(self, url: str) -> HostGate:
        return host_gate(_netloc(urlsplit(url).netloc), self.per_host)

    def _wait_turn(self, gate: HostGate) -> None:
        with gate.turn:
            wait = gate.last + self.delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            gate.last = time.monotonic()

    def remember_robots(self, known: dict[str, tuple[str | None, float]], now: float | None = None) -> None:
        """robots.txt files read by earlier gathers ({robots URL: (text, or
        None for none; when fetched, epoch seconds)}): used while younger
        than ROBOTS_TTL, so a quiet gather asks only for its listings."""
        now = time.time() if now is None else now
        for url, (text, fetched_at) in known.items():
            if robots_fresh(now, fetched_at):
                self._robots[url.removesuffix("/robots.txt")] = _robots_parser(text)

    def allowed(self, url: str) -> bool:
        if not self.robots:
            return True
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._guard:
            known = origin in self._robots
        if not known:
            text = None
            try:
                resp = self._request("GET", origin + "/robots.txt", {})
                if resp.status_code < 400:              # none (4xx): everything allowed
                    text = resp.content.decode(resp.charset or "utf-8", "replace")
            except FetchError:
                pass
            with self._guard:
                self._robots[origin] = _robots_parser(text)
                self.robots_fetched[origin + "/robots.txt"] = (text, time.time())
        parser = self._robots[origin]
        ua = self.client.headers["User-Agent"]
        return parser is None or parser.can_fetch(ua, url)

    # -- where it may go ------------------------------------------------------------
    def check_host(self, url: str) -> None:
        """Refuse a URL this source may not fetch: another host than its start
        URLs' (unless allow_hosts names it), or a private or loopback address
        when no start URL is one (a listing or a redirect must not lead the
        publisher into the network it runs in)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "not an http(s) URL", permanent=True)
        if self.hosts is not None and _netloc(parts.netloc) not in self.hosts:
            raise FetchError(url, f"{parts.netloc} is not one of this source's hosts (add it to allow_hosts "
                                  f"to fetch it)", permanent=True)
        if self.private is False:
            host = parts.hostname
            with self._guard:
                private = self._resolved.get(host)
            if private is None:
                private = _is_private(host)
                with self._guard:
                    self._resolved[host] = private
            if private:
                raise FetchError(url, f"{host} is a private or loopback address, and no start URL is",
                                 permanent=True)

    # -- fetching ----------------------------------------------------------------
    def _request(self, method: str, url: str, headers: dict) -> Response:
        """One page: redirects followed (each one checked), retried on 5xx and
        timeouts, read within the size limit and one deadline, counted from
        the first byte sent (not the wait for this host's turn) to the last
        byte read, headers, redirects and retries included."""
        gate = self._gate(url)
        attempt = 0
        ends = None
        while True:
            with gate.slots, in_flight(self.max_connections):
                self._wait_turn(gate)
                ends = ends or time.monotonic() + self.deadline
                self.requests += 1
                self.on_request()
                sent, resp = time.monotonic(), None
                try:
                    with _Within(ends):
                        resp = self._fetch(method, url, headers, ends)
                except httpx.TimeoutException:
                    error, resp = self._late(ends) or "timed out", None
                except httpx.HTTPError as exc:
                    error, resp = f"{exc.__class__.__name__}: {exc}", None
                finally:
                    self._count(url, time.monotonic() - sent, resp)
            if resp is not None and resp.status_code < 500:
                return resp
            if resp is not None:
                error = f"HTTP {resp.status_code}"
            pause = self.backoff * (2 ** attempt)
            if attempt >= self.retries or time.monotonic() + pause >= ends:
                raise FetchError(url, error, resp.status_code if resp is not None else None)
            time.sleep(pause)
            attempt += 1

    def _count(self, url: str, seconds: float, resp) -> None:
        """One request in this client's per-host tally."""
        with self._guard:
            tally = self.tally.setdefault(_netloc(urlsplit(url).netloc), [0, 0, 0.0])
            tally[0] += 1
            tally[1] += resp is not None and resp.status_code == 304
            tally[2] += seconds

    def _late(self, ends: float) -> str | None:
        """The deadline's message, if it has passed."""
        if time.monotonic() >= ends - 0.05:
            return f"took longer than {self.deadline:.0f}s in all (the deadline of a page)"
        return None

    def _fetch(self, method: str, url: str, headers: dict, ends: float) -> Response:
        for _ in range(6):
            self.check_host(url)
            with self.client.stream(method, url, headers=headers) as resp:
                if resp.is_redirect and resp.headers.get("Location"):
                    url = urljoin(url, resp.headers["Location"])
                    continue
                content = self._read(url, resp, ends) if resp.status_code < 300 else b""
                return Response(url=url, status_code=resp.status_code, headers=resp.headers, content=content,
                                charset=resp.charset_encoding)
        raise FetchError(url, "too many redirects")

    def _read(self, url: str, resp: httpx.Response, ends: float) -> bytes:
        """The body, decompressed as it arrives, refused past the size limit
        (counted after decompression: a gzip bomb stops at the limit) or the
        deadline (a server sending a byte every few seconds stops there)."""
        encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            inflate = _Deflate()
        elif encoding in ("identity", ""):
            inflate = None
        else:
            raise FetchError(url, f"the server sent a {encoding} body, which feedpub did not ask for",
                             permanent=True)
        parts, size = [], 0
        for chunk in resp.iter_raw():                        # as it arrives, whatever its size
            if time.monotonic() > ends:
                raise FetchError(url, f"took longer than {self.deadline:.0f}s in all (the deadline of a page)")
            while chunk:
                data = inflate.decompress(chunk, self.max_bytes + 1 - size) if inflate else chunk
                chunk = inflate.unconsumed_tail if inflate else b""
                size += len(data)
                if size > self.max_bytes:
                    raise FetchError(url, f"larger than {self.max_bytes:,} bytes (the limit of a page)",
                                     permanent=True)
                parts.append(data)
        if time.monotonic() > ends:
            raise FetchError(url, f"took longer than {self.deadline:.0f}s in all (the deadline of a page)")
        return b"".join(parts)

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Page:
        if not self.allowed(url):
            raise FetchError(url, "disallowed by robots.txt", permanent=True)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        resp = self._request("GET", url, headers)
        if resp.status_code >= 400:
            raise FetchError(url, f"HTTP {resp.status_code}", resp.status_code)
        date = server_date(resp.headers.get("Date"))
        return Page(url=resp.url, status=resp.status_code, content=resp.content if resp.status_code != 304
                    else b"", charset=resp.charset, etag=resp.headers.get("ETag"),
                    last_modified=resp.headers.get("Last-Modified"),
                    date=date.astimezone(timezone.utc).replace(microsecond=0))
