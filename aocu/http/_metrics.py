"""The reference CU's Prometheus metrics (reference-cu.md §6.1), on a registry of our own.

`ServiceMetrics` owns one ``CollectorRegistry`` (never prometheus-client's global one, so tests
and several apps in one process do not collide) holding every family the reference exposes, with
its names, labels and buckets: the HTTP ones are observed here by the routes; the evaluation,
GraphQL, process-cache and worker ones are fed by the pipeline through `aocu.api.PipelineMetrics`
(which this class implements; the composition root passes the same object to both). The gauges
are read from the pipeline on each scrape, as the reference collects them. Families where the
reference (prom-client) has an unlabelled total next to its labelled series are `_Family`
collectors, since prometheus-client's own metric classes allow only one of the two. Runs on the
trio thread; nothing here blocks. Exposition is OpenMetrics, as the reference switches its
registry to (so exemplars are shown).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    Summary,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.samples import Exemplar

from aocu.api import PipelineGauges

__all__ = ["METRICS_CONTENT_TYPE", "ServiceMetrics"]

# prom-client (the reference) exposes no ``*_created`` series; prometheus-client's switch is
# process-wide, which is fine: the CU's registry is the only one in its process.
disable_created_metrics()

METRICS_CONTENT_TYPE: Final = CONTENT_TYPE_LATEST   # application/openmetrics-text; version=1.0.0; ...
PREFIX: Final = "ao_cu_"
# withMetrics.js: histogram buckets in seconds.
HTTP_BUCKETS_S: Final = (0.5, 1, 3, 5, 10, 30)
HTTP_LABELS: Final = ("method", "route", "status", "statusGroup")
# OpenMetrics caps an exemplar's label set at 128 UTF-8 characters; longer ids are not attached.
_EXEMPLAR_MAX_CHARS: Final = 100


class _Family:
    """A counter or gauge family whose series are label tuples, ``()`` being the unlabelled one."""

    def __init__(self, kind: str, name: str, documentation: str, labels: tuple[str, ...],
                 registry: CollectorRegistry) -> None:
        self.kind, self.name, self.documentation, self.labels = kind, name, documentation, labels
        self.values: dict[tuple[str, ...], float] = {}
        self.exemplars: dict[tuple[str, ...], Exemplar] = {}
        registry.register(self)

    def inc(self, labels: tuple[str, ...] = (), amount: float = 1.0, exemplar: dict[str, str] | None = None) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount
        if exemplar is not None:
            self.exemplars[labels] = Exemplar(exemplar, amount)

    def set(self, labels: tuple[str, ...], value: float) -> None:
        self.values[labels] = float(value)

    def value(self, labels: tuple[str, ...] = ()) -> float:
        return self.values.get(labels, 0.0)

    def collect(self) -> Iterator[Metric]:
        family: CounterMetricFamily | GaugeMetricFamily
        if self.kind == "counter":
            family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
            for labels, value in self.values.items():
                family.add_metric(labels, value, exemplar=self.exemplars.get(labels))
        else:
            family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
            for labels, value in self.values.items():
                family.add_metric(labels, value)
        yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())


class ServiceMetrics:
    """Every metric family of the reference, plus the Python process collectors (``ao_cu_`` prefix)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.evaluations = _Family(
            "counter", PREFIX + "ao_process_total_evaluations", "The total number of evaluations on a CU",
            ("stream_type", "message_type", "process_error"), r)
        self.graphql_queries = _Family(
            "counter", PREFIX + "ao_process_total_graphql_queries", "The total number of GraphQL queries on a CU",
            ("query_name", "result"), r)
        self.processes = _Family(
            "gauge", PREFIX + "ao_process_total", "The total amount of ao Processes cached on the Compute Unit",
            ("cache_type",), r)
        self.workers = _Family(
            "gauge", PREFIX + "worker_total", "The total amount of workers currently spun-up on the Compute Unit",
            ("worker_type",), r)
        self.worker_tasks = _Family(
            "gauge", PREFIX + "worker_tasks_total", "The total amount of worker tasks on the Compute Unit",
            ("worker_type", "task_type"), r)
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
        self._http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    # -- aocu.api.PipelineMetrics -----------------------------------------------------------------

    def count_evaluation(self, *, stream_type: str, message_type: str, error: bool, process_id: str) -> None:
        """evaluate.js: the unlabelled total and the labelled series (exemplar ``processId``)."""
        self.evaluations.inc()
        exemplar = {"processId": process_id} if 0 < len(process_id) <= _EXEMPLAR_MAX_CHARS else None
        self.evaluations.inc((stream_type, message_type, "true" if error else "false"), exemplar=exemplar)

    def count_graphql_query(self, query_name: str, result: str) -> None:
        self.graphql_queries.inc((query_name, result))

    def gauges_from(self, read: Callable[[], PipelineGauges]) -> None:
        self.on_scrape(lambda metrics: metrics.set_gauges(read()))

    def set_gauges(self, gauges: PipelineGauges) -> None:
        """The collect functions of ao-process.js (process cache) and perf.js (workers)."""
        self.processes.set((), gauges.processes_in_memory + gauges.processes_in_files)
        self.processes.set(("memory",), gauges.processes_in_memory)
        self.processes.set(("file",), gauges.processes_in_files)
        self.workers.set((), sum(gauges.workers.values()))
        for kind, count in gauges.workers.items():
            self.workers.set((kind,), count)
        for task_type, counts in (("pending", gauges.pending_tasks), ("active", gauges.active_tasks)):
            # perf.js sets the unlabelled series to the pending total, then to the active total:
            # the active total is what it shows
            self.worker_tasks.set((), sum(counts.values()))
            for kind, count in counts.items():
                self.worker_tasks.set((kind, task_type), count)

    def on_scrape(self, callback: Callable[[ServiceMetrics], None]) -> None:
        """Run ``callback(self)`` before each exposition (the reference's collect-on-scrape gauges)."""
        self._on_scrape.append(callback)

    def observe_request(self, method: str, route: str, status: int, elapsed_s: float,
                        process_id: object = None) -> None:
        """``withMetrics``: one request's duration, with the process id as exemplar."""
        key = (method, route, status)
        children = self._http_children.get(key)
        if children is None:        # `labels()` costs more than the observation; routes are few
            labels = (method, route, str(status), f"{status // 100}xx")
            children = self._http_children[key] = (self.http_duration.labels(*labels),
                                                    self.http_summary.labels(*labels))
        exemplar = None
        if isinstance(process_id, str) and 0 < len(process_id) <= _EXEMPLAR_MAX_CHARS:
            exemplar = {"process_id": process_id}
        children[0].observe(elapsed_s, exemplar=exemplar)
        children[1].observe(elapsed_s)

    def exposition(self) -> bytes:
        for callback in self._on_scrape:
            callback(self)
        return generate_latest(self.registry)  # type: ignore[no-any-return]
