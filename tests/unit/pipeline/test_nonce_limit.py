"""The hydration nonce limit (reference-cu.md §2.17.3): a request that would wait on a stream far
behind its target fails fast with the reference's 503.

The `ComputeUnit` runs on a fake runner whose stream evaluates the nonces the test releases one by
one (an in-memory double: no SU, no wasm), and is served over loopback HTTP for the status/body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest
import trio

from aocu.errors import BusyError
from aocu.pipeline import ComputeUnit, EventBus, RunOutcome, Target
from aocu.pipeline._events import MessageEvaluated
from aocu.testing import open_test_client, wait_until

PID = "P" * 43


class SteppedRunner:
    """`ProcessRunner`'s surface that `ComputeUnit` uses; ``run`` evaluates a nonce per `step`."""

    def __init__(self) -> None:
        self.events = EventBus()
        self.runs: list[Target] = []
        self.evaluated = 0
        self._step_send, self._step_recv = trio.open_memory_channel[int](100)
        # what /result needs to locate a message: nonce n is message "m<n>" at timestamp 1000 + n
        self.stores = SimpleNamespace(
            evaluations=SimpleNamespace(read_evaluation_by_message=self._no_row),
            processes=SimpleNamespace(read_process=self._no_row))
        self.scheduler = SimpleNamespace(load_message_meta=self._message_meta)

    async def _no_row(self, *_: Any) -> None:
        return None

    async def _message_meta(self, su: str, process_id: str, message_id: str) -> Any:
        nonce = int(message_id[1:])
        return SimpleNamespace(process_id=process_id, timestamp=1000 + nonce, nonce=nonce)

    async def su_url(self, process_id: str, record: Any = None) -> str:
        return "http://su.invalid"

    async def step(self, n: int = 1) -> None:
        for _ in range(n):
            await self._step_send.send(1)

    async def run(self, process_id: str, target: Target, stream_id: str) -> RunOutcome:
        self.runs.append(target)
        end = int(target.ordinate) if target.ordinate else 10**9     # "latest": until cancelled
        while self.evaluated < end:
            await self._step_recv.receive()
            self.evaluated += 1
            self.events.publish(MessageEvaluated(
                process_id=process_id, stream_id=stream_id, message_id=f"m{self.evaluated}",
                nonce=self.evaluated, ordinate=str(self.evaluated), cron=None, elapsed_ms=0.0, gas_used=0,
                error=False, rolled_back=False))
        return RunOutcome(point=None, results={f"m{end}": {"Output": f"at {end}"}})


@asynccontextmanager
async def open_unit(limit: int) -> AsyncIterator[tuple[ComputeUnit, SteppedRunner]]:
    runner = SteppedRunner()
    async with trio.open_nursery() as nursery:
        yield ComputeUnit(runner, nursery, nonce_limit=limit), runner  # type: ignore[arg-type]
        nursery.cancel_scope.cancel()


def target(nonce: int) -> Target:
    return Target(1000 + nonce, str(nonce))


async def test_a_request_far_ahead_of_the_running_stream_is_rejected_with_the_reference_text() -> None:
    async with open_unit(limit=5) as (cu, runner), trio.open_nursery() as nursery:
        nursery.start_soon(cu.evaluate_to, PID, target(20))
        await wait_until(lambda: cu.stream_running(PID))
        # nothing evaluated yet: the reference lets it wait (nonceFrom 0)
        cu.check_nonce_limit(PID, target(100))
        await runner.step(3)
        await wait_until(lambda: runner.evaluated == 3)
        with pytest.raises(BusyError) as caught:
            await cu.evaluate_to(PID, target(9))
        assert caught.value.http_status == 503
        assert str(caught.value) == (f"Nonce limit exceeded: process {PID} is currently hydrating with >5 nonces "
                                     "remaining (6 remaining). Please try again later.")
        cu.check_nonce_limit(PID, target(8))         # exactly the limit ahead: waits
        cu.check_nonce_limit(PID, Target())          # /state to the latest: no target nonce
        with pytest.raises(BusyError, match=r"\(97 remaining\)"):
            cu.check_nonce_limit(PID, Target(), eval_to_nonce=100)   # a dry-run to the SU's latest
        await runner.step(17)


async def test_requests_the_reference_would_not_chain_are_not_limited() -> None:
    async with open_unit(limit=5) as (cu, runner), trio.open_nursery() as nursery:
        nursery.start_soon(cu.evaluate_to, PID, target(20))
        await runner.step(2)
        await wait_until(lambda: runner.evaluated == 2)
        # an earlier message more than 10 s before the running target starts its own stream there
        cu.check_nonce_limit(PID, Target(1000 + 20 - 10_001, "50"))
        cu.check_nonce_limit("another-process", target(100))
        await runner.step(18)
    async with open_unit(limit=0) as (cu, runner), trio.open_nursery() as nursery:
        nursery.start_soon(cu.evaluate_to, PID, target(20))
        await runner.step(2)
        await wait_until(lambda: runner.evaluated == 2)
        cu.check_nonce_limit(PID, target(1000))       # HYDRATION_MODE_NONCE_LIMIT=0 disables it
        await runner.step(18)


async def test_a_stream_to_the_latest_is_not_chained_to_but_a_repeat_is_limited() -> None:
    async with open_unit(limit=5) as (cu, runner), trio.open_nursery() as nursery:
        nursery.start_soon(cu.evaluate_to, PID, Target())
        await runner.step(3)
        await wait_until(lambda: runner.evaluated == 3)
        cu.check_nonce_limit(PID, target(100))
        with pytest.raises(BusyError):
            cu.check_nonce_limit(PID, Target(), eval_to_nonce=100)
        nursery.cancel_scope.cancel()


async def test_the_503_over_http_and_the_stream_goes_on() -> None:
    async with open_unit(limit=5) as (cu, runner), open_test_client(cu) as http:  # type: ignore[arg-type]
        async with trio.open_nursery() as nursery:
            answers: list[Any] = []

            async def first() -> None:
                answers.append(await http.get("/result/m20", params={"process-id": PID}))

            nursery.start_soon(first)
            await wait_until(lambda: cu.stream_running(PID))
            await runner.step(2)
            await wait_until(lambda: runner.evaluated == 2)
            far = await http.get("/result/m30", params={"process-id": PID})
            assert far.status_code == 503
            assert far.json() == {"error": f"Nonce limit exceeded: process {PID} is currently hydrating with "
                                           ">5 nonces remaining (28 remaining). Please try again later."}
            assert far.headers["content-type"] == "application/json; charset=utf-8"
            await runner.step(18)
        assert [a.status_code for a in answers] == [200]
        assert answers[0].json() == {"Output": "at 20"}
        await runner.step(10)               # the 503 was not cached: now it waits and is answered
        again = await http.get("/result/m30", params={"process-id": PID})
        assert (again.status_code, again.json()) == (200, {"Output": "at 30"})
