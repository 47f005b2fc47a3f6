"""Child process for test_crash.py: writes evaluation rows and memory snapshots until killed.

Usage: python crash_child.py DIR [MAX_BATCHES]
       AOCU_CRASH_PAUSE=POINT[:N] python crash_child.py DIR


Two processes (ao processes, i.e. two ids) are written concurrently, so group commits mix them.
Each one resumes after its latest committed row, writes BATCH rows (with their ``messages`` rows)
per call, and after every SNAPSHOT_EVERY batches saves a memory snapshot of its last row's point,
alternating drains and file checkpoints. Everything is a pure function of the nonce, so the
parent can check any prefix against what a clean run writes. Prints ``ready`` once the stores are
open, then works until killed (or until MAX_BATCHES per process, for the clean run).

With ``AOCU_CRASH_PAUSE`` the child stops for good at the N-th time it reaches POINT, prints
``paused POINT`` and waits to be killed there, so the parent can kill at the worst moments on purpose:
``mid-batch`` (every statement of a row batch executed, COMMIT not yet), ``after-rename`` (a snapshot
file durable under its final name, its record not yet committed), ``after-commit`` (a snapshot
record committed and older ones dropped, their files not yet unlinked).
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import trio

from aocu.stores import (
    EvaluationRow,
    MemoryPoint,
    MessageRecord,
    SnapshotKind,
    StoreOptions,
    Stores,
    open_stores,
)

PIDS = ("crash-a".ljust(43, "A"), "crash-b".ljust(43, "B"))
BATCH = 100
SNAPSHOT_EVERY = 2
MEMORY_BYTES = 4 << 20
T0 = 1_700_000_000_000


def options(directory: Path) -> StoreOptions:
    return StoreOptions(
        drain_dir=directory / "drain", checkpoint_dir=directory / "checkpoints", module_dir=directory / "modules"
    )


def expected_row(pid: str, n: int) -> EvaluationRow:
    return EvaluationRow(
        process_id=pid, timestamp=T0 + 10 * n, ordinate=str(n), cron=None, message_id=f"m-{pid[6]}-{n}",
        deep_hash=None, nonce=n, epoch=0, block_height=1000 + n // 50, evaluated_at_ms=T0 + n,
        output='{"Messages":[],"Assignments":[],"Spawns":[],"Output":"' + f"{n}-" * 80 + '"}',
        has_error=n % 7 == 0,
    )  # fmt: skip


def expected_message(pid: str, n: int) -> MessageRecord:
    return MessageRecord(process_id=pid, message_id=f"m-{pid[6]}-{n}", epoch=0, nonce=n)


def expected_point(pid: str, n: int) -> MemoryPoint:
    return MemoryPoint(process_id=pid, timestamp=T0 + 10 * n, ordinate=str(n), module_id="mod", nonce=n, epoch=0)


def expected_memory(pid: str, n: int) -> bytes:
    noise = random.Random(f"{pid}:{n}").randbytes(512 << 10)
    return noise + bytes(MEMORY_BYTES - len(noise))


async def write_process(stores: Stores, pid: str, max_batches: int | None) -> None:
    latest = await stores.evaluations.read_latest_evaluation(pid)
    n = 0 if latest is None else (latest.nonce or 0) + 1
    while max_batches is None or n < max_batches * BATCH:
        rows = [expected_row(pid, k) for k in range(n, n + BATCH)]
        await stores.evaluations.write_evaluations(rows, [expected_message(pid, k) for k in range(n, n + BATCH)])
        n += BATCH
        batch = n // BATCH
        if batch % SNAPSHOT_EVERY == 0:
            kind = SnapshotKind.DRAIN if batch % (2 * SNAPSHOT_EVERY) else SnapshotKind.CHECKPOINT
            memory = await trio.to_thread.run_sync(expected_memory, pid, n - 1)
            await stores.checkpoints.save_snapshot(kind, expected_point(pid, n - 1), memory)


def install_pause(spec: str) -> None:
    """Make the N-th arrival at a point print ``paused <point>`` and hang (in whatever thread)."""
    import aocu.stores._apsw as apsw_stores
    from aocu.stores._apsw_db import Database
    from aocu.stores._memory_files import MemoryFiles

    point, _, nth = spec.partition(":")
    remaining = int(nth or 1)

    def arrive(info: str = "") -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            print(f"paused {point}{info}", flush=True)
            time.sleep(3600)

    if point == "mid-batch":
        write_batches = apsw_stores._write_batches
        committed = 0

        def paused_batches(conn: Any, batches: Any) -> None:
            # prints the rows committed by earlier calls and the rows of this (never committed) one
            nonlocal committed
            write_batches(conn, batches)
            rows = sum(len(rows) for rows, _ in batches)
            arrive(f" {committed} {rows}")
            committed += rows

        apsw_stores._write_batches = paused_batches
    elif point == "after-rename":
        write = MemoryFiles.write

        def paused_write(self: MemoryFiles, name: str, memory: Any) -> tuple[int, bytes]:
            result = write(self, name, memory)
            arrive()
            return result

        MemoryFiles.write = paused_write  # type: ignore[method-assign]
    elif point == "after-commit":
        transaction = Database.transaction

        def paused_transaction(self: Database, fn: Any, durable: bool = False) -> Any:
            result = transaction(self, fn, durable)
            if durable and isinstance(result, list) and result:  # a snapshot commit that dropped files
                arrive()
            return result

        Database.transaction = paused_transaction  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown pause point {point!r}")


async def main(directory: Path, max_batches: int | None) -> None:
    async with open_stores(directory / "cu.sqlite", options(directory)) as stores:
        print("ready", flush=True)
        async with trio.open_nursery() as nursery:
            for pid in PIDS:
                nursery.start_soon(write_process, stores, pid, max_batches)


if __name__ == "__main__":
    if pause := os.environ.get("AOCU_CRASH_PAUSE"):
        install_pause(pause)
    trio.run(main, Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None)
