"""Signed checkpoint data items: the signing and verifying ports, and their ANS-104 implementations.

`ItemSigner` makes the uploaded item, `ItemVerifier` checks one read back; both are CPU work
(RSA-4096, a SHA-384 deep hash over the whole gzip): call them in a worker thread. The ANS-104
implementations wrap `aocu.arweave` (imported when first used). Tests substitute doubles.

A gateway serves a data item's *data* at ``/raw/<id>``, not its signed bytes, so a
checkpoint is re-assembled for verification (`assemble_item`) from what the gateway's GraphQL
index says of it (``signature``, ``owner.key``, ``anchor``, ``recipient``, ``tags``: the
``GetProcesses`` query the CU already sends) and its ``/raw`` data. The tags are re-serialised
in their listed order; arbundles' encoding is canonical, so an item built by arbundles or by us
round-trips to the bytes that were signed, and anything else fails verification (safe side).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aocu.arweave import serialize_tags
from aocu.model import Tag

from ._format import CheckpointRejected

__all__ = ["Ans104Signer", "Ans104Verifier", "ItemSigner", "ItemVerifier", "SignedItem", "VerifiedItem",
           "assemble_item"]

#: ANS-104 signature type 1 (Arweave RSA-PSS): 512-byte signature and owner (RSA-4096 modulus).
ARWEAVE_SIGNATURE_TYPE = 1
ARWEAVE_KEY_BYTES = 512


@dataclass(frozen=True, slots=True)
class SignedItem:
    id: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class VerifiedItem:
    """A data item whose signature checked out."""

    id: str
    owner_address: str
    tags: tuple[Tag, ...]
    data: bytes


class ItemSigner(Protocol):
    @property
    def address(self) -> str:
        """The signer's wallet address (the owner GraphQL finds its items by)."""
        ...

    def sign(self, data: bytes, tags: Sequence[Tag]) -> SignedItem:
        """A signed data item without target or anchor, serialised."""
        ...


class ItemVerifier(Protocol):
    def verify(self, raw: bytes) -> VerifiedItem:
        """Parse and check the signature; `CheckpointRejected` saying why when it does not hold."""
        ...


def _b64url_decode(text: str | None, what: str) -> bytes:
    if not text:
        return b""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise CheckpointRejected(f"the gateway's {what} is not base64url") from None


def assemble_item(*, signature: str | None, owner_key: str, anchor: str | None, target: str | None,
                  tags: Sequence[Tag], data: bytes) -> bytes:
    """The ANS-104 bytes of an Arweave-signed item from its indexed header fields and its data."""
    sig = _b64url_decode(signature, "signature")
    owner = _b64url_decode(owner_key, "owner key")
    if len(sig) != ARWEAVE_KEY_BYTES or len(owner) != ARWEAVE_KEY_BYTES:
        raise CheckpointRejected(f"not an Arweave-signed item (signature {len(sig)} bytes, owner "
                                 f"{len(owner)} bytes; {ARWEAVE_KEY_BYTES} expected)")
    out = bytearray(ARWEAVE_SIGNATURE_TYPE.to_bytes(2, "little"))
    out += sig + owner
    for value, what in ((_b64url_decode(target, "recipient"), "recipient"), (_b64url_decode(anchor, "anchor"),
                                                                              "anchor")):
        if value and len(value) != 32:
            raise CheckpointRejected(f"the item's {what} is {len(value)} bytes, not 32")
        out += (b"\x01" + value) if value else b"\x00"
    raw_tags = serialize_tags([(t.name, t.value) for t in tags]) if tags else b""
    out += len(tags).to_bytes(8, "little") + len(raw_tags).to_bytes(8, "little") + raw_tags + data
    return bytes(out)


class Ans104Signer:
    """`ItemSigner` with the CU's Arweave JWK (``WALLET``)."""

    def __init__(self, jwk: dict[str, Any]) -> None:
        from aocu.arweave import ArweaveSigner  # type: ignore[attr-defined]

        self._signer = ArweaveSigner.from_jwk(jwk)

    @property
    def address(self) -> str:
        return str(self._signer.address)

    def sign(self, data: bytes, tags: Sequence[Tag]) -> SignedItem:
        from aocu.arweave import serialize_data_item, sign_data_item  # type: ignore[attr-defined]

        item = sign_data_item(self._signer, data=data, tags=list(tags))
        return SignedItem(item.id, serialize_data_item(item))


class Ans104Verifier:
    """`ItemVerifier` for ANS-104 items (any signature type `aocu.arweave` verifies)."""

    def verify(self, raw: bytes) -> VerifiedItem:
        from aocu.arweave import DataItemError, parse_data_item, verify_data_item  # type: ignore[attr-defined]

        try:
            item = parse_data_item(raw)
        except DataItemError as exc:
            raise CheckpointRejected(f"not a data item: {exc}") from None
        if not verify_data_item(item):
            raise CheckpointRejected(f"the signature of {item.id} does not verify")
        return VerifiedItem(item.id, item.owner_address, tuple(Tag(t.name, t.value) for t in item.tags),
                            bytes(item.data))
