"""Pages that exist only after their script runs, fetched by headless Chromium.

`render = "browser"` on a web source (and `[sources.article] render =
"browser"`) fetches its listing (and article) pages through Playwright
driving the system's Chromium (no browser download): what a person's
browser would show, as HTML. Everything after the fetch is the same as for
plain pages. An optional extra: `pip install -e '.[browser]'`.

The same limits hold as for plain pages: only the source's hosts are
navigated to, a page has its deadline and its size limit, robots.txt is
obeyed.
"""

from __future__ import annotations

import shutil
from datetime import timezone

from .http import FetchError, Http, Page, server_date

CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL = "pip install -e '.[browser]' (Playwright; it drives the system's Chromium, apt-get install chromium)"


def available() -> str | None:
    """Why render = "browser" cannot work here, or None if it can."""
    import importlib.util
    if importlib.util.find_spec("playwright") is None:
        return f"render = \"browser\" needs Playwright: {INSTALL}"
    if not any(shutil.which(name) for name in CHROMIUMS):
        return "render = \"browser\" needs Chromium: apt-get install chromium"
    return None


class Browser:
    """One headless Chromium for one gather, started on first use, used
    from one thread (Playwright's sync API is bound to the thread that
    started it)."""

    def __init__(self, http: Http):
        self.http = http
        self._playwright = self._browser = None

    def _start(self):
        from playwright.sync_api import sync_playwright
        self._playwright = sync_playwright().start()
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
            self._start()
        context = self._browser.new_context(user_agent=self.http.client.headers["User-Agent"])
        try:
            page = context.new_page()
            try:
                response = page.goto(url, wait_until="networkidle", timeout=self.http.deadline * 1000)
            except Exception as exc:                      # Playwright's TimeoutError and navigation errors
                raise FetchError(url, f"the browser could not load it: {str(exc).splitlines()[0]}") from None
            if response is not None and response.status >= 400:
                raise FetchError(url, f"HTTP {response.status}", response.status)
            self.http.check_host(page.url)                # where redirects and scripts took it
            html = page.content().encode("utf-8")
            if len(html) > self.http.max_bytes:
                raise FetchError(url, f"larger than {self.http.max_bytes:,} bytes (the limit of a page)",
                                 permanent=True)
            date = server_date(response.headers.get("date") if response is not None else None)
            self.http.requests += 1
            return Page(url=page.url, status=200, content=html, charset="utf-8", etag=None, last_modified=None,
                        date=date.astimezone(timezone.utc).replace(microsecond=0))
        finally:
            context.close()

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._playwright.stop()
            self._browser = self._playwright = None
