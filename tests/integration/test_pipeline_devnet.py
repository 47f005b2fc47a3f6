"""The whole evaluation pipeline against the devnet over loopback HTTP.

A Lua process from the project's fixtures is spawned on the devnet and sent
messages; the CU (clients + stores + pipeline) evaluates them on request and
must give the same results whether it evaluates in one stream, in several, or
after a restart from its stores.
"""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
import trio

from aocu.clients._retry import RetryPolicy
from aocu.devnet import DevnetConfig, open_devnet
from aocu.pipeline import ComputeUnit, PipelineOptions
from aocu.testing import open_pipeline_cu

MODULES = Path(__file__).resolve().parents[1] / "fixtures" / "modules"


#: Tests fail fast: the SU's retries keep their count but not the reference's seconds of backoff.
FAST_RETRY = RetryPolicy(max_retries=2, initial_delay_s=0.01)


def open_cu(devnet: Any, state: Path, pipeline: PipelineOptions | None = None,
            **unit: Any) -> AbstractAsyncContextManager[ComputeUnit]:
    return open_pipeline_cu(devnet.urls.cu_env(), state, pipeline=pipeline, retry=FAST_RETRY, **unit)


async def test_results_from_the_devnet_are_consistent_across_streams_and_restarts(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "devnet")) as devnet:
        module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),
                                             module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module, tags={"Name": "counter"})
        codes = ["Counter = (Counter or 0) + 1 return Counter", "return Counter * 10",
                 "error('boom')", "Counter = Counter + 1 return Counter", "return 'done'"]
        mids = [await devnet.send(pid, data=code, tags={"Action": "Eval"}) for code in codes]

        async with open_cu(devnet, tmp_path / "cu") as cu:
            last = await cu.read_result(pid, mids[-1])          # one stream through everything
            first = await cu.read_result(pid, mids[0])          # from the stored rows
            errored = await cu.read_result(pid, mids[2])
            assert "Error" in errored
            page = await cu.read_results(pid, from_=None, to=None, sort="ASC", limit=25)
        assert [list(edge["node"]) for edge in page["edges"]][:1] == [["Messages", "Assignments", "Spawns",
                                                                        "Output"]]
        assert len(page["edges"]) == 5      # the process message and 4 good ones; the error row is filtered

        async with open_cu(devnet, tmp_path / "cu-fresh") as fresh:
            results = [await fresh.read_result(pid, mid) for mid in mids]   # one stream per message
        assert results[0] == first and results[-1] == last and results[2] == errored

        more = await devnet.send(pid, data="return Counter", tags={"Action": "Eval"})
        async with open_cu(devnet, tmp_path / "cu") as restarted:      # restart: rows + files survive
            again = await restarted.read_result(pid, mids[-1])
            after = await restarted.read_result(pid, more)
        assert again == last
        assert after["Output"] == results[3]["Output"]


async def test_gen2_modules_see_the_configured_program_name(tmp_path: Path) -> None:
    """Gen 1-3 modules read the program name (env ``_``); the reference CU's is its worker script path,
    and memory depends on it (seen side by side with tools/compare_reference.py)."""
    async with open_devnet(DevnetConfig(directory=tmp_path / "devnet")) as devnet:
        module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),
                                             module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module)
        mid = await devnet.send(pid, tags={"Action": "Env"})
        worker = "/srv/cu/src/effects/worker/evaluator/index.js"
        async with open_cu(devnet, tmp_path / "cu", PipelineOptions(wasm_program=worker)) as cu:
            configured = json.loads((await cu.read_result(pid, mid))["Output"])
        async with open_cu(devnet, tmp_path / "cu-default") as cu:
            default = json.loads((await cu.read_result(pid, mid))["Output"])
    assert configured["_"] == worker
    assert default["_"] == "./this.program"


async def test_waiters_get_results_a_long_stream_no_longer_keeps(tmp_path: Path, monkeypatch: Any) -> None:
    """A stream hands its waiters only its latest results (bounded memory on long streams); a
    request for an earlier message of the same stream reads it back from the store."""
    from aocu.pipeline import _runner
    monkeypatch.setattr(_runner, "RESULTS_KEPT", 2)
    async with open_devnet(DevnetConfig(directory=tmp_path / "devnet")) as devnet:
        module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),
                                             module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module, tags={"Name": "counter"})
        mids = [await devnet.send(pid, data="Counter = (Counter or 0) + 1 return Counter", tags={"Action": "Eval"})
                for _ in range(6)]
        got: dict[str, Any] = {}
        async with open_cu(devnet, tmp_path / "cu") as cu:
            async def read(mid: str) -> None:
                got[mid] = await cu.read_result(pid, mid)

            async with trio.open_nursery() as nursery:      # all waiting on the same stream(s)
                for mid in reversed(mids):
                    nursery.start_soon(read, mid)
        assert [got[mid]["Output"] for mid in mids] == [str(n) for n in range(1, 7)]


@pytest.mark.parametrize("lost", ["held", "evicted"])
async def test_memory_reads_wait_for_a_stream_that_took_the_process_meanwhile(tmp_path: Path, lost: str) -> None:
    """Between bringing a process up to date and taking its memory, another stream may have taken
    it (or the cache evicted it): a dry-run must then evaluate again, never run against a fresh
    process, and /state must not fail."""
    async with open_devnet(DevnetConfig(directory=tmp_path / "devnet")) as devnet:
        module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),
                                             module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module, tags={"Name": "counter"})
        for _ in range(5):
            await devnet.send(pid, data="Counter = (Counter or 0) + 1 return Counter", tags={"Action": "Eval"})
        async with open_cu(devnet, tmp_path / "cu") as cu, trio.open_nursery() as nursery:
            real = cu.evaluate_to
            taken: list[Any] = []

            async def give_back(hot: Any) -> None:
                await trio.sleep(0.1)
                cu.runner.memcache.checkin(hot.live, hot.position)

            async def evaluate_then_lose_it(*args: Any, **kwargs: Any) -> Any:
                outcome = await real(*args, **kwargs)
                if not taken:                      # a stream that started meanwhile holds it a while
                    taken.append(cu.runner.memcache.checkout(pid))
                    if lost == "held":
                        nursery.start_soon(give_back, taken[0])
                    else:                          # or the cache let it go
                        cu.runner.memcache.discard(pid)
                return outcome

            cu.evaluate_to = evaluate_then_lose_it          # type: ignore[method-assign]
            message = {"Tags": [{"name": "Action", "value": "Eval"}], "Data": "return Counter",
                       "Owner": "someone"}
            result = await cu.dry_run(pid, message, to=None, max_age_ms=None)
            assert taken and taken[0] is not None
            assert result["Output"] == "5"
            taken.clear()
            state = await cu.read_state(pid, None)
            assert taken and taken[0] is not None and len(state.memory) > 0


async def test_a_stream_waits_for_a_process_someone_has_out_instead_of_replaying(tmp_path: Path) -> None:
    """A dry-run or /state copying the memory has the hot entry out for a moment; a stream that
    starts then waits for it rather than replaying the process from its first message."""
    from aocu.pipeline._events import StreamStarted
    async with open_devnet(DevnetConfig(directory=tmp_path / "devnet")) as devnet:
        module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),
                                             module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module, tags={"Name": "counter"})
        first = await devnet.send(pid, data="Counter = (Counter or 0) + 1 return Counter", tags={"Action": "Eval"})
        async with open_cu(devnet, tmp_path / "cu") as cu:
            await cu.read_result(pid, first)
            later = await devnet.send(pid, data="Counter = Counter + 1 return Counter", tags={"Action": "Eval"})
            memcache = cu.runner.memcache
            held = memcache.checkout(pid)                   # a memory copy under way elsewhere
            assert held is not None
            got: dict[str, Any] = {}
            async with cu.events.subscribe(pid) as events:
                async with trio.open_nursery() as nursery:
                    async def read() -> None:
                        got["result"] = await cu.read_result(pid, later)
                    nursery.start_soon(read)
                    await trio.sleep(0.2)
                    assert "result" not in got              # waiting, not replaying
                    memcache.checkin(held.live, held.position)
                starts = [e for e in events_received(events) if isinstance(e, StreamStarted)]
            assert got["result"]["Output"] == "2"
            assert [e.start for e in starts] == ["memory"]


def events_received(events: Any) -> list[Any]:
    out = []
    while True:
        try:
            out.append(events.receive_nowait())
        except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
            return out
