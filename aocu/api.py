"""The port between the HTTP service and the evaluation pipeline.

`ComputeUnitApi` is what routes call; the pipeline implements it, tests use
fakes. Methods return response *bodies* exactly as the reference CU sends them
(JSON-ready dicts in the reference's key order, or raw memory bytes for
``/state``), and raise `aocu.errors.AocuError` subclasses whose ``http_status``
the HTTP layer maps once. Evaluation started by a call runs in the pipeline's
own nursery: cancelling the awaiting request (for example at
``BUSY_THRESHOLD``) never cancels the evaluation, which goes on and persists
its results for later requests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from aocu.pipeline._bus import EventBus

SortOrder = Literal["ASC", "DESC"]


@dataclass(frozen=True, slots=True)
class StateBody:
    """``GET /state`` answer: raw memory plus the ``Last-*`` headers (None: header omitted)."""

    memory: bytes
    last_timestamp: int | None = None
    last_ordinate: str | None = None
    last_block_height: int | None = None


@dataclass(frozen=True, slots=True)
class PipelineGauges:
    """What the reference's gauges show, read from the pipeline on each scrape (§6.1).

    ``workers``, ``pending_tasks`` and ``active_tasks`` are by worker type (``primary``,
    ``dry-run``): wasm threads allowed, evaluations waiting for one, evaluations running.
    """

    processes_in_memory: int = 0       # hot processes (the reference's LRU)
    processes_in_files: int = 0        # drained to a file and not hot again (its drainedToFile map)
    workers: Mapping[str, int] = field(default_factory=dict)
    pending_tasks: Mapping[str, int] = field(default_factory=dict)
    active_tasks: Mapping[str, int] = field(default_factory=dict)


class PipelineMetrics(Protocol):
    """The port the pipeline reports metrics through (the HTTP layer's `ServiceMetrics` implements
    it with prometheus-client; the pipeline never imports it)."""

    def count_evaluation(self, *, stream_type: str, message_type: str, error: bool, process_id: str) -> None:
        """One evaluated message: ``stream_type`` primary|dry-run, ``message_type``
        scheduled|assignment|cron|dry-run."""
        ...

    def count_graphql_query(self, query_name: str, result: str) -> None:
        """One gateway GraphQL query: GetTransactionMeta|GetBlocks|GetAoProcessCheckpoints, success|error."""
        ...

    def gauges_from(self, read: Callable[[], PipelineGauges]) -> None:
        """Call ``read()`` on every scrape for the process and worker gauges."""
        ...


class CachedResult(dict[str, Any]):
    """A dry-run body served from the dry-run result cache (``was_cached``: the HTTP layer then
    un-counts the request from the rate limiter, as the reference does, §1.7)."""

    was_cached = True


class ComputeUnitApi(Protocol):
    events: EventBus

    def identity(self) -> dict[str, Any]:
        """``GET /`` body (timestamp, address, ...), as reference-cu.md §1.1."""
        ...

    async def read_result(self, process_id: str, message_id: str) -> dict[str, Any]:
        """``GET /result/:messageTxId?process-id`` body (§1.3)."""
        ...

    async def read_results(self, process_id: str, *, from_: str | None, to: str | None,
                           sort: SortOrder, limit: int) -> dict[str, Any]:
        """``GET /results/:processId`` body with cursors (§1.4)."""
        ...

    async def read_cron_results(self, process_id: str, *, from_: str | None, to: str | None,
                                sort: SortOrder, limit: int) -> dict[str, Any]:
        """``GET /cron/:processId`` body (§1.5)."""
        ...

    async def read_state(self, process_id: str, to: int | None) -> StateBody:
        """``GET /state/:processId[?to]`` (§1.6)."""
        ...

    async def dry_run(self, process_id: str, message: dict[str, Any], *, to: str | None,
                      max_age_ms: int | None) -> dict[str, Any]:
        """``POST /dry-run?process-id[&to]`` body (§1.7); persists nothing."""
        ...
