"""Cron processes end to end: generated cron messages merged into the SU stream (§2.8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aocu.devnet import DevnetConfig, ManualClock, open_devnet
from aocu.errors import TooEarlyError

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


async def test_cron_to_older_than_memory_is_425_unless_it_names_an_evaluation(tmp_path: Path) -> None:
    """Seen side by side with the reference CU (tools/compare_reference.py): readState's maybeOld
    applies to ``/cron?to=``; a cursor naming a stored evaluation is its exact row (§2.5.1)."""
    clock = ManualClock(1_700_000_000_000)
    async with open_devnet(DevnetConfig(directory=tmp_path / "net"), clock=clock) as devnet:
        module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),
                                             module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module, tags={"Cron-Interval": "10-seconds", "Cron-Tag-Action": "Count"})
        clock.advance(35_000)
        last = await devnet.send(pid, data="x", tags={"Action": "Count"})
        async with open_cu(devnet, tmp_path / "cu") as cu:
            await cu.read_result(pid, last)
            page = await cu.read_cron_results(pid, from_=None, to=None, sort="ASC", limit=100)
            with pytest.raises(TooEarlyError) as caught:
                await cu.read_cron_results(pid, from_=None, to="1700000015000", sort="ASC", limit=100)
            first_cursor = page["edges"][0]["cursor"]
            upto_first = await cu.read_cron_results(pid, from_=None, to=first_cursor, sort="ASC", limit=100)
    assert str(caught.value) == ("message at timestamp 1700000015000 not found cached, "
                                 "and earlier than latest known nonce 1")
    assert [list(edge) for edge in page["edges"]] == [["node", "cursor"]] * 3   # the reference's key order
    assert [edge["node"]["Output"] for edge in upto_first["edges"]] == ["count=2"]
