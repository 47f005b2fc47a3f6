"""Measure the apsw stores: row writes, point reads, page reads, snapshot save/load.

Usage: python tests/stores/bench_stores.py [DIR]   (default: a temporary directory; needs ~1 GiB)

Rows are ~1 KiB of output JSON like stack.md §4's; memories are wasm-like (mostly zero pages, some
text, some noise) like stack.md §5's. Prints one line per figure; medians where it says so.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import trio

from aocu.stores import (
    EvaluationRow,
    MemoryPoint,
    MessageRecord,
    RangeBound,
    SnapshotKind,
    StoreOptions,
    open_stores,
)

T0 = 1_700_000_000_000
OUTPUT = '{"Messages":[{"Target":"x","Tags":[{"name":"Action","value":"Transfer"}],"Data":"' + "d" * 900 + '"}]}'


def evaluation(pid: str, n: int, cron: str | None = None) -> EvaluationRow:
    return EvaluationRow(
        process_id=pid, timestamp=T0 + 100 * n + (50 if cron else 0), ordinate=str(n), cron=cron,
        message_id=None if cron else f"msg-{pid[:4]}-{n}".ljust(43, "m"), deep_hash=None,
        nonce=None if cron else n, epoch=None if cron else 0, block_height=1_500_000 + n // 100,
        evaluated_at_ms=T0, output=OUTPUT, has_error=False,
    )  # fmt: skip


def message(r: EvaluationRow) -> list[MessageRecord]:
    if r.cron is not None or r.message_id is None or r.nonce is None:
        return []
    return [MessageRecord(process_id=r.process_id, message_id=r.message_id, epoch=0, nonce=r.nonce)]


def wasm_like(size: int, seed: int) -> bytearray:
    rnd = random.Random(seed)
    buf = bytearray(size)
    for _ in range(size // (8 << 20) + 1):
        off = rnd.randrange(0, size - (1 << 20))
        buf[off : off + (256 << 10)] = rnd.randbytes(256 << 10)
        text = b'{"Id":"abc","Tags":[{"name":"Action","value":"Eval"}],"Owner":"xyz"}' * 2000
        off = rnd.randrange(0, size - len(text))
        buf[off : off + len(text)] = text
    return buf


async def bench(directory: Path) -> None:
    opts = StoreOptions(drain_dir=directory / "drain", checkpoint_dir=directory / "cp", module_dir=directory / "m")
    async with open_stores(directory / "bench.sqlite", opts) as stores:
        ev = stores.evaluations
        pid = "bench".ljust(43, "p")
        n_rows = 100_000
        rows = [evaluation(pid, n) for n in range(n_rows)]
        t = time.perf_counter()
        for i in range(0, n_rows, 100):
            batch = rows[i : i + 100]
            await ev.write_evaluations(batch, [m for r in batch for m in message(r)])
        dt = time.perf_counter() - t
        print(f"write, 100 rows per call, sequential: {n_rows / dt:,.0f} rows/s")

        pid1 = "single".ljust(43, "s")
        t = time.perf_counter()
        for n in range(2000):
            r = evaluation(pid1, n)
            await ev.write_evaluations([r], message(r))
        dt = time.perf_counter() - t
        print(f"write, 1 row per call, sequential: {2000 / dt:,.0f} rows/s ({dt / 2000 * 1e6:.0f} us per call)")

        async def writer(p: str, count: int) -> None:
            for n in range(count):
                r = evaluation(p, n)
                await ev.write_evaluations([r], message(r))

        t = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for k in range(50):
                nursery.start_soon(writer, f"c{k}".ljust(43, "c"), 400)
        dt = time.perf_counter() - t
        print(f"write, 1 row per call, 50 concurrent streams (group commit): {20_000 / dt:,.0f} rows/s")

        crons = [evaluation(pid, n, cron="0-1-minute") for n in range(0, n_rows, 97)]
        await ev.write_evaluations(crons)

        lat: list[float] = []
        for n in random.Random(1).sample(range(n_rows), 20_000):
            t = time.perf_counter()
            await ev.read_evaluation(pid, timestamp=T0 + 100 * n, ordinate=str(n))
            lat.append(time.perf_counter() - t)
        lat.sort()
        print(
            f"exact-row read (trio thread): median {statistics.median(lat) * 1e6:.1f} us,"
            f" p99 {lat[int(len(lat) * 0.99)] * 1e6:.1f} us"
        )
        lat = []
        for n in random.Random(2).sample(range(n_rows), 5_000):
            t = time.perf_counter()
            await stores.messages.find_prior_message(pid, f"msg-{pid[:4]}-{n}".ljust(43, "m"), epoch=0, nonce=n + 1)
            lat.append(time.perf_counter() - t)
        print(f"duplicate check (messages): median {statistics.median(lat) * 1e6:.1f} us")

        for label, after, only_cron in [
            ("first page", None, False),
            ("page from a cursor mid-table", RangeBound(timestamp=str(T0 + 100 * 50_000), ordinate="50000"), False),
            ("/cron page (1 row in 97 is a cron)", None, True),
        ]:
            lat = []
            for _ in range(200):
                t = time.perf_counter()
                await ev.read_results(pid, after=after, limit=26, only_cron=only_cron)
                lat.append(time.perf_counter() - t)
            print(f"/results {label}, 25+1 rows (worker thread): median {statistics.median(lat) * 1e3:.2f} ms")

        cp = stores.checkpoints
        for size_mib in (64, 256):
            memory = wasm_like(size_mib << 20, size_mib)
            point = MemoryPoint(process_id=pid, timestamp=T0, ordinate="1", nonce=1, epoch=0)
            t = time.perf_counter()
            record = await cp.save_snapshot(SnapshotKind.CHECKPOINT, point, memoryview(memory))
            save = time.perf_counter() - t
            t = time.perf_counter()
            loaded = await cp.load_snapshot(record)
            load = time.perf_counter() - t
            assert loaded == memory
            on_disk = (opts.checkpoint_dir / record.file).stat().st_size
            print(
                f"snapshot {size_mib} MiB: save {save:.2f} s ({size_mib / save:.0f} MiB/s), load {load:.2f} s"
                f" ({size_mib / load:.0f} MiB/s), {size_mib * 2**20 / on_disk:.1f}x smaller on disk"
            )
    db = directory / "bench.sqlite"
    print(f"database: {db.stat().st_size / 2**20:.0f} MiB for {n_rows + 20_000 + 2_000 + len(crons):,} rows")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        trio.run(bench, Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            trio.run(bench, Path(tmp))
