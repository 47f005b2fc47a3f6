"""The progress bus: filtered delivery, never blocks, drops slow subscribers."""

from __future__ import annotations

from aocu.pipeline._bus import EventBus
from aocu.pipeline._events import MessageEvaluated, StreamFinished


def evaluated(pid: str, n: int) -> MessageEvaluated:
    return MessageEvaluated(process_id=pid, stream_id="s", message_id=f"m{n}", nonce=n, ordinate=str(n),
                            cron=None, elapsed_ms=1.0, gas_used=0, error=False, rolled_back=False)


async def test_subscribers_get_their_process_events_in_order() -> None:
    bus = EventBus()
    async with bus.subscribe("A") as a, bus.subscribe() as everything:
        for n in range(3):
            bus.publish(evaluated("A", n))
            bus.publish(evaluated("B", n))
        assert [a.receive_nowait().message_id for _ in range(3)] == ["m0", "m1", "m2"]
        got = [everything.receive_nowait().process_id for _ in range(6)]
        assert got == ["A", "B"] * 3
    assert bus.subscriber_count == 0


async def test_a_slow_subscriber_is_dropped_and_never_blocks_publishing() -> None:
    bus = EventBus()
    async with bus.subscribe("A", buffer=2) as slow:
        for n in range(10):                # publish is synchronous: it cannot wait for the reader
            bus.publish(evaluated("A", n))
        received = [event.message_id async for event in slow]
    assert received == ["m0", "m1"]
    assert bus.dropped == 1


def test_events_have_a_json_wire_form() -> None:
    body = StreamFinished(process_id="A", stream_id="s", messages=3, errors=1, elapsed_ms=2.5).to_json()
    assert body["type"] == "stream-finished"
    assert body["messages"] == 3 and body["process_id"] == "A" and "at_ms" in body
