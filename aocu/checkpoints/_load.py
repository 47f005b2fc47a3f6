"""Loading checkpoints from Arweave: the record and Arweave starting-point sources (reference-cu.md §2.5.5-6).

`CheckpointFinder.find` runs on the trio thread (CPU work in worker threads) after the hot cache
and the local files had nothing. Sources, in order:

* **record**: this CU's ``checkpoints`` rows (newest first, up to 5), each a checkpoint id;
* **arweave**: ``GetAoProcessCheckpoints`` by the trusted owners (``PROCESS_CHECKPOINT_TRUSTED_OWNERS``,
  else this CU's wallet), or only the preferred owners' when they have any; newest nonce first;
  with more than ``S + R`` candidates, the reference's re-evaluation windows choose (`_windows`).

Unlike the reference, which loads ``/raw/<id>`` and trusts it, every checkpoint is verified
before use (`_fetch_verified`): the signed item is re-assembled from the gateway's index, its
owner must be trusted and its signed tags must be the listed ones and name this process (and
module), all before the download; the download is hashed and gunzipped as it arrives
(`_stream`), then the signature is checked over the data's hash and the memory must hash to its
``SHA-256`` tag.
A checkpoint failing any check is logged and skipped, and the next older one is tried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import trio

from aocu.arweave import HashedBlob
from aocu.clients import CheckpointRecord as ListedCheckpoint
from aocu.clients import TransactionMeta, UpstreamError
from aocu.model import Tag
from aocu.stores import CheckpointStore, MemoryPoint

from ._codec import PIECE_BYTES, MemoryDecoder, check_sha256
from ._format import CheckpointRejected, check_item, first_tag, point_of
from ._items import ItemVerifier, assemble_item
from ._stream import read_checkpoint_data

__all__ = ["CheckpointFinder", "CheckpointGateway", "FinderSettings", "Found", "Replay"]

log = logging.getLogger("aocu.checkpoints")

#: ``GetAoProcessCheckpoints`` page size (the reference's ``limit: 50``).
QUERY_LIMIT = 50
#: Records read per lookup (``findRecordCheckpointBefore``'s ``LIMIT 5``).
RECORD_LIMIT = 5

T = TypeVar("T")

Replay = Callable[[str, bytes | bytearray, MemoryPoint, int], Awaitable[tuple[bytes, MemoryPoint]]]
"""``replay(process_id, memory, from_point, to_timestamp)``: evaluate from a memory to a timestamp
through the normal pipeline without persisting anything; returns the memory and where it stands."""


class CheckpointGateway(Protocol):
    """What the finder needs of `aocu.clients.GatewayClient`."""

    async def query_checkpoints(self, process_id: str, owners: Sequence[str], *,
                                limit: int = 50) -> tuple[ListedCheckpoint, ...]: ...

    async def load_transaction_meta(self, tx_id: str) -> TransactionMeta: ...

    async def consume_transaction_data(self, tx_id: str, consume: Callable[[AsyncIterator[bytes]], Awaitable[T]], *,
                                       max_bytes: int | None = None, chunk_bytes: int = PIECE_BYTES) -> T: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class FinderSettings:
    own_address: str
    trusted_owners: tuple[str, ...] = ()          # PROCESS_CHECKPOINT_TRUSTED_OWNERS
    preferred_owners: tuple[str, ...] = ()        # PROCESS_CHECKPOINT_PREFERRED_OWNERS
    ignore_ids: frozenset[str] = field(default_factory=frozenset)         # IGNORE_ARWEAVE_CHECKPOINTS
    ignore_processes: frozenset[str] = field(default_factory=frozenset)   # PROCESS_IGNORE_ARWEAVE_CHECKPOINTS
    ignore_local: bool = False                    # IGNORE_LOCAL_CHECKPOINTS (the record source)
    steps: int = 10                               # CHECKPONT_VALIDATION_STEPS
    retries: int = 5                              # CHECKPONT_VALIDATION_RETRIES
    threshold: float = 0.75                       # CHECKPONT_VALIDATION_THRESH
    max_download_bytes: int = 2 << 30
    max_memory_bytes: int = 1 << 32

    @property
    def owners(self) -> tuple[str, ...]:
        return self.trusted_owners or (self.own_address,)


@dataclass(frozen=True, slots=True)
class Found:
    """A verified starting point: ``source`` is ``record`` or ``arweave``.

    ``memory`` is the decoder's own buffer, handed over (nothing else refers to it): the process
    may keep it as its base rather than copy it.
    """

    source: str
    checkpoint_id: str
    point: MemoryPoint
    memory: bytes | bytearray


@dataclass(frozen=True, slots=True)
class _Candidate:
    id: str
    tags: tuple[Tag, ...] | None         # as listed by the gateway (None for a record)
    encoding: str | None
    nonce: int
    timestamp: int | None = None         # as listed (what a verification replay evaluates to)


class CheckpointFinder:
    def __init__(self, *, gateway: CheckpointGateway, store: CheckpointStore, verifier: ItemVerifier,
                 settings: FinderSettings, clock_ms: Callable[[], float] = lambda: time.time() * 1000,
                 limiter: trio.CapacityLimiter | None = None) -> None:
        self.gateway = gateway
        self.store = store
        self.verifier = verifier
        self.settings = settings
        self._clock_ms = clock_ms
        self._limiter = limiter

    async def find(self, process_id: str, *, module_id: str | None, replay: Replay) -> Found | None:
        """The newest usable verified checkpoint of *process_id*, or None (a cold start)."""
        if process_id in self.settings.ignore_processes:
            return None
        found = None if self.settings.ignore_local else await self._from_records(process_id, module_id)
        if found is None:
            found = await self._from_arweave(process_id, module_id, replay)
        return found

    # -- sources -------------------------------------------------------------------------
    async def _from_records(self, process_id: str, module_id: str | None) -> Found | None:
        records = await self.store.read_checkpoint_records(process_id, before_ms=int(self._clock_ms()),
                                                           limit=RECORD_LIMIT)
        # this CU wrote them (its own uploads, or its own found on the gateway): its wallet is trusted
        trusted = frozenset((*self.settings.owners, self.settings.own_address))
        for record in records:
            if record.checkpoint_id in self.settings.ignore_ids:
                continue
            candidate = _Candidate(record.checkpoint_id, None, record.encoding, record.point.nonce or 0)
            loaded = await self._try(candidate, process_id, module_id, trusted)
            if loaded is not None:
                return Found("record", candidate.id, *loaded)
        return None

    async def _query(self, process_id: str, owners: Sequence[str]) -> list[ListedCheckpoint]:
        try:
            return list(await self.gateway.query_checkpoints(process_id, owners, limit=QUERY_LIMIT))
        except UpstreamError as exc:
            log.warning("checkpoints of %s could not be queried: %s", process_id, exc)
            return []

    async def _from_arweave(self, process_id: str, module_id: str | None, replay: Replay) -> Found | None:
        settings = self.settings
        trusted = frozenset(settings.owners)
        listed: list[ListedCheckpoint] = []
        if settings.preferred_owners:
            listed = await self._query(process_id, settings.preferred_owners)
            trusted = frozenset(settings.preferred_owners) if listed else trusted
        if not listed:
            listed = await self._query(process_id, settings.owners)
        candidates = []
        for entry in listed:
            if entry.id in settings.ignore_ids:
                continue
            if entry.nonce is None:
                log.warning("checkpoint %s of %s has no integer Nonce tag: skipped", entry.id, process_id)
                continue
            candidates.append(_Candidate(entry.id, entry.tags, entry.content_encoding, entry.nonce, entry.timestamp))
        if not candidates:
            return None
        if len(candidates) <= settings.steps + settings.retries:
            for candidate in sorted(candidates, key=lambda c: c.nonce, reverse=True):
                loaded = await self._try(candidate, process_id, module_id, trusted)
                if loaded is not None:
                    return Found("arweave", candidate.id, *loaded)
            return None
        return await self._windows(candidates, process_id, module_id, trusted, replay)

    async def _windows(self, candidates: list[_Candidate], process_id: str, module_id: str | None,
                       trusted: frozenset[str], replay: Replay) -> Found | None:
        """``findLatestVerified`` with more than ``S + R`` candidates (reference-cu.md §2.5.6 step 5).

        Window ``i`` (0..R-1) is the ``S`` consecutive checkpoints (by nonce) ending ``i`` below
        the newest. From its first checkpoint, evaluate to each next one's timestamp, compare
        the computed memory with that checkpoint's, and go on from the *computed* memory. With
        ``matches / S >= T`` the window's last checkpoint is accepted with the computed memory.
        A first checkpoint that fails verification fails its window; a later one counts as a
        mismatch.
        """
        s = self.settings
        ascending = sorted(candidates, key=lambda c: c.nonce)
        n = len(ascending)
        for i in range(s.retries):
            window = ascending[max(0, n - s.steps - i):n - i]
            if not window:
                break
            first = await self._try(window[0], process_id, module_id, trusted)
            if first is None:
                log.info("verification window %d of %s: its first checkpoint %s is unusable", i, process_id,
                         window[0].id)
                continue
            memory: bytes | bytearray
            point, memory = first
            matches = 0
            try:
                for candidate in window[1:]:
                    if candidate.timestamp is None:
                        raise CheckpointRejected(f"checkpoint {candidate.id} has no integer Timestamp tag")
                    memory, point = await replay(process_id, memory, point, candidate.timestamp)
                    expected = await self._try(candidate, process_id, module_id, trusted)
                    if expected is not None and memory == expected[1]:
                        matches += 1
            except Exception as exc:      # the reference gives up on any error; one window here
                log.warning("verification window %d of %s failed: %s", i, process_id, exc)
                continue
            if matches / max(1, s.steps) >= s.threshold:
                log.info("checkpoint %s of %s verified by %d of %d re-evaluations", window[-1].id, process_id,
                         matches, len(window) - 1)
                return Found("arweave", window[-1].id, point, memory)
            log.info("verification window %d of %s: only %d of %d re-evaluations matched", i, process_id,
                     matches, len(window) - 1)
        return None

    # -- one checkpoint ------------------------------------------------------------------
    async def _try(self, candidate: _Candidate, process_id: str, module_id: str | None,
                   trusted: frozenset[str]) -> tuple[MemoryPoint, bytearray] | None:
        try:
            return await self._fetch_verified(candidate, process_id, module_id, trusted)
        except CheckpointRejected as exc:
            log.warning("checkpoint %s of %s rejected: %s", candidate.id, process_id, exc)
        except UpstreamError as exc:
            log.warning("checkpoint %s of %s could not be loaded: %s", candidate.id, process_id, exc)
        return None

    async def _fetch_verified(self, candidate: _Candidate, process_id: str, module_id: str | None,
                              trusted: frozenset[str]) -> tuple[MemoryPoint, bytearray]:
        meta = await self.gateway.load_transaction_meta(candidate.id)
        item = assemble_item(signature=meta.signature, owner_key=meta.owner.key, anchor=meta.anchor,
                             target=meta.recipient, tags=meta.tags)
        # cheap checks first: nothing is downloaded for an untrusted owner or another process
        check_item(item_id=item.id, expected_id=candidate.id, owner_address=item.owner_address, trusted=trusted,
                   tags=item.tags, listed_tags=candidate.tags, process_id=process_id, module_id=module_id)
        point = point_of(item.tags)
        encoding = first_tag(item.tags, "Content-Encoding")
        MemoryDecoder(encoding)                              # an unsupported encoding is refused before the download

        async def consume(pieces: AsyncIterator[bytes]) -> tuple[HashedBlob, str, MemoryDecoder]:
            decoder = MemoryDecoder(encoding, max_bytes=self.settings.max_memory_bytes)   # afresh per attempt
            return *await read_checkpoint_data(pieces, decoder, limiter=self._limiter), decoder

        started = time.perf_counter()
        data_hash, memory_sha256, decoder = await self.gateway.consume_transaction_data(
            candidate.id, consume, max_bytes=self.settings.max_download_bytes, chunk_bytes=PIECE_BYTES)
        log.info("checkpoint %s of %s: %d bytes downloaded, hashed and decoded in %.2f s", candidate.id,
                 process_id, data_hash.size, time.perf_counter() - started)
        # nothing decoded is used before every check has passed; on a failure the buffer is dropped
        memory = decoder.finish()
        self.verifier.verify(item, data_hash)                # one RSA verification: milliseconds
        check_sha256(item.tags, memory_sha256)
        return point, memory
