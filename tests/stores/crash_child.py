"""Child process for test_crash.py: writes evaluation rows and memory snapshots until killed.

Usage: python crash_child.py DIR [MAX_BATCHES]

Two processes (ao processes, i.e. two ids) are written concurrently, so group commits mix them.
Each one resumes after its latest committed row, writes BATCH rows (with their ``messages`` rows)
per call, and after every SNAPSHOT_EVERY batches saves a memory snapshot of its last row's point,
alternating drains and file checkpoints. Everything is a pure function of the nonce, so the
parent can check any prefix against what a clean run writes. Prints ``ready`` once the stores are
open, then works until killed (or until MAX_BATCHES per process, for the clean run).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

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


async def main(directory: Path, max_batches: int | None) -> None:
    async with open_stores(directory / "cu.sqlite", options(directory)) as stores:
        print("ready", flush=True)
        async with trio.open_nursery() as nursery:
            for pid in PIDS:
                nursery.start_soon(write_process, stores, pid, max_batches)


if __name__ == "__main__":
    trio.run(main, Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None)
