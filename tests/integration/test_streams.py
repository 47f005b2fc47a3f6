"""Per-process evaluation streams: joining, cancellation, failure (issue 4, item 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from aocu.devnet import DevnetConfig, Fault, open_devnet
from aocu.errors import AocuError

from .test_pipeline_devnet import MODULES, open_cu


async def spawn_with_messages(devnet: object, n: int) -> tuple[str, list[str]]:
    module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),  # type: ignore[attr-defined]
                                        module_format="wasm32-unknown-emscripten2")
    pid = await devnet.spawn(module)  # type: ignore[attr-defined]
    mids = [await devnet.send(pid, data="x", tags={"Action": "Count"}) for _ in range(n)]  # type: ignore[attr-defined]
    return pid, mids


async def test_concurrent_requests_share_streams_and_get_their_own_results(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        pid, mids = await spawn_with_messages(devnet, 12)
        async with open_cu(devnet, tmp_path / "cu") as cu, cu.events.subscribe(pid) as events:
            results: dict[str, dict[str, object]] = {}

            async def ask(mid: str) -> None:
                results[mid] = await cu.read_result(pid, mid)

            async with trio.open_nursery() as nursery:
                for mid in reversed(mids):
                    nursery.start_soon(ask, mid)
            starts = []
            while True:
                try:
                    event = events.receive_nowait()
                except trio.WouldBlock:
                    break
                if event.type == "stream-started":
                    starts.append(event)
        # the module counts every message it handles, the process message (count=1) included
        assert [results[mid]["Output"] for mid in mids] == [f"count={n}" for n in range(2, 14)]
        assert 1 <= len(starts) <= 2          # one stream, maybe one more for late joiners


async def test_a_cancelled_request_does_not_cancel_its_stream(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        pid, mids = await spawn_with_messages(devnet, 30)
        async with open_cu(devnet, tmp_path / "cu") as cu, cu.events.subscribe(pid) as events:
            with trio.move_on_after(0.01):            # the caller gives up (a busy 202)
                await cu.read_result(pid, mids[-1])
            async for event in events:               # the stream goes on and finishes
                if event.type == "stream-finished":
                    break
            row = await cu.runner.stores.evaluations.read_evaluation_by_message(pid, mids[-1])
            assert row is not None and "count=31" in row.output


async def test_a_failing_stream_gives_every_waiter_one_clear_error(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        pid, mids = await spawn_with_messages(devnet, 5)
        async with open_cu(devnet, tmp_path / "cu") as cu:
            devnet.faults.add(Fault(mode="status", status=500, endpoint="su.messages"))
            errors: list[BaseException] = []

            async def ask(mid: str) -> None:
                try:
                    await cu.read_result(pid, mid)
                except AocuError as exc:
                    errors.append(exc)

            with trio.fail_after(120):
                async with trio.open_nursery() as nursery:
                    for mid in mids:
                        nursery.start_soon(ask, mid)
            assert len(errors) == len(mids)
            assert all("500" in str(e) for e in errors)
            devnet.faults.clear()
            assert (await cu.read_result(pid, mids[-1]))["Output"] == "count=6"
            assert (await cu.read_result(pid, mids[0]))["Output"] == "count=2"


@pytest.mark.parametrize("n", [3])
async def test_result_of_the_process_message_itself(tmp_path: Path, n: int) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        pid, mids = await spawn_with_messages(devnet, n)
        async with open_cu(devnet, tmp_path / "cu") as cu:
            boot = await cu.read_result(pid, pid)
            assert set(boot) >= {"Messages", "Assignments", "Spawns", "Output"}
            assert (await cu.read_result(pid, mids[-1]))["Output"] == f"count={n + 1}"


async def test_checkpoint_all_writes_a_file_a_fresh_cu_starts_from(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        pid, mids = await spawn_with_messages(devnet, 4)
        async with open_cu(devnet, tmp_path / "cu") as cu:
            await cu.read_result(pid, mids[-1])
            assert await cu.checkpoint_all() == 1
            snapshots = await cu.runner.stores.checkpoints.read_snapshots(pid)
            assert [s.point.nonce for s in snapshots] == [4]
        more = await devnet.send(pid, data="x", tags={"Action": "Count"})
        async with open_cu(devnet, tmp_path / "cu") as restarted, restarted.events.subscribe(pid) as events:
            assert (await restarted.read_result(pid, more))["Output"] == "count=6"
            async for event in events:
                if event.type == "stream-started":
                    assert event.start.startswith("file")      # not a replay from nonce 0
                    break
