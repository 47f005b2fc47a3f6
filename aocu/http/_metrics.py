"""The reference CU's Prometheus metrics (reference-cu.md §6.1), on a registry of our own.

`ServiceMetrics` owns one ``CollectorRegistry`` (never prometheus-client's global one, so tests
and several apps in one process do not collide) holding every family the reference exposes, with
its names, labels and buckets: the HTTP ones are observed here by the routes; the evaluation,
GraphQL, process-cache and worker ones are for the pipeline to update (the composition root
passes the same object to both). ``on_scrape`` callbacks refresh gauges the reference collects on
scrape. Runs on the trio thread; ``observe``/``inc`` never block. Exposition is OpenMetrics, as the
reference switches its registry to (so exemplars are shown).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    Summary,
)
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["METRICS_CONTENT_TYPE", "ServiceMetrics"]

METRICS_CONTENT_TYPE: Final = CONTENT_TYPE_LATEST   # application/openmetrics-text; version=1.0.0; ...
PREFIX: Final = "ao_cu_"
# withMetrics.js: histogram buckets in seconds.
HTTP_BUCKETS_S: Final = (0.5, 1, 3, 5, 10, 30)
HTTP_LABELS: Final = ("method", "route", "status", "statusGroup")
# OpenMetrics caps an exemplar's label set at 128 UTF-8 characters; longer ids are not attached.
_EXEMPLAR_MAX_CHARS: Final = 100


class ServiceMetrics:
    """Every metric family of the reference, plus the Python process collectors (``ao_cu_`` prefix)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.evaluations = Counter(
            PREFIX + "ao_process_total_evaluations", "The total number of evaluations on this CU",
            ["stream_type", "message_type", "process_error"], registry=r)
        self.graphql_queries = Counter(
            PREFIX + "ao_process_total_graphql_queries", "The total number of GraphQL queries",
            ["query_name", "result"], registry=r)
        self.processes = Gauge(
            PREFIX + "ao_process_total", "The total number of processes in the cache",
            ["cache_type"], registry=r)
        self.workers = Gauge(
            PREFIX + "worker_total", "The total number of workers", ["worker_type"], registry=r)
        self.worker_tasks = Gauge(
            PREFIX + "worker_tasks_total", "The total number of worker tasks",
            ["worker_type", "task_type"], registry=r)
        self.http_duration = Histogram(
            PREFIX + "http_request_duration_seconds", "Request duration in seconds", HTTP_LABELS,
            buckets=HTTP_BUCKETS_S, registry=r)
        # prometheus-client's Summary has no quantiles: only _count and _sum are exposed.
        self.http_summary = Summary(
            PREFIX + "http_request_summary_seconds", "Request duration in seconds summary", HTTP_LABELS,
            registry=r)
        ProcessCollector(namespace=PREFIX.rstrip("_"), registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self._on_scrape: list[Callable[[ServiceMetrics], None]] = []

    def on_scrape(self, callback: Callable[[ServiceMetrics], None]) -> None:
        """Run ``callback(self)`` before each exposition (the reference's collect-on-scrape gauges)."""
        self._on_scrape.append(callback)

    def observe_request(self, method: str, route: str, status: int, elapsed_s: float,
                        process_id: object = None) -> None:
        """``withMetrics``: one request's duration, with the process id as exemplar."""
        labels = (method, route, str(status), f"{status // 100}xx")
        exemplar = None
        if isinstance(process_id, str) and 0 < len(process_id) <= _EXEMPLAR_MAX_CHARS:
            exemplar = {"process_id": process_id}
        self.http_duration.labels(*labels).observe(elapsed_s, exemplar=exemplar)
        self.http_summary.labels(*labels).observe(elapsed_s)

    def exposition(self) -> bytes:
        for callback in self._on_scrape:
            callback(self)
        return generate_latest(self.registry)  # type: ignore[no-any-return]
