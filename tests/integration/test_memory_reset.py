"""``ENABLE_MEMORY_RESET`` (reference-cu.md §2.13 item 1, §8.4 item 27) on the devnet.

The owner's ``Action: Reset-Memory`` is replaced by the process's init message evaluated on a
fresh instance: its result is the boot message's, and the process counts from the start again.
The Lua fixture counts every message it handles (the boot message is count=1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aocu.devnet import DevnetConfig, open_devnet
from aocu.devnet._ids import FakeWallet
from aocu.pipeline import PipelineOptions
from aocu.pipeline._reset import memory_reset_message, wants_memory_reset

from .test_pipeline_devnet import MODULES, open_cu

RESET = {"Action": "Reset-Memory"}


async def spawn(devnet: Any) -> str:
    module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),
                                        module_format="wasm32-unknown-emscripten2")
    return str(await devnet.spawn(module))


async def test_the_owners_reset_reboots_the_process_with_the_boot_messages_result(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        pid = await spawn(devnet)
        counts = [await devnet.send(pid, data="x", tags={"Action": "Count"}) for _ in range(3)]
        reset = await devnet.send(pid, data="x", tags=RESET)
        stranger = await devnet.send(pid, data="x", tags=RESET, signer="stranger")
        after = await devnet.send(pid, data="x", tags={"Action": "Count"})
        async with open_cu(devnet, tmp_path / "cu", PipelineOptions(enable_memory_reset=True)) as cu:
            boot = await cu.read_result(pid, pid)
            assert [(await cu.read_result(pid, m))["Output"] for m in counts] == ["count=2", "count=3", "count=4"]
            assert await cu.read_result(pid, reset) == boot          # the boot message's result, replaced
            assert "Error" in await cu.read_result(pid, stranger)    # not the owner: the module sees it
            assert (await cu.read_result(pid, after))["Output"] == "count=2"
            # the row is the reset message's, as the reference saves it
            row = await cu.runner.stores.evaluations.read_evaluation_by_message(pid, reset)
            assert row is not None and row.nonce == 4

            # a dry-run's Owner is the caller's: it can reset too (nothing persisted)
            owner = FakeWallet.named("devnet").address
            dry = await cu.dry_run(pid, {"Owner": owner, "Tags": [{"name": "Action", "value": "Reset-Memory"}]},
                                   to=None, max_age_ms=None)
            assert dry == boot
            counted = await cu.dry_run(pid, {"Owner": owner, "Tags": [{"name": "Action", "value": "Count"}]},
                                       to=None, max_age_ms=None)
            assert counted["Output"] == "count=3"                   # the process itself was not reset


async def test_without_the_option_a_reset_is_an_ordinary_message(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        pid = await spawn(devnet)
        await devnet.send(pid, data="x", tags={"Action": "Count"})
        reset = await devnet.send(pid, data="x", tags=RESET)
        after = await devnet.send(pid, data="x", tags={"Action": "Count"})
        async with open_cu(devnet, tmp_path / "cu") as cu:
            assert (await cu.read_result(pid, reset))["Error"] == "unknown action: Reset-Memory"
            assert (await cu.read_result(pid, after))["Output"] == "count=3"


def test_the_reset_rule_and_the_init_message() -> None:
    from aocu.clients import Assignment, Owner, ScheduledMessage, SuMessage, Tag

    env = {"Process": {"Id": "P", "Owner": "OWNER", "Tags": []}}
    asks = {"Owner": "OWNER", "Tags": [{"name": "Action", "value": "Reset-Memory"}]}
    assert wants_memory_reset(asks, env)
    assert not wants_memory_reset({**asks, "Owner": "OTHER"}, env)
    assert not wants_memory_reset({**asks, "Tags": [{"name": "action", "value": "Reset-Memory"}]}, env)
    first = ScheduledMessage(
        cursor="c",
        message=SuMessage(id="P", owner=Owner(address="OWNER", key="k"), tags=(Tag("Type", "Process"),),
                          data="boot", signature="sig", anchor=None, target=None),
        assignment=Assignment(id="a", owner=None, tags=(), process_id="P", epoch=0, nonce=0, timestamp=17,
                              block_height=9, hash_chain="hc", message_id=None, exclude=()))
    assert memory_reset_message(first, "P") == {
        "Id": "P", "Signature": "sig", "Data": "boot", "Owner": "OWNER", "Target": "P", "Anchor": None,
        "From": "OWNER", "Tags": [{"name": "Type", "value": "Process"}], "Epoch": 0, "Nonce": 0,
        "Timestamp": 17, "Block-Height": 9, "Hash-Chain": "hc", "Cron": False, "Read-Only": False}
    assert list(memory_reset_message(first, "P")) == [
        "Id", "Signature", "Data", "Owner", "Target", "Anchor", "From", "Tags", "Epoch", "Nonce", "Timestamp",
        "Block-Height", "Hash-Chain", "Cron", "Read-Only"]


async def test_a_reset_whose_init_message_fails_keeps_the_memory(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),
                                            module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module, tags={"Action": "Nope"})     # the boot message errors
        counts = [await devnet.send(pid, data="x", tags={"Action": "Count"}) for _ in range(2)]
        reset = await devnet.send(pid, data="x", tags=RESET)
        after = await devnet.send(pid, data="x", tags={"Action": "Count"})
        async with open_cu(devnet, tmp_path / "cu", PipelineOptions(enable_memory_reset=True)) as cu:
            boot = await cu.read_result(pid, pid)
            assert boot["Error"] == "unknown action: Nope"
            before = [(await cu.read_result(pid, m))["Output"] for m in counts]
            assert await cu.read_result(pid, reset) == boot           # the init message's failure, as its result
            # the error rolled back to the memory before the reset: counting goes on
            assert (await cu.read_result(pid, after))["Output"] == f"count={int(before[-1][6:]) + 1}"
