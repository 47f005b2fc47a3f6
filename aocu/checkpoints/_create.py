"""Creating Arweave checkpoints: throttle, find-existing, sign, upload, record (reference-cu.md §2.16).

`ArweaveCheckpointer.create` runs on the trio thread and does its CPU work (gzip with SHA-256 and
SHA-384 on the way, one RSA signature) in a worker thread. It is called with a *copy* of a process's memory, taken
while the process was checked out, from a background task of the CU: the request that
crossed an eager threshold never waits for an upload (the reference awaits it, §8.5 #34).
Failures raise; the caller logs and drops them (a checkpoint is an optimisation).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

import trio

from aocu.clients import CheckpointRecord as ListedCheckpoint
from aocu.clients import Uploader
from aocu.stores import CheckpointRecord, CheckpointStore, MemoryBuffer, MemoryPoint

from ._codec import encode_memory
from ._format import checkpoint_tags, first_tag
from ._items import ItemSigner

__all__ = ["ArweaveCheckpointer", "FindsCheckpoint"]

log = logging.getLogger("aocu.checkpoints")


class FindsCheckpoint(Protocol):
    async def find_checkpoint(self, *, owner: str, process_id: str, timestamp: int, nonce: str,
                              cron: str | None = None) -> ListedCheckpoint | None: ...


class ArweaveCheckpointer:
    """Uploads signed checkpoints of process memory, at most one per process per throttle period."""

    def __init__(self, *, signer: ItemSigner, uploader: Uploader, gateway: FindsCheckpoint, store: CheckpointStore,
                 unit_id: str, throttle_ms: int, clock_ms: Callable[[], float] = lambda: time.time() * 1000,
                 limiter: trio.CapacityLimiter | None = None) -> None:
        self.signer = signer
        self.uploader = uploader
        self.gateway = gateway
        self.store = store
        self.unit_id = unit_id
        self.throttle_ms = throttle_ms
        self._clock_ms = clock_ms
        self._limiter = limiter
        # process id -> when its last upload succeeded (in memory only, as in the reference §8.5 #37)
        self._uploaded_at: dict[str, float] = {}
        # processes with a creation under way: a second trigger meanwhile would upload a duplicate
        self._in_flight: set[str] = set()

    @property
    def address(self) -> str:
        return self.signer.address

    def throttled(self, process_id: str) -> bool:
        """True while a checkpoint of the process is being created or was uploaded less than the throttle ago."""
        if process_id in self._in_flight:
            return True
        at = self._uploaded_at.get(process_id)
        if at is None:
            return False
        if self._clock_ms() - at < self.throttle_ms:
            return True
        del self._uploaded_at[process_id]
        return False

    async def create(self, point: MemoryPoint, memory: MemoryBuffer) -> CheckpointRecord | None:
        """Upload a checkpoint of *memory* at *point* and record it; None when throttled.

        An existing checkpoint by this CU's wallet at the same point is reused (recorded, not
        uploaded again, and the throttle is not started), as in the reference.
        """
        if self.throttled(point.process_id):
            log.debug("arweave checkpoint of %s recently created, not creating another", point.process_id)
            return None
        self._in_flight.add(point.process_id)
        try:
            return await self._create(point, memory)
        finally:
            self._in_flight.discard(point.process_id)

    async def _create(self, point: MemoryPoint, memory: MemoryBuffer) -> CheckpointRecord:
        nonce = str(point.nonce or point.ordinate)
        existing = await self.gateway.find_checkpoint(owner=self.address, process_id=point.process_id,
                                                      timestamp=point.timestamp, nonce=nonce, cron=point.cron)
        if existing is not None:
            log.info("checkpoint of %s at nonce %s already on Arweave: %s", point.process_id, nonce, existing.id)
            record = CheckpointRecord(point=point, checkpoint_id=existing.id,
                                      encoding=first_tag(existing.tags, "Content-Encoding"))
        else:
            def build() -> tuple[str, tuple[bytes, ...]]:
                encoded = encode_memory(memory)
                tags = checkpoint_tags(point, sha256=encoded.sha256, unit_id=self.unit_id)
                signed = self.signer.sign(encoded.gzip, tags)
                return signed.id, (signed.header, *encoded.parts)

            # the item goes up as header + gzip pieces: no joined copy of the gzip is ever made
            item_id, parts = await trio.to_thread.run_sync(build, limiter=self._limiter)
            await self.uploader.upload_data_item(parts, item_id=item_id)
            self._uploaded_at[point.process_id] = self._clock_ms()
            log.info("uploaded checkpoint %s of %s at nonce %s (%d bytes)", item_id, point.process_id, nonce,
                     sum(map(len, parts)))
            record = CheckpointRecord(point=point, checkpoint_id=item_id, encoding="gzip")
        try:
            await self.store.write_checkpoint_record(record)
        except Exception:        # the checkpoint exists either way; the record only saves a query
            log.exception("could not record checkpoint %s of %s", record.checkpoint_id, point.process_id)
        return record
