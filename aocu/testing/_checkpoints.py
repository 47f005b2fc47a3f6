"""A checkpoint signer and verifier on the devnet's fake wallets (hash "signatures", no RSA).

`FakeItemSigner` signs like the devnet's `FakeWallet` (deterministic, milliseconds instead of an
RSA-4096 signature); `FakeItemVerifier` accepts exactly the items such a wallet signed, so a test
sees every tampering a real verifier sees (the devnet's bundler takes both). Pure; any thread.
"""

from __future__ import annotations

from collections.abc import Sequence

from aocu.arweave import DataItem, HashedBlob, serialize_data_item, signature_data
from aocu.checkpoints import CheckpointRejected, SignedItem
from aocu.devnet import FakeWallet, build_data_item, fake_signature_valid
from aocu.model import Tag

__all__ = ["FakeItemSigner", "FakeItemVerifier"]


class FakeItemSigner:
    """`aocu.checkpoints.ItemSigner` with a named `FakeWallet`."""

    def __init__(self, name: str = "cu") -> None:
        self.wallet = FakeWallet.named(name)

    @property
    def address(self) -> str:
        return self.wallet.address

    def sign(self, data: HashedBlob, tags: Sequence[Tag]) -> SignedItem:
        item = build_data_item(self.wallet, data=data, tags=tags)
        return SignedItem(item.id, serialize_data_item(item))


class FakeItemVerifier:
    """`aocu.checkpoints.ItemVerifier` for items signed by any `FakeWallet` (refuses real RSA ones)."""

    def verify(self, item: DataItem, data: HashedBlob) -> None:
        if not fake_signature_valid(item.owner, signature_data(item, data), item.signature):
            raise CheckpointRejected(f"the signature of {item.id} does not verify")
