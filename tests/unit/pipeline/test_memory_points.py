"""Where memory stands after a message: the next stream's starting point (aocu.pipeline._runner).

The persist stage builds it once per batch, from the batch's last message; a cron message takes
the assignment id and Hash-Chain of the latest SU message before it (the next stream's
hash-chain verification starts from them), or nothing when the stream has none.
"""

from __future__ import annotations

from aocu import domain
from aocu.jsjson import UNDEFINED
from aocu.pipeline._runner import _point_after

AO = domain.AoGlobal(process_id="P", process_owner="O", process_tags=(), module_id="M", module_owner="O",
                     module_tags=())


def envelope(nonce: int, *, cron: str | None = None, assignment_id: str | None = None,
             hash_chain: object = UNDEFINED) -> domain.Envelope:
    message = domain.Message(id=f"m{nonce}", owner="O", target="P", from_="O", epoch=0, nonce=nonce,
                             timestamp=1000 + nonce, block_height=7, hash_chain=hash_chain, cron=cron is not None)
    return domain.Envelope(ordinate=str(nonce), name="n", message=message, ao_global=AO, cron=cron,
                           assignment_id=assignment_id)


def test_an_su_message_points_at_its_own_assignment_and_hash_chain() -> None:
    point = _point_after(envelope(5, assignment_id="a5", hash_chain="h5"), "P", "M", ("a4", "h4"))
    assert (point.nonce, point.timestamp, point.ordinate, point.cron) == (5, 1005, "5", None)
    assert (point.assignment_id, point.hash_chain, point.block_height, point.module_id) == ("a5", "h5", 7, "M")


def test_a_cron_message_carries_the_latest_su_message_link() -> None:
    point = _point_after(envelope(5, cron="1-10-minutes"), "P", "M", ("a5", "h5"))
    assert (point.cron, point.assignment_id, point.hash_chain) == ("1-10-minutes", "a5", "h5")


def test_a_cron_message_without_an_su_message_before_it_has_no_link() -> None:
    point = _point_after(envelope(0, cron="1-10-minutes"), "P", "M", None)
    assert (point.assignment_id, point.hash_chain) == (None, None)
