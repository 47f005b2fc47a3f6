"""The devnet's side of ANS-104: items signed by its `FakeWallet`s, and which signatures it takes.

Pure functions; any thread. The format itself (parse, serialise, deep hash, tags) is
`aocu.arweave`'s; this module only adds the fake signer, so the devnet's items go through the
same `sign_data_item`/`serialize_data_item` path as real ones. `signature_accepted` is the
bundler's check (``POST /tx/<token>``): a real type-1 signature must verify, and a
`FakeWallet` signature (recognised by its marker) must match its item; the SU's ``POST /``
does not check signatures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aocu.arweave import (
    DataItem,
    DataItemError,
    HashedBlob,
    parse_data_item,
    serialize_data_item,
    sign_data_item,
    signature_data,
    verify_data_item,
)
from aocu.model import Tag

from ._ids import FakeWallet, fake_signature_valid, is_fake_signature

__all__ = [
    "DataItem",
    "DataItemError",
    "Tag",
    "build_data_item",
    "parse_data_item",
    "serialize_data_item",
    "signature_accepted",
]


@dataclass(frozen=True, slots=True)
class _FakeSigner:
    """A `FakeWallet` with one salt, in the shape `sign_data_item` takes."""

    wallet: FakeWallet
    salt: bytes
    signature_type: int = 1

    @property
    def owner(self) -> bytes:
        return self.wallet.key

    def sign(self, message: bytes) -> bytes:
        return self.wallet.sign(message, salt=self.salt)


def build_data_item(wallet: FakeWallet, *, data: bytes | HashedBlob = b"", tags: Sequence[Tag] = (),
                    target: bytes = b"", anchor: bytes = b"", salt: bytes = b"") -> DataItem:
    """An arweave-type data item "signed" by a `FakeWallet`.

    The id is a function of the fields and ``salt``: a real RSA-PSS signature is
    randomized, so two identical items get different ids; a salt does that here.
    Raises `DataItemError` for fields no valid item has (e.g. a 31-byte anchor).
    """
    return sign_data_item(_FakeSigner(wallet, salt), data=data, tags=tags, target=target, anchor=anchor)


def signature_accepted(item: DataItem) -> bool:
    """Whether a bundler would take ``item``: a verified type-1 signature, or a valid fake one."""
    if item.signature_type == 1 and is_fake_signature(item.signature):
        return fake_signature_valid(item.owner, signature_data(item), item.signature)
    return verify_data_item(item)
