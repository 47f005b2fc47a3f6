"""Retries, backoff, deadlines and error messages (aocu/clients/_retry.py), through real client calls.

Times come from trio's ``autojump_clock``; the reference's schedule is reference-cu.md §A.10
(backoff 5 × 500 ms doubling: waits 0.5, 1, 2, 4, 8 s, six attempts, 15.5 s).
"""

from __future__ import annotations

import random

import httpx
import pytest
import trio

from aocu.clients import (
    HttpSchedulerClient,
    NotFoundError,
    RetryPolicy,
    UpstreamConnectionError,
    UpstreamDataError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from aocu.clients._errors import UpstreamError
from aocu.clients._retry import retry_loop, run_operation

from .conftest import PID, SU, FakeUpstream, json_response

TIMESTAMP = json_response({"timestamp": "1700000060000", "block_height": "000001500001"})


class Timed(FakeUpstream):
    """Records trio time of every request."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.times.append(trio.current_time())
        return super().handle(request)


def su_client(upstream: FakeUpstream, config, rng=None) -> HttpSchedulerClient:  # type: ignore[no-untyped-def]
    return HttpSchedulerClient(upstream.client(), config, rng=rng or random.Random(0))


async def test_transient_failures_are_retried_on_the_reference_schedule(config, autojump_clock) -> None:
    up = Timed().route(
        "GET",
        "/timestamp",
        httpx.ConnectError("refused"),
        json_response({}, 500),
        json_response({}, 502),
        json_response({}, 503),
        json_response({}, 408),
        TIMESTAMP,
    )
    start = trio.current_time()
    result = await su_client(up, config).load_timestamp(SU, PID)
    assert result.timestamp == 1700000060000
    waits = [round(b - a, 6) for a, b in zip([start, *up.times], up.times, strict=False)][1:]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0]


async def test_gives_up_after_max_retries_with_the_last_error(config, autojump_clock) -> None:
    up = Timed().route("GET", "/timestamp", json_response({"error": "overloaded"}, 503))
    with pytest.raises(UpstreamStatusError) as info:
        await su_client(up, config).load_timestamp(SU, PID)
    assert len(up.times) == 6
    assert up.times[-1] - up.times[0] == pytest.approx(15.5)
    err = info.value
    assert err.status == 503 and err.attempts == 6
    assert str(err) == (
        f'scheduler GET {SU}/timestamp?process-id={PID}: HTTP 503: {{"error": "overloaded"}} (after 6 attempts)'
    )
    assert err.reference_text == '503: {"error": "overloaded"}'


@pytest.mark.parametrize("status", [400, 401, 403, 405, 409, 422])
async def test_client_errors_are_not_retried(config, autojump_clock, status: int) -> None:
    up = FakeUpstream().route("GET", "/timestamp", json_response({"error": "bad"}, status), TIMESTAMP)
    with pytest.raises(UpstreamStatusError) as info:
        await su_client(up, config).load_timestamp(SU, PID)
    assert info.value.status == status and info.value.attempts == 1
    assert len(up.requests) == 1


async def test_404_is_not_found_and_not_retried(config, autojump_clock) -> None:
    up = FakeUpstream().route("GET", "/timestamp", httpx.Response(404, text="nope"))
    with pytest.raises(NotFoundError, match="HTTP 404: nope"):
        await su_client(up, config).load_timestamp(SU, PID)
    assert len(up.requests) == 1


async def test_429_retry_after_lengthens_the_wait(config, autojump_clock) -> None:
    up = Timed().route("GET", "/timestamp", json_response({}, 429, **{"retry-after": "3"}), TIMESTAMP)
    await su_client(up, config).load_timestamp(SU, PID)
    assert up.times[1] - up.times[0] == pytest.approx(3.0)


async def test_retry_after_is_capped_by_max_delay(config, autojump_clock) -> None:
    up = Timed().route("GET", "/timestamp", json_response({}, 503, **{"retry-after": "3600"}), TIMESTAMP)
    await su_client(up, config).load_timestamp(SU, PID)
    assert up.times[1] - up.times[0] == pytest.approx(config.su_retry.max_delay_s)


async def test_jitter_shortens_waits_within_bounds(config, autojump_clock) -> None:
    jittery = config.replace(su_retry=RetryPolicy(5, 0.5, jitter=0.2))
    up = Timed().route(
        "GET",
        "/timestamp",
        httpx.ReadError("reset"),
        httpx.ReadError("reset"),
        httpx.ReadError("reset"),
        TIMESTAMP,
    )
    await su_client(up, jittery, rng=random.Random(7)).load_timestamp(SU, PID)
    waits = [b - a for a, b in zip(up.times, up.times[1:], strict=False)]
    for wait, base in zip(waits, [0.5, 1.0, 2.0], strict=True):
        assert 0.8 * base <= wait <= base
    assert len(set(round(w / b, 9) for w, b in zip(waits, [0.5, 1.0, 2.0], strict=True))) > 1


async def test_transport_errors_name_the_failure(config, autojump_clock) -> None:
    up = FakeUpstream().route("GET", "/timestamp", httpx.ConnectError("connection refused"))
    with pytest.raises(UpstreamConnectionError) as info:
        await su_client(up, config).load_timestamp(SU, PID)
    assert "ConnectError: connection refused" in str(info.value)
    assert f"{SU}/timestamp?process-id={PID}" in str(info.value)
    assert info.value.attempts == 6


async def test_httpx_phase_timeouts_are_transient(config, autojump_clock) -> None:
    up = FakeUpstream().route("GET", "/timestamp", httpx.ReadTimeout("slow"), TIMESTAMP)
    assert (await su_client(up, config).load_timestamp(SU, PID)).block_height == 1500001
    assert len(up.requests) == 2


async def test_the_whole_operation_has_a_deadline(config, autojump_clock) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await trio.sleep_forever()
        raise AssertionError

    client = HttpSchedulerClient(
        httpx.AsyncClient(transport=httpx.MockTransport(hang)), config.replace(operation_timeout_s=7.0)
    )
    start = trio.current_time()
    with pytest.raises(UpstreamTimeoutError, match=r"no answer within 7 s \(1 attempts\)"):
        await client.load_timestamp(SU, PID)
    assert trio.current_time() - start == pytest.approx(7.0)


async def test_a_retry_that_cannot_finish_before_the_deadline_raises_the_last_error(config, autojump_clock) -> None:
    # 0.5 + 1 + 2 = 3.5 s of waits fit in 5 s; the next (4 s) does not, so the 503 is raised
    # at once instead of sleeping into a timeout.
    up = Timed().route("GET", "/timestamp", json_response({}, 503))
    client = su_client(up, config.replace(operation_timeout_s=5.0))
    with pytest.raises(UpstreamStatusError) as info:
        await client.load_timestamp(SU, PID)
    assert info.value.attempts == 4
    assert up.times[-1] - up.times[0] == pytest.approx(3.5)


async def test_a_callers_tighter_deadline_wins(config, autojump_clock) -> None:
    # The 1 s wait after the second try would end past the caller's 1.2 s deadline, so the
    # second 503 is raised at 0.5 s rather than sleeping until the caller's scope cancels.
    up = Timed().route("GET", "/timestamp", json_response({}, 503))
    with trio.move_on_after(1.2) as scope, pytest.raises(UpstreamStatusError) as info:
        await su_client(up, config).load_timestamp(SU, PID)
    assert not scope.cancelled_caught
    assert info.value.attempts == 2 and len(up.times) == 2


async def test_a_callers_deadline_cancels_a_hung_request(config, autojump_clock) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await trio.sleep_forever()
        raise AssertionError

    client = HttpSchedulerClient(httpx.AsyncClient(transport=httpx.MockTransport(hang)), config)
    with trio.move_on_after(2) as scope:
        await client.load_timestamp(SU, PID)
    assert scope.cancelled_caught


async def test_malformed_json_is_a_data_error_and_not_retried(config, autojump_clock) -> None:
    up = FakeUpstream().route("GET", "/timestamp", httpx.Response(200, text="<html>oops</html>"))
    with pytest.raises(UpstreamDataError, match=r"the body is not JSON .*<html>oops"):
        await su_client(up, config).load_timestamp(SU, PID)
    assert len(up.requests) == 1


async def test_body_excerpts_are_bounded(config, autojump_clock) -> None:
    up = FakeUpstream().route("GET", "/timestamp", httpx.Response(400, text="x" * 100_000))
    with pytest.raises(UpstreamStatusError) as info:
        await su_client(up, config).load_timestamp(SU, PID)
    assert info.value.body == "x" * 2048 + "…"
    assert len(str(info.value)) < 2300


async def test_run_operation_does_not_retry_non_upstream_errors(autojump_clock) -> None:
    calls = 0

    async def attempt(n: int) -> None:
        nonlocal calls
        calls += 1
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await run_operation(
            attempt,
            policy=RetryPolicy(),
            timeout_s=10,
            rng=random.Random(),
            upstream="x",
            method="GET",
            url="u",
        )
    assert calls == 1


async def test_retry_loop_passes_the_attempt_number(autojump_clock) -> None:
    seen: list[int] = []

    async def attempt(n: int) -> int:
        seen.append(n)
        if n < 3:
            raise UpstreamError("flaky", upstream="x", transient=True)
        return n

    with trio.fail_after(100):
        assert await retry_loop(attempt, policy=RetryPolicy(jitter=0), rng=random.Random()) == 3
    assert seen == [0, 1, 2, 3]


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(jitter=2)
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)


async def test_every_request_carries_the_configured_phase_timeouts(config) -> None:
    up = FakeUpstream().route("GET", "/timestamp", TIMESTAMP)
    bare = httpx.AsyncClient(transport=up.transport(), timeout=None)  # a client without timeouts
    custom = config.replace(connect_timeout_s=3.0, read_timeout_s=4.0, write_timeout_s=5.0, pool_timeout_s=6.0)
    await HttpSchedulerClient(bare, custom).load_timestamp(SU, PID)
    assert up.requests[0].extensions["timeout"] == {"connect": 3.0, "read": 4.0, "write": 5.0, "pool": 6.0}
