"""Hash-chain verification of the SU's message stream, as the reference does it (§2.7, §A.8).

Pure; no I/O; cheap enough (one SHA-256 of ~64 bytes per message) to run inline wherever the
stream is mapped. Start with `HashChainVerifier`: one per evaluation stream, fed every SU
envelope in order; it raises `HashChainMismatchError` (HTTP 422) on the first bad link.

The reference (``servers/cu/src/effects/ao-su.js`` ``mapAoMessage`` / ``isHashChainValidWith``,
``effects/worker/hashChain/main.js``):

* only processes whose spawn block height is >= 1,440,000 are checked ("arweave day"; older
  chains are invalid anyway);
* the running pair (previous assignment id, previous Hash-Chain) starts from the starting
  point's ``mostRecentAssignmentId``/``mostRecentHashChain`` and, after every message, becomes
  that message's assignment id and Hash-Chain, whether or not checking is enabled;
* if either previous value is missing (falsy), a message is valid iff it has a (truthy)
  Hash-Chain; else its Hash-Chain must equal
  ``base64url(sha256(b64url_decode(prev_assignment_id) + b64url_decode(prev_hash_chain)))``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from aocu.arweave import base64url_encode, node_base64_decode
from aocu.errors import HashChainMismatchError

from ._js import js_string, js_truthy
from ._model import Envelope

__all__ = ["HASH_CHAIN_MIN_BLOCK_HEIGHT", "HashChainVerifier", "compute_hash_chain", "is_hash_chain_valid"]

HASH_CHAIN_MIN_BLOCK_HEIGHT: Final = 1_440_000
"""Processes spawned at or above this block height get their hash chain verified."""


def compute_hash_chain(prev_hash_chain: str, prev_assignment_id: str | None = None) -> str:
    """The Hash-Chain that must follow (``hashChain(prevHashChain, prevAssignmentId)``).

    Without a previous assignment id only the previous hash chain is hashed (the SU's very
    first link). Ids are decoded like Node's ``Buffer.from(s, 'base64url')``.
    """
    h = hashlib.sha256()
    if prev_assignment_id:
        h.update(node_base64_decode(prev_assignment_id))
    h.update(node_base64_decode(prev_hash_chain))
    return base64url_encode(h.digest())


def is_hash_chain_valid(prev_assignment_id: Any, prev_hash_chain: Any, actual: Any) -> bool:
    """``isHashChainValid``: whether ``actual`` (a message's Hash-Chain) follows the previous pair."""
    if not js_truthy(prev_assignment_id) or not js_truthy(prev_hash_chain):
        return js_truthy(actual)
    return compute_hash_chain(prev_hash_chain, prev_assignment_id) == actual


class HashChainVerifier:
    """Checks one stream's SU envelopes in order; see the module docstring for the rule."""

    __slots__ = ("enabled", "prev_assignment_id", "prev_hash_chain")

    def __init__(
        self,
        *,
        process_block_height: Any,
        assignment_id: str | None = None,
        hash_chain: str | None = None,
    ) -> None:
        # `height >= 1440000` in JS: NaN, null and undefined heights disable the check.
        self.enabled: bool = (
            isinstance(process_block_height, int | float)
            and not isinstance(process_block_height, bool)
            and process_block_height >= HASH_CHAIN_MIN_BLOCK_HEIGHT
        )
        self.prev_assignment_id: Any = assignment_id
        self.prev_hash_chain: Any = hash_chain

    def check(self, envelope: Envelope) -> None:
        """Verify ``envelope`` against the previous link, then make it the previous link.

        Raises `HashChainMismatchError` ("HashChain invalid on message <Id>", HTTP 422).
        """
        actual = envelope.message.hash_chain
        if self.enabled and not is_hash_chain_valid(self.prev_assignment_id, self.prev_hash_chain, actual):
            raise HashChainMismatchError(f"HashChain invalid on message {js_string(envelope.message.id)}")
        self.prev_assignment_id = envelope.assignment_id
        self.prev_hash_chain = actual
