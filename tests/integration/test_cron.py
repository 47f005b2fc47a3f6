"""Cron processes end to end: generated cron messages merged into the SU stream (§2.8)."""

from __future__ import annotations

from pathlib import Path

from aocu.devnet import DevnetConfig, ManualClock, open_devnet

from .test_pipeline_devnet import MODULES, open_cu


async def test_cron_ticks_are_evaluated_and_listed(tmp_path: Path) -> None:
    clock = ManualClock(1_700_000_000_000)
    async with open_devnet(DevnetConfig(directory=tmp_path / "net"), clock=clock) as devnet:
        module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),
                                             module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module, tags={"Cron-Interval": "10-seconds", "Cron-Tag-Action": "Count"})
        clock.advance(35_000)
        first = await devnet.send(pid, data="x", tags={"Action": "Count"})
        clock.advance(25_000)
        last = await devnet.send(pid, data="x", tags={"Action": "Count"})
        async with open_cu(devnet, tmp_path / "cu") as cu:
            before = await cu.read_result(pid, first)
            after = await cu.read_result(pid, last)
            crons = await cu.read_cron_results(pid, from_=None, to=None, sort="ASC", limit=100)
    # ticks at +10 s, +20 s, +30 s come before the first message, +40 s and +50 s before the last
    assert before["Output"] == "count=5"
    assert after["Output"] == "count=8"
    outputs = [edge["node"]["Output"] for edge in crons["edges"]]
    assert outputs[:5] == ["count=2", "count=3", "count=4", "count=6", "count=7"]
