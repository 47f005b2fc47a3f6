"""What only the SQLite stores have: the schema and its query plans, persistence across reopen,
startup cleanup of snapshot files, error translation, and group commit."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest
import trio

from aocu.stores import (
    MemoryPoint,
    RangeBound,
    SnapshotError,
    SnapshotKind,
    Sort,
    StoreError,
    StoreOptions,
    open_stores,
)
from aocu.stores._apsw import results_sql
from aocu.stores._schema import MIGRATIONS

from .conftest import T0, Clock, message_of, row


def db_path(tmp_path: Path) -> Path:
    return tmp_path / "cu.sqlite"


def point(pid: str, nonce: int) -> MemoryPoint:
    return MemoryPoint(process_id=pid, timestamp=T0 + 1000 * nonce, ordinate=str(nonce), nonce=nonce, epoch=0)


def plan(conn: apsw.Connection, sql: str, params: tuple[object, ...]) -> str:
    return " | ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall())


@pytest.mark.parametrize("analyzed", [False, True])
async def test_queries_are_index_scans_without_sorting(tmp_path: Path, options: StoreOptions, analyzed: bool) -> None:
    async with open_stores(db_path(tmp_path), options) as stores:
        if analyzed:  # plans must not flip once SQLite has statistics
            for k in range(4):
                pid = f"p{k}".ljust(43, "x")
                rows = [row(pid, n) for n in range(500)]
                crons = [row(pid, None, ordinate=str(n), cron="0-1-minute") for n in range(0, 500, 50)]
                await stores.evaluations.write_evaluations(rows + crons, [message_of(r) for r in rows])
    conn = apsw.Connection(str(db_path(tmp_path)))
    if analyzed:
        conn.execute("ANALYZE")
    for lower in (False, True):
        for upper in (False, True):
            for sort in Sort:
                for only_cron in (False, True):
                    sql = results_sql(lower=lower, upper=upper, sort=sort, only_cron=only_cron)
                    params = ("p", *(["k"] * (lower + upper)), 10)
                    got = plan(conn, sql, params)
                    index = "evaluations_cron_by_key" if only_cron else "evaluations_by_key"
                    assert f"USING INDEX {index}" in got, got
                    assert "TEMP B-TREE" not in got, got
    checks = {
        "SELECT * FROM evaluations WHERE process_id = ? AND key = ?": "evaluations_by_key",
        "SELECT * FROM evaluations WHERE process_id = ? AND message_id = ? ORDER BY key LIMIT 1":
            "evaluations_by_message",
        "SELECT * FROM evaluations WHERE process_id = ? ORDER BY key DESC LIMIT 1": "evaluations_by_key",
        "SELECT * FROM snapshots WHERE process_id = ? AND kind = ? ORDER BY timestamp DESC, key DESC, id DESC":
            "snapshots_newest",
        "SELECT * FROM checkpoint_records WHERE process_id = ? AND timestamp < ? ORDER BY timestamp DESC LIMIT 5":
            "checkpoint_records_by_time",
    }  # fmt: skip
    for sql, index in checks.items():
        got = plan(conn, sql, ("p",) * sql.count("?"))
        assert index in got, (sql, got)
    assert "INTEGER PRIMARY KEY" in plan(conn, "SELECT * FROM blocks WHERE height >= ? AND timestamp <= ?", (1, 2))
    conn.close()


async def test_schema_is_versioned_and_wal(tmp_path: Path, options: StoreOptions) -> None:
    async with open_stores(db_path(tmp_path), options):
        pass
    conn = apsw.Connection(str(db_path(tmp_path)))
    assert conn.execute("PRAGMA user_version").fetchall() == [(len(MIGRATIONS),)]
    assert conn.execute("PRAGMA journal_mode").fetchall() == [("wal",)]
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this aocu"):
        async with open_stores(db_path(tmp_path), options):
            pass


async def test_everything_survives_a_reopen(tmp_path: Path, options: StoreOptions) -> None:
    pid = "p".ljust(43, "x")
    rows = [row(pid, n) for n in range(50)]
    async with open_stores(db_path(tmp_path), options) as stores:
        await stores.evaluations.write_evaluations(rows, [message_of(r) for r in rows])
        snap = await stores.checkpoints.save_snapshot(SnapshotKind.CHECKPOINT, point(pid, 49), b"memory" * 1000)
        drain = await stores.checkpoints.save_snapshot(SnapshotKind.DRAIN, point(pid, 49), b"drained" * 1000)
    async with open_stores(db_path(tmp_path), options) as stores:
        assert await stores.evaluations.read_results(pid, limit=-1) == rows
        assert await stores.messages.find_prior_message(pid, rows[7].message_id or "", epoch=0, nonce=8)
        assert await stores.checkpoints.read_snapshots(pid) == [drain, snap]
        assert await stores.checkpoints.load_snapshot(snap) == b"memory" * 1000
        assert await stores.checkpoints.load_snapshot(drain) == b"drained" * 1000


async def test_startup_removes_orphans_and_dangling_records(tmp_path: Path, options: StoreOptions) -> None:
    pid = "p".ljust(43, "x")
    async with open_stores(db_path(tmp_path), options) as stores:
        kept = await stores.checkpoints.save_snapshot(SnapshotKind.CHECKPOINT, point(pid, 2), b"two")
        dangling = await stores.checkpoints.save_snapshot(SnapshotKind.DRAIN, point(pid, 3), b"three")
    store_id = kept.file.split(".")[0]
    drains, checkpoints = options.snapshot_dir(SnapshotKind.DRAIN), options.snapshot_dir(SnapshotKind.CHECKPOINT)
    orphan = checkpoints / f"{store_id}.{pid}.{T0}.{'a' * 12}.aomem"
    half = drains / f"{store_id}.{pid}.{T0}.{'b' * 12}.aomem.tmp"
    foreign = [drains / "state-proc.dat", checkpoints / f"00000000.{pid}.1.{'c' * 12}.aomem"]
    for path in [orphan, half, *foreign]:
        path.write_bytes(b"left behind")
    (drains / dangling.file).unlink()
    async with open_stores(db_path(tmp_path), options) as stores:
        assert await stores.checkpoints.read_snapshots(pid) == [kept]
    assert not orphan.exists() and not half.exists()
    assert all(p.exists() for p in foreign)
    assert (checkpoints / kept.file).exists()


async def test_startup_applies_a_smaller_retention(tmp_path: Path, options: StoreOptions) -> None:
    pid = "p".ljust(43, "x")
    wide = StoreOptions(
        drain_dir=options.drain_dir, checkpoint_dir=options.checkpoint_dir, module_dir=options.module_dir,
        keep_checkpoints=5,
    )  # fmt: skip
    async with open_stores(db_path(tmp_path), wide) as stores:
        for n in range(5):
            await stores.checkpoints.save_snapshot(SnapshotKind.CHECKPOINT, point(pid, n), bytes([n]) * 100)
    async with open_stores(db_path(tmp_path), options) as stores:  # keep_checkpoints=2
        kept = await stores.checkpoints.read_snapshots(pid)
        assert [r.point.nonce for r in kept] == [4, 3]
    on_disk = options.snapshot_dir(SnapshotKind.CHECKPOINT).iterdir()
    assert sorted(p.name for p in on_disk) == sorted(r.file for r in kept)


async def test_drain_and_checkpoint_may_share_a_directory(tmp_path: Path) -> None:
    shared = StoreOptions(drain_dir=tmp_path / "m", checkpoint_dir=tmp_path / "m", module_dir=tmp_path / "w")
    pid = "p".ljust(43, "x")
    async with open_stores(db_path(tmp_path), shared) as stores:
        a = await stores.checkpoints.save_snapshot(SnapshotKind.DRAIN, point(pid, 1), b"a")
        b = await stores.checkpoints.save_snapshot(SnapshotKind.CHECKPOINT, point(pid, 1), b"b")
    async with open_stores(db_path(tmp_path), shared) as stores:
        assert await stores.checkpoints.load_snapshot(a) == b"a"
        assert await stores.checkpoints.load_snapshot(b) == b"b"


async def test_snapshot_write_failure_is_a_store_error_and_leaves_no_record(
    tmp_path: Path, options: StoreOptions
) -> None:
    pid = "p".ljust(43, "x")
    async with open_stores(db_path(tmp_path), options) as stores:
        drains = trio.Path(options.snapshot_dir(SnapshotKind.DRAIN))
        await drains.rmdir()
        await drains.write_bytes(b"not a directory")     # refused, not recreated
        with pytest.raises(StoreError, match=r"not using .*aocu-memory: it is not a directory"):
            await stores.checkpoints.save_snapshot(SnapshotKind.DRAIN, point(pid, 1), b"x" * 100)
        assert await stores.checkpoints.read_snapshots(pid) == []


async def test_corrupt_snapshot_raises_snapshot_error(tmp_path: Path, options: StoreOptions) -> None:
    pid = "p".ljust(43, "x")
    async with open_stores(db_path(tmp_path), options) as stores:
        record = await stores.checkpoints.save_snapshot(SnapshotKind.CHECKPOINT, point(pid, 1), bytes(range(256)) * 64)
        path = options.snapshot_dir(SnapshotKind.CHECKPOINT) / record.file
        raw = bytearray(await trio.Path(path).read_bytes())
        raw[-5] ^= 0xFF
        await trio.Path(path).write_bytes(bytes(raw))
        with pytest.raises(SnapshotError):
            await stores.checkpoints.load_snapshot(record)


async def test_failed_batch_fails_its_whole_group_and_the_store_recovers(tmp_path: Path, options: StoreOptions) -> None:
    pid = "p".ljust(43, "x")
    async with open_stores(db_path(tmp_path), options):
        pass
    conn = apsw.Connection(str(db_path(tmp_path)))
    conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON evaluations WHEN NEW.ordinate = '99'"
        " BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    conn.close()
    async with open_stores(db_path(tmp_path), options) as stores:
        ev = stores.evaluations
        errors: list[BaseException] = []

        async def write(n: int) -> None:
            try:
                await ev.write_evaluations([row(pid, n)])
            except StoreError as exc:
                errors.append(exc)

        async with trio.open_nursery() as nursery:
            for n in [*range(5), 99]:
                nursery.start_soon(write, n)
        assert errors and all("boom" in str(e) for e in errors)
        committed = {r.nonce for r in await ev.read_results(pid, limit=-1)}
        assert len(errors) + len(committed) == 6  # a failed group rolls back as a whole ...
        await ev.write_evaluations([row(pid, n) for n in range(5)])
        assert [r.nonce for r in await ev.read_results(pid, limit=-1)] == [0, 1, 2, 3, 4]  # ... writes go on


async def test_concurrent_writes_share_transactions(tmp_path: Path, options: StoreOptions) -> None:
    pid = "p".ljust(43, "x")
    async with open_stores(db_path(tmp_path), options) as stores:
        ev = stores.evaluations
        db = ev._db  # type: ignore[attr-defined]
        calls = 0
        original = db.transaction

        def counting(fn, durable=False):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            return original(fn, durable)

        db.transaction = counting
        async with trio.open_nursery() as nursery:
            for n in range(200):
                nursery.start_soon(ev.write_evaluations, [row(pid, n)])
        assert len(await ev.read_results(pid, limit=-1)) == 200
        assert calls < 20, calls


async def test_rows_of_a_cancelled_writer_are_committed_later(tmp_path: Path, options: StoreOptions) -> None:
    pid = "p".ljust(43, "x")
    async with open_stores(db_path(tmp_path), options) as stores:
        ev = stores.evaluations
        limiter: trio.CapacityLimiter = ev._db.writer_limiter  # type: ignore[attr-defined]
        release = trio.Event()

        async def hold_the_writer(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            async with limiter:
                task_status.started()
                await release.wait()

        async with trio.open_nursery() as nursery:
            await nursery.start(hold_the_writer)
            with trio.move_on_after(0.05) as scope:
                await ev.write_evaluations([row(pid, 1)])
            assert scope.cancelled_caught
            release.set()
        assert await ev.read_results(pid, limit=-1) == []
    async with open_stores(db_path(tmp_path), options) as stores:  # flushed at close
        assert [r.nonce for r in await stores.evaluations.read_results(pid, limit=-1)] == [1]


async def test_closed_store_refuses_work(tmp_path: Path, options: StoreOptions) -> None:
    async with open_stores(db_path(tmp_path), options) as stores:
        pass
    with pytest.raises(StoreError, match="closed"):
        await stores.evaluations.read_results("p", limit=1)
    with pytest.raises(StoreError, match="closed"):
        await stores.evaluations.write_evaluations([row("p", 1)])
    with pytest.raises(StoreError, match="closed"):
        await stores.processes.read_process("p")


async def test_reads_on_the_loop_see_committed_writes_at_once(
    tmp_path: Path, options: StoreOptions, clock: Clock
) -> None:
    pid = "p".ljust(43, "x")
    async with open_stores(db_path(tmp_path), options, clock_ms=clock) as stores:
        ev = stores.evaluations
        for n in range(30):
            await ev.write_evaluations([row(pid, n)])
            # point reads use another connection; WAL must not hand it a stale snapshot
            latest = await ev.read_latest_evaluation(pid)
            assert latest is not None and latest.nonce == n
            page = await ev.read_results(pid, after=RangeBound(timestamp=str(T0 + 1000 * n - 1)), limit=5)
            assert [r.nonce for r in page] == [n]
