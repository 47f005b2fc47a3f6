"""Signed checkpoint data items: the signing and verifying ports, and their ANS-104 implementations.

`ItemSigner` makes the uploaded item, `ItemVerifier` checks one read back. Neither sees the data:
the deep hash needs only its SHA-384 and length (`HashedBlob`), computed while the gzip is made
or downloaded, so signing and verifying are one RSA-4096 operation each (milliseconds). The ANS-104
implementations wrap `aocu.arweave`; tests may substitute `aocu.testing.FakeItemSigner`/`FakeItemVerifier`.

A gateway serves a data item's *data* at ``/raw/<id>``, not its signed bytes, so a
checkpoint is re-assembled for verification (`assemble_item`) from what the gateway's GraphQL
index says of it (``signature``, ``owner.key``, ``anchor``, ``recipient``, ``tags``: the
``GetProcesses`` query the CU already sends) and its ``/raw`` data's hash. The tags are re-serialised
in their listed order for the deep hash; arbundles' encoding is canonical, so an item built by
arbundles or by us verifies, and anything else fails verification (the safe side).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from aocu.arweave import (
    ARWEAVE_SIGNATURE_TYPE,
    SIGNATURE_CONFIG,
    ArweaveSigner,
    DataItem,
    HashedBlob,
    serialize_data_item,
    sign_data_item,
    verify_data_item,
)
from aocu.model import Tag

from ._format import CheckpointRejected

__all__ = ["Ans104Signer", "Ans104Verifier", "ItemSigner", "ItemVerifier", "SignedItem", "assemble_item",
           "signed_item_bytes"]

#: Signature type 1 (Arweave RSA-PSS): 512-byte signature and owner (the RSA-4096 modulus).
ARWEAVE_KEY_BYTES = SIGNATURE_CONFIG[ARWEAVE_SIGNATURE_TYPE][0]


@dataclass(frozen=True, slots=True)
class SignedItem:
    """A signed item's id and its bytes up to its data: the item is ``header`` + the data."""

    id: str
    header: bytes


class ItemSigner(Protocol):
    @property
    def address(self) -> str:
        """The signer's wallet address (the owner GraphQL finds its items by)."""
        ...

    def sign(self, data: HashedBlob, tags: Sequence[Tag]) -> SignedItem:
        """A data item without target or anchor, signed over data of that hash and length."""
        ...


class ItemVerifier(Protocol):
    def verify(self, item: DataItem, data: HashedBlob) -> None:
        """Check the item's signature over data of that hash and length (``item.data`` is not read);
        `CheckpointRejected` saying why when it does not hold."""
        ...


def signed_item_bytes(signer: ItemSigner, data: bytes, tags: Sequence[Tag]) -> bytes:
    """A whole signed item in one piece (tests, small data; checkpoints upload header and data apart)."""
    return signer.sign(HashedBlob.of(data), tags).header + data


def _b64url_decode(text: str | None, what: str) -> bytes:
    if not text:
        return b""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise CheckpointRejected(f"the gateway's {what} is not base64url") from None


def assemble_item(*, signature: str | None, owner_key: str, anchor: str | None, target: str | None,
                  tags: Sequence[Tag]) -> DataItem:
    """The Arweave-signed data item an index entry describes, without its data (verified by its hash)."""
    sig = _b64url_decode(signature, "signature")
    owner = _b64url_decode(owner_key, "owner key")
    if len(sig) != ARWEAVE_KEY_BYTES or len(owner) != ARWEAVE_KEY_BYTES:
        raise CheckpointRejected(f"not an Arweave-signed item (signature {len(sig)} bytes, owner "
                                 f"{len(owner)} bytes; {ARWEAVE_KEY_BYTES} expected)")
    return DataItem(signature_type=ARWEAVE_SIGNATURE_TYPE, signature=sig, owner=owner,
                    target=_b64url_decode(target, "recipient"), anchor=_b64url_decode(anchor, "anchor"),
                    tags=tuple(Tag(t.name, t.value) for t in tags))


class Ans104Signer:
    """`ItemSigner` with the CU's Arweave JWK (``WALLET``)."""

    def __init__(self, jwk: Mapping[str, str]) -> None:
        self._signer = ArweaveSigner.from_jwk(jwk)

    @property
    def address(self) -> str:
        return self._signer.address

    def sign(self, data: HashedBlob, tags: Sequence[Tag]) -> SignedItem:
        item = sign_data_item(self._signer, data=data, tags=tags)
        return SignedItem(item.id, serialize_data_item(item))    # data left empty: the header


class Ans104Verifier:
    """`ItemVerifier` for Arweave-signed ANS-104 items (`aocu.arweave.verify_data_item`)."""

    def verify(self, item: DataItem, data: HashedBlob) -> None:
        if not verify_data_item(item, data):
            raise CheckpointRejected(f"the signature of {item.id} does not verify")
