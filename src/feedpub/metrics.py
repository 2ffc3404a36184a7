"""`/metrics` for monitoring systems, in the Prometheus text format.

Read from the store (at most once a second, however many ask), so `feedpub
serve` reports a publisher that runs in another process (or on another
machine, on a PostgreSQL store) as
well as `feedpub run --serve` reports itself: per source its last run and
success, articles, failures and gather time; the last regeneration's files
and time, and the totals; and the serving process's own (prometheus_client's
process collector). Off unless `[serve] metrics = true`; never a file in the
output folder.
"""

from __future__ import annotations

import threading
import time

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.process_collector import ProcessCollector

CONTENT_TYPE = CONTENT_TYPE_LATEST


class StoreCollector:
    def __init__(self, store):
        self.store = store

    def collect(self):
        status = self.store.status()
        per_source = [
            ("feedpub_source_last_run_timestamp_seconds", "When the source's last gather ended.", "last_run"),
            ("feedpub_source_last_success_timestamp_seconds", "When the source last gathered without error.",
             "last_success"),
            ("feedpub_source_last_error_timestamp_seconds", "When a gather of the source last failed.",
             "last_error_at"),
        ]
        for name, doc, key in per_source:
            family = GaugeMetricFamily(name, doc, labels=["source"])
            for row in status["sources"]:
                if row.get(key) is not None:
                    family.add_metric([row["source"]], row[key].timestamp())
            yield family
        numbers = [
            ("feedpub_source_articles", "Files and pages the source's stored articles came from.", "articles"),
            ("feedpub_source_failures", "Failed gathers of the source in a row (0: healthy).", "failures"),
            ("feedpub_source_open_errors", "Files or pages of the source with an unresolved error.", "open_errors"),
            ("feedpub_source_open_warnings", "Warnings of the source not resolved since (a field a page lacked, "
                                             "a pager not found …).", "open_warnings"),
            ("feedpub_source_last_gather_duration_seconds", "How long the source's last gather took.",
             "last_duration"),
            ("feedpub_source_last_new_articles", "Articles the source's last gather stored for the first time.",
             "last_new"),
        ]
        for name, doc, key in numbers:
            family = GaugeMetricFamily(name, doc, labels=["source"])
            for row in status["sources"]:
                family.add_metric([row["source"]], float(row.get(key) or 0))
            yield family
        last = self.store.regenerations()
        for name, doc, key in (
                ("feedpub_regeneration_last_timestamp_seconds", "When the feeds were last regenerated.", "at"),
                ("feedpub_regeneration_last_files_written", "Files the last regeneration wrote.", "written"),
                ("feedpub_regeneration_last_duration_seconds", "How long the last regeneration took.", "duration")):
            family = GaugeMetricFamily(name, doc)
            if key in last:
                family.add_metric([], float(last[key]))
            yield family
        yield _counter("feedpub_regenerations", "Regenerations that wrote files.", last.get("count", 0))
        yield _counter("feedpub_files_written", "Files regenerations have written.", last.get("files", 0))
        yield GaugeMetricFamily("feedpub_processes", "Publishers running on this store (heartbeats).",
                                value=float(len(status["processes"])))
        for name, doc, key in (
                ("feedpub_host_requests", "Requests web sources made to the host.", "requests"),
                ("feedpub_host_not_modified", "Of them, answered 304 Not Modified.", "not_modified"),
                ("feedpub_host_network_seconds", "Seconds web sources spent waiting on the host's answers.",
                 "network_seconds")):
            family = CounterMetricFamily(name, doc, labels=["host"])
            for row in status.get("hosts", []):
                family.add_metric([row["host"]], float(row[key]))
            yield family


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc)
    family.add_metric([], float(value))
    return family


SNAPSHOT_AGE = 1.0      # seconds a rendered /metrics page is answered again before the store is read anew


def due(now: float, rendered_at: float | None, max_age: float = SNAPSHOT_AGE) -> bool:
    """Must /metrics be rendered again (read from the store), or is the last
    rendering young enough to answer with?"""
    return rendered_at is None or now - rendered_at >= max_age


def exposition(store, clock=time.monotonic):
    """A function that renders the metrics page (bytes), for the server:
    from a snapshot at most SNAPSHOT_AGE old, so any number of monitors
    polling it read the store at most once a second, and readers of the
    feeds never wait behind them. One thread renders; the others answer
    with the last snapshot meanwhile."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store))
    ProcessCollector(registry=registry)
    snapshot: list = [None, b""]                 # [rendered at, bytes]
    rendering = threading.Lock()

    def render() -> bytes:
        if due(clock(), snapshot[0]) and rendering.acquire(blocking=snapshot[0] is None):
            try:
                if due(clock(), snapshot[0]):
                    snapshot[1] = generate_latest(registry)
                    snapshot[0] = clock()
            finally:
                rendering.release()
        return snapshot[1]
    return render
