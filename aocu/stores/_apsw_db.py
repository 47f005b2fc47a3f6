"""SQLite connections, the threads they run on, transactions and group commit.

Owns three apsw connections to one WAL database, each used by one thread at a time (stack.md §4):

* ``loop``: the trio thread, point reads only (a primary-key read takes ~8 µs; WAL readers never
  wait for the writer);
* ``writer``: every write, in a worker thread under ``writer_limiter`` (``CapacityLimiter(1)``), one
  ``BEGIN IMMEDIATE`` transaction per call;
* ``scanner``: range scans, in a worker thread under its own ``CapacityLimiter(1)`` so a page read
  never queues behind a write batch.

Never leaves a cursor unfinished (``fetchall``): an open cursor pins a stale WAL snapshot and blocks
checkpoints (stack.md §4, gotcha). Never writes on the trio thread: a write may wait on a lock.
Start with `Database.write` and `GroupWriter.submit`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Generic, TypeVar

import apsw
import trio

from ._cursor import sqlite_text
from ._errors import StoreError, map_apsw_errors
from ._schema import migrate

__all__ = ["Database", "GroupWriter"]

T = TypeVar("T")
Item = TypeVar("Item")

BUSY_TIMEOUT_MS: Final = 5_000
"""How long a connection waits for a lock; only another process on the same file can hold one long."""
LOOP_BUSY_TIMEOUT_MS: Final = 200
"""The trio-thread connection waits less: a WAL reader is blocked only during WAL recovery."""
JOURNAL_SIZE_LIMIT_BYTES: Final = 64 << 20
"""Truncate the WAL back to this after a checkpoint (the reference restarts a >100 MB WAL, §3.1)."""
WAL_AUTOCHECKPOINT_PAGES: Final = 4000
"""Checkpoint every 16 MiB of WAL instead of SQLite's 4 MiB: each checkpoint fsyncs the WAL and the
database, so this is 4x fewer fsyncs. On this project's VM disk, turning checkpoints off entirely
sped 100-row transactions up by 1.0-1.9x depending on the run."""
CACHE_KIB: Final = {"writer": 64 << 10, "scanner": 32 << 10, "loop": 32 << 10}
"""Page cache per connection (SQLite's default is 2 MiB). An insert touches a leaf of the table and
of 3 indexes plus the ``messages`` tree; on a 200 MB database a 1-row write call took 966 µs with the
default cache and 395 µs with these (tests/stores/bench_stores.py)."""


def _connect(path: Path, busy_timeout_ms: int, cache_kib: int) -> apsw.Connection:
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE)
    conn.set_busy_timeout(busy_timeout_ms)
    conn.execute("PRAGMA journal_mode = WAL").fetchall()
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES}").fetchall()
    conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}").fetchall()
    conn.execute(f"PRAGMA cache_size = {-cache_kib}")
    return conn


def _bindable(params: Sequence[Any]) -> list[Any]:
    # A query string with a lone surrogate would make apsw raise UnicodeEncodeError; the reference's
    # driver binds U+FFFD instead, and so do we (stored rows went through the same function).
    return [sqlite_text(p) if isinstance(p, str) else p for p in params]


class Database:
    """The connections of one database file; build with `Database.open` in a worker thread."""

    def __init__(self, path: Path, loop: apsw.Connection, writer: apsw.Connection, scanner: apsw.Connection):
        self.path = path
        self._loop = loop
        self._writer = writer
        self._scanner = scanner
        self.writer_limiter = trio.CapacityLimiter(1)
        self.scan_limiter = trio.CapacityLimiter(1)
        self._closed = False

    @classmethod
    def open(cls, path: Path) -> Database:
        """Open (creating and migrating if needed). Blocking: call through ``trio.to_thread``."""
        with map_apsw_errors(f"opening {path}"):
            writer = _connect(path, BUSY_TIMEOUT_MS, CACHE_KIB["writer"])
            try:
                migrate(writer)
                scanner = _connect(path, BUSY_TIMEOUT_MS, CACHE_KIB["scanner"])
                loop = _connect(path, LOOP_BUSY_TIMEOUT_MS, CACHE_KIB["loop"])
            except BaseException:
                writer.close()
                raise
        return cls(path, loop, writer, scanner)

    # -- trio thread ------------------------------------------------------------------------------

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A point read on the trio thread; keep these to index probes with a small result."""
        self.check_open()
        with map_apsw_errors("reading"):
            return self._loop.execute(sql, _bindable(params)).fetchall()

    # -- worker threads ---------------------------------------------------------------------------

    async def scan(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A range read on the scanner connection, in a worker thread."""
        self.check_open()
        async with self.scan_limiter:
            return await trio.to_thread.run_sync(self._scan_sync, sql, params)

    def _scan_sync(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with map_apsw_errors("scanning"):
            return self._scanner.execute(sql, _bindable(params)).fetchall()

    async def write(self, fn: Callable[[apsw.Connection], T], *, durable: bool = False) -> T:
        """Run ``fn(writer)`` in one transaction in a worker thread; return its result once committed.

        ``durable`` commits with ``synchronous=FULL`` (the WAL is fsynced), so the transaction and
        everything before it survive power loss, not only a process crash. Cancellation is honoured
        while waiting for the writer; once the thread runs, the call completes.
        """
        self.check_open()
        async with self.writer_limiter:
            return await trio.to_thread.run_sync(self.transaction, fn, durable)

    def transaction(self, fn: Callable[[apsw.Connection], T], durable: bool = False) -> T:
        """``fn(writer)`` inside ``BEGIN IMMEDIATE`` .. ``COMMIT``; the caller holds ``writer_limiter``."""
        conn = self._writer
        with map_apsw_errors("writing"):
            if durable:
                conn.execute("PRAGMA synchronous = FULL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                if durable:
                    conn.execute("PRAGMA synchronous = NORMAL")
        return result

    async def aclose(self) -> None:
        """Wait for running reads and writes, then close every connection. Idempotent."""
        if self._closed:
            return
        with trio.CancelScope(shield=True):
            async with self.writer_limiter, self.scan_limiter:
                self._closed = True
                await trio.to_thread.run_sync(self._close_sync)

    def _close_sync(self) -> None:
        with map_apsw_errors("closing"):
            for conn in (self._loop, self._scanner, self._writer):
                conn.close()

    def check_open(self) -> None:
        if self._closed:
            raise StoreError(f"store {self.path} is closed")


@dataclass(slots=True)
class _Group(Generic[Item]):
    items: list[Item] = field(default_factory=list)
    done: bool = False
    error: BaseException | None = None


class GroupWriter(Generic[Item]):
    """Group commit: callers that arrive while a transaction runs share the next one.

    `submit` adds items to the open group. If no commit is running, the caller becomes the
    flusher: it takes the open group and commits it. Everyone else waits for the running commit
    to end (one `trio.Event` wakes them all at once); then those whose group is done return and
    the first of the rest becomes the next flusher. Batching is what makes SQLite fast here:
    15k rows/s one per transaction against 78-81k rows/s with 100 or more (stack.md §4).
    """

    def __init__(self, db: Database, write_items: Callable[[apsw.Connection, list[Item]], None]) -> None:
        self._db = db
        self._write_items = write_items
        self._open: _Group[Item] = _Group()
        self._flushing = False
        self._flush_done = trio.Event()

    async def submit(self, items: Sequence[Item]) -> None:
        """Commit *items* (with whatever else is waiting). A caller cancelled while waiting leaves its
        items in the open group: they are written by the next commit or by `flush` at close."""
        self._db.check_open()
        group = self._open
        group.items.extend(items)
        while not group.done:
            if self._flushing:
                await self._flush_done.wait()
            else:
                await self._flush_open_group()
        if group.error is not None:
            raise StoreError(f"group commit failed: {group.error}") from group.error

    async def flush(self) -> None:
        """Commit anything left in the open group (used at close)."""
        while self._flushing:
            await self._flush_done.wait()
        if self._open.items:
            await self._flush_open_group()

    async def _flush_open_group(self) -> None:
        self._flushing = True
        try:
            # Waiting for the writer is cancellable: nothing has been taken yet, and whatever
            # arrives meanwhile joins this transaction.
            async with self._db.writer_limiter:
                group, self._open = self._open, _Group()
                # Once taken, a group is committed even if this caller is cancelled: others wait on it.
                with trio.CancelScope(shield=True):
                    try:
                        items = group.items
                        await trio.to_thread.run_sync(self._db.transaction, lambda conn: self._write_items(conn, items))
                    except Exception as exc:
                        group.error = exc
                    finally:
                        group.done = True
        finally:
            self._flushing = False
            done, self._flush_done = self._flush_done, trio.Event()
            done.set()
