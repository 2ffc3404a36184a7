"""WebSub publisher side: tell the hubs which feeds changed.

Every feed carries `rel="hub"` and `rel="self"` links (render does that);
after a regeneration each hub gets `hub.mode=publish&hub.url=<feed>` for the
feeds whose bytes changed, and for no other. Pings never block publishing:
the files are written first, and `feedpub run` pings from a thread of its own.
A hub that fails is retried with backoff, then logged and left.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

import httpx

from . import __version__

log = logging.getLogger("feedpub.websub")


def ping(hubs, feed_urls, *, retries: int = 3, backoff: float = 1.0, timeout: float = 10.0,
         client: httpx.Client | None = None) -> dict[tuple[str, str], bool]:
    """Publish-ping every hub for every feed URL; returns {(hub, url): delivered}."""
    results: dict[tuple[str, str], bool] = {}
    if not hubs or not feed_urls:
        return results
    own = client is None
    client = client or httpx.Client(timeout=timeout, headers={"User-Agent": f"feedpub/{__version__} (WebSub)"})
    try:
        for hub in hubs:
            for url in feed_urls:
                results[(hub, url)] = _one(client, hub, url, retries, backoff)
    finally:
        if own:
            client.close()
    return results


def _one(client: httpx.Client, hub: str, url: str, retries: int, backoff: float) -> bool:
    for attempt in range(retries + 1):
        try:
            resp = client.post(hub, data={"hub.mode": "publish", "hub.url": url})
            if resp.status_code < 300:
                return True
            reason = f"HTTP {resp.status_code}"
            if 400 <= resp.status_code < 500 and resp.status_code != 429:
                break                                   # the hub refuses; asking again won't help
        except httpx.HTTPError as exc:
            reason = f"{exc.__class__.__name__}: {exc}"
        if attempt < retries:
            log.info("hub %s: ping for %s failed (%s); retrying in %.1fs", hub, url, reason, backoff * 2 ** attempt)
            time.sleep(backoff * 2 ** attempt)
    log.warning("hub %s: could not announce %s: %s", hub, url, reason)
    return False


class Pinger:
    """A background thread that pings hubs, so a slow hub never delays a tick."""

    def __init__(self, hubs, **options):
        self.hubs = tuple(hubs)
        self.options = options
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="feedpub-websub", daemon=True)
        self._thread.start()

    def submit(self, feed_urls) -> None:
        if self.hubs and feed_urls:
            self._queue.put(list(feed_urls))

    def _work(self) -> None:
        with httpx.Client(timeout=self.options.get("timeout", 10.0),
                          headers={"User-Agent": f"feedpub/{__version__} (WebSub)"}) as client:
            while True:
                urls = self._queue.get()
                if urls is None:
                    return
                ping(self.hubs, urls, client=client, **{k: v for k, v in self.options.items() if k != "timeout"})

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)
