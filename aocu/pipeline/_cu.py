"""`ComputeUnit`: the pipeline behind the HTTP routes (implements `aocu.api.ComputeUnitApi`).

Owns the per-process stream queues and runs every evaluation stream as a task
of the CU's long-lived nursery (not the request's), so a request that stops
waiting (busy threshold, client gone) never cancels evaluation: the stream
finishes and persists its rows for later requests. At most one stream runs per
process; requests that arrive while it runs are batched into the next one,
which evaluates to the furthest target among them (issue 4, item 1).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import trio

from aocu import jsjson
from aocu.api import CachedResult, PipelineGauges, PipelineMetrics, SortOrder, StateBody
from aocu.errors import AocuError, BusyError, InvalidMessageError, InvalidRequestError, TooEarlyError
from aocu.stores import CursorError, MemoryPoint, RangeBound, Sort, encode_cursor, parse_cursor, resolve_sort

from ._bus import EventBus
from ._events import Event, MessageEvaluated
from ._memcache import Hot
from ._runner import ProcessRunner, RunOutcome, Target

_EMPTY_RESULT: dict[str, Any] = {"Messages": [], "Assignments": [], "Spawns": [], "Output": ""}
CRON_LIMIT_MAX = 1000
DRY_RUN_CACHE_ENTRIES = 1000
#: chainEvaluation.js: a request chains to a pending stream whose target is before its own plus 10 s.
CHAIN_WINDOW_MS = 10_000
T = TypeVar("T")
log = logging.getLogger("aocu.pipeline")


@dataclass(slots=True)
class _Waiter:
    target: Target
    done: trio.Event = field(default_factory=trio.Event)
    outcome: RunOutcome | None = None
    error: BaseException | None = None


@dataclass(slots=True)
class _Queue:
    waiting: list[_Waiter] = field(default_factory=list)
    running: bool = False
    target: Target | None = None      # where the running stream evaluates to
    current_nonce: int = 0            # the nonce it most recently evaluated (0: none yet)


def _furthest(targets: list[Target]) -> Target:
    if any(t.timestamp is None for t in targets):
        return Target()
    return max(targets, key=lambda t: (t.timestamp, int(t.ordinate) if (t.ordinate or "").isdigit() else -1))


def _chains_to(running: Target, request: Target) -> bool:
    """Whether the reference would make ``request`` wait on a stream to ``running`` (§2.17.1).

    An identical request is a repeat; otherwise it chains to a stream whose target is a timestamp
    earlier than its own plus the 10 s window (a request for the latest chains to any such stream);
    streams to the latest are never chained to.
    """
    if running == request:
        return True
    if running.timestamp is None:
        return False
    return request.timestamp is None or running.timestamp < request.timestamp + CHAIN_WINDOW_MS


def _later_than(point: MemoryPoint, target: Target) -> bool:
    """``isEarlierThan(candidate, before)`` (§A.2): timestamps compared as decimal strings, then
    cron ids; the ordinate is not compared."""
    at, wanted = str(point.timestamp or 0), str(target.timestamp or 0)
    if at == wanted:
        return (target.cron or "") < (point.cron or "")
    return wanted < at


def too_early(point: MemoryPoint, timestamp: int | None, ordinate: str | None) -> TooEarlyError:
    """The 425 of the "old message" rule (§2.5.8), worded as ``loadProcess`` rewrites it."""
    where = f"at nonce {ordinate}" if ordinate else f"at timestamp {timestamp}"
    return TooEarlyError(f"message {where} not found cached, and earlier than latest known nonce {point.ordinate}")


def check_not_older(outcome: RunOutcome, target: Target, ordinate: str | None) -> None:
    """Memory-only reads (``/state``, dry-runs) of a point older than the state the CU starts from
    answer 425, as the reference's ``maybeOld``; the state at or before the target is used as is."""
    point = outcome.point
    if outcome.exact_hit and point is not None and target.timestamp is not None and _later_than(point, target):
        raise too_early(point, target.timestamp, ordinate)


def _bounds(from_: str | None, to: str | None, sort: SortOrder | None, *,
            override: bool) -> tuple[RangeBound | None, RangeBound | None, str]:
    """The ``/results``/``/cron`` bounds and sort, or the reference's answer to bad ones (400 here).

    The reference checks them with ``findEvaluationsSchema``'s argument schema, so its text is
    ``Invalid Arguments '<from|to|sort>': <Zod's message>.``, one issue per bad argument.
    """
    bounds: dict[str, RangeBound | None] = {}
    issues: list[str] = []
    for name, value in (("from", from_), ("to", to)):
        try:
            bounds[name] = parse_cursor(value)
        except CursorError as exc:
            bounds[name] = None
            issues.append(f"Invalid Arguments '{name}': {exc.issue or exc.message}.")
    try:
        used = resolve_sort(bounds["from"], bounds["to"], sort, override=override)
    except CursorError as exc:
        issues.append(f"Invalid Arguments 'sort': {exc.issue or exc.message}.")
        used = Sort.ASC
    if issues:
        raise InvalidRequestError(" | ".join(issues))
    return bounds["from"], bounds["to"], used


def _nonce_of(ordinate: str | None) -> int:
    """``+ordinate`` for a scheduled message's ordinate (its nonce); 0 for anything else."""
    try:
        return int(ordinate) if ordinate else 0
    except ValueError:
        return 0


#: Evaluations to a target before a memory-only read gives up on taking the process's state.
TAKE_STATE_TRIES = 4


class ComputeUnit:
    def __init__(self, runner: ProcessRunner, nursery: trio.Nursery, *, address: str = "",
                 dry_run_result_max_age_s: float = 60.0, nonce_limit: int = 0,
                 metrics: PipelineMetrics | None = None) -> None:
        self.runner = runner
        self.events: EventBus = runner.events
        self.events.listen(self._track_progress)
        #: where evaluations are counted and gauges read (the HTTP layer's ServiceMetrics, §6.1);
        #: ``run_cu`` serves ``/metrics`` from it
        self.metrics = metrics
        if metrics is not None:
            self.events.listen(self._count_evaluation)
            metrics.gauges_from(self.gauges)
        #: HYDRATION_MODE_NONCE_LIMIT (§2.17.3); 0 disables the check.
        self.nonce_limit = nonce_limit
        self._nursery = nursery
        runner.background = nursery          # checkpoint writes and uploads outlive their trigger
        self._queues: dict[str, _Queue] = {}
        self._stream_ids = itertools.count(1)
        self.address = address
        # Dry-run results by (process, to, body): the reference's DRY_RUN_RESULT_MAX_AGE cache,
        # keyed by process id too (docs/differences.md).
        self._dry_runs: dict[tuple[str, str | None, str | None], tuple[float, dict[str, Any]]] = {}
        self.dry_run_result_max_age_s = dry_run_result_max_age_s

    # -- streams --------------------------------------------------------------------------
    def _track_progress(self, event: Event) -> None:
        """The running stream's most recently evaluated nonce (readState's ``currentNonce``)."""
        if isinstance(event, MessageEvaluated):
            queue = self._queues.get(event.process_id)
            if queue is not None and queue.running:
                queue.current_nonce = _nonce_of(event.ordinate)

    def _count_evaluation(self, event: Event) -> None:
        if isinstance(event, MessageEvaluated) and self.metrics is not None:
            self.metrics.count_evaluation(stream_type="primary", message_type=event.kind, error=event.error,
                                          process_id=event.process_id)

    def gauges(self) -> PipelineGauges:
        """The process-cache and worker gauges (ao-process.js, perf.js), read on each scrape."""
        runner = self.runner
        limiters = {"primary": runner.wasm_limiter, "dry-run": runner.dry_run_limiter}
        return PipelineGauges(
            processes_in_memory=len(runner.memcache), processes_in_files=runner.memcache.processes_in_files,
            workers={kind: int(lim.total_tokens) for kind, lim in limiters.items()},
            pending_tasks={kind: lim.statistics().tasks_waiting for kind, lim in limiters.items()},
            active_tasks={kind: lim.borrowed_tokens for kind, lim in limiters.items()})

    def stream_running(self, process_id: str) -> bool:
        queue = self._queues.get(process_id)
        return queue is not None and queue.running

    def check_nonce_limit(self, process_id: str, target: Target, eval_to_nonce: int | None = None) -> None:
        """Fail fast instead of waiting on a stream that is far behind (§2.17.3, HTTP 503).

        Applies when the request would wait on the running stream of its process: its target
        nonce (``eval_to_nonce``, the SU's latest, for a dry-run to the latest) more than
        ``nonce_limit`` nonces ahead of what that stream has evaluated so far, once it has
        evaluated anything.
        """
        queue = self._queues.get(process_id)
        if self.nonce_limit <= 0 or queue is None or not queue.running or queue.target is None:
            return
        if not _chains_to(queue.target, target):
            return
        nonce_to = _nonce_of(target.ordinate) or eval_to_nonce
        if nonce_to is None:
            return
        nonce_from = queue.current_nonce
        remaining = nonce_to - nonce_from
        if remaining > self.nonce_limit and nonce_from != 0:
            raise BusyError(f"Nonce limit exceeded: process {process_id} is currently hydrating with "
                            f">{self.nonce_limit} nonces remaining ({remaining} remaining). "
                            "Please try again later.")

    async def evaluate_to(self, process_id: str, target: Target, *, eval_to_nonce: int | None = None) -> RunOutcome:
        """Bring ``process_id`` up to ``target``, joining or queueing behind a running stream."""
        self.check_nonce_limit(process_id, target, eval_to_nonce)
        queue = self._queues.setdefault(process_id, _Queue())
        waiter = _Waiter(target)
        queue.waiting.append(waiter)
        if not queue.running:
            queue.running = True
            self._nursery.start_soon(self._run_queue, process_id, queue)
        await waiter.done.wait()          # cancelling this wait leaves the stream running
        if waiter.error is not None:
            raise waiter.error
        assert waiter.outcome is not None
        return waiter.outcome

    async def _run_queue(self, process_id: str, queue: _Queue) -> None:
        try:
            while queue.waiting:
                batch, queue.waiting = queue.waiting, []
                stream_id = f"{process_id[:8]}-{next(self._stream_ids)}"
                queue.target, queue.current_nonce = _furthest([w.target for w in batch]), 0
                try:
                    outcome = await self.runner.run(process_id, queue.target, stream_id)
                except Exception as exc:     # one clear error for every subscriber
                    for waiter in batch:
                        waiter.error = exc
                        waiter.done.set()
                    continue
                for waiter in batch:
                    waiter.outcome = outcome
                    waiter.done.set()
        finally:
            queue.running, queue.target = False, None
            if self._queues.get(process_id) is queue and not queue.waiting:
                del self._queues[process_id]

    # -- the API ------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        return {"address": self.address, "timestamp": int(time.time() * 1000)}

    def stats(self) -> dict[str, Any]:
        """The memory monitor's ``Stats Usage`` line (reference-cu.md §5.5, §6.2)."""
        return {"processes": self.runner.memcache.usage(), "streams": len(self._queues),
                "events": {"published": self.events.published, "dropped": self.events.dropped}}

    async def checkpoint_all(self, *, upload: bool = True) -> int:
        """Checkpoint every hot process; returns how many (SIGUSR2; dead code in the reference).

        A file checkpoint always (the operator asked), and an Arweave one with ``upload`` when
        creation is enabled (SIGUSR2 uploads; shutdown writes files only, so SIGTERM is quick).
        Each process is checked out while its memory is copied, so no stream changes it
        meanwhile; the writes are awaited.
        """
        written = 0
        for process_id in self.runner.memcache.process_ids():
            if await self.runner.checkpoint_process(process_id, arweave=upload):
                written += 1
        return written

    async def checkpoint_periodically(self, interval_s: float, *,
                                      task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """``PROCESS_MEMORY_CACHE_CHECKPOINT_INTERVAL``: every interval, checkpoint every hot process.

        Dead code in the reference (issue 6 asks for it to work). An automatic trigger, so it
        follows both ``DISABLE_*_CHECKPOINT_CREATION`` settings; one process at a time.
        """
        task_status.started()
        runner = self.runner
        while True:
            await trio.sleep(interval_s)
            for process_id in runner.memcache.process_ids():
                try:
                    await runner.checkpoint_process(process_id, file=runner.options.auto_file_checkpoints)
                except Exception:
                    log.exception("interval checkpoint of %s failed", process_id)

    async def process_owner(self, process_id: str) -> str | None:
        record = await self.runner.process_record(process_id)
        return record.owner_address

    async def _in_background(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(*args)`` as a task of the CU's nursery and wait for it.

        The caller may stop waiting (busy threshold, client gone); the work goes on, so
        the evaluation it started (SU lookups included) completes and is persisted, as
        the reference's background evaluation does (reference-cu.md §1.9).
        """
        done = trio.Event()
        box: dict[str, Any] = {}

        async def run() -> None:
            try:
                box["value"] = await fn(*args)
            except Exception as exc:
                box["error"] = exc
            finally:
                done.set()

        self._nursery.start_soon(run)
        await done.wait()
        if "error" in box:
            raise box["error"]
        return box["value"]

    async def read_result(self, process_id: str, message_id: str) -> dict[str, Any]:
        row = await self.runner.stores.evaluations.read_evaluation_by_message(process_id, message_id)
        if row is not None:                      # the common repeat read: no task, no lookup
            return jsjson.parse(row.output)
        return await self._in_background(self._read_result, process_id, message_id)

    async def _read_result(self, process_id: str, message_id: str) -> dict[str, Any]:
        """A result with no row yet (`read_result` looked): locate the message, evaluate to it."""
        evaluations = self.runner.stores.evaluations
        if message_id == process_id:
            record = await self.runner.process_record(process_id)
            target = Target(record.timestamp, "0")
        else:
            su = await self.runner.su_url(process_id, await self.runner.stores.processes.read_process(process_id))
            meta = await self.runner.scheduler.load_message_meta(su, process_id, message_id)
            process_id = meta.process_id or process_id
            if meta.timestamp is None or meta.nonce is None:
                raise InvalidMessageError(f"Message {message_id} has no timestamp or nonce on the Scheduler")
            target = Target(meta.timestamp, str(meta.nonce))
        outcome = await self.evaluate_to(process_id, target)
        if message_id in outcome.results:
            return outcome.results[message_id]
        row = await evaluations.read_evaluation_by_message(process_id, message_id)
        if row is not None:
            return jsjson.parse(row.output)
        if outcome.exact_hit and outcome.point is not None:
            point = outcome.point
            if point.timestamp == target.timestamp and point.ordinate == target.ordinate:
                return {}             # an exact memory hit carries only Memory (reference quirk)
            raise too_early(point, target.timestamp, target.ordinate)
        return dict(_EMPTY_RESULT)

    async def _read_page(self, process_id: str, *, from_: str | None, to: str | None, sort: SortOrder | None,
                         limit: int, only_cron: bool) -> dict[str, Any]:
        after, upto, used = _bounds(from_, to, sort, override=only_cron)
        rows = await self.runner.stores.evaluations.read_results(
            process_id, after=after, upto=upto, sort=Sort(used), limit=limit + 1, only_cron=only_cron)
        kept = [row for row in rows if not row.has_error]
        edges = []
        for row in kept[:limit]:
            output = jsjson.parse(row.output)
            node: dict[str, Any] = {"Messages": output.get("Messages") or [],
                                    "Assignments": output.get("Assignments") or [],
                                    "Spawns": output.get("Spawns") or []}
            if output.get("Output") is not None:
                node["Output"] = output["Output"]
            # key order as the reference's toConnection: node, then cursor
            edges.append({"node": node, "cursor": encode_cursor(row.timestamp, row.ordinate, row.cron, used)})
        return {"pageInfo": {"hasNextPage": len(kept) > limit}, "edges": edges}

    async def read_results(self, process_id: str, *, from_: str | None, to: str | None, sort: SortOrder,
                           limit: int) -> dict[str, Any]:
        return await self._read_page(process_id, from_=from_, to=to, sort=sort, limit=limit, only_cron=False)

    async def read_cron_results(self, process_id: str, *, from_: str | None, to: str | None, sort: SortOrder,
                                limit: int) -> dict[str, Any]:
        _, upto, _ = _bounds(None, to, "ASC", override=True)
        target = Target()
        if upto is not None and upto.timestamp is not None:
            try:
                target = Target(int(float(upto.timestamp)), upto.ordinate, upto.cron)
            except ValueError:
                target = Target()
        outcome = await self._in_background(self.evaluate_to, process_id, target)
        if outcome.exact_hit and outcome.point is not None and target.timestamp is not None \
                and _later_than(outcome.point, target):
            # readState's maybeOld (§2.5.8): a `to` older than the state in memory answers 425, unless
            # the exact lookup (§2.5.1) finds the evaluation the `to` cursor names
            row = await self.runner.stores.evaluations.read_evaluation(
                process_id, timestamp=target.timestamp, ordinate=target.ordinate, cron=target.cron)
            if row is None:
                raise too_early(outcome.point, target.timestamp, target.ordinate)
        return await self._read_page(process_id, from_=from_, to=to, sort="ASC", limit=min(limit, CRON_LIMIT_MAX),
                                     only_cron=True)

    async def read_state(self, process_id: str, to: int | None) -> StateBody:
        return await self._in_background(self._read_state, process_id, to)

    async def take_state(self, process_id: str, target: Target, *, older_ordinate: str | None = None,
                         eval_to_nonce: int | None = None) -> Hot:
        """Evaluate to ``target`` and take the process's hot entry (check it back in when done).

        The entry can be gone by the time this task runs again: a stream that started meanwhile
        holds it until it ends, or the cache evicted it. Evaluating to the target again waits for
        that stream, or reloads the state, so a memory-only read never sees some other state
        (a dry-run used to run against a fresh process then).
        """
        for _ in range(TAKE_STATE_TRIES):
            outcome = await self.evaluate_to(process_id, target, eval_to_nonce=eval_to_nonce)
            check_not_older(outcome, target, older_ordinate)
            hot = await self.runner.memcache.checkout_waiting(process_id)
            if hot is not None:
                return hot
        raise AocuError(f"the state of process {process_id} did not stay in memory long enough to be read "
                        f"(PROCESS_MEMORY_CACHE_MAX_SIZE smaller than its memory?)")

    async def _read_state(self, process_id: str, to: int | None) -> StateBody:
        target = Target(to) if to is not None else Target()
        hot = await self.take_state(process_id, target)
        try:
            memory = await trio.to_thread.run_sync(hot.live.memory_snapshot, limiter=self.runner.wasm_limiter)
        finally:
            self.runner.memcache.checkin(hot.live, hot.position, gas_used=hot.gas_used,
                                         eval_time_ms=hot.eval_time_ms)
        point = hot.position
        return StateBody(memory, point.timestamp or None, point.ordinate or None, point.block_height or None)

    async def dry_run(self, process_id: str, message: dict[str, Any], *, to: str | None,
                      max_age_ms: int | None) -> dict[str, Any]:
        from ._dryrun import dry_run

        key = (process_id, to, jsjson.stringify(message))
        now = time.monotonic()
        cached = self._dry_runs.get(key)
        if cached is not None and now - cached[0] <= self.dry_run_result_max_age_s:
            return CachedResult(cached[1])
        result = await self._in_background(lambda: dry_run(self, process_id, message, to=to))
        if len(self._dry_runs) >= DRY_RUN_CACHE_ENTRIES:
            self._dry_runs.pop(next(iter(self._dry_runs)))
        self._dry_runs[key] = (now, result)
        return result
