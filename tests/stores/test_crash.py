"""kill -9 at random moments: evaluation rows and memory snapshots stay consistent.

A child process (crash_child.py) writes rows and snapshots in a loop; we SIGKILL it at a random
moment, look at the files and the database *before* anything repairs them, then reopen the stores
(startup cleanup runs) and check again; several rounds, each resuming where the last committed.
A clean run of the same child, never killed, runs alongside; its rows must be the same rows.

Invariants checked after every kill:
* no snapshot record references a missing file (checked before startup cleanup could hide it);
* rows are whole batches: no half-committed transaction, and ``messages`` rows exist exactly for
  committed evaluation rows;
* nonces are contiguous from 0 and every row equals the clean run's row;
* every snapshot loads, passes its sha256, holds the memory of its point, and is not ahead of
  the rows;
* after startup cleanup no file of ours is unreferenced.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import apsw
import pytest
import trio

from aocu.stores import SnapshotKind, open_stores
from aocu.stores._memory_files import MemoryFiles

from . import crash_child as child

CHILD = Path(__file__).with_name("crash_child.py")
ROUNDS = 6
KILL_WINDOW_S = (0.0, 0.3)
CLEAN_BATCHES = 30


async def start_child(directory: Path, *args: str, pause: str | None = None) -> trio.Process:
    env = dict(os.environ, AOCU_CRASH_PAUSE=pause) if pause else None
    proc = await trio.lowlevel.open_process(
        [sys.executable, str(CHILD), str(directory), *args], stdout=subprocess.PIPE, env=env
    )
    assert await read_line(proc) == b"ready\n"
    return proc


async def read_line(proc: trio.Process) -> bytes:
    assert proc.stdout is not None
    line = b""
    while not line.endswith(b"\n"):
        chunk = await proc.stdout.receive_some(1)
        assert chunk, f"child exited early: {await proc.wait()}"
        line += chunk
    return line


def inspect_raw(directory: Path) -> dict[str, int]:
    """What the kill left, before startup cleanup: the must-never-happen and the expected debris."""
    conn = apsw.Connection(str(directory / "cu.sqlite"))
    try:
        records = conn.execute("SELECT kind, file FROM snapshots").fetchall()
        (store_id,) = conn.execute("SELECT value FROM store_meta WHERE name = 'store_id'").fetchall()[0]
    finally:
        conn.close()
    opts = child.options(directory)
    dirs = {str(kind): opts.snapshot_dir(kind) for kind in SnapshotKind}
    missing = [f for kind, f in records if not (dirs[kind] / f).is_file()]
    assert not missing, f"records reference missing files: {missing}"
    referenced = {f for _, f in records}
    own = [n for d in dirs.values() for n in MemoryFiles(d, store_id).own_files()]
    return {
        "tmp": sum(n.endswith(".tmp") for n in own),
        "orphans": sum(not n.endswith(".tmp") and n not in referenced for n in own),
    }


async def check_stores(directory: Path) -> dict[str, int]:
    """Reopen (startup cleanup runs) and check every invariant; returns rows per process."""
    opts = child.options(directory)
    counts = {}
    async with open_stores(directory / "cu.sqlite", opts) as stores:
        for pid in child.PIDS:
            rows = await stores.evaluations.read_results(pid, limit=-1)
            assert len(rows) % child.BATCH == 0, f"half a batch committed: {len(rows)} rows"
            assert rows == [child.expected_row(pid, n) for n in range(len(rows))]
            last = len(rows) - 1
            if rows:
                assert await stores.messages.find_prior_message(pid, f"m-{pid[6]}-{last}", epoch=0, nonce=last + 1)
            assert await stores.messages.find_prior_message(pid, f"m-{pid[6]}-{last + 1}", epoch=0, nonce=10**9) is None
            for record in await stores.checkpoints.read_snapshots(pid):
                n = record.point.nonce
                assert n is not None and n <= last, f"snapshot at {n} is ahead of the rows (last {last})"
                assert record.point == child.expected_point(pid, n)
                assert await stores.checkpoints.load_snapshot(record) == child.expected_memory(pid, n)
            counts[pid] = len(rows)
    leftover = inspect_raw(directory)
    assert leftover == {"tmp": 0, "orphans": 0}, leftover
    return counts


async def test_kill_9_at_random_moments_keeps_rows_and_snapshots_consistent(tmp_path: Path) -> None:
    rng = random.Random(0xC0FFEE)
    crashed, clean = tmp_path / "crashed", tmp_path / "clean"
    crashed.mkdir()
    clean.mkdir()
    # the same child, never killed, runs alongside on the other CPU
    clean_proc = await start_child(clean, str(CLEAN_BATCHES))
    debris = {"tmp": 0, "orphans": 0}
    totals = []
    for _ in range(ROUNDS):
        proc = await start_child(crashed)
        await trio.sleep(rng.uniform(*KILL_WINDOW_S))
        proc.kill()  # SIGKILL
        assert await proc.wait() == -9
        for k, v in inspect_raw(crashed).items():
            debris[k] += v
        totals.append(sum((await check_stores(crashed)).values()))
    assert totals == sorted(totals) and totals[-1] > 0, totals
    print(f"rows after each kill: {totals}; left by the kills: {debris}")

    assert await clean_proc.wait() == 0
    async with open_stores(clean / "cu.sqlite", child.options(clean)) as clean_stores:
        async with open_stores(crashed / "cu.sqlite", child.options(crashed)) as crashed_stores:
            for pid in child.PIDS:
                clean_rows = await clean_stores.evaluations.read_results(pid, limit=-1)
                crashed_rows = await crashed_stores.evaluations.read_results(pid, limit=-1)
                assert len(clean_rows) == CLEAN_BATCHES * child.BATCH
                common = min(len(clean_rows), len(crashed_rows))
                assert crashed_rows[:common] == clean_rows[:common]


@pytest.mark.parametrize(
    ("pause", "orphans"),
    [
        ("mid-batch:3", 0),  # every statement of a group executed, COMMIT never reached
        ("after-rename:2", 1),  # a durable snapshot file that no record references yet
        ("after-commit:1", 1),  # a dropped record's file, not yet unlinked
    ],
)
async def test_kill_9_at_the_worst_moments(tmp_path: Path, pause: str, orphans: int) -> None:
    # The other ao process keeps writing while one thread is paused, so more debris (a .tmp from
    # its snapshot in progress) may exist; the paused point's own debris always does.
    before = 0
    if pause.startswith("after-commit"):  # needs a snapshot to drop: run a little first
        proc = await start_child(tmp_path, str(2 * child.SNAPSHOT_EVERY))
        assert await proc.wait() == 0
        before = sum((await check_stores(tmp_path)).values())
    proc = await start_child(tmp_path, pause=pause)
    words = (await read_line(proc)).split()
    assert words[:2] == [b"paused", pause.partition(":")[0].encode()]
    proc.kill()
    assert await proc.wait() == -9
    assert inspect_raw(tmp_path)["orphans"] >= orphans
    counts = await check_stores(tmp_path)  # all invariants, and startup cleanup removed the debris
    if pause.startswith("mid-batch"):
        committed_before, in_flight = int(words[2]), int(words[3])
        assert in_flight > 0
        assert sum(counts.values()) == committed_before  # the executed group vanished whole
    else:
        assert sum(counts.values()) >= before
