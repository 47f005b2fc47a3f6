"""`CheckpointStore` on SQLite: Arweave checkpoint records and memory snapshot files.

Owns the ``checkpoint_records`` and ``snapshots`` tables and, through `MemoryFiles`, the snapshot
files. Point reads run on the trio thread; compression, decompression and unlinks in worker
threads under the store's file limiter; record commits on the writer connection (``_apsw_db``).
Never commits a record before its file is durable, and never unlinks a file before the commit that
dropped its record (the write-ahead order is spelled out in ``_apsw``'s docstring).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Final

import apsw
import trio

from ._apsw_db import Database
from ._cursor import stored
from ._errors import StoreError
from ._memory_files import MemoryFiles
from .base import CheckpointRecord, MemoryBuffer, MemoryPoint, SnapshotKind, SnapshotRecord, StoreOptions

__all__ = ["ApswCheckpointStore"]

_POINT: Final = (
    "process_id, timestamp, ordinate, cron, module_id, nonce, epoch, block_height, assignment_id, hash_chain"
)
_SNAPSHOT: Final = f"kind, {_POINT}, file, memory_size, sha256, gas_used, eval_time_ms, created_at"
_NEWEST_FIRST: Final = "ORDER BY timestamp DESC, key DESC, id DESC"
_INT64_MAX: Final = 2**63 - 1


def _point(r: tuple[Any, ...]) -> MemoryPoint:
    return MemoryPoint(
        process_id=r[0], timestamp=r[1], ordinate=r[2], cron=r[3], module_id=r[4], nonce=r[5], epoch=r[6],
        block_height=r[7], assignment_id=r[8], hash_chain=r[9],
    )  # fmt: skip


def _point_params(p: MemoryPoint) -> tuple[Any, ...]:
    return (
        p.process_id, p.timestamp, p.ordinate, p.cron, p.module_id, p.nonce, p.epoch, p.block_height,
        p.assignment_id, p.hash_chain,
    )  # fmt: skip


def _snapshot(r: tuple[Any, ...]) -> SnapshotRecord:
    return SnapshotRecord(
        kind=SnapshotKind(r[0]), point=_point(r[1:11]), file=r[11], memory_size=r[12], sha256=r[13],
        gas_used=r[14], eval_time_ms=r[15], created_at_ms=r[16],
    )  # fmt: skip


class ApswCheckpointStore:
    def __init__(
        self,
        db: Database,
        options: StoreOptions,
        file_limiter: trio.CapacityLimiter,
        *,
        clock_ms: Callable[[], int],
    ) -> None:
        self._db = db
        self._file_limiter = file_limiter
        self._clock_ms = clock_ms
        (store_id,) = db.read("SELECT value FROM store_meta WHERE name = 'store_id'")[0]
        self._files = {
            kind: MemoryFiles(options.snapshot_dir(kind), store_id, level=options.zstd_level,
                              setting=options.snapshot_setting(kind))
            for kind in SnapshotKind
        }
        self._keep = {kind: options.keep(kind) for kind in SnapshotKind}

    # -- Arweave checkpoint records (§2.16 step 4, §2.5.5) -----------------------------------------

    async def write_checkpoint_record(self, record: CheckpointRecord) -> None:
        r = stored(record)
        params = (r.point.key, *_point_params(r.point), r.checkpoint_id, r.encoding)
        await self._db.write(
            lambda c: c.execute(
                f"INSERT OR IGNORE INTO checkpoint_records (key, {_POINT}, checkpoint_id, encoding)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                params,
            )
        )

    async def read_checkpoint_records(
        self, process_id: str, *, before_ms: int, limit: int = 5
    ) -> list[CheckpointRecord]:
        rows = self._db.read(
            f"SELECT {_POINT}, checkpoint_id, encoding FROM checkpoint_records"
            " WHERE process_id = ? AND timestamp < ? ORDER BY timestamp DESC, key DESC LIMIT ?",
            (process_id, before_ms, limit),
        )
        return [CheckpointRecord(point=_point(r), checkpoint_id=r[10], encoding=r[11]) for r in rows]

    # -- memory snapshots -------------------------------------------------------------------------

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
        files = self._files[kind]
        name = files.new_name(point.process_id, point.timestamp)
        try:
            size, sha = await trio.to_thread.run_sync(files.write, name, memory, limiter=self._file_limiter)
        except OSError as exc:
            raise StoreError(f"writing memory snapshot {files.directory / name}: {exc}") from exc
        record = SnapshotRecord(
            kind=kind, point=point, file=name, memory_size=size, sha256=sha,
            gas_used=min(gas_used, _INT64_MAX), eval_time_ms=min(eval_time_ms, _INT64_MAX),
            created_at_ms=self._clock_ms(),
        )  # fmt: skip
        try:
            dropped = await self._db.write(partial(self._insert, record), durable=True)
        except BaseException:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(files.remove, [name])
            raise
        if dropped:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(files.remove, dropped, limiter=self._file_limiter)
        return record

    def _insert(self, record: SnapshotRecord, conn: apsw.Connection) -> list[str]:
        """Insert *record* and drop the records beyond the retention; returns the dropped files."""
        p = record.point
        conn.execute(
            f"INSERT INTO snapshots (key, {_SNAPSHOT}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (p.key, str(record.kind), *_point_params(p), record.file, record.memory_size, record.sha256,
             record.gas_used, record.eval_time_ms, record.created_at_ms),
        )  # fmt: skip
        dropped = conn.execute(
            f"SELECT id, file FROM snapshots WHERE process_id = ? AND kind = ? {_NEWEST_FIRST} LIMIT -1 OFFSET ?",
            (p.process_id, str(record.kind), self._keep[record.kind]),
        ).fetchall()
        conn.executemany("DELETE FROM snapshots WHERE id = ?", [(i,) for i, _ in dropped])
        return [f for _, f in dropped]

    async def read_snapshots(self, process_id: str, kind: SnapshotKind | None = None) -> list[SnapshotRecord]:
        return [_snapshot(r) for r in self._select(process_id, kind, "")]

    async def latest_snapshot(self, process_id: str, kind: SnapshotKind | None = None) -> SnapshotRecord | None:
        rows = self._select(process_id, kind, "LIMIT 1")
        return _snapshot(rows[0]) if rows else None

    def _select(self, process_id: str, kind: SnapshotKind | None, limit: str) -> list[tuple[Any, ...]]:
        if kind is None:
            sql = f"SELECT {_SNAPSHOT} FROM snapshots WHERE process_id = ? {_NEWEST_FIRST} {limit}"
            return self._db.read(sql, (process_id,))
        sql = f"SELECT {_SNAPSHOT} FROM snapshots WHERE process_id = ? AND kind = ? {_NEWEST_FIRST} {limit}"
        return self._db.read(sql, (process_id, str(kind)))

    async def load_snapshot(self, record: SnapshotRecord) -> bytes:
        files = self._files[record.kind]
        read = partial(files.read, record.file, size=record.memory_size, sha256=record.sha256)
        return await trio.to_thread.run_sync(read, limiter=self._file_limiter)

    async def delete_snapshot(self, record: SnapshotRecord) -> None:
        await self._db.write(lambda c: c.execute("DELETE FROM snapshots WHERE file = ?", (record.file,)), durable=True)
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(self._files[record.kind].remove, [record.file], limiter=self._file_limiter)

    # -- startup ----------------------------------------------------------------------------------

    async def reconcile(self) -> None:
        """Make records and files agree after a crash or a config change: drop records whose file is
        gone, apply the retention, then delete this store's files that no record references."""
        present = await trio.to_thread.run_sync(self._present_files)
        referenced = await self._db.write(partial(self._reconcile_records, present), durable=True)
        await trio.to_thread.run_sync(self._remove_orphans, referenced)

    def _present_files(self) -> dict[str, set[str]]:
        # own_files lists regular files only (no symlinks) and nothing in a refused directory: the
        # records of those are dropped like the records of deleted files
        return {str(kind): set(files.own_files()) for kind, files in self._files.items()}

    def _reconcile_records(self, present: dict[str, set[str]], conn: apsw.Connection) -> set[str]:
        rows = conn.execute("SELECT id, kind, file FROM snapshots").fetchall()
        gone = [(i,) for i, kind, f in rows if f not in present.get(kind, ())]
        conn.executemany("DELETE FROM snapshots WHERE id = ?", gone)
        for kind, keep in self._keep.items():
            extra = conn.execute(
                "SELECT id FROM (SELECT id, row_number() OVER"
                f" (PARTITION BY process_id {_NEWEST_FIRST}) AS n FROM snapshots WHERE kind = ?) WHERE n > ?",
                (str(kind), keep),
            ).fetchall()
            conn.executemany("DELETE FROM snapshots WHERE id = ?", extra)
        return {f for (f,) in conn.execute("SELECT file FROM snapshots").fetchall()}

    def _remove_orphans(self, referenced: set[str]) -> None:
        # Both kinds may share one directory: a file is an orphan only if no record of any kind has it.
        for files in self._files.values():
            files.remove([name for name in files.own_files() if name not in referenced])
