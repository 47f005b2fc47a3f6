"""A checkpoint signer and verifier on the devnet's fake wallets (hash "signatures", no RSA).

`FakeItemSigner` signs like the devnet's `FakeWallet` (deterministic, milliseconds instead of an
RSA-4096 signature); `FakeItemVerifier` accepts exactly the items such a wallet signed, so a test
sees every tampering a real verifier sees. Pure; any thread.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from aocu.checkpoints import CheckpointRejected, SignedItem, VerifiedItem
from aocu.devnet._ans104 import DataItemError, build_data_item, parse_data_item, serialize_data_item, signature_data
from aocu.devnet._ans104 import Tag as ItemTag
from aocu.devnet._ids import FakeWallet
from aocu.model import Tag

__all__ = ["FakeItemSigner", "FakeItemVerifier"]


class FakeItemSigner:
    """`aocu.checkpoints.ItemSigner` with a named `FakeWallet`."""

    def __init__(self, name: str = "cu") -> None:
        self.wallet = FakeWallet.named(name)

    @property
    def address(self) -> str:
        return self.wallet.address

    def sign(self, data: bytes, tags: Sequence[Tag]) -> SignedItem:
        item = build_data_item(self.wallet, data=data, tags=[ItemTag(t.name, t.value) for t in tags])
        return SignedItem(item.id, serialize_data_item(item))


class FakeItemVerifier:
    """`aocu.checkpoints.ItemVerifier` for items signed by the named fake wallets."""

    def __init__(self, names: Iterable[str] = ("cu", "other", "evil")) -> None:
        self._wallets = {w.key: w for w in (FakeWallet.named(n) for n in names)}

    def verify(self, raw: bytes) -> VerifiedItem:
        try:
            item = parse_data_item(raw)
        except DataItemError as exc:
            raise CheckpointRejected(f"not a data item: {exc}") from None
        wallet = self._wallets.get(item.owner)
        if wallet is None or item.signature != wallet.sign(signature_data(dataclasses.replace(item, signature=b""))):
            raise CheckpointRejected(f"the signature of {item.id} does not verify")
        return VerifiedItem(item.id, item.owner_address, tuple(Tag(t.name, t.value) for t in item.tags), item.data)
