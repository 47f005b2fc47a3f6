"""In-memory stores (``Memory*Store``) with the apsw stores' semantics, for pipeline and HTTP tests.

Plain dicts that tests may read directly (style.md §6 item 11); everything runs on the trio thread
except module-file writes, which go through a worker thread like the real store's. Must never
diverge from ``_apsw``: tests/stores/test_contract.py runs one suite against both. Strings are
stored as SQLite would store them (`stored`), keys compared with the same `evaluation_key`,
`lower_key` and `upper_key`, so ordering and bounds agree byte for byte.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import trio

from ._apsw import wall_clock_ms
from ._cursor import RangeBound, Sort, evaluation_key, lower_key, sqlite_text, stored, upper_key
from ._errors import SnapshotError
from ._memory_files import safe_name_part
from ._module_files import BinaryDigest, ModuleFiles
from .base import (
    BlockRecord,
    CheckpointRecord,
    EvaluationRow,
    MemoryBuffer,
    MemoryPoint,
    MessageRecord,
    ModuleRecord,
    ProcessRecord,
    SchedulerLocation,
    SnapshotKind,
    SnapshotRecord,
    StoreOptions,
    Stores,
    Tag,
)

__all__ = [
    "MemoryBlockStore",
    "MemoryCheckpointStore",
    "MemoryEvaluationStore",
    "MemoryMessageStore",
    "MemoryModuleStore",
    "MemoryProcessStore",
    "MemorySchedulerLocationStore",
    "open_memory_stores",
]

_INT64_MAX = 2**63 - 1
_T = TypeVar("_T")


def _tags(tags: tuple[Tag, ...]) -> tuple[Tag, ...]:
    return tuple(Tag(name, value) for name, value in tags)  # what the database gives back


def _limited(items: list[_T], limit: int) -> list[_T]:
    return items if limit < 0 else items[:limit]  # SQLite: a negative LIMIT means no limit


class MemoryProcessStore:
    def __init__(self) -> None:
        self.processes: dict[str, ProcessRecord] = {}

    async def read_process(self, process_id: str) -> ProcessRecord | None:
        return self.processes.get(sqlite_text(process_id))

    async def write_process(self, record: ProcessRecord) -> None:
        r = stored(record)
        self.processes.setdefault(r.id, replace(r, tags=_tags(r.tags)))


class MemoryModuleStore:
    """Records in a dict; binaries in real files (`ModuleFiles`, the apsw store's), digests in a dict."""

    def __init__(self, module_dir: Path) -> None:
        self.modules: dict[str, ModuleRecord] = {}
        self.digests: dict[str, BinaryDigest] = {}
        self.files = ModuleFiles(module_dir)

    async def read_module(self, module_id: str) -> ModuleRecord | None:
        return self.modules.get(sqlite_text(module_id))

    async def write_module(self, record: ModuleRecord) -> None:
        r = stored(record)
        self.modules.setdefault(r.id, replace(r, tags=_tags(r.tags)))

    async def read_module_binary(self, module_id: str) -> bytes | None:
        return await self.files.read(module_id, self.digests.get(sqlite_text(module_id)))

    async def write_module_binary(self, module_id: str, data: bytes) -> None:
        digest = await self.files.write(module_id, data)
        if digest is not None:
            self.digests[sqlite_text(module_id)] = digest


class MemoryMessageStore:
    def __init__(self) -> None:
        self.messages: dict[tuple[str, str], MessageRecord] = {}

    async def find_prior_messages(self, process_id: str, candidates: Sequence[tuple[str, int, int]]) -> set[str]:
        found = set()
        for message_id, epoch, nonce in candidates:
            if await self.find_prior_message(process_id, message_id, epoch=epoch, nonce=nonce) is not None:
                found.add(message_id)
        return found

    async def find_prior_message(
        self, process_id: str, message_id: str, *, epoch: int, nonce: int
    ) -> MessageRecord | None:
        m = self.messages.get((sqlite_text(process_id), sqlite_text(message_id)))
        if m is not None and (m.nonce < epoch or (m.epoch == epoch and m.nonce < nonce)):
            return m
        return None


class MemoryEvaluationStore:
    def __init__(self, messages: MemoryMessageStore) -> None:
        self.rows: dict[str, dict[str, EvaluationRow]] = {}
        """process id -> evaluation key -> row"""
        self._messages = messages

    async def write_evaluations(self, rows: Sequence[EvaluationRow], messages: Sequence[MessageRecord] = ()) -> None:
        for row in rows:
            r = stored(row)
            self.rows.setdefault(r.process_id, {}).setdefault(r.key, r)
        for message in messages:
            m = stored(message)
            self._messages.messages.setdefault((m.process_id, m.message_id), m)
        await trio.lowlevel.checkpoint()

    async def read_evaluation(
        self, process_id: str, *, timestamp: int, ordinate: str | None, cron: str | None = None
    ) -> EvaluationRow | None:
        return self._process(process_id).get(evaluation_key(timestamp, ordinate, cron))

    async def read_evaluation_by_message(self, process_id: str, message_id: str) -> EvaluationRow | None:
        mid = sqlite_text(message_id)
        matches = [r for r in self._process(process_id).values() if r.message_id == mid]
        return min(matches, key=lambda r: r.key, default=None)

    async def read_latest_evaluation(self, process_id: str) -> EvaluationRow | None:
        rows = self._process(process_id)
        return rows[max(rows)] if rows else None

    async def read_results(
        self,
        process_id: str,
        *,
        after: RangeBound | None = None,
        upto: RangeBound | None = None,
        sort: Sort = Sort.ASC,
        limit: int,
        only_cron: bool = False,
    ) -> list[EvaluationRow]:
        lo, hi = lower_key(after), upper_key(upto)
        rows = self._process(process_id)
        keys = sorted(
            (k for k, r in rows.items()
             if (lo is None or k > lo) and (hi is None or k <= hi) and (not only_cron or r.cron is not None)),
            reverse=sort is Sort.DESC,
        )  # fmt: skip
        await trio.lowlevel.checkpoint()
        return [rows[k] for k in _limited(keys, limit)]

    def _process(self, process_id: str) -> dict[str, EvaluationRow]:
        return self.rows.get(sqlite_text(process_id), {})


class MemoryBlockStore:
    def __init__(self) -> None:
        self.blocks: dict[int, BlockRecord] = {}

    async def write_blocks(self, blocks: Sequence[BlockRecord]) -> None:
        for b in blocks:
            self.blocks.setdefault(b.height, b)

    async def read_blocks(self, *, min_height: int, max_timestamp: int) -> list[BlockRecord]:
        return [
            self.blocks[h] for h in sorted(self.blocks) if h >= min_height and self.blocks[h].timestamp <= max_timestamp
        ]


@dataclass(slots=True)
class _Snapshot:
    record: SnapshotRecord
    memory: bytes
    seq: int


class MemoryCheckpointStore:
    """Checkpoint records in a dict; snapshots as bytes in a dict keyed by their (fake) file name."""

    def __init__(self, *, keep_drained: int = 1, keep_checkpoints: int = 2, clock_ms: Callable[[], int]) -> None:
        self.records: dict[tuple[str, str], CheckpointRecord] = {}
        self.snapshots: dict[str, _Snapshot] = {}
        self._keep = {SnapshotKind.DRAIN: keep_drained, SnapshotKind.CHECKPOINT: keep_checkpoints}
        self._clock_ms = clock_ms
        self._seq = 0

    async def write_checkpoint_record(self, record: CheckpointRecord) -> None:
        r = stored(record)
        self.records.setdefault((r.point.process_id, r.point.key), r)

    async def read_checkpoint_records(
        self, process_id: str, *, before_ms: int, limit: int = 5
    ) -> list[CheckpointRecord]:
        pid = sqlite_text(process_id)
        found = [r for (p, _), r in self.records.items() if p == pid and r.point.timestamp < before_ms]
        found.sort(key=lambda r: (r.point.timestamp, r.point.key), reverse=True)
        return _limited(found, limit)

    async def save_snapshot(
        self,
        kind: SnapshotKind,
        point: MemoryPoint,
        memory: MemoryBuffer,
        *,
        gas_used: int = 0,
        eval_time_ms: int = 0,
    ) -> SnapshotRecord:
        point = stored(point)
        data = bytes(memoryview(memory).cast("B")) if not isinstance(memory, bytes) else memory
        name = f"memory.{safe_name_part(point.process_id)}.{point.timestamp}.{secrets.token_hex(6)}.aomem"
        record = SnapshotRecord(
            kind=kind, point=point, file=name, memory_size=len(data), sha256=hashlib.sha256(data).digest(),
            gas_used=min(gas_used, _INT64_MAX), eval_time_ms=min(eval_time_ms, _INT64_MAX),
            created_at_ms=self._clock_ms(),
        )  # fmt: skip
        self._seq += 1
        self.snapshots[name] = _Snapshot(record, data, self._seq)
        for old in self._newest_first(point.process_id, kind)[self._keep[kind] :]:
            del self.snapshots[old.record.file]
        await trio.lowlevel.checkpoint()
        return record

    def _newest_first(self, process_id: str, kind: SnapshotKind | None) -> list[_Snapshot]:
        pid = sqlite_text(process_id)
        found = [
            s for s in self.snapshots.values()
            if s.record.point.process_id == pid and (kind is None or s.record.kind is kind)
        ]  # fmt: skip
        found.sort(key=lambda s: (s.record.point.timestamp, s.record.point.key, s.seq), reverse=True)
        return found

    async def read_snapshots(self, process_id: str, kind: SnapshotKind | None = None) -> list[SnapshotRecord]:
        return [s.record for s in self._newest_first(process_id, kind)]

    async def latest_snapshot(self, process_id: str, kind: SnapshotKind | None = None) -> SnapshotRecord | None:
        found = self._newest_first(process_id, kind)
        return found[0].record if found else None

    async def load_snapshot(self, record: SnapshotRecord) -> bytes:
        await trio.lowlevel.checkpoint()
        snap = self.snapshots.get(record.file)
        if snap is None:
            raise SnapshotError(f"{record.file}: missing")
        if snap.record.memory_size != record.memory_size or snap.record.sha256 != record.sha256:
            raise SnapshotError(f"{record.file}: header does not match its record")
        if hashlib.sha256(snap.memory).digest() != record.sha256:
            raise SnapshotError(f"{record.file}: sha256 mismatch")
        return snap.memory

    async def delete_snapshot(self, record: SnapshotRecord) -> None:
        self.snapshots.pop(record.file, None)


class MemorySchedulerLocationStore:
    def __init__(self) -> None:
        self.schedulers: dict[str, SchedulerLocation] = {}
        self.process_schedulers: dict[str, SchedulerLocation] = {}

    async def read_scheduler(self, address: str, *, now_ms: int, allow_stale: bool = False) -> SchedulerLocation | None:
        loc = self.schedulers.get(sqlite_text(address))
        return loc if loc is not None and (allow_stale or loc.is_fresh(now_ms)) else None

    async def write_scheduler(self, location: SchedulerLocation) -> None:
        loc = stored(location)
        self.schedulers[loc.address] = loc

    async def read_process_scheduler(
        self, process_id: str, *, now_ms: int, allow_stale: bool = False
    ) -> SchedulerLocation | None:
        loc = self.process_schedulers.get(sqlite_text(process_id))
        return loc if loc is not None and (allow_stale or loc.is_fresh(now_ms)) else None

    async def write_process_scheduler(self, process_id: str, location: SchedulerLocation) -> None:
        self.process_schedulers[sqlite_text(process_id)] = stored(location)


@asynccontextmanager
async def open_memory_stores(
    options: StoreOptions | None = None, *, clock_ms: Callable[[], int] = wall_clock_ms
) -> AsyncIterator[Stores]:
    """Fresh in-memory stores with *options*' retention and module directory (the snapshot
    directories are not used). Without options: the default retention and a temporary module
    directory, removed on exit."""
    own_dir: str | None = None
    if options is None:
        own_dir = await trio.to_thread.run_sync(tempfile.mkdtemp, None, "aocu-modules-")
        options = StoreOptions(drain_dir=Path(own_dir), checkpoint_dir=Path(own_dir), module_dir=Path(own_dir))
    await trio.Path(options.module_dir).mkdir(parents=True, exist_ok=True)
    messages = MemoryMessageStore()
    try:
        yield Stores(
            processes=MemoryProcessStore(),
            modules=MemoryModuleStore(options.module_dir),
            evaluations=MemoryEvaluationStore(messages),
            messages=messages,
            blocks=MemoryBlockStore(),
            checkpoints=MemoryCheckpointStore(
                keep_drained=options.keep_drained,
                keep_checkpoints=options.keep_checkpoints,
                clock_ms=clock_ms,
            ),
            scheduler_locations=MemorySchedulerLocationStore(),
        )
    finally:
        if own_dir is not None:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(shutil.rmtree, own_dir, True)
