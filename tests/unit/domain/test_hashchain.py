"""aocu.domain hash-chain verification (reference-cu.md §2.7, §A.8; ao-su.test.js ``isHashChainValid``)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from aocu.domain import (
    HASH_CHAIN_MIN_BLOCK_HEIGHT,
    HashChainVerifier,
    compute_hash_chain,
    envelope_from_su_node,
    is_hash_chain_valid,
)
from aocu.errors import HashChainMismatchError

from .builders import make_ao_global, su_message, su_node


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


PREV_ASSIGNMENT = b64url(b"assignment-123")  # "YXNzaWdubWVudC0xMjM"
PREV_HASH_CHAIN = b64url(b"hashchain-123")  # "aGFzaGNoYWluLTEyMw"


def test_spec_vector() -> None:
    assert PREV_ASSIGNMENT == "YXNzaWdubWVudC0xMjM"
    assert PREV_HASH_CHAIN == "aGFzaGNoYWluLTEyMw"
    expected = "ddI8r_ExCIgmrTJwINZX0im3TC-MS6lfEjHagLLy7_w"
    assert compute_hash_chain(PREV_HASH_CHAIN, PREV_ASSIGNMENT) == expected
    digest = hashlib.sha256(b"assignment-123" + b"hashchain-123").digest()
    assert b64url(digest) == expected


def test_without_previous_assignment_only_the_hash_chain_is_hashed() -> None:
    assert compute_hash_chain(PREV_HASH_CHAIN) == b64url(hashlib.sha256(b"hashchain-123").digest())


def test_valid_iff_hash_chain_present_when_no_previous_pair() -> None:
    # ao-su.test.js: no prev info, or one of the two missing.
    assert is_hash_chain_valid(None, None, "hash-123")
    assert is_hash_chain_valid("foo", None, "hash-123")
    assert is_hash_chain_valid(None, "foo", "hash-123")
    assert is_hash_chain_valid("", "foo", "hash-123")
    assert not is_hash_chain_valid(None, None, None)
    assert not is_hash_chain_valid(None, None, "")


def test_compares_with_hash_of_previous_pair() -> None:
    good = b64url(hashlib.sha256(b"assignment-123" + b"hashchain-123").digest())
    assert is_hash_chain_valid(PREV_ASSIGNMENT, PREV_HASH_CHAIN, good)
    bad = b64url(hashlib.sha256(b"something else" + b"hashchain-123").digest())
    assert not is_hash_chain_valid(PREV_ASSIGNMENT, PREV_HASH_CHAIN, bad)


def envelope(*, assignment_id: str, hash_chain: str | None, msg_id: str = "message-123"):
    node = su_node(hash_chain=hash_chain, assignment_id=assignment_id, message=su_message(msg_id))
    return envelope_from_su_node(node, make_ao_global())


def test_verifier_walks_the_chain_and_raises_422() -> None:
    first = envelope(assignment_id=PREV_ASSIGNMENT, hash_chain=PREV_HASH_CHAIN)
    link = compute_hash_chain(PREV_HASH_CHAIN, PREV_ASSIGNMENT)
    second = envelope(assignment_id=b64url(b"assignment-124"), hash_chain=link)
    third = envelope(assignment_id=b64url(b"assignment-125"), hash_chain="wrong", msg_id="msg-3")
    v = HashChainVerifier(process_block_height=HASH_CHAIN_MIN_BLOCK_HEIGHT)
    v.check(first)  # no previous pair: a Hash-Chain is enough
    v.check(second)
    assert (v.prev_assignment_id, v.prev_hash_chain) == (second.assignment_id, link)
    with pytest.raises(HashChainMismatchError) as info:
        v.check(third)
    assert str(info.value) == "HashChain invalid on message msg-3"
    assert info.value.http_status == 422


def test_verifier_starts_from_the_cached_pair() -> None:
    link = compute_hash_chain(PREV_HASH_CHAIN, PREV_ASSIGNMENT)
    v = HashChainVerifier(process_block_height=1_500_000, assignment_id=PREV_ASSIGNMENT, hash_chain=PREV_HASH_CHAIN)
    v.check(envelope(assignment_id="a2", hash_chain=link))
    with pytest.raises(HashChainMismatchError):
        HashChainVerifier(
            process_block_height=1_500_000, assignment_id=PREV_ASSIGNMENT, hash_chain=PREV_HASH_CHAIN
        ).check(envelope(assignment_id="a2", hash_chain="hash-123"))


def test_missing_hash_chain_fails_even_without_previous_pair() -> None:
    with pytest.raises(HashChainMismatchError):
        HashChainVerifier(process_block_height=1_440_000).check(envelope(assignment_id="a", hash_chain=None))


@pytest.mark.parametrize("height", [1_439_999, 0, float("nan"), None])
def test_old_processes_are_not_checked(height: object) -> None:
    v = HashChainVerifier(process_block_height=height)
    assert not v.enabled
    v.check(envelope(assignment_id="a1", hash_chain=None))
    v.check(envelope(assignment_id="a2", hash_chain="anything"))
    # ... but the running pair still advances.
    assert (v.prev_assignment_id, v.prev_hash_chain) == ("a2", "anything")


def test_cutoff_is_inclusive() -> None:
    assert HASH_CHAIN_MIN_BLOCK_HEIGHT == 1_440_000
    assert HashChainVerifier(process_block_height=1_440_000).enabled
