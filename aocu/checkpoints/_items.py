"""Signed checkpoint data items: the signing and verifying ports, and their ANS-104 implementations.

`ItemSigner` makes the uploaded item, `ItemVerifier` checks one read back; both are CPU work
(RSA-4096, a SHA-384 deep hash over the whole gzip): call them in a worker thread. The ANS-104
implementations wrap `aocu.arweave`; tests may substitute `aocu.testing.FakeItemSigner`/`FakeItemVerifier`.

A gateway serves a data item's *data* at ``/raw/<id>``, not its signed bytes, so a
checkpoint is re-assembled for verification (`assemble_item`) from what the gateway's GraphQL
index says of it (``signature``, ``owner.key``, ``anchor``, ``recipient``, ``tags``: the
``GetProcesses`` query the CU already sends) and its ``/raw`` data. The tags are re-serialised
in their listed order for the deep hash; arbundles' encoding is canonical, so an item built by
arbundles or by us verifies, and anything else fails verification (the safe side).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from aocu.arweave import (
    ArweaveSigner,
    DataItem,
    serialize_data_item,
    sign_data_item,
    verify_data_item,
)
from aocu.model import Tag

from ._format import CheckpointRejected

__all__ = ["Ans104Signer", "Ans104Verifier", "ItemSigner", "ItemVerifier", "SignedItem", "assemble_item"]

#: ANS-104 signature type 1 (Arweave RSA-PSS): 512-byte signature and owner (RSA-4096 modulus).
ARWEAVE_SIGNATURE_TYPE = 1
ARWEAVE_KEY_BYTES = 512


@dataclass(frozen=True, slots=True)
class SignedItem:
    id: str
    raw: bytes


class ItemSigner(Protocol):
    @property
    def address(self) -> str:
        """The signer's wallet address (the owner GraphQL finds its items by)."""
        ...

    def sign(self, data: bytes, tags: Sequence[Tag]) -> SignedItem:
        """A signed data item without target or anchor, serialised."""
        ...


class ItemVerifier(Protocol):
    def verify(self, item: DataItem) -> None:
        """Check the item's signature; `CheckpointRejected` saying why when it does not hold."""
        ...


def _b64url_decode(text: str | None, what: str) -> bytes:
    if not text:
        return b""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise CheckpointRejected(f"the gateway's {what} is not base64url") from None


def assemble_item(*, signature: str | None, owner_key: str, anchor: str | None, target: str | None,
                  tags: Sequence[Tag], data: bytes) -> DataItem:
    """The Arweave-signed data item an index entry and its data describe (``data`` is not copied)."""
    sig = _b64url_decode(signature, "signature")
    owner = _b64url_decode(owner_key, "owner key")
    if len(sig) != ARWEAVE_KEY_BYTES or len(owner) != ARWEAVE_KEY_BYTES:
        raise CheckpointRejected(f"not an Arweave-signed item (signature {len(sig)} bytes, owner "
                                 f"{len(owner)} bytes; {ARWEAVE_KEY_BYTES} expected)")
    return DataItem(signature_type=ARWEAVE_SIGNATURE_TYPE, signature=sig, owner=owner,
                    target=_b64url_decode(target, "recipient"), anchor=_b64url_decode(anchor, "anchor"),
                    tags=tuple(Tag(t.name, t.value) for t in tags), data=data)


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

    def verify(self, item: DataItem) -> None:
        if not verify_data_item(item):
            raise CheckpointRejected(f"the signature of {item.id} does not verify")
