"""Signed checkpoint data items: the signing and verifying ports, and their ANS-104 implementations.

`ItemSigner` makes the uploaded item, `ItemVerifier` checks one read back; both are CPU work
(RSA-4096, a SHA-384 deep hash over the whole gzip): call them in a worker thread. The ANS-104
implementations wrap `aocu.arweave`; tests may substitute `aocu.testing.FakeItemSigner`/`FakeItemVerifier`.

A gateway serves a data item's *data* at ``/raw/<id>``, not its signed bytes, so a
checkpoint is re-assembled for verification (`assemble_item`) from what the gateway's GraphQL
index says of it (``signature``, ``owner.key``, ``anchor``, ``recipient``, ``tags``: the
``GetProcesses`` query the CU already sends) and its ``/raw`` data. The tags are re-serialised
in their listed order; arbundles' encoding is canonical, so an item built by arbundles or by us
round-trips to the bytes that were signed, and anything else fails verification (safe side).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from aocu.arweave import (
    ArweaveSigner,
    DataItem,
    DataItemError,
    parse_data_item,
    serialize_data_item,
    sign_data_item,
    verify_data_item,
)
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
    item = DataItem(signature_type=ARWEAVE_SIGNATURE_TYPE, signature=sig, owner=owner,
                    target=_b64url_decode(target, "recipient"), anchor=_b64url_decode(anchor, "anchor"),
                    tags=tuple(tags), data=data)
    try:
        return serialize_data_item(item)
    except (DataItemError, ValueError, TypeError) as exc:
        raise CheckpointRejected(f"the indexed fields do not make a data item: {exc}") from None


class Ans104Signer:
    """`ItemSigner` with the CU's Arweave JWK (``WALLET``)."""

    def __init__(self, jwk: Mapping[str, str]) -> None:
        self._signer = ArweaveSigner.from_jwk(jwk)

    @property
    def address(self) -> str:
        return self._signer.address

    def sign(self, data: bytes, tags: Sequence[Tag]) -> SignedItem:
        item = sign_data_item(self._signer, data=data, tags=tags)
        return SignedItem(item.id, serialize_data_item(item))


class Ans104Verifier:
    """`ItemVerifier` for Arweave-signed ANS-104 items (`aocu.arweave.verify_data_item`)."""

    def verify(self, raw: bytes) -> VerifiedItem:
        try:
            item = parse_data_item(raw)
        except DataItemError as exc:
            raise CheckpointRejected(f"not a data item: {exc}") from None
        if not verify_data_item(item):
            raise CheckpointRejected(f"the signature of {item.id} does not verify")
        return VerifiedItem(item.id, item.owner_address, tuple(Tag(t.name, t.value) for t in item.tags),
                            bytes(item.data))
