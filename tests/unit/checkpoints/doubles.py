"""In-memory doubles for the checkpoint ports: a signer/verifier pair on the devnet's fake wallets,
an uploader, and a gateway holding uploaded items (with ways to tamper with what it serves)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aocu.clients import CheckpointRecord as ListedCheckpoint
from aocu.clients import NotFoundError, Owner, TransactionMeta, UpstreamStatusError
from aocu.clients._gateway import parse_checkpoint
from aocu.devnet._ans104 import DataItem, parse_data_item
from aocu.devnet._ids import b64url_encode
from aocu.model import Tag
from aocu.testing import FakeItemSigner, FakeItemVerifier

T = TypeVar("T")
FakeSigner = FakeItemSigner
FakeVerifier = FakeItemVerifier


class FakeUploader:
    def __init__(self, gateway: FakeGateway | None = None) -> None:
        self.gateway = gateway
        self.uploads: list[bytes] = []
        self.fail = False

    async def upload_data_item(self, raw: bytes | Sequence[bytes], *, item_id: str | None = None) -> str:
        if self.fail:
            raise UpstreamStatusError("502 from the uploader", upstream="uploader", method="POST", url="x", status=502)
        raw = raw if isinstance(raw, bytes) else b"".join(raw)
        self.uploads.append(raw)
        item = parse_data_item(raw)
        if self.gateway is not None:
            self.gateway.add(item)
        return item.id


class FakeGateway:
    """Uploaded items, newest first in queries; ``meta_overrides``/``data_overrides`` tamper per id."""

    def __init__(self) -> None:
        self.items: list[DataItem] = []
        self.meta_overrides: dict[str, dict[str, Any]] = {}
        self.data_overrides: dict[str, bytes] = {}
        self.listed_overrides: dict[str, list[Tag]] = {}
        self.queries: list[tuple[str, tuple[str, ...]]] = []
        self.downloads: list[str] = []
        self.fail_queries = False
        self.honest_owners = True          # False: answer with every owner's checkpoints (a lying index)
        self.piece_bytes: int | None = None

    def add(self, item: DataItem) -> None:
        if all(i.id != item.id for i in self.items):
            self.items.append(item)

    def _node(self, item: DataItem) -> ListedCheckpoint:
        tags = self.listed_overrides.get(item.id) or [Tag(t.name, t.value) for t in item.tags]
        node = {"id": item.id, "owner": {"address": item.owner_address},
                "tags": [{"name": t.name, "value": t.value} for t in tags]}
        return parse_checkpoint(node, "node")

    async def query_checkpoints(self, process_id: str, owners: Sequence[str], *,
                                limit: int = 50) -> tuple[ListedCheckpoint, ...]:
        self.queries.append((process_id, tuple(owners)))
        if self.fail_queries:
            raise UpstreamStatusError("503", upstream="gateway", method="POST", url="x", status=503)
        found = [self._node(i) for i in reversed(self.items)
                 if i.tag("Process") == process_id and i.tag("Type") == "Checkpoint"
                 and (i.owner_address in owners or not self.honest_owners)]
        return tuple(found[:limit])

    async def find_checkpoint(self, *, owner: str, process_id: str, timestamp: int, nonce: str,
                              cron: str | None = None) -> ListedCheckpoint | None:
        for item in reversed(self.items):
            if (item.owner_address == owner and item.tag("Process") == process_id
                    and item.tag("Timestamp") == str(timestamp) and item.tag("Nonce") == nonce
                    and (cron is None or item.tag("Cron-Interval") == cron)):
                return self._node(item)
        return None

    def _item(self, tx_id: str) -> DataItem:
        for item in self.items:
            if item.id == tx_id:
                return item
        raise NotFoundError(f"no {tx_id}", upstream="gateway", method="GET", url="x", status=404)

    async def load_transaction_meta(self, tx_id: str, **_: Any) -> TransactionMeta:
        item = self._item(tx_id)
        fields: dict[str, Any] = {
            "id": item.id, "owner": Owner(item.owner_address, b64url_encode(item.owner)),
            "tags": tuple(Tag(t.name, t.value) for t in item.tags), "signature": b64url_encode(item.signature),
            "anchor": "", "recipient": ""}
        fields.update(self.meta_overrides.get(tx_id, {}))
        return TransactionMeta(**fields)

    async def consume_transaction_data(self, tx_id: str, consume: Callable[[AsyncIterator[bytes]], Awaitable[T]], *,
                                       max_bytes: int | None = None, chunk_bytes: int = 1 << 20) -> T:
        """The data in pieces of ``chunk_bytes`` (``piece_bytes`` when set: tests cut it finer)."""
        self.downloads.append(tx_id)
        data = self.data_overrides.get(tx_id, self._item(tx_id).data)
        step = self.piece_bytes or chunk_bytes

        async def pieces() -> AsyncIterator[bytes]:
            for offset in range(0, len(data), step):
                yield data[offset:offset + step]

        return await consume(pieces())
