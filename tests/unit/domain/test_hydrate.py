"""aocu.domain hydration (reference-cu.md §2.10, §A.4; hydrateMessages.test.js).

The deep-hash vectors were produced by running warp-arbundles 1.0.4 the way the CU does.
The gateway is a fake that records what it was asked; tests assert on that record.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace

import pytest

from aocu.domain import (
    Envelope,
    GatewaySkip,
    Message,
    Owner,
    Tag,
    TransactionMeta,
    apply_transaction,
    assignment_request,
    envelope_from_su_node,
    forwarded_deep_hash,
    hydrate_envelope,
    with_deep_hash,
)
from aocu.errors import InvalidMessageError
from aocu.jsjson import UNDEFINED

from .builders import make_ao_global, su_message, su_node, tags

# --- deep hash -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "tag_pairs", "target", "anchor", "expected"),
    [
        ("foobar", (), UNDEFINED, UNDEFINED, "NBP+5i4BjQ+Tg1z0XJ9Mpp7U5FfKSUTnkBBBKobgpQeIgjzke+ramDcG2Y/OJDPL"),
        (
            "foobar",
            (("Data-Protocol", "ao"), ("Type", "Message"), ("From-Process", "process-123")),
            UNDEFINED,
            UNDEFINED,
            "WYZrFEKjzmOVJZI9wA50EWlBAdpA70cXnhJEFnf+zQf37GNO96YNRiYWGprCy1mS",
        ),
        (
            "hello",
            (("Action", "Eval"),),
            "zc24Wpv_i6NNCEdxeKt7dcNrqL5w0hrShtSCcFGGL24",
            "00000000000000000000000000001234",
            "c6jYdHDCsIseS3r74c4P0zvOV2RsrGJ/P9XMvLWv6zv7IZ1CstjUN0WrwVJDuZGf",
        ),
        (None, (), UNDEFINED, UNDEFINED, "3gk/eHgElQmbVrKmPH2Ds7Af58NjPeBAp++uNZvPvaZxUR1SdCSMAhvtiGpasYoy"),
    ],
)
def test_deep_hash_vectors(data: object, tag_pairs: tuple, target: object, anchor: object, expected: str) -> None:
    message = Message(data=data, tags=tags(*tag_pairs), target=target, anchor=anchor)
    assert forwarded_deep_hash(message) == expected


def test_empty_and_null_target_anchor_are_absent() -> None:
    base = Message(data="foobar")
    for empty in ("", None, UNDEFINED):
        assert forwarded_deep_hash(replace(base, target=empty, anchor=empty)) == forwarded_deep_hash(base)
    assert forwarded_deep_hash(Message(data=UNDEFINED)) == forwarded_deep_hash(Message(data=""))


def test_deep_hash_errors_fail_the_stream() -> None:
    with pytest.raises(InvalidMessageError, match=r"^Target must be 32 bytes but was incorrectly 8$"):
        forwarded_deep_hash(Message(data="x", target="process-123"))
    with pytest.raises(InvalidMessageError, match=r"^Anchor must be 32 bytes$"):
        forwarded_deep_hash(Message(data="x", anchor="00000000123"))
    with pytest.raises(InvalidMessageError, match=r"^Too many tag bytes \(4106 > 4096\)$"):
        forwarded_deep_hash(Message(data="x", tags=(Tag("n", "v" * 4100),)))


def test_deep_hash_only_for_forwarded_messages_and_pure() -> None:
    # hydrateMessages.test.js maybeMessageIdWith
    msg_tags = tags(("Data-Protocol", "ao"), ("ao-type", "message"), ("function", "notify"))
    ao = make_ao_global()
    not_forwarded = Envelope(
        ordinate="1", name="n", ao_global=ao, message=Message(id="message-tx-345", tags=msg_tags, data="foobar")
    )
    forwarded = Envelope(
        ordinate="2",
        name="f",
        ao_global=ao,
        message=Message(
            id="message-tx-456",
            signature="sig-123",
            forwarded_by="process-123",
            tags=(*msg_tags, Tag("Forwarded-By", "process-123")),
            data="foobar",
        ),
    )
    one, two, three = (with_deep_hash(e) for e in (forwarded, not_forwarded, forwarded))
    assert one.deep_hash and three.deep_hash
    assert two.deep_hash is None
    assert one.deep_hash == three.deep_hash
    # Id and Signature are not part of the hash, Data is.
    other = replace(forwarded, message=replace(forwarded.message, id="other", signature="other"))
    assert with_deep_hash(other).deep_hash == one.deep_hash
    changed = replace(forwarded, message=replace(forwarded.message, data="foobaz"))
    assert with_deep_hash(changed).deep_hash != one.deep_hash
    assert base64.b64decode(one.deep_hash) and len(base64.b64decode(one.deep_hash)) == 48


# --- assignments ---------------------------------------------------------------------------


@dataclass
class FakeGateway:
    """A `TransactionLoader` over dicts; records every request."""

    metas: dict[str, TransactionMeta]
    data: dict[str, str] = field(default_factory=dict)
    meta_requests: list[tuple[str, GatewaySkip]] = field(default_factory=list)
    data_requests: list[str] = field(default_factory=list)

    async def load_transaction_meta(self, tx_id: str, skip: GatewaySkip) -> TransactionMeta:
        self.meta_requests.append((tx_id, skip))
        return self.metas[tx_id]

    async def load_transaction_data(self, tx_id: str) -> str:
        self.data_requests.append(tx_id)
        return self.data[tx_id]


OWNER = Owner("owner-123", "key-123")


def assignment(tx_id: str, *exclude: str) -> Envelope:
    extra = [{"name": "Message", "value": tx_id}] + [{"name": "Exclude", "value": e} for e in exclude]
    return envelope_from_su_node(su_node(nonce=23, timestamp=123, height="123", extra_tags=extra), make_ao_global())


def test_assignment_request_maps_exclude_to_skip_flags() -> None:
    assert assignment_request(assignment("a")) == ("a", GatewaySkip(), True)
    assert assignment_request(assignment("b", "Tags", "Anchor", "Signature")) == (
        "b",
        GatewaySkip(skip_tags=True, skip_signature=True, skip_anchor=True),
        True,
    )
    assert assignment_request(assignment("c", "Tags", "Data")) == ("c", GatewaySkip(skip_tags=True), False)


def test_apply_transaction_hydrates_and_keeps_assignment_fields() -> None:
    env = assignment("message-tx-123")
    meta = TransactionMeta(
        id="message-tx-123",
        owner=OWNER,
        tags=(Tag("foo", "bar"),),
        signature="sig-123",
        anchor="anchor-123",
        recipient="recipient-123",
    )
    out = apply_transaction(env, meta, "Hello World 🤖❌⚡️")
    assert out.message == replace(
        env.message,
        signature="sig-123",
        anchor="anchor-123",
        tags=(Tag("foo", "bar"),),
        owner="owner-123",
        from_="owner-123",
        target="recipient-123",
        data="Hello World 🤖❌⚡️",
    )
    assert (out.message.epoch, out.message.nonce, out.message.timestamp, out.message.block_height) == (0, 23, 123, 123)
    assert out.message.hash_chain == "hash-123" and out.message.cron is False
    assert out.message.forwarded_by is UNDEFINED
    assert out.ordinate == env.ordinate and out.is_assignment


async def test_hydrate_envelope_assignments_in_order() -> None:
    plain = envelope_from_su_node(su_node(message=su_message()), make_ao_global())
    full, skip_meta, skip_data = (
        assignment("tx-1"),
        assignment("tx-2", "Tags", "Anchor", "Signature"),
        assignment("tx-3", "Tags", "Data"),
    )
    gateway = FakeGateway(
        metas={
            "tx-1": TransactionMeta(
                id="tx-1", owner=OWNER, tags=(Tag("foo", "bar"),), signature="s", anchor="a", recipient="r"
            ),
            "tx-2": TransactionMeta(id="tx-2", owner=OWNER, recipient=""),
            "tx-3": TransactionMeta(id="tx-3", owner=OWNER, signature="s", anchor="a"),
        },
        data={"tx-1": "Hello World 🤖❌⚡️", "tx-2": "Yay Data"},
    )
    out = [await hydrate_envelope(e, gateway) for e in (plain, full, plain, skip_meta, skip_data)]
    assert out[0] == out[2] == replace(plain, message=replace(plain.message, read_only=False))
    assert [m[0] for m in gateway.meta_requests] == ["tx-1", "tx-2", "tx-3"]
    assert gateway.meta_requests[1][1] == GatewaySkip(True, True, True)
    assert gateway.meta_requests[2][1] == GatewaySkip(skip_tags=True)
    assert gateway.data_requests == ["tx-1", "tx-2"]  # Exclude: Data -> no /raw fetch
    one, two, three = out[1].message, out[3].message, out[4].message
    assert (one.target, one.data, one.tags, one.from_) == ("r", "Hello World 🤖❌⚡️", (Tag("foo", "bar"),), "owner-123")
    assert (two.signature, two.anchor, two.tags, two.target, two.data) == (UNDEFINED, UNDEFINED, (), "", "Yay Data")
    assert (three.signature, three.anchor, three.tags, three.target, three.data) == ("s", "a", (), "", UNDEFINED)
    assert all(m.read_only is False and m.cron is False for m in (one, two, three))


async def test_hydrate_envelope_adds_the_deep_hash_of_forwarded_messages() -> None:
    target = "zc24Wpv_i6NNCEdxeKt7dcNrqL5w0hrShtSCcFGGL24"
    msg = su_message(tags=[{"name": "From-Process", "value": "p2"}], anchor=None, target=target)
    node = su_node(message=msg)
    node["assignment"]["tags"][0]["value"] = target  # the Process tag is the message's Target
    env = await hydrate_envelope(envelope_from_su_node(node, make_ao_global()), FakeGateway(metas={}))
    assert env.deep_hash == forwarded_deep_hash(env.message)
    assert env.message.forwarded_by == "owner-123"


async def test_hydrate_envelope_rejects_invalid_messages() -> None:
    env = envelope_from_su_node(su_node(message=su_message(owner={"address": "", "key": "k"})), make_ao_global())
    with pytest.raises(InvalidMessageError, match="'Owner': String must contain at least 1 character"):
        await hydrate_envelope(env, FakeGateway(metas={}))
