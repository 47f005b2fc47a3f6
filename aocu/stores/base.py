"""The storage ports: row types and the Protocols the pipeline and HTTP layer are written against.

Declarations only, no I/O: `aocu.stores._apsw` implements these on SQLite (apsw) and memory-snapshot
files, `aocu.stores._fakes` in dicts for tests, and both pass the same contract suite
(tests/stores/test_contract.py). Every method is async and safe to call from the trio thread; an
implementation decides what runs in a worker thread. Rows are frozen dataclasses that mean what the
reference's tables mean (reference-cu.md §3.2) rather than copying their columns; timestamps are Unix
milliseconds (``*_ms`` where the name alone would not say so).

Start with `EvaluationStore` (the hot path) and `CheckpointStore` (starting points, §2.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TypeAlias

from ._cursor import RangeBound, Sort, evaluation_key

__all__ = [
    "BlockRecord",
    "BlockStore",
    "CheckpointRecord",
    "CheckpointStore",
    "EvaluationRow",
    "EvaluationStore",
    "MemoryBuffer",
    "MemoryPoint",
    "MessageRecord",
    "MessageStore",
    "ModuleRecord",
    "ModuleStore",
    "ProcessRecord",
    "ProcessStore",
    "SchedulerLocation",
    "SchedulerLocationStore",
    "SnapshotKind",
    "SnapshotRecord",
    "StoreOptions",
    "Stores",
    "Tag",
]

from aocu.model import Tag

"""One ``{name, value}`` tag as ``(name, value)``; tag lists keep their order and repeats."""

MemoryBuffer: TypeAlias = bytes | bytearray | memoryview
"""Process memory as handed over by the wasm layer (a live view is fine, see `save_snapshot`)."""


# --- rows --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessRecord:
    """A process as loaded from the SU (§2.3); ``data`` is never kept (the reference nulls it)."""

    id: str
    owner_address: str
    owner_key: str | None
    tags: tuple[Tag, ...]
    signature: str | None
    anchor: str | None
    block_height: int
    block_timestamp: int
    timestamp: int | None = None
    """The SU's assignment timestamp of the process message (not stored by the reference)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleRecord:
    """A module's transaction metadata from the gateway (§2.6)."""

    id: str
    owner_address: str
    owner_key: str | None
    tags: tuple[Tag, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationRow:
    """The persisted result of one evaluated message (§2.14); crons have no message id or nonce.

    Identity is ``(process_id, key)``; writing a row whose identity exists is a no-op (the reference's
    ``INSERT OR IGNORE``). ``output`` is the JSON text of ``{Messages, Assignments, Spawns, Output,
    GasUsed?, Error?}`` exactly as the caller serialized it; ``has_error`` says whether its ``Error`` is
    JS-truthy, so `/results` can drop error rows without parsing JSON (§1.4).
    """

    process_id: str
    timestamp: int
    ordinate: str
    cron: str | None
    message_id: str | None
    deep_hash: str | None
    nonce: int | None
    epoch: int | None
    block_height: int | None
    evaluated_at_ms: int
    output: str
    has_error: bool

    @property
    def key(self) -> str:
        """``"<timestamp>,<ordinate>[,<cron>]"``: the reference's id without ``"<pid>,"`` (§A.9)."""
        return evaluation_key(self.timestamp, self.ordinate, self.cron)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRecord:
    """A non-cron message already evaluated in a process, for duplicate detection (§2.12 step 2).

    ``message_id`` is the id the reference de-duplicates on: the assigned transaction id for an
    assignment, else the deep hash for a forwarded message, else the message id (§2.14).
    """

    process_id: str
    message_id: str
    epoch: int
    nonce: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockRecord:
    """Arweave block metadata used to place block-based crons (§2.8.2); ``timestamp`` in ms."""

    height: int
    timestamp: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryPoint:
    """Where in a process's history a memory belongs: the evaluation metadata of a starting point
    (``processCheckpointSchema`` minus ``Memory``, §2.5.2)."""

    process_id: str
    timestamp: int
    ordinate: str
    cron: str | None = None
    module_id: str | None = None
    nonce: int | None = None
    epoch: int | None = None
    block_height: int | None = None
    assignment_id: str | None = None
    hash_chain: str | None = None

    @property
    def key(self) -> str:
        return evaluation_key(self.timestamp, self.ordinate, self.cron)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckpointRecord:
    """A pointer to a checkpoint on Arweave that this CU created or found (the ``checkpoints`` table,
    §2.16 step 4; read back by source 3 of §2.5.5). ``encoding`` is ``"gzip"`` or ``None``."""

    point: MemoryPoint
    checkpoint_id: str
    encoding: str | None


class SnapshotKind(StrEnum):
    """Why a memory snapshot file exists; each kind has its own directory and retention."""

    DRAIN = "drain"
    """Evicted from the process-memory LRU (§5.5, ``PROCESS_MEMORY_CACHE_FILE_DIR``)."""
    CHECKPOINT = "checkpoint"
    """A file checkpoint (§2.16, ``PROCESS_MEMORY_FILE_CHECKPOINTS_DIR``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotRecord:
    """A compressed memory snapshot on disk and what it is a snapshot of.

    ``gas_used`` and ``eval_time_ms`` carry the LRU entry's counters since the last checkpoint
    (§2.15) so a reloaded drain keeps counting toward the eager-checkpoint thresholds.
    """

    kind: SnapshotKind
    point: MemoryPoint
    file: str
    memory_size: int
    sha256: bytes
    gas_used: int
    eval_time_ms: int
    created_at_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerLocation:
    """A scheduler's ``Scheduler-Location`` (§2.4): its wallet ``address``, ``url`` and ``Time-To-Live``."""

    address: str
    url: str
    ttl_ms: int
    cached_at_ms: int

    def is_fresh(self, now_ms: int) -> bool:
        return now_ms < self.cached_at_ms + self.ttl_ms


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreOptions:
    """Where files go and how many snapshots are kept (built from the config's store section).

    The reference keeps one drained file per process and one file checkpoint per process, and
    never deletes drained files across restarts (ao#1013); we keep the newest ``keep_*`` per
    process and kind and delete the rest, on every save and at startup.
    """

    drain_dir: Path
    """``PROCESS_MEMORY_CACHE_FILE_DIR``: LRU drains (§5.5), in its private ``aocu-memory``."""
    checkpoint_dir: Path
    """``PROCESS_MEMORY_FILE_CHECKPOINTS_DIR``: file checkpoints (§2.16), in its private ``aocu-checkpoints``."""
    module_dir: Path
    """``WASM_BINARY_FILE_DIRECTORY``: module binaries (in its private ``aocu-modules``; §5.3)."""
    keep_drained: int = 1
    """Only the newest drained memory is ever a starting point."""
    keep_checkpoints: int = 2
    """One older file checkpoint to fall back on if the newest fails its sha256."""
    zstd_level: int = 1
    """stack.md §5: level 1 has level 3's ratio within 2% at 1.4-1.9x the speed."""
    file_threads: int = 2
    """Concurrent snapshot compressions/decompressions (each is CPU-bound in zstd and sha256)."""

    def __post_init__(self) -> None:
        if self.keep_drained < 1 or self.keep_checkpoints < 1:
            raise ValueError("keep_drained and keep_checkpoints must be at least 1")
        if self.file_threads < 1:
            raise ValueError("file_threads must be at least 1")

    def keep(self, kind: SnapshotKind) -> int:
        return self.keep_drained if kind is SnapshotKind.DRAIN else self.keep_checkpoints

    def snapshot_dir(self, kind: SnapshotKind) -> Path:
        """Where the snapshot files of *kind* are: a private subdirectory of the configured one, which
        may be shared (the drain directory defaults to /tmp; `aocu._safefiles`)."""
        if kind is SnapshotKind.DRAIN:
            return self.drain_dir / "aocu-memory"
        return self.checkpoint_dir / "aocu-checkpoints"

    @staticmethod
    def snapshot_setting(kind: SnapshotKind) -> str:
        """The configuration variable that chooses the directory of *kind*."""
        if kind is SnapshotKind.DRAIN:
            return "PROCESS_MEMORY_CACHE_FILE_DIR"
        return "PROCESS_MEMORY_FILE_CHECKPOINTS_DIR"


# --- ports -------------------------------------------------------------------------------------


class ProcessStore(Protocol):
    async def read_process(self, process_id: str) -> ProcessRecord | None: ...

    async def write_process(self, record: ProcessRecord) -> None:
        """Insert unless the process is already stored (first write wins, like ``INSERT OR IGNORE``)."""
        ...


class ModuleStore(Protocol):
    async def read_module(self, module_id: str) -> ModuleRecord | None: ...

    async def write_module(self, record: ModuleRecord) -> None:
        """Insert unless already stored (first write wins)."""
        ...

    async def read_module_binary(self, module_id: str) -> bytes | None:
        """The cached wasm binary, or None when it is not cached or cannot be trusted: the cache
        directory or file could have been written by another user, or the file does not match the
        size and sha256 recorded when it was written. None means: download it and write it again."""
        ...

    async def write_module_binary(self, module_id: str, data: bytes) -> None:
        """Cache *data* as the module's binary and record its sha256; a cache, so a failure is only logged."""
        ...


class EvaluationStore(Protocol):
    async def write_evaluations(self, rows: Sequence[EvaluationRow], messages: Sequence[MessageRecord] = ()) -> None:
        """Persist *rows* and *messages* in one transaction; rows or messages already present are kept.

        Returns once committed. Concurrent calls may share a transaction (group commit), and a call
        that is cancelled after it started may still be committed. Pass ``rows=()`` to record only
        messages (``DISABLE_PROCESS_EVALUATION_CACHE``, §2.14).
        """
        ...

    async def read_evaluation(
        self, process_id: str, *, timestamp: int, ordinate: str | None, cron: str | None = None
    ) -> EvaluationRow | None:
        """The exact-row starting point (§2.5.1): the row whose key is ``timestamp,ordinate[,cron]``.
        Without an ordinate nothing can match, as in the reference."""
        ...

    async def read_evaluation_by_message(self, process_id: str, message_id: str) -> EvaluationRow | None:
        """The lowest-keyed row evaluated for *message_id* in the process, if any."""
        ...

    async def read_latest_evaluation(self, process_id: str) -> EvaluationRow | None:
        """The process's highest-keyed row."""
        ...

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
        """Rows with ``lower_key(after) < key <= upper_key(upto)``, ordered by key, at most *limit*
        (a negative limit means all, as SQLite's ``LIMIT -1``). Error rows are included: `/results`
        drops them after the limit (§1.4). ``only_cron`` keeps cron rows only (`/cron`, §1.5).

        Ordering by key equals the reference's ``ORDER BY timestamp, ordinate, cron`` whenever a
        process's timestamps have equal digit counts (every ms timestamp from 2001 to 2286) and
        ordinates are decimal strings; it is what lets this be one index range scan.
        """
        ...


class MessageStore(Protocol):
    async def find_prior_messages(
        self, process_id: str, candidates: Sequence[tuple[str, int, int]]
    ) -> set[str]:
        """`find_prior_message` for many ``(message_id, epoch, nonce)`` at once: the ids that count as
        evaluated before their position. One index probe per chunk instead of one query per message."""
        ...

    async def find_prior_message(
        self, process_id: str, message_id: str, *, epoch: int, nonce: int
    ) -> MessageRecord | None:
        """The stored copy of *message_id* if it counts as evaluated before ``(epoch, nonce)``.

        Same predicate as the reference's ``findMessageBefore`` (§3.4), bug included: stored
        ``nonce < epoch`` or (stored ``epoch == epoch`` and stored ``nonce < nonce``). Messages are
        written with `EvaluationStore.write_evaluations`.
        """
        ...


class BlockStore(Protocol):
    async def write_blocks(self, blocks: Sequence[BlockRecord]) -> None:
        """Insert blocks not yet stored (by height); existing heights are kept."""
        ...

    async def read_blocks(self, *, min_height: int, max_timestamp: int) -> list[BlockRecord]:
        """Blocks with ``height >= min_height`` and ``timestamp <= max_timestamp``, by height (§2.8.2)."""
        ...


class CheckpointStore(Protocol):
    """Starting points other than evaluation rows (§2.5): Arweave checkpoint records and memory
    snapshot files (LRU drains and file checkpoints), which survive restarts."""

    async def write_checkpoint_record(self, record: CheckpointRecord) -> None:
        """Insert unless a record for the same process and point exists (``INSERT OR IGNORE``)."""
        ...

    async def read_checkpoint_records(
        self, process_id: str, *, before_ms: int, limit: int = 5
    ) -> list[CheckpointRecord]:
        """Records with ``timestamp < before_ms``, newest timestamp first (§2.5.5 reads 5 with now)."""
        ...

    async def save_snapshot(
        self,
        kind: SnapshotKind,
        point: MemoryPoint,
        memory: MemoryBuffer,
        *,
        gas_used: int = 0,
        eval_time_ms: int = 0,
    ) -> SnapshotRecord:
        """Store a compressed copy of *memory* at *point*, then keep only the newest snapshots of
        this process and kind (the retention is configured per kind); returns the new record.

        *memory* must not change until this returns. Call it only after the evaluation rows up to
        *point* have been written (awaited `write_evaluations`): a snapshot must never be ahead of
        the rows. If *point* is older than every retained snapshot, the new one is dropped at once.
        """
        ...

    async def read_snapshots(self, process_id: str, kind: SnapshotKind | None = None) -> list[SnapshotRecord]:
        """The retained snapshots of the process (of *kind*, or all), newest point first."""
        ...

    async def latest_snapshot(self, process_id: str, kind: SnapshotKind | None = None) -> SnapshotRecord | None:
        """The newest-point snapshot of the process (of *kind*, or any)."""
        ...

    async def load_snapshot(self, record: SnapshotRecord) -> bytes:
        """The uncompressed memory, verified against its sha256. Raises `SnapshotError` if the file
        is missing (e.g. the retention dropped it since *record* was read), truncated or corrupt;
        callers treat that as a miss (§2.5.3)."""
        ...

    async def delete_snapshot(self, record: SnapshotRecord) -> None:
        """Forget *record* and remove its file (no-op if already gone)."""
        ...


class SchedulerLocationStore(Protocol):
    """Persistent ``Scheduler-Location`` caches (scheduler-utils' "by owner" and "by process" LRUs, §2.4)."""

    async def read_scheduler(self, address: str, *, now_ms: int, allow_stale: bool = False) -> SchedulerLocation | None:
        """The location cached for a scheduler wallet; expired entries only with *allow_stale*."""
        ...

    async def write_scheduler(self, location: SchedulerLocation) -> None:
        """Cache (replace) the location of ``location.address``."""
        ...

    async def read_process_scheduler(
        self, process_id: str, *, now_ms: int, allow_stale: bool = False
    ) -> SchedulerLocation | None:
        """The location cached for a process; expired entries only with *allow_stale*."""
        ...

    async def write_process_scheduler(self, process_id: str, location: SchedulerLocation) -> None:
        """Cache (replace) the location serving *process_id*."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Stores:
    """Everything `open_stores` / `open_memory_stores` yield, one attribute per port."""

    processes: ProcessStore
    modules: ModuleStore
    evaluations: EvaluationStore
    messages: MessageStore
    blocks: BlockStore
    checkpoints: CheckpointStore
    scheduler_locations: SchedulerLocationStore
