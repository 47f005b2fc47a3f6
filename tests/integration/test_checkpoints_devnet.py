"""Arweave checkpoints end to end on the devnet (issue 6): CU A uploads, a fresh CU B starts from them.

CU A evaluates a process and uploads checkpoints to the devnet's bundler route; CU B, with
new stores and A's wallet as its trusted owner, must start from A's checkpoint (not a
replay from nonce 0) and give byte-identical results for the messages that follow. Forged
checkpoints (tampered data or tags, bad signature, untrusted owner, SHA-256 mismatch,
ignored id) must be skipped for the next older good one. Signing uses the devnet's fake
RSA-4096 ANS-104 items (the committed test JWK); B and the forger use the devnet's fake wallets
(`aocu.testing.FakeItemSigner`), whose items a real verifier refuses.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from aocu import jsjson
from aocu.arweave import parse_data_item
from aocu.checkpoints import (
    Ans104Signer,
    Ans104Verifier,
    ArweaveCheckpointer,
    CheckpointFinder,
    FinderSettings,
    ItemSigner,
    ItemVerifier,
    checkpoint_tags,
    encode_memory,
    signed_item_bytes,
)
from aocu.clients import (
    ClientsConfig,
    open_gateway_client,
    open_scheduler_client,
    open_scheduler_locator,
    open_uploader_client,
)
from aocu.devnet import DevnetConfig, open_devnet
from aocu.pipeline import ComputeUnit, EventBus, PipelineOptions, ProcessMemoryCache, ProcessRunner
from aocu.stores import MemoryPoint, SnapshotKind, StoreOptions, open_stores
from aocu.testing import FakeItemSigner, FakeItemVerifier

from .test_pipeline_devnet import FAST_RETRY
from .test_streams import spawn_with_messages


@dataclasses.dataclass
class Codec:
    name: str
    signer_a: ItemSigner
    signer_b: ItemSigner
    evil: ItemSigner
    verifier: ItemVerifier


def fake_codec() -> Codec:
    return Codec("fake", FakeItemSigner("cu"), FakeItemSigner("other"), FakeItemSigner("evil"), FakeItemVerifier())


@asynccontextmanager
async def open_checkpointing_cu(devnet: Any, state: Path, signer: ItemSigner, verifier: ItemVerifier, *,
                                trusted: tuple[str, ...] = (), ignore_ids: frozenset[str] = frozenset(),
                                options: PipelineOptions | None = None,
                                **finder: Any) -> AsyncIterator[ComputeUnit]:
    config = dataclasses.replace(ClientsConfig.from_env(devnet.urls.cu_env()), su_retry=FAST_RETRY,
                                 gateway_retry=FAST_RETRY)
    store_options = StoreOptions(drain_dir=state / "drain", checkpoint_dir=state / "checkpoints",
                                 module_dir=state / "modules")
    async with (open_stores(state / "cu.sqlite", store_options) as stores,
                open_scheduler_client(config) as su, open_gateway_client(config) as gateway,
                open_scheduler_locator(config) as locator,
                open_uploader_client(config, devnet.urls.cu_env()["UPLOADER_URL"]) as uploader,
                trio.open_nursery() as nursery):
        arweave = ArweaveCheckpointer(signer=signer, uploader=uploader, gateway=gateway, store=stores.checkpoints,
                                      unit_id=str(uuid.uuid4()), throttle_ms=0)
        finder = CheckpointFinder(gateway=gateway, store=stores.checkpoints, verifier=verifier,
                                  settings=FinderSettings(own_address=signer.address, trusted_owners=trusted,
                                                          ignore_ids=ignore_ids, **finder))
        runner = ProcessRunner(scheduler=su, locator=locator, gateway=gateway, stores=stores, events=EventBus(),
                               memcache=ProcessMemoryCache(1 << 30, 3600), options=options or PipelineOptions(),
                               arweave=arweave, finder=finder)
        yield ComputeUnit(runner, nursery)
        nursery.cancel_scope.cancel()


async def results_and_start(cu: ComputeUnit, pid: str, mids: list[str]) -> tuple[list[str], Any]:
    """The results of ``mids`` as JSON text, and the first stream's start event."""
    async with cu.events.subscribe(pid) as events:
        results = [jsjson.stringify(await cu.read_result(pid, mid)) or "" for mid in mids]
        while True:
            event = events.receive_nowait()
            if event.type == "stream-started":
                return results, event


async def memory_at(cu: ComputeUnit, pid: str) -> tuple[MemoryPoint, bytes]:
    """A file checkpoint of the hot process (the SIGTERM path), read back."""
    assert await cu.checkpoint_all(upload=False) == 1
    snapshot = await cu.runner.stores.checkpoints.latest_snapshot(pid, SnapshotKind.CHECKPOINT)
    assert snapshot is not None
    return snapshot.point, await cu.runner.stores.checkpoints.load_snapshot(snapshot)


async def forge(devnet: Any, cu: ComputeUnit, signer: ItemSigner, point: MemoryPoint, memory: bytes, *,
                unit: str, sha: str | None = None, corrupt_signature: bool = False) -> str:
    """Upload a checkpoint item made by hand (as any uploader could); returns its id.

    A corrupted signature is refused by the devnet's bundler, so that item goes straight into
    the gateway's index (a gateway that indexes anything).
    """
    encoded = encode_memory(memory)
    raw = signed_item_bytes(signer, encoded.data, checkpoint_tags(point, sha256=sha or encoded.sha256, unit_id=unit))
    if corrupt_signature:
        raw = raw[:2] + bytes(b ^ 0x5A for b in raw[2:514]) + raw[514:]
        return await devnet.publish_data_item(parse_data_item(raw))
    assert cu.runner.arweave is not None
    return await cu.runner.arweave.uploader.upload_data_item(raw)


def tamper_data(devnet: Any, tx_id: str, data: bytes) -> None:
    rec = devnet.store.get_tx(tx_id)
    if rec.data_inline:
        devnet.store._conn.execute("UPDATE txs SET data = ? WHERE id = ?", (data, tx_id))
    else:
        devnet.store.blob_path(tx_id).write_bytes(data)


def tamper_tag(devnet: Any, tx_id: str, name: str, value: str) -> None:
    tags = [{"name": t.name, "value": value if t.name == name else t.value} for t in devnet.store.get_tx(tx_id).tags]
    devnet.store._conn.execute("UPDATE txs SET tags = ? WHERE id = ?", (json.dumps(tags), tx_id))


TEST_JWK = Path(__file__).resolve().parents[1] / "fixtures" / "ans104" / "test_jwk.json"


def ans104_codec() -> Codec:
    """A's real RSA-4096 wallet (the committed test JWK); B and the forger never sign validly here."""
    return Codec("ans104", Ans104Signer(json.loads(TEST_JWK.read_text())), FakeItemSigner("other"),
                 FakeItemSigner("evil"), Ans104Verifier())


@pytest.fixture(params=["ans104"])
def codec(request: pytest.FixtureRequest) -> Codec:
    """Real RSA items; add ``"fake"`` to the params to run the same loop on fake-wallet signatures."""
    return fake_codec() if request.param == "fake" else ans104_codec()


async def test_a_fresh_cu_starts_from_another_cus_arweave_checkpoint(tmp_path: Path, codec: Codec) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        pid, mids = await spawn_with_messages(devnet, 4)
        async with open_checkpointing_cu(devnet, tmp_path / "a", codec.signer_a, codec.verifier) as a:
            assert (await a.read_result(pid, mids[-1]))["Output"] == "count=5"
            assert await a.checkpoint_all() == 1                      # SIGUSR2: a file and an upload
            [record] = await a.runner.stores.checkpoints.read_checkpoint_records(pid, before_ms=2**62)
            assert record.point.nonce == 4
            more = [await devnet.send(pid, data="x", tags={"Action": "Count"}) for _ in range(3)]
            uninterrupted, _ = await results_and_start(a, pid, more)
        async with open_checkpointing_cu(devnet, tmp_path / "b", codec.signer_b, codec.verifier,
                                         trusted=(codec.signer_a.address,)) as b:
            results, start = await results_and_start(b, pid, more)
        assert (start.start, start.from_nonce) == ("arweave", 4)     # not a replay from nonce 0
        assert results == uninterrupted
        assert json.loads(results[-1])["Output"] == "count=8"
        # without trust in A, B finds nothing of its own and replays from the start: same answers
        async with open_checkpointing_cu(devnet, tmp_path / "c", codec.signer_b, codec.verifier) as c:
            cold, start = await results_and_start(c, pid, more)
        assert start.start == "cold" and cold == uninterrupted


async def test_eager_checkpoints_upload_in_the_background(tmp_path: Path, codec: Codec) -> None:
    options = PipelineOptions(eager_checkpoint_time_ms=1, auto_file_checkpoints=False)
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        pid, mids = await spawn_with_messages(devnet, 2)
        async with open_checkpointing_cu(devnet, tmp_path / "a", codec.signer_a, codec.verifier,
                                         options=options) as a:
            async with a.events.subscribe(pid) as events:
                await a.read_result(pid, mids[-1])
                with trio.fail_after(60):
                    async for event in events:
                        if event.type == "checkpoint-written":
                            break
            assert (event.kind, event.nonce) == ("arweave", 2) and event.checkpoint_id
            assert await a.runner.stores.checkpoints.read_snapshots(pid) == []      # file creation disabled
        more = await devnet.send(pid, data="x", tags={"Action": "Count"})
        async with open_checkpointing_cu(devnet, tmp_path / "b", codec.signer_b, codec.verifier,
                                         trusted=(codec.signer_a.address,)) as b:
            results, start = await results_and_start(b, pid, [more])
        assert (start.start, start.from_nonce) == ("arweave", 2)
        assert json.loads(results[0])["Output"] == "count=4"


async def test_forged_checkpoints_are_rejected_and_the_cu_falls_back(tmp_path: Path, codec: Codec) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        pid, mids = await spawn_with_messages(devnet, 6)
        async with open_checkpointing_cu(devnet, tmp_path / "a", codec.signer_a, codec.verifier) as a:
            await a.read_result(pid, mids[3])
            assert await a.checkpoint_all() == 1                                # genuine, nonce 4
            await a.read_result(pid, mids[4])
            assert await a.checkpoint_all() == 1                                # genuine, nonce 5 (ignored by B)
            [at5] = [r.checkpoint_id for r in await a.runner.stores.checkpoints.read_checkpoint_records(
                pid, before_ms=2**62) if r.point.nonce == 5]
            await a.read_result(pid, mids[5])
            point6, memory6 = await memory_at(a, pid)
            tampered_data = await forge(devnet, a, codec.signer_a, point6, memory6, unit="data")
            tamper_data(devnet, tampered_data, encode_memory(memory6[:-1] + b"\1").data)
            tampered_tags = await forge(devnet, a, codec.signer_a, point6, memory6, unit="tags")
            tamper_tag(devnet, tampered_tags, "Unit-Identifier", "someone else")
            await forge(devnet, a, codec.signer_a, point6, memory6, unit="sig", corrupt_signature=True)
            await forge(devnet, a, codec.evil, point6, memory6, unit="evil")
            await forge(devnet, a, codec.signer_a, point6, memory6, unit="sha", sha="0" * 64)
            more = [await devnet.send(pid, data="x", tags={"Action": "Count"}) for _ in range(2)]
            uninterrupted, _ = await results_and_start(a, pid, more)
        async with open_checkpointing_cu(devnet, tmp_path / "b", codec.signer_b, codec.verifier,
                                         trusted=(codec.signer_a.address,), ignore_ids=frozenset({at5})) as b:
            results, start = await results_and_start(b, pid, more)
        assert (start.start, start.from_nonce) == ("arweave", 4)
        assert results == uninterrupted
        async with open_checkpointing_cu(devnet, tmp_path / "b2", codec.signer_b, codec.verifier,
                                         trusted=(codec.signer_a.address,)) as b2:
            results, start = await results_and_start(b2, pid, more)
        assert (start.start, start.from_nonce) == ("arweave", 5)              # the ignored one was good
        assert results == uninterrupted


async def test_the_checkpoint_interval_uploads_every_hot_process(tmp_path: Path, codec: Codec) -> None:
    options = PipelineOptions(auto_file_checkpoints=False)
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        pid, mids = await spawn_with_messages(devnet, 2)
        async with open_checkpointing_cu(devnet, tmp_path / "a", codec.signer_a, codec.verifier,
                                         options=options) as a:
            await a.read_result(pid, mids[-1])
            async with a.events.subscribe(pid) as events, trio.open_nursery() as nursery:
                await nursery.start(a.checkpoint_periodically, 0.05)
                with trio.fail_after(60):
                    async for event in events:
                        if event.type == "checkpoint-written":
                            break
                nursery.cancel_scope.cancel()
            assert (event.kind, event.nonce) == ("arweave", 2)
            assert await a.runner.stores.checkpoints.read_snapshots(pid) == []
            # shutdown (SIGTERM) writes files only
            assert await a.checkpoint_all(upload=False) == 1
            assert len(await a.runner.stores.checkpoints.read_checkpoint_records(pid, before_ms=2**62)) == 1
            assert len(await a.runner.stores.checkpoints.read_snapshots(pid)) == 1


async def test_verification_windows_re_evaluate_through_the_pipeline(tmp_path: Path, codec: Codec) -> None:
    """More than steps + retries checkpoints: B re-evaluates between them (readStateFromCheckpoint)."""
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        pid, mids = await spawn_with_messages(devnet, 5)
        async with open_checkpointing_cu(devnet, tmp_path / "a", codec.signer_a, codec.verifier) as a:
            for mid in mids:
                await a.read_result(pid, mid)
                assert await a.checkpoint_all() == 1
            more = [await devnet.send(pid, data="x", tags={"Action": "Count"}) for _ in range(2)]
            uninterrupted, _ = await results_and_start(a, pid, more)
        async with open_checkpointing_cu(devnet, tmp_path / "b", codec.signer_b, codec.verifier,
                                         trusted=(codec.signer_a.address,), steps=3, retries=1,
                                         threshold=0.6) as b:
            async with b.events.subscribe(pid) as events:
                results, start = await results_and_start(b, pid, more)
                verified = []
                while True:
                    try:
                        event = events.receive_nowait()
                    except trio.WouldBlock:
                        break
                    if event.type == "message-evaluated" and event.stream_id.startswith("verify-"):
                        verified.append(event.nonce)
            rows = await b.runner.stores.evaluations.read_results(pid, limit=-1)
        assert (start.start, start.from_nonce) == ("arweave", 5)       # the window 3..5, 2 of 3 steps matched
        assert verified == [4, 5]                                       # re-evaluated 3 -> 4 -> 5
        assert results == uninterrupted
        assert [r.nonce for r in rows] == [6, 7]                        # the verification wrote nothing


async def test_ignore_local_checkpoints_skips_file_checkpoints_and_records(tmp_path: Path, codec: Codec) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        pid, mids = await spawn_with_messages(devnet, 3)
        async with open_checkpointing_cu(devnet, tmp_path / "a", codec.signer_a, codec.verifier) as a:
            await a.read_result(pid, mids[-1])
            assert await a.checkpoint_all(upload=False) == 1               # a file checkpoint only
        more = [await devnet.send(pid, data="x", tags={"Action": "Count"})]
        async with open_checkpointing_cu(devnet, tmp_path / "a", codec.signer_a, codec.verifier,
                                         options=PipelineOptions(ignore_local_checkpoints=True),
                                         ignore_local=True) as again:
            ignored, start = await results_and_start(again, pid, more)
        assert start.start == "cold"                                   # nothing on Arweave either
        async with open_checkpointing_cu(devnet, tmp_path / "a", codec.signer_a, codec.verifier) as again:
            used, start = await results_and_start(again, pid, [*more, await devnet.send(pid, data="x",
                                                                                       tags={"Action": "Count"})])
        assert start.start == "file:checkpoint" and start.from_nonce == 3
        assert json.loads(ignored[0])["Output"] == json.loads(used[0])["Output"] == "count=5"
