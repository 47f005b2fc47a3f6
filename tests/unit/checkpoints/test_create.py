"""`ArweaveCheckpointer`: sign, upload, record; the throttle; reusing an existing checkpoint (§2.16)."""

from __future__ import annotations

import gzip
import hashlib

import pytest
import trio
import trio.testing

from aocu.checkpoints import ArweaveCheckpointer
from aocu.clients import UpstreamError
from aocu.devnet._ans104 import parse_data_item
from aocu.stores import MemoryPoint
from aocu.stores._fakes import open_memory_stores

from .doubles import FakeGateway, FakeSigner, FakeUploader

PID = "p" * 43
MEMORY = b"wasm memory " * 1000


def point(nonce: int, timestamp: int | None = None) -> MemoryPoint:
    return MemoryPoint(process_id=PID, timestamp=timestamp or 1000 + nonce, ordinate=str(nonce), module_id="m" * 43,
                       nonce=nonce, epoch=0, block_height=5, assignment_id="a" * 43, hash_chain="h" * 43)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def make(stores: object, **kw: object) -> tuple[ArweaveCheckpointer, FakeGateway, FakeUploader, Clock]:
    gateway = FakeGateway()
    uploader = FakeUploader(gateway)
    clock = Clock()
    checkpointer = ArweaveCheckpointer(signer=FakeSigner(), uploader=uploader, gateway=gateway,
                                       store=stores.checkpoints, unit_id="unit-uuid",  # type: ignore[attr-defined]
                                       throttle_ms=60_000, clock_ms=clock, **kw)  # type: ignore[arg-type]
    return checkpointer, gateway, uploader, clock


async def test_create_uploads_a_signed_gzip_item_and_records_it() -> None:
    async with open_memory_stores() as stores:
        checkpointer, _, uploader, _ = await make(stores)
        record = await checkpointer.create(point(3), MEMORY)
        assert record is not None and record.encoding == "gzip"
        [raw] = uploader.uploads
        item = parse_data_item(raw)
        assert item.id == record.checkpoint_id and item.owner_address == FakeSigner().address
        assert gzip.decompress(item.data) == MEMORY
        assert item.tag("SHA-256") == hashlib.sha256(MEMORY).hexdigest()
        assert item.tag("Unit-Identifier") == "unit-uuid" and item.tag("Nonce") == "3"
        assert await stores.checkpoints.read_checkpoint_records(PID, before_ms=10**13) == [record]


async def test_throttle_skips_a_second_upload_until_it_passes() -> None:
    async with open_memory_stores() as stores:
        checkpointer, _, uploader, clock = await make(stores)
        assert await checkpointer.create(point(3), MEMORY) is not None
        assert checkpointer.throttled(PID)
        assert await checkpointer.create(point(4), MEMORY) is None
        assert len(uploader.uploads) == 1
        clock.now += 60_000
        assert not checkpointer.throttled(PID)
        assert await checkpointer.create(point(4), MEMORY) is not None
        assert len(uploader.uploads) == 2


async def test_an_existing_checkpoint_by_this_wallet_is_recorded_not_uploaded_again() -> None:
    async with open_memory_stores() as stores:
        checkpointer, _, uploader, clock = await make(stores)
        first = await checkpointer.create(point(3), MEMORY)
        clock.now += 60_000
        again = await checkpointer.create(point(3), MEMORY)
        assert again is not None and first is not None and again.checkpoint_id == first.checkpoint_id
        assert len(uploader.uploads) == 1 and not checkpointer.throttled(PID)


async def test_upload_failure_raises_and_records_nothing() -> None:
    async with open_memory_stores() as stores:
        checkpointer, _, uploader, _ = await make(stores)
        uploader.fail = True
        with pytest.raises(UpstreamError):
            await checkpointer.create(point(3), MEMORY)
        assert await stores.checkpoints.read_checkpoint_records(PID, before_ms=10**13) == []
        assert not checkpointer.throttled(PID)


async def test_a_failing_record_write_is_tolerated() -> None:
    async with open_memory_stores() as stores:
        checkpointer, _, uploader, _ = await make(stores)

        async def broken(record: object) -> None:
            raise RuntimeError("disk full")

        stores.checkpoints.write_checkpoint_record = broken  # type: ignore[method-assign]
        assert await checkpointer.create(point(3), MEMORY) is not None
        assert len(uploader.uploads) == 1


async def test_a_second_trigger_during_an_upload_is_skipped() -> None:
    async with open_memory_stores() as stores:
        checkpointer, _, uploader, _ = await make(stores)
        gate = trio.Event()
        upload = uploader.upload_data_item

        async def slow(raw: bytes, *, item_id: str | None = None) -> str:
            await gate.wait()
            return await upload(raw, item_id=item_id)

        uploader.upload_data_item = slow  # type: ignore[method-assign]
        results: list[object] = []

        async def create(nonce: int) -> None:
            results.append(await checkpointer.create(point(nonce), MEMORY))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(create, 3)
            await trio.testing.wait_all_tasks_blocked()
            assert checkpointer.throttled(PID)
            await create(4)                             # skipped: the first is still uploading
            gate.set()
        assert results[0] is None and results[1] is not None and len(uploader.uploads) == 1
