"""`FakeComputeUnitApi`: the `aocu.api.ComputeUnitApi` port over dicts, for tests and tools.

Like the real pipeline, an evaluation runs in the fake's own nursery (open it with
`open_fake_api`), so a request that gives up (busy threshold, client gone) does not stop it, and
the next request for the same thing is answered at once ("persisted"). Tests steer it through
plain attributes: answers (``results``, ``pages``, ``states``...), ``delay_s`` or a ``gate`` event
to hold evaluations, ``failures`` to raise, and read back ``calls``. It publishes progress events
on ``events`` as evaluations start and finish. Runs on the trio thread; never blocks.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from aocu.api import CachedResult
from aocu.errors import UpstreamError
from aocu.pipeline._bus import EventBus
from aocu.pipeline._events import MessageEvaluated, StreamFinished, StreamStarted

if TYPE_CHECKING:
    from aocu.api import SortOrder, StateBody

__all__ = ["CachedResult", "FakeComputeUnitApi", "open_fake_api"]

EMPTY_RESULT: dict[str, Any] = {"Messages": [], "Assignments": [], "Spawns": [], "Output": ""}


@dataclass
class _Job:
    done: trio.Event = field(default_factory=trio.Event)
    value: Any = None
    error: BaseException | None = None


def not_found(process_id: str) -> UpstreamError:
    """What the pipeline answers for a process the gateway does not know: the reference's 500 and text."""
    return UpstreamError(f"TransactionNotFound: Process {process_id} was not found on gateway")


class FakeComputeUnitApi:
    """A `ComputeUnitApi` whose answers are whatever the test put in its dicts."""

    def __init__(self, *, address: str = "fake-cu-address", nursery: trio.Nursery | None = None) -> None:
        self.events = EventBus()
        self.address = address
        self.results: dict[tuple[str, str], dict[str, Any]] = {}
        self.pages: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.cron_pages: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.states: dict[str, StateBody] = {}
        self.dry_run_answers: dict[str, dict[str, Any]] = {}
        self.dry_run_cached = False
        self.owners: dict[str, str] = {}
        self.failures: dict[str, BaseException] = {}
        self.delay_s = 0.0
        self.gate: trio.Event | None = None
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.checkpoints = 0
        self.uploads = 0
        self.evaluated: set[tuple[Any, ...]] = set()
        self._jobs: dict[tuple[Any, ...], _Job] = {}
        self._nursery = nursery

    # --- steering ---------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]

    async def _evaluate(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """Run ``compute`` as an evaluation: held by ``delay_s``/``gate`` the first time only."""
        if (failure := self.failures.get(key[0])) is not None:
            raise failure
        if key in self.evaluated:
            return compute()
        job = self._jobs.get(key)
        if job is None:
            job = self._jobs[key] = _Job()
            if self._nursery is not None:
                self._nursery.start_soon(self._run, key, job, compute)
            else:
                await self._run(key, job, compute)
        await job.done.wait()
        if job.error is not None:
            raise job.error
        return job.value

    async def _run(self, key: tuple[Any, ...], job: _Job, compute: Callable[[], Any]) -> None:
        process_id = str(key[1])
        started = time.perf_counter()
        self.events.publish(StreamStarted(process_id=process_id, stream_id=repr(key), from_nonce=None,
                                          to=str(key[2]) if len(key) > 2 else None, start="memory"))
        try:
            if self.delay_s:
                await trio.sleep(self.delay_s)
            if self.gate is not None:
                await self.gate.wait()
            job.value = compute()
            self.evaluated.add(key)
        except Exception as exc:
            job.error = exc
        finally:
            self._jobs.pop(key, None)
            job.done.set()
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.events.publish(MessageEvaluated(
            process_id=process_id, stream_id=repr(key), message_id=str(key[-1]), nonce=None, ordinate="1",
            cron=None, elapsed_ms=elapsed_ms, gas_used=0, error=job.error is not None, rolled_back=False))
        self.events.publish(StreamFinished(process_id=process_id, stream_id=repr(key), messages=1,
                                           errors=int(job.error is not None), elapsed_ms=elapsed_ms))

    # --- the port ---------------------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        return {"address": self.address, "timestamp": int(time.time() * 1000)}

    async def read_result(self, process_id: str, message_id: str) -> dict[str, Any]:
        self.calls.append(("read_result", {"process_id": process_id, "message_id": message_id}))

        def compute() -> dict[str, Any]:
            try:
                return self.results[process_id, message_id]
            except KeyError:
                raise not_found(process_id) from None

        return await self._evaluate(("read_result", process_id, message_id), compute)  # type: ignore[no-any-return]

    def _page(self, rows: list[tuple[str, dict[str, Any]]], sort: SortOrder, limit: int) -> dict[str, Any]:
        ordered = rows if sort == "ASC" else rows[::-1]
        return {
            "pageInfo": {"hasNextPage": len(ordered) > limit},
            "edges": [{"node": node, "cursor": cursor} for cursor, node in ordered[:limit]],
        }

    async def read_results(self, process_id: str, *, from_: str | None, to: str | None,
                           sort: SortOrder, limit: int) -> dict[str, Any]:
        self.calls.append(("read_results", {"process_id": process_id, "from_": from_, "to": to,
                                            "sort": sort, "limit": limit}))
        if (failure := self.failures.get("read_results")) is not None:
            raise failure
        return self._page(self.pages.get(process_id, []), sort, limit)

    async def read_cron_results(self, process_id: str, *, from_: str | None, to: str | None,
                                sort: SortOrder, limit: int) -> dict[str, Any]:
        self.calls.append(("read_cron_results", {"process_id": process_id, "from_": from_, "to": to,
                                                 "sort": sort, "limit": limit}))
        rows = self.cron_pages.get(process_id, [])
        return await self._evaluate(("read_cron_results", process_id, to or "latest"),  # type: ignore[no-any-return]
                                    lambda: self._page(rows, sort, limit))

    async def read_state(self, process_id: str, to: int | None) -> StateBody:
        self.calls.append(("read_state", {"process_id": process_id, "to": to}))

        def compute() -> StateBody:
            try:
                return self.states[process_id]
            except KeyError:
                raise not_found(process_id) from None

        return await self._evaluate(("read_state", process_id, to or "latest"), compute)  # type: ignore[no-any-return]

    async def dry_run(self, process_id: str, message: dict[str, Any], *, to: str | None,
                      max_age_ms: int | None) -> dict[str, Any]:
        self.calls.append(("dry_run", {"process_id": process_id, "message": message, "to": to,
                                       "max_age_ms": max_age_ms}))

        def compute() -> dict[str, Any]:
            answer = self.dry_run_answers.get(process_id, {**EMPTY_RESULT, "GasUsed": 0})
            return CachedResult(answer) if self.dry_run_cached else dict(answer)

        # Every dry-run is a fresh evaluation (nothing persists), so the key is unique.
        return await self._evaluate(("dry_run", process_id, to or "latest", len(self.calls)), compute)  # type: ignore[no-any-return]

    # --- optional capabilities the HTTP layer and app use when present ----------------------------

    async def process_owner(self, process_id: str) -> str | None:
        """The owner address of a process (for ``ALLOW_OWNERS``), None when unknown."""
        return self.owners.get(process_id)

    def stats(self) -> dict[str, Any]:
        """What the periodic ``Stats Usage`` log line shows."""
        return {"evaluated": len(self.evaluated), "running": len(self._jobs),
                "subscribers": self.events.subscriber_count}

    async def checkpoint_all(self, *, upload: bool = True) -> None:
        """What ``SIGUSR2`` asks for: checkpoint every process in memory (files only at shutdown)."""
        self.checkpoints += 1
        self.uploads += upload


@asynccontextmanager
async def open_fake_api(*, address: str = "fake-cu-address") -> AsyncIterator[FakeComputeUnitApi]:
    """A `FakeComputeUnitApi` whose evaluations run in a nursery of their own (like the pipeline)."""
    async with trio.open_nursery() as nursery:
        yield FakeComputeUnitApi(address=address, nursery=nursery)
        nursery.cancel_scope.cancel(reason="fake compute unit closed")
