"""A polite HTTP client for `web` sources, on httpx.

Polite means: a User-Agent that names feedpub and the site's contact URL,
robots.txt obeyed, at most `concurrency` requests at once per host with a
minimum delay between them, retries with exponential backoff on 5xx and
timeouts (never on 4xx), and conditional GETs so an unchanged page costs a 304.
"""

from __future__ import annotations

import email.utils
import threading
import time
import urllib.robotparser
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

import httpx

from .. import __version__


class FetchError(Exception):
    """A page could not be had; the message says why (status, timeout ...)."""

    def __init__(self, url: str, reason: str, status: int | None = None, permanent: bool | None = None):
        super().__init__(f"{url}: {reason}")
        self.url, self.reason, self.status = url, reason, status
        # 4xx and robots.txt won't change by asking again soon; timeouts and 5xx may
        self.permanent = permanent if permanent is not None else (status is not None and 400 <= status < 500)


@dataclass(frozen=True)
class Page:
    url: str                       # after redirects
    status: int                    # 200, or 304 for "not modified"
    content: bytes
    charset: str | None            # from Content-Type
    etag: str | None
    last_modified: str | None
    date: datetime                 # the server's Date header (else our clock): "now" for relative dates


class Http:
    def __init__(self, *, contact: str, user_agent: str | None = None, timeout: float = 20.0, retries: int = 2,
                 delay: float = 1.0, concurrency: int = 2, robots: bool = True, backoff: float = 0.5):
        self.client = httpx.Client(
            headers={"User-Agent": user_agent or f"feedpub/{__version__} (+{contact})",
                     "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"},
            timeout=httpx.Timeout(timeout), follow_redirects=True, max_redirects=5)
        self.retries, self.delay, self.backoff, self.robots = retries, delay, backoff, robots
        self.concurrency = concurrency
        self._hosts: dict[str, tuple[threading.Semaphore, threading.Lock, list[float]]] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self._guard = threading.Lock()
        self.requests = 0

    @classmethod
    def for_source(cls, web, contact: str, **overrides) -> Http:
        """A client with a web source's politeness settings."""
        options = dict(user_agent=web.user_agent, timeout=web.timeout, retries=web.retries, delay=web.delay,
                       concurrency=web.concurrency, robots=web.robots)
        return cls(contact=contact, **{**options, **overrides})

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- politeness ------------------------------------------------------------
    def _host(self, url: str):
        host = urlsplit(url).netloc
        with self._guard:
            if host not in self._hosts:
                self._hosts[host] = (threading.Semaphore(self.concurrency), threading.Lock(), [0.0])
            return self._hosts[host]

    def _wait_turn(self, url: str) -> None:
        _, lock, last = self._host(url)
        with lock:
            wait = last[0] + self.delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            last[0] = time.monotonic()

    def allowed(self, url: str) -> bool:
        if not self.robots:
            return True
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._guard:
            known = origin in self._robots
        if not known:
            parser: urllib.robotparser.RobotFileParser | None = urllib.robotparser.RobotFileParser()
            try:
                resp = self._request("GET", origin + "/robots.txt", {})
                if resp.status_code >= 400:
                    parser = None                      # no robots.txt: everything allowed
                else:
                    parser.parse(resp.text.splitlines())
            except FetchError:
                parser = None
            with self._guard:
                self._robots[origin] = parser
        parser = self._robots[origin]
        ua = self.client.headers["User-Agent"]
        return parser is None or parser.can_fetch(ua, url)

    # -- fetching ----------------------------------------------------------------
    def _request(self, method: str, url: str, headers: dict) -> httpx.Response:
        sem, _, _ = self._host(url)
        attempt = 0
        while True:
            with sem:
                self._wait_turn(url)
                self.requests += 1
                try:
                    resp = self.client.request(method, url, headers=headers)
                except httpx.TimeoutException:
                    error, resp = "timed out", None
                except httpx.TooManyRedirects:
                    raise FetchError(url, "too many redirects") from None
                except httpx.HTTPError as exc:
                    error, resp = f"{exc.__class__.__name__}: {exc}", None
            if resp is not None and resp.status_code < 500:
                return resp
            if resp is not None:
                error = f"HTTP {resp.status_code}"
            if attempt >= self.retries:
                raise FetchError(url, error, resp.status_code if resp is not None else None)
            time.sleep(self.backoff * (2 ** attempt))
            attempt += 1

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
        date = None
        if resp.headers.get("Date"):
            try:
                date = email.utils.parsedate_to_datetime(resp.headers["Date"])
            except (TypeError, ValueError):
                date = None
        if date is None or date.tzinfo is None:
            date = datetime.now(timezone.utc)
        return Page(url=str(resp.url), status=resp.status_code, content=resp.content if resp.status_code != 304
                    else b"", charset=resp.charset_encoding, etag=resp.headers.get("ETag"),
                    last_modified=resp.headers.get("Last-Modified"),
                    date=date.astimezone(timezone.utc).replace(microsecond=0))
