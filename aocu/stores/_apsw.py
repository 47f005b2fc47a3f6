"""The stores on SQLite (apsw), and `open_stores`, which opens, reconciles and closes them.

Owns the table stores built on one `Database` (see ``_apsw_db`` for which connection and thread each
call uses: point reads on the trio thread, writes and range scans in worker threads) and the module
file cache. Never blocks the trio thread on a write, a scan or a file (style.md §6 item 8).

Write-ahead order (crash consistency; reference-cu.md §2.14, §2.16):

1. Evaluation rows and their ``messages`` rows commit in one transaction per group of calls
   (`GroupWriter`), in WAL mode with ``synchronous=NORMAL``: a kill -9 loses nothing committed, a
   power loss at most the last transactions, never part of one.
2. A memory snapshot is written only after the rows up to its point are committed (the caller awaits
   `write_evaluations` first; the writer connection serializes everything after that).
3. Its file is written to ``<name>.tmp``, fsynced, renamed, and the directory fsynced
   (``_memory_files``); only then is the row that references it committed, with
   ``synchronous=FULL`` so that it, and every row before it, is on disk.
4. The same transaction deletes the records the retention drops; their files are unlinked after the
   commit. A crash between 3 and 4 leaves unreferenced files, which startup deletes
   (``_apsw_snapshots.reconcile``) together with any ``.tmp`` left by a crash in 3.

So no committed row ever references a missing or partial file, and a snapshot is never ahead of the
evaluation rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import apsw
import trio

from ._apsw_db import Database, GroupWriter
from ._apsw_snapshots import ApswCheckpointStore
from ._cursor import RangeBound, Sort, evaluation_key, lower_key, sqlite_text, stored, upper_key
from ._module_files import BinaryDigest, ModuleFiles
from .base import (
    BlockRecord,
    EvaluationRow,
    MessageRecord,
    ModuleRecord,
    ProcessRecord,
    SchedulerLocation,
    StoreOptions,
    Stores,
    Tag,
)

__all__ = [
    "ApswBlockStore",
    "ApswEvaluationStore",
    "ApswMessageStore",
    "ApswModuleStore",
    "ApswProcessStore",
    "ApswSchedulerLocationStore",
    "open_stores",
    "wall_clock_ms",
]


#: Ids per ``IN (...)`` probe (well below SQLite's 32766 bound variables).
_IN_CHUNK = 500


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def tags_to_json(tags: tuple[Tag, ...]) -> str:
    # ensure_ascii=False: lone surrogates reach sqlite_text (-> U+FFFD) as in the fake, not as escapes
    return json.dumps([{"name": n, "value": v} for n, v in tags], ensure_ascii=False, separators=(",", ":"))


def tags_from_json(text: str) -> tuple[Tag, ...]:
    return tuple(Tag(t["name"], t["value"]) for t in json.loads(text))


class ApswProcessStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def read_process(self, process_id: str) -> ProcessRecord | None:
        rows = self._db.read(
            "SELECT owner_address, owner_key, tags, signature, anchor, block_height, block_timestamp,"
            " timestamp FROM processes WHERE id = ?",
            (process_id,),
        )
        if not rows:
            return None
        address, key, tags, signature, anchor, height, block_ts, ts = rows[0]
        return ProcessRecord(
            id=process_id, owner_address=address, owner_key=key, tags=tags_from_json(tags),
            signature=signature, anchor=anchor, block_height=height, block_timestamp=block_ts, timestamp=ts,
        )  # fmt: skip

    async def write_process(self, record: ProcessRecord) -> None:
        r = stored(record)
        params = (
            r.id, r.owner_address, r.owner_key, tags_to_json(r.tags), r.signature, r.anchor,
            r.block_height, r.block_timestamp, r.timestamp,
        )  # fmt: skip
        await self._db.write(lambda c: c.execute("INSERT OR IGNORE INTO processes VALUES (?,?,?,?,?,?,?,?,?)", params))


class ApswModuleStore:
    """Module metadata and binary digests in SQLite; the binaries themselves in `ModuleFiles`."""

    def __init__(self, db: Database, files: ModuleFiles) -> None:
        self._db = db
        self._files = files

    async def read_module(self, module_id: str) -> ModuleRecord | None:
        rows = self._db.read("SELECT owner_address, owner_key, tags FROM modules WHERE id = ?", (module_id,))
        if not rows:
            return None
        address, key, tags = rows[0]
        return ModuleRecord(id=module_id, owner_address=address, owner_key=key, tags=tags_from_json(tags))

    async def write_module(self, record: ModuleRecord) -> None:
        r = stored(record)
        params = (r.id, r.owner_address, r.owner_key, tags_to_json(r.tags))
        await self._db.write(lambda c: c.execute("INSERT OR IGNORE INTO modules VALUES (?,?,?,?)", params))

    async def read_module_binary(self, module_id: str) -> bytes | None:
        rows = self._db.read("SELECT size, sha256 FROM module_binaries WHERE module_id = ?", (sqlite_text(module_id),))
        return await self._files.read(module_id, BinaryDigest(*rows[0]) if rows else None)

    async def write_module_binary(self, module_id: str, data: bytes) -> None:
        digest = await self._files.write(module_id, data)
        if digest is not None:
            params = (sqlite_text(module_id), digest.size, digest.sha256)
            await self._db.write(lambda c: c.execute("INSERT OR REPLACE INTO module_binaries VALUES (?,?,?)", params))


# evaluations ------------------------------------------------------------------------------------

_EVAL_COLUMNS: Final = (
    "process_id, timestamp, ordinate, cron, message_id, deep_hash, nonce, epoch, block_height,"
    " evaluated_at, has_error, output"
)
_INSERT_EVALUATION: Final = (
    f"INSERT OR IGNORE INTO evaluations (key, {_EVAL_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_INSERT_MESSAGE: Final = "INSERT OR IGNORE INTO messages (process_id, message_id, epoch, nonce) VALUES (?,?,?,?)"


def _row(r: tuple[Any, ...]) -> EvaluationRow:
    return EvaluationRow(
        process_id=r[0], timestamp=r[1], ordinate=r[2], cron=r[3], message_id=r[4], deep_hash=r[5],
        nonce=r[6], epoch=r[7], block_height=r[8], evaluated_at_ms=r[9], has_error=bool(r[10]), output=r[11],
    )  # fmt: skip


def _opt(s: str | None) -> str | None:
    return None if s is None else sqlite_text(s)


def _evaluation_params(r: EvaluationRow) -> tuple[Any, ...]:
    # The hot path of every write: `stored(r)` and `r.key` spelled out (6 us -> ~1.5 us per row).
    t = sqlite_text
    cron = r.cron
    key = f"{r.timestamp},{r.ordinate}" if cron is None else f"{r.timestamp},{r.ordinate},{cron}"
    return (
        t(key), t(r.process_id), r.timestamp, t(r.ordinate), _opt(cron), _opt(r.message_id), _opt(r.deep_hash),
        r.nonce, r.epoch, r.block_height, r.evaluated_at_ms, int(r.has_error), t(r.output),
    )  # fmt: skip


_Batch = tuple[Sequence[EvaluationRow], Sequence[MessageRecord]]


def _write_batches(conn: apsw.Connection, batches: list[_Batch]) -> None:
    t = sqlite_text
    conn.executemany(_INSERT_EVALUATION, [_evaluation_params(row) for rows, _ in batches for row in rows])
    conn.executemany(
        _INSERT_MESSAGE, [(t(m.process_id), t(m.message_id), m.epoch, m.nonce) for _, ms in batches for m in ms]
    )


def results_sql(*, lower: bool, upper: bool, sort: Sort, only_cron: bool) -> str:
    """The `/results` page query: one range scan of ``evaluations_by_key`` (or of the partial
    ``evaluations_cron_by_key`` for `/cron`), already in order, so SQLite stops after ``LIMIT`` rows."""
    where = ["process_id = ?"]
    if lower:
        where.append("key > ?")
    if upper:
        where.append("key <= ?")
    if only_cron:
        where.append("cron IS NOT NULL")
    order = "ASC" if sort is Sort.ASC else "DESC"
    return f"SELECT {_EVAL_COLUMNS} FROM evaluations WHERE {' AND '.join(where)} ORDER BY key {order} LIMIT ?"


class ApswEvaluationStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._writer: GroupWriter[_Batch] = GroupWriter(db, _write_batches)

    async def write_evaluations(self, rows: Sequence[EvaluationRow], messages: Sequence[MessageRecord] = ()) -> None:
        if rows or messages:
            await self._writer.submit([(rows, messages)])

    async def flush(self) -> None:
        await self._writer.flush()

    async def read_evaluation(
        self, process_id: str, *, timestamp: int, ordinate: str | None, cron: str | None = None
    ) -> EvaluationRow | None:
        rows = self._db.read(
            f"SELECT {_EVAL_COLUMNS} FROM evaluations WHERE process_id = ? AND key = ?",
            (process_id, evaluation_key(timestamp, ordinate, cron)),
        )
        return _row(rows[0]) if rows else None

    async def read_evaluation_by_message(self, process_id: str, message_id: str) -> EvaluationRow | None:
        rows = self._db.read(
            f"SELECT {_EVAL_COLUMNS} FROM evaluations WHERE process_id = ? AND message_id = ? ORDER BY key LIMIT 1",
            (process_id, message_id),
        )
        return _row(rows[0]) if rows else None

    async def read_latest_evaluation(self, process_id: str) -> EvaluationRow | None:
        rows = self._db.read(
            f"SELECT {_EVAL_COLUMNS} FROM evaluations WHERE process_id = ? ORDER BY key DESC LIMIT 1",
            (process_id,),
        )
        return _row(rows[0]) if rows else None

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
        params: list[Any] = [process_id]
        params += [k for k in (lo, hi) if k is not None]
        params.append(limit)
        sql = results_sql(lower=lo is not None, upper=hi is not None, sort=sort, only_cron=only_cron)
        return [_row(r) for r in await self._db.scan(sql, params)]


class ApswMessageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find_prior_messages(self, process_id: str, candidates: Sequence[tuple[str, int, int]]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(candidates), _IN_CHUNK):
            chunk = candidates[start:start + _IN_CHUNK]
            wanted = {sqlite_text(mid): (mid, epoch, nonce) for mid, epoch, nonce in chunk}
            marks = ",".join("?" * len(wanted))
            rows = self._db.read(
                f"SELECT message_id, epoch, nonce FROM messages WHERE process_id = ? AND message_id IN ({marks})",
                (process_id, *wanted),
            )
            for stored_id, e, n in rows:
                mid, epoch, nonce = wanted[stored_id]
                if n < epoch or (e == epoch and n < nonce):     # the same predicate as below (§3.4)
                    found.add(mid)
        return found

    async def find_prior_message(
        self, process_id: str, message_id: str, *, epoch: int, nonce: int
    ) -> MessageRecord | None:
        # §3.4 "prior message", including its comparison of the stored nonce with the epoch
        rows = self._db.read(
            "SELECT message_id, epoch, nonce FROM messages WHERE process_id = ? AND message_id = ?"
            " AND (nonce < ? OR (epoch = ? AND nonce < ?))",
            (process_id, message_id, epoch, epoch, nonce),
        )
        if not rows:
            return None
        mid, e, n = rows[0]
        return MessageRecord(process_id=process_id, message_id=mid, epoch=e, nonce=n)


class ApswBlockStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def write_blocks(self, blocks: Sequence[BlockRecord]) -> None:
        if blocks:
            params = [(b.height, b.timestamp) for b in blocks]
            await self._db.write(lambda c: c.executemany("INSERT OR IGNORE INTO blocks VALUES (?, ?)", params))

    async def read_blocks(self, *, min_height: int, max_timestamp: int) -> list[BlockRecord]:
        rows = await self._db.scan(
            "SELECT height, timestamp FROM blocks WHERE height >= ? AND timestamp <= ? ORDER BY height",
            (min_height, max_timestamp),
        )
        return [BlockRecord(height=h, timestamp=t) for h, t in rows]


class ApswSchedulerLocationStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def read_scheduler(self, address: str, *, now_ms: int, allow_stale: bool = False) -> SchedulerLocation | None:
        rows = self._db.read("SELECT url, ttl_ms, cached_at FROM scheduler_locations WHERE address = ?", (address,))
        if not rows:
            return None
        url, ttl, cached = rows[0]
        loc = SchedulerLocation(address=address, url=url, ttl_ms=ttl, cached_at_ms=cached)
        return loc if allow_stale or loc.is_fresh(now_ms) else None

    async def write_scheduler(self, location: SchedulerLocation) -> None:
        loc = stored(location)
        params = (loc.address, loc.url, loc.ttl_ms, loc.cached_at_ms)
        await self._db.write(lambda c: c.execute("INSERT OR REPLACE INTO scheduler_locations VALUES (?,?,?,?)", params))

    async def read_process_scheduler(
        self, process_id: str, *, now_ms: int, allow_stale: bool = False
    ) -> SchedulerLocation | None:
        rows = self._db.read(
            "SELECT address, url, ttl_ms, cached_at FROM process_schedulers WHERE process_id = ?",
            (process_id,),
        )
        if not rows:
            return None
        address, url, ttl, cached = rows[0]
        loc = SchedulerLocation(address=address, url=url, ttl_ms=ttl, cached_at_ms=cached)
        return loc if allow_stale or loc.is_fresh(now_ms) else None

    async def write_process_scheduler(self, process_id: str, location: SchedulerLocation) -> None:
        loc = stored(location)
        params = (sqlite_text(process_id), loc.address, loc.url, loc.ttl_ms, loc.cached_at_ms)
        await self._db.write(
            lambda c: c.execute("INSERT OR REPLACE INTO process_schedulers VALUES (?,?,?,?,?)", params)
        )


@asynccontextmanager
async def open_stores(
    db_path: Path | str, options: StoreOptions, *, clock_ms: Callable[[], int] = wall_clock_ms
) -> AsyncIterator[Stores]:
    """Open (create, migrate) the SQLite database at *db_path* and the snapshot directories, delete
    what a crash left behind, and yield the stores; on exit commit pending rows and close.

    *db_path* is the file itself (the config maps ``DB_URL`` to ``<DB_URL>.sqlite``, §3.1).
    """
    # the snapshot directories are created (0o700) and checked on every use, and refused rather than
    # fatal when unsafe or unusable (`_memory_files`)
    await trio.Path(options.module_dir).mkdir(parents=True, exist_ok=True)
    file_limiter = trio.CapacityLimiter(options.file_threads)
    module_files = ModuleFiles(options.module_dir, file_limiter)
    await trio.to_thread.run_sync(module_files.remove_temp_files)
    db = await trio.to_thread.run_sync(Database.open, Path(db_path))
    evaluations = ApswEvaluationStore(db)
    try:
        checkpoints = ApswCheckpointStore(db, options, file_limiter, clock_ms=clock_ms)
        await checkpoints.reconcile()
        yield Stores(
            processes=ApswProcessStore(db),
            modules=ApswModuleStore(db, module_files),
            evaluations=evaluations,
            messages=ApswMessageStore(db),
            blocks=ApswBlockStore(db),
            checkpoints=checkpoints,
            scheduler_locations=ApswSchedulerLocationStore(db),
        )
    finally:
        with trio.CancelScope(shield=True):
            try:
                await evaluations.flush()
            finally:
                await db.aclose()
