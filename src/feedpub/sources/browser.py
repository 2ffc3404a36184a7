"""Pages that exist only after their script runs, fetched by headless Chromium.

`render = "browser"` on a web source (and `[sources.article] render =
"browser"`) fetches its listing (and article) pages through Playwright
driving the system's Chromium (no browser download): what a person's
browser would show, as HTML. Everything after the fetch is the same as for
plain pages. An optional extra: `pip install -e '.[browser]'`.

The same limits hold as for plain pages: every request a page makes (its
scripts, styles, images, frames, fetch/XHR, beacons, WebSockets,
navigations and each hop of a redirect) goes to the source's hosts only or
is refused and reported; service workers are blocked; a page has its
deadline and its size limit, robots.txt is obeyed. A page's script is the page's own business, so the limits are kept
from outside it: Playwright's calls that take no timeout (the page's HTML,
a script evaluated in it) cannot hang on a script that never yields,
because a watchdog thread kills Chromium when the page's deadline passes or
when Chromium's memory passes `browser_memory`; that page is reported, and
the next one starts a new Chromium. The page's size is measured inside it
before its HTML is copied out.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import threading
import time
from datetime import timezone

from .http import FetchError, Http, Page, server_date

CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL = "pip install -e '.[browser]' (Playwright; it drives the system's Chromium, apt-get install chromium)"
POLL = 0.1            # seconds between two looks at the deadline and Chromium's memory
_STARTING = threading.Lock()   # one Playwright driver started at a time (each finds its own by its pid)


def available() -> str | None:
    """Why render = "browser" cannot work here, or None if it can."""
    import importlib.util
    if importlib.util.find_spec("playwright") is None:
        return f"render = \"browser\" needs Playwright: {INSTALL}"
    if not any(shutil.which(name) for name in CHROMIUMS):
        return "render = \"browser\" needs Chromium: apt-get install chromium"
    return None


# -- Chromium's processes, from /proc --------------------------------------------------

def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc (empty where there is none)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return children
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                ppid = int(f.read().rpartition(b")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue                                  # gone meanwhile
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(roots) -> list[int]:
    """Every process below `roots` (children, their children …)."""
    children = _children()
    found, todo = [], list(roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _is_chromium(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/comm") as f:
            name = f.read().strip().lower()
    except OSError:
        return False
    return "chrom" in name


def _memory(pid: int) -> int:
    """A process's proportional share of memory (PSS: shared pages counted
    once across Chromium's processes), else its resident size, in bytes."""
    for path, key in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            continue
    return 0


def chromium_processes(roots) -> list[int]:
    """The Chromium processes below `roots` (a Browser's Playwright driver)."""
    return [pid for pid in descendants(roots) if _is_chromium(pid)]


def chromium_memory(roots) -> int:
    return sum(_memory(pid) for pid in chromium_processes(roots))


def verdict(now: float, ends: float, memory: int, cap: int, deadline: float) -> str | None:
    """Why a page must be given up now (its deadline passed, or Chromium
    holds more than the cap), or None."""
    if now >= ends:
        return f"took longer than {deadline:.0f}s in all (the deadline of a page)"
    if memory > cap:
        return (f"the browser grew past {cap:,} bytes of memory (browser_memory) while it rendered the page; "
                f"Chromium was stopped")
    return None


class _Watchdog:
    """While a page is fetched: kills Chromium once the page's deadline
    passes or its memory passes the cap (from its own thread: Playwright's
    sync API cannot be called from here, but a killed browser ends every
    call waiting on it). `reason` says which, if it fired."""

    def __init__(self, roots, ends: float, cap: int, deadline: float):
        self.roots, self.ends, self.cap, self.deadline = roots, ends, cap, deadline
        self.reason: str | None = None
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="feedpub-browser-watchdog", daemon=True)

    def __enter__(self) -> _Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._done.wait(POLL):
            memory = chromium_memory(self.roots)
            self.peak = max(self.peak, memory)
            reason = verdict(time.monotonic(), self.ends, memory, self.cap, self.deadline)
            if reason is not None:
                self.reason = reason
                for pid in chromium_processes(self.roots):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                return


# The page's size as HTML, counted inside it: a script-built DOM of 60 MB is
# refused without being copied into Python (UTF-16 code units: at most the
# bytes of its UTF-8, so a page under the limit is never refused here).
SIZE = "() => document.documentElement ? document.documentElement.outerHTML.length : 0"


class Browser:
    """One headless Chromium for one gather, started on first use, used
    from one thread (Playwright's sync API is bound to the thread that
    started it), one page at a time."""

    def __init__(self, http: Http, memory: int = 1024 ** 3):
        self.http = http
        self.memory = memory
        self.restarts = 0                    # Chromiums killed by a watchdog (tests, logs)
        self.refused: dict[str, list[str]] = {}   # page -> what it asked for and was refused
        self._calls: list[tuple[str, bytes]] | None = None   # while `calls` runs: the page's fetch/XHR answers
        self._playwright = self._browser = None
        self._roots: list[int] = []

    def _start(self):
        from playwright.sync_api import sync_playwright
        if self._playwright is None:
            # Its driver is a new child of this process: Chromium runs below
            # it, apart from other sources' browsers (each has its own driver).
            with _STARTING:
                before = set(_children().get(os.getpid(), ()))
                self._playwright = sync_playwright().start()
                self._roots = sorted(set(_children().get(os.getpid(), ())) - before)
        executable = next(path for path in map(shutil.which, CHROMIUMS) if path)
        self._browser = self._playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync",
                  "--disable-component-update", "--no-first-run"])

    def get(self, url: str, **_ignored) -> Page:
        """The page as the browser shows it once its scripts ran (no
        conditional GET: a rendered page has no validators of its own)."""
        self.http.check_host(url)
        if not self.http.allowed(url):
            raise FetchError(url, "disallowed by robots.txt", permanent=True)
        if self._browser is None:
            self._start()                    # Chromium's start is not the page's time
        ends = time.monotonic() + self.http.deadline
        with _Watchdog(self._roots, ends, self.memory, self.http.deadline) as watchdog:
            try:
                return self._render(url, ends)
            except FetchError:
                raise
            except Exception as exc:                    # Playwright's errors, a browser killed under it
                if watchdog.reason is None:
                    raise FetchError(url, f"the browser could not load it: {str(exc).splitlines()[0]}") from None
            finally:
                if watchdog.reason is not None:
                    self._forget_browser()
        raise FetchError(url, watchdog.reason, permanent=watchdog.reason.startswith("the browser grew"))

    def calls(self, url: str) -> list[tuple[str, bytes]]:
        """The fetch/XHR requests the page's scripts made while it loaded,
        with their answers, in the order made (within the same limits as
        any page): how `suggest` finds the endpoint a listing is filled
        from when no script names it plainly."""
        self._calls = []
        try:
            self.get(url)
            return self._calls
        finally:
            self._calls = None

    def _render(self, url: str, ends: float) -> Page:
        # No service worker (its fetches pass no route), no downloads; every
        # request of the page, its frames, popups and workers goes through
        # `_route`, and every WebSocket through `_socket`.
        context = self._browser.new_context(user_agent=self.http.client.headers["User-Agent"],
                                            service_workers="block", accept_downloads=False)
        refused: list[str] = []
        context.route("**/*", lambda route: self._route(route, ends, refused))
        context.route_web_socket(re.compile(".*"), lambda socket: self._socket(socket, refused))
        try:
            page = context.new_page()
            page.set_default_timeout(max(1.0, (ends - time.monotonic()) * 1000))
            try:
                response = page.goto(url, wait_until="networkidle", timeout=max(1.0, (ends - time.monotonic()) * 1000))
            except Exception:                             # Playwright's TimeoutError and navigation errors
                if time.monotonic() >= ends:
                    raise FetchError(url, f"took longer than {self.http.deadline:.0f}s in all "
                                          f"(the deadline of a page)") from None
                raise
            if response is not None and response.status >= 400:
                raise FetchError(url, f"HTTP {response.status}", response.status)
            self.http.check_host(page.url)                # where redirects and scripts took it
            if page.evaluate(SIZE) > self.http.max_bytes:
                raise FetchError(url, f"larger than {self.http.max_bytes:,} bytes (the limit of a page)",
                                 permanent=True)
            html = page.content().encode("utf-8")
            if len(html) > self.http.max_bytes:
                raise FetchError(url, f"larger than {self.http.max_bytes:,} bytes (the limit of a page)",
                                 permanent=True)
            date = server_date(response.headers.get("date") if response is not None else None)
            self.http.requests += 1
            return Page(url=page.url, status=200, content=html, charset="utf-8", etag=None, last_modified=None,
                        date=date.astimezone(timezone.utc).replace(microsecond=0))
        finally:
            if refused:
                self.refused.setdefault(url, []).extend(refused)
            try:
                context.close()                           # the page and everything it opened
            except Exception:
                pass                                      # a browser killed under it: nothing left to close

    def _route(self, route, ends: float, refused: list[str]) -> None:
        """One request of the page: made (by Playwright, not Chromium, with
        redirects not followed) only to this source's hosts and within the
        page's deadline and size limit. A redirect is handed to Chromium as
        it came, so the request that follows it comes back here."""
        url = route.request.url
        try:
            self.http.check_host(url)
        except FetchError:
            refused.append(url)
            if route.request.is_navigation_request():
                route.fulfill(status=204)    # "no content": the frame stays on the page it shows
            else:
                route.abort("blockedbyclient")
            return
        left = ends - time.monotonic()
        if left <= 0:
            route.abort("timedout")
            return
        try:
            response = route.fetch(max_redirects=0, timeout=left * 1000)
        except Exception:                                  # refused, timed out, the browser gone
            route.abort("failed")
            return
        if len(response.body()) > self.http.max_bytes:
            refused.append(f"{url} (larger than {self.http.max_bytes:,} bytes)")
            route.abort("blockedbyclient")
            return
        if self._calls is not None and route.request.resource_type in ("fetch", "xhr") and response.ok:
            self._calls.append((url, response.body()))
        route.fulfill(response=response)

    def _socket(self, socket, refused: list[str]) -> None:
        """A WebSocket the page opens: to this source's hosts only."""
        try:
            self.http.check_host(socket.url.replace("ws", "http", 1))
        except FetchError:
            refused.append(socket.url)
            socket.close(code=1008, reason="not one of this source's hosts")
            return
        socket.connect_to_server()

    def _forget_browser(self) -> None:
        """After a watchdog killed Chromium: the next page starts another."""
        self.restarts += 1
        try:
            self._browser.close()
        except Exception:
            pass
        self._browser = None

    def close(self) -> None:
        if self._browser is not None:
            try:
                self._browser.close()
            except Exception:
                pass
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None
