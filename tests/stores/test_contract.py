"""The store contract, run against the apsw stores and the in-memory fakes alike.

Every test takes the parametrized ``stores`` fixture; what one implementation does here the other
must do too, so pipeline tests on the fakes mean something for the real stores.
"""

from __future__ import annotations

import array
from collections.abc import Callable

import pytest
import trio

from aocu.stores import (
    BlockRecord,
    CheckpointRecord,
    MemoryPoint,
    MessageRecord,
    ModuleRecord,
    ProcessRecord,
    RangeBound,
    SchedulerLocation,
    SnapshotError,
    SnapshotKind,
    Sort,
    Stores,
    parse_cursor,
)

from .conftest import T0, Clock, message_of, row

Ids = Callable[[str], str]


# --- processes and modules ---------------------------------------------------------------------


def _process(pid: str, **kw: object) -> ProcessRecord:
    fields: dict[str, object] = dict(
        id=pid, owner_address="owner-addr", owner_key="owner-key",
        tags=(("Data-Protocol", "ao"), ("Type", "Process"), ("Module", "mod"), ("Type", "Process")),
        signature="sig", anchor=None, block_height=1_440_001, block_timestamp=T0 - 5000, timestamp=T0,
    )  # fmt: skip
    fields.update(kw)
    return ProcessRecord(**fields)  # type: ignore[arg-type]


async def test_process_round_trips_and_first_write_wins(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    assert await stores.processes.read_process(pid) is None
    await stores.processes.write_process(_process(pid))
    await stores.processes.write_process(_process(pid, signature="other"))
    assert await stores.processes.read_process(pid) == _process(pid)


async def test_process_text_is_stored_like_sqlite_stores_js_strings(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    await stores.processes.write_process(_process(pid, tags=(("Name", "a\ud800b"), ("Emoji", "\ud83d\ude00"))))
    got = await stores.processes.read_process(pid)
    assert got is not None and got.tags == (("Name", "a\ufffdb"), ("Emoji", "\U0001f600"))
    assert [t.name for t in got.tags] == ["Name", "Emoji"]  # still aocu.model.Tag


async def test_module_round_trips(stores: Stores, ids: Ids) -> None:
    mid = ids("mod")
    record = ModuleRecord(
        id=mid, owner_address="o", owner_key=None, tags=(("Module-Format", "wasm32-unknown-emscripten2"),)
    )
    await stores.modules.write_module(record)
    await stores.modules.write_module(ModuleRecord(id=mid, owner_address="x", owner_key="y", tags=()))
    assert await stores.modules.read_module(mid) == record
    assert await stores.modules.read_module(ids("mod")) is None


async def test_module_binaries_are_cached_and_checked(stores: Stores, ids: Ids) -> None:
    mid, other = ids("mod"), "../../etc/passwd\0"
    assert await stores.modules.read_module_binary(mid) is None
    await stores.modules.write_module_binary(mid, b"\0asm-one")
    await stores.modules.write_module_binary(other, b"\0asm-two")
    assert await stores.modules.read_module_binary(mid) == b"\0asm-one"
    assert await stores.modules.read_module_binary(other) == b"\0asm-two"
    await stores.modules.write_module_binary(mid, b"\0asm-new")
    assert await stores.modules.read_module_binary(mid) == b"\0asm-new"


# --- evaluations -------------------------------------------------------------------------------


async def test_exact_row_lookup_by_timestamp_ordinate_and_cron(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    scheduled = row(pid, 7)
    cron = row(pid, None, ordinate="7", cron="0-10-minutes", timestamp=scheduled.timestamp + 600_000)
    await stores.evaluations.write_evaluations([scheduled, cron])
    ev = stores.evaluations
    assert await ev.read_evaluation(pid, timestamp=scheduled.timestamp, ordinate="7") == scheduled
    assert await ev.read_evaluation(pid, timestamp=cron.timestamp, ordinate="7", cron="0-10-minutes") == cron
    # the reference's id without an ordinate can never match a row (§2.5.1)
    assert await ev.read_evaluation(pid, timestamp=scheduled.timestamp, ordinate=None) is None
    assert await ev.read_evaluation(pid, timestamp=scheduled.timestamp, ordinate="8") is None
    assert await ev.read_evaluation(ids("proc"), timestamp=scheduled.timestamp, ordinate="7") is None


async def test_rewriting_an_evaluation_keeps_the_first(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    first = row(pid, 1, output='{"Output":"first"}')
    await stores.evaluations.write_evaluations([first])
    await stores.evaluations.write_evaluations([row(pid, 1, output='{"Output":"second"}')])
    await stores.evaluations.write_evaluations([row(pid, 1, output='{"Output":"third"}'), first])
    assert await stores.evaluations.read_evaluation(pid, timestamp=first.timestamp, ordinate="1") == first


async def test_read_by_message_and_latest(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    rows = [row(pid, n) for n in range(12)]
    await stores.evaluations.write_evaluations(rows)
    ev = stores.evaluations
    assert await ev.read_evaluation_by_message(pid, rows[3].message_id or "") == rows[3]
    assert await ev.read_evaluation_by_message(pid, "nope") is None
    assert await ev.read_evaluation_by_message(ids("proc"), rows[3].message_id or "") is None
    assert await ev.read_latest_evaluation(pid) == rows[11]
    assert await ev.read_latest_evaluation(ids("proc")) is None


async def test_concurrent_writers_are_all_committed(stores: Stores, ids: Ids) -> None:
    pids = [ids("proc") for _ in range(8)]

    async def writer(pid: str) -> None:
        for n in range(0, 40, 4):
            batch = [row(pid, k) for k in range(n, n + 4)]
            await stores.evaluations.write_evaluations(batch, [message_of(r) for r in batch])

    async with trio.open_nursery() as nursery:
        for pid in pids:
            nursery.start_soon(writer, pid)
    for pid in pids:
        got = await stores.evaluations.read_results(pid, limit=-1)
        assert [r.nonce for r in got] == list(range(40))
        assert await stores.messages.find_prior_message(pid, f"msg-{pid[:8]}-39", epoch=0, nonce=40)


async def test_results_pages_follow_the_reference_cursor_semantics(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    rows = [row(pid, n) for n in range(1, 8)]
    t3 = rows[2].timestamp
    crons = [
        row(pid, None, ordinate="3", cron="0-1-minute", timestamp=t3),  # same ms as nonce 3
        row(pid, None, ordinate="3", cron="1-1-minute", timestamp=t3 + 100),
    ]
    await stores.evaluations.write_evaluations(rows + crons)
    ev = stores.evaluations
    everything = await ev.read_results(pid, limit=-1)
    assert [r.key for r in everything] == sorted(r.key for r in rows + crons)
    assert everything[3:5] == crons  # crons sort after the scheduled message they follow
    assert await ev.read_results(pid, limit=3) == everything[:3]
    assert await ev.read_results(pid, limit=3, sort=Sort.DESC) == everything[::-1][:3]
    assert await ev.read_results(pid, limit=0) == []
    # a cursor `from` excludes exactly the row it names; a cursor `to` includes it
    cursor = RangeBound(timestamp=str(t3), ordinate="3", cron=None)
    assert await ev.read_results(pid, after=cursor, limit=-1) == everything[3:]
    assert await ev.read_results(pid, upto=cursor, limit=-1) == everything[:3]
    # a bare timestamp `from` includes rows at exactly that timestamp (§1.4) ...
    bare = parse_cursor(str(t3))
    assert await ev.read_results(pid, after=bare, limit=-1) == everything[2:]
    # ... and a bare `to` includes every row at that timestamp (ordinate U+10FFFF)
    assert await ev.read_results(pid, upto=bare, limit=-1) == everything[:4]
    at_t3 = await ev.read_results(pid, after=bare, upto=bare, sort=Sort.DESC, limit=-1)
    assert at_t3 == everything[2:4][::-1]
    assert await ev.read_results(pid, only_cron=True, limit=-1) == crons
    cron_cursor = RangeBound(timestamp=str(t3), ordinate="3", cron="0-1-minute")
    assert await ev.read_results(pid, after=cron_cursor, only_cron=True, limit=5) == crons[1:]
    assert await ev.read_results(pid, upto=cron_cursor, only_cron=True, limit=5) == crons[:1]
    assert await ev.read_results(ids("proc"), limit=-1) == []


async def test_results_include_error_rows(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    rows = [row(pid, 1), row(pid, 2, has_error=True, output='{"Error":"boom"}'), row(pid, 3)]
    await stores.evaluations.write_evaluations(rows)
    got = await stores.evaluations.read_results(pid, limit=-1)
    assert [r.has_error for r in got] == [False, True, False]
    assert got[1].output == '{"Error":"boom"}'


async def test_cron_ids_with_odd_characters_order_like_sqlite(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    names = ["0- 10-minutes ", "1-10-minutes", "0-é", "2-\U0001f600", "3-lone\udc00"]
    rows = [row(pid, None, ordinate="1", cron=c, timestamp=T0 + 1000) for c in names]
    await stores.evaluations.write_evaluations(rows)
    got = await stores.evaluations.read_results(pid, only_cron=True, limit=-1)
    expected = sorted(c.replace("\udc00", "\ufffd") for c in names)
    assert [r.cron for r in got] == expected
    lone = await stores.evaluations.read_evaluation(pid, timestamp=T0 + 1000, ordinate="1", cron="3-lone\udc00")
    assert lone is not None and lone.cron == "3-lone\ufffd"


# --- messages ----------------------------------------------------------------------------------


async def test_prior_message_predicate_matches_the_reference_query(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    await stores.evaluations.write_evaluations([], [MessageRecord(process_id=pid, message_id="dup", epoch=0, nonce=5)])
    find = stores.messages.find_prior_message
    assert await find(pid, "dup", epoch=0, nonce=6) == MessageRecord(process_id=pid, message_id="dup", epoch=0, nonce=5)
    assert await find(pid, "dup", epoch=0, nonce=5) is None  # strictly earlier only
    assert await find(pid, "dup", epoch=0, nonce=4) is None
    assert await find(pid, "dup", epoch=1, nonce=100) is None  # different epoch ...
    assert await find(pid, "dup", epoch=6, nonce=0) is not None  # ... unless stored nonce < epoch (bug, §3.4)
    assert await find(ids("proc"), "dup", epoch=0, nonce=6) is None
    # first write wins
    await stores.evaluations.write_evaluations([], [MessageRecord(process_id=pid, message_id="dup", epoch=0, nonce=1)])
    assert await find(pid, "dup", epoch=0, nonce=3) is None


async def test_messages_commit_with_their_rows(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    r = row(pid, 4)
    await stores.evaluations.write_evaluations([r], [message_of(r)])
    assert await stores.messages.find_prior_message(pid, r.message_id or "", epoch=0, nonce=9) == message_of(r)


# --- blocks ------------------------------------------------------------------------------------


async def test_blocks_by_height_and_timestamp(stores: Stores) -> None:
    blocks = [BlockRecord(height=h, timestamp=T0 + 120_000 * (h - 100)) for h in range(100, 110)]
    await stores.blocks.write_blocks(blocks[5:] + blocks[:5])
    await stores.blocks.write_blocks([BlockRecord(height=103, timestamp=1)])
    got = await stores.blocks.read_blocks(min_height=102, max_timestamp=blocks[7].timestamp)
    assert got == blocks[2:8]
    assert await stores.blocks.read_blocks(min_height=200, max_timestamp=2 * T0) == []


# --- checkpoint records ------------------------------------------------------------------------


def _point(pid: str, nonce: int, cron: str | None = None) -> MemoryPoint:
    return MemoryPoint(
        process_id=pid, timestamp=T0 + 1000 * nonce, ordinate=str(nonce), cron=cron, module_id="mod",
        nonce=nonce, epoch=0, block_height=1000 + nonce, assignment_id=f"a-{nonce}", hash_chain=f"h-{nonce}",
    )  # fmt: skip


async def test_checkpoint_records_newest_first_before_a_time(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    records = [CheckpointRecord(point=_point(pid, n), checkpoint_id=f"tx-{n}", encoding="gzip") for n in range(8)]
    for r in records:
        await stores.checkpoints.write_checkpoint_record(r)
    await stores.checkpoints.write_checkpoint_record(
        CheckpointRecord(point=_point(pid, 3), checkpoint_id="other", encoding=None)
    )
    read = stores.checkpoints.read_checkpoint_records
    assert await read(pid, before_ms=T0 + 100_000) == records[::-1][:5]
    assert await read(pid, before_ms=T0 + 3000, limit=10) == records[:3][::-1]
    assert await read(ids("proc"), before_ms=T0 + 100_000) == []


# --- snapshots ---------------------------------------------------------------------------------


def _memory(seed: int, size: int = 300_000) -> bytes:
    return bytes((seed + i // 1000) % 251 for i in range(size // 4)) + bytes(size - size // 4)


async def test_snapshot_round_trip_from_any_buffer(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    cp = stores.checkpoints
    data = _memory(1)
    for kind, buffer in [
        (SnapshotKind.CHECKPOINT, data),
        (SnapshotKind.CHECKPOINT, bytearray(data)),
        (SnapshotKind.DRAIN, memoryview(data)),
    ]:
        record = await cp.save_snapshot(kind, _point(pid, 1), buffer, gas_used=10**18, eval_time_ms=1234)
        assert record.memory_size == len(data) and record.kind is kind
        assert await cp.load_snapshot(record) == data
        assert (record.gas_used, record.eval_time_ms) == (10**18, 1234)
    words = array.array("I", range(1000))
    record = await cp.save_snapshot(SnapshotKind.DRAIN, _point(pid, 2), memoryview(words))
    assert await cp.load_snapshot(record) == words.tobytes()
    empty = await cp.save_snapshot(SnapshotKind.DRAIN, _point(pid, 3), b"")
    assert await cp.load_snapshot(empty) == b""


async def test_snapshot_retention_keeps_the_newest_points(stores: Stores, ids: Ids, clock: Clock) -> None:
    pid, other = ids("proc"), ids("proc")
    cp = stores.checkpoints
    saved = []
    for n in (3, 1, 5, 4):
        clock.now_ms += 1
        saved.append(await cp.save_snapshot(SnapshotKind.CHECKPOINT, _point(pid, n), _memory(n)))
    await cp.save_snapshot(SnapshotKind.CHECKPOINT, _point(other, 9), _memory(9))
    drain = await cp.save_snapshot(SnapshotKind.DRAIN, _point(pid, 2), _memory(2))
    # keep_checkpoints=2, keep_drained=1 (StoreOptions defaults)
    assert [r.point.nonce for r in await cp.read_snapshots(pid, SnapshotKind.CHECKPOINT)] == [5, 4]
    assert await cp.read_snapshots(pid, SnapshotKind.DRAIN) == [drain]
    assert [r.point.nonce for r in await cp.read_snapshots(pid)] == [5, 4, 2]
    assert (await cp.latest_snapshot(pid)) == saved[2]
    assert (await cp.latest_snapshot(pid, SnapshotKind.DRAIN)) == drain
    assert await cp.latest_snapshot(ids("proc")) is None
    # an older point than every retained one is dropped at once
    older = await cp.save_snapshot(SnapshotKind.CHECKPOINT, _point(pid, 0), _memory(0))
    assert older not in await cp.read_snapshots(pid)
    with pytest.raises(SnapshotError):
        await cp.load_snapshot(older)
    for dropped in saved[:2]:
        with pytest.raises(SnapshotError):
            await cp.load_snapshot(dropped)
    assert await cp.load_snapshot(saved[2]) == _memory(5)
    # a newer drain replaces the drained memory
    newer = await cp.save_snapshot(SnapshotKind.DRAIN, _point(pid, 6), _memory(6))
    assert await cp.read_snapshots(pid, SnapshotKind.DRAIN) == [newer]


async def test_snapshots_at_one_point_are_ordered_by_save(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    cp = stores.checkpoints
    a = await cp.save_snapshot(SnapshotKind.CHECKPOINT, _point(pid, 1), _memory(1))
    b = await cp.save_snapshot(SnapshotKind.CHECKPOINT, _point(pid, 1), _memory(2))
    assert await cp.read_snapshots(pid) == [b, a]
    c = await cp.save_snapshot(SnapshotKind.CHECKPOINT, _point(pid, 1, cron="0-1-minute"), _memory(3))
    assert await cp.read_snapshots(pid) == [c, b]


async def test_deleted_snapshot_is_gone(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    cp = stores.checkpoints
    record = await cp.save_snapshot(SnapshotKind.DRAIN, _point(pid, 1), _memory(1))
    await cp.delete_snapshot(record)
    await cp.delete_snapshot(record)
    assert await cp.latest_snapshot(pid) is None
    with pytest.raises(SnapshotError):
        await cp.load_snapshot(record)


async def test_concurrent_snapshot_saves_keep_the_retention(stores: Stores, ids: Ids) -> None:
    pid = ids("proc")
    cp = stores.checkpoints
    async with trio.open_nursery() as nursery:
        for n in range(6):
            nursery.start_soon(cp.save_snapshot, SnapshotKind.CHECKPOINT, _point(pid, n), _memory(n))
    kept = await cp.read_snapshots(pid)
    assert [r.point.nonce for r in kept] == [5, 4]
    assert [await cp.load_snapshot(r) for r in kept] == [_memory(5), _memory(4)]


# --- scheduler locations -----------------------------------------------------------------------


async def test_scheduler_locations_expire_unless_stale_is_allowed(stores: Stores, ids: Ids) -> None:
    sl = stores.scheduler_locations
    addr, pid = ids("sched"), ids("proc")
    loc = SchedulerLocation(address=addr, url="https://su.example", ttl_ms=60_000, cached_at_ms=T0)
    await sl.write_scheduler(loc)
    await sl.write_process_scheduler(pid, loc)
    assert await sl.read_scheduler(addr, now_ms=T0 + 59_999) == loc
    assert await sl.read_scheduler(addr, now_ms=T0 + 60_000) is None
    assert await sl.read_scheduler(addr, now_ms=T0 + 60_000, allow_stale=True) == loc
    assert await sl.read_process_scheduler(pid, now_ms=T0 + 1) == loc
    assert await sl.read_process_scheduler(pid, now_ms=T0 + 10**9) is None
    assert await sl.read_process_scheduler(ids("proc"), now_ms=T0) is None
    newer = SchedulerLocation(address=addr, url="https://su2.example", ttl_ms=1, cached_at_ms=T0 + 10**9)
    await sl.write_scheduler(newer)
    await sl.write_process_scheduler(pid, newer)
    assert await sl.read_scheduler(addr, now_ms=T0 + 10**9) == newer
    assert await sl.read_process_scheduler(pid, now_ms=T0 + 10**9) == newer
