"""The pipeline's batch hydration (aocu.pipeline._runner.hydrate_batch) against a fake gateway.

Assignments of a batch are loaded side by side, at most `HYDRATE_CONCURRENCY` at a time; the
envelopes come out in the batch's order, each exactly as one-by-one hydration makes it, and
when several fail the error raised is the earliest message's. Time is trio's autojump clock:
the fake gateway answers later requests sooner, so any reliance on completion order shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import trio
import trio.testing

from aocu.domain import Envelope, GatewaySkip, Owner, Tag, TransactionMeta, envelope_from_su_node, hydrate_envelope
from aocu.pipeline import _runner
from aocu.pipeline._runner import HYDRATE_CONCURRENCY, _Work, hydrate_batch

from .builders import make_ao_global, su_message, su_node

OWNER = Owner("owner-123", "key-123")


@dataclass
class SlowGateway:
    """Answers tx ``i`` after ``(count - i)`` seconds; counts requests in flight; can fail some."""

    count: int
    failing: dict[str, float] = field(default_factory=dict)       # tx id -> seconds before failing
    in_flight: int = 0
    most_in_flight: int = 0

    async def load_transaction_meta(self, tx_id: str, skip: GatewaySkip) -> TransactionMeta:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if tx_id in self.failing:
                await trio.sleep(self.failing[tx_id])
                raise RuntimeError(f"gateway failed on {tx_id}")
            await trio.sleep(self.count - int(tx_id.split("-")[1]))
            return TransactionMeta(id=tx_id, owner=OWNER, tags=(Tag("n", tx_id),), signature="s", anchor="a",
                                   recipient="r")
        finally:
            self.in_flight -= 1

    async def load_transaction_data(self, tx_id: str) -> str:
        await trio.sleep(0.5)
        return f"data of {tx_id}"


def batch(count: int) -> list[_Work]:
    """Assignments tx-0 .. tx-(count-1), with a plain scheduled message after every third."""
    works = []
    for i in range(count):
        node = su_node(nonce=i, timestamp=1000 + i, height="123",
                       extra_tags=[{"name": "Message", "value": f"tx-{i}"}])
        works.append(_Work(envelope_from_su_node(node, make_ao_global()), 0.0))
        if i % 3 == 2:
            plain = su_node(nonce=100 + i, timestamp=2000 + i, message=su_message(f"m-{i}"))
            works.append(_Work(envelope_from_su_node(plain, make_ao_global()), 0.0))
    return works


async def one_by_one(envelopes: list[Envelope], gateway: SlowGateway) -> list[Envelope]:
    return [await hydrate_envelope(e, gateway) for e in envelopes]


async def test_assignments_load_side_by_side_and_come_out_in_order(autojump_clock: trio.testing.MockClock) -> None:
    works = batch(20)
    expected = await one_by_one([w.envelope for w in works], SlowGateway(20))
    gateway = SlowGateway(20)
    await hydrate_batch(works, gateway)
    assert [w.envelope for w in works] == expected
    assert gateway.most_in_flight == HYDRATE_CONCURRENCY


async def test_the_earliest_failure_is_raised(autojump_clock: trio.testing.MockClock) -> None:
    works = batch(12)
    gateway = SlowGateway(12, failing={"tx-9": 0.0, "tx-4": 5.0})      # the later one fails first
    with pytest.raises(RuntimeError, match="gateway failed on tx-4"):
        await hydrate_batch(works, gateway)


async def test_a_batch_without_assignments_makes_no_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_runner, "HYDRATE_CONCURRENCY", 1)
    works = [_Work(envelope_from_su_node(su_node(nonce=i, message=su_message(f"m-{i}")), make_ao_global()), 0.0)
             for i in range(3)]
    gateway = SlowGateway(3)
    await hydrate_batch(works, gateway)
    assert gateway.most_in_flight == 0 and all(w.envelope.message.read_only is False for w in works)
