"""Module binaries on disk against the devnet: a planted binary never changes a result.

The planted file is a *valid* module of another kind (the C echo module where the process runs
Lua), named as the cache names the real one, so using it would change the result. The gateway
is wrapped to record which transactions' data the CU fetched.
"""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aocu.devnet import DevnetConfig, open_devnet
from aocu.pipeline import ComputeUnit
from aocu.testing import open_pipeline_cu

from .test_pipeline_devnet import FAST_RETRY, MODULES

LUA = (MODULES / "lua_process_gen2.wasm").read_bytes()
PLANTED = (MODULES / "c_echo_gen2.wasm").read_bytes()


class RecordingGateway:
    """The real gateway client, recording the ids whose data is loaded."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.loaded: list[str] = []

    async def load_transaction_data(self, tx_id: str, **kwargs: Any) -> bytes:
        self.loaded.append(tx_id)
        return await self._inner.load_transaction_data(tx_id, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@asynccontextmanager
async def open_cu(devnet: Any, state: Path) -> AsyncIterator[tuple[ComputeUnit, RecordingGateway]]:
    gateways: list[RecordingGateway] = []

    def record(inner: Any) -> RecordingGateway:
        gateways.append(RecordingGateway(inner))
        return gateways[0]

    async with open_pipeline_cu(devnet.urls.cu_env(), state, retry=FAST_RETRY, wrap_gateway=record) as cu:
        yield cu, gateways[0]


async def evaluates_lua(cu: ComputeUnit, pid: str, mid: str) -> None:
    # the planted echo module would answer with the message's data, "return 6 * 7"
    assert (await cu.read_result(pid, mid))["Output"] == "42"


async def test_a_planted_binary_is_not_evaluated_and_a_cached_one_is(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "devnet")) as devnet:
        module = await devnet.publish_module(LUA, module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module)
        mid = await devnet.send(pid, data="return 6 * 7", tags={"Action": "Eval"})

        shared = tmp_path / "shared" / "modules" / "aocu-modules"        # as another user could set up
        shared.mkdir(parents=True)
        shared.chmod(0o777)
        (shared / f"{module}.wasm").write_bytes(PLANTED)
        async with open_cu(devnet, tmp_path / "shared") as (cu, gateway):
            await evaluates_lua(cu, pid, mid)
        assert module in gateway.loaded
        assert [p.name for p in shared.iterdir()] == [f"{module}.wasm"]
        assert (shared / f"{module}.wasm").read_bytes() == PLANTED     # nothing written into a shared dir

        own = tmp_path / "own"
        async with open_cu(devnet, own) as (cu, gateway):               # the normal path caches
            await evaluates_lua(cu, pid, mid)
        assert module in gateway.loaded
        binary = own / "modules" / "aocu-modules" / f"{module}.wasm"
        assert binary.read_bytes() == LUA and stat.S_IMODE(binary.lstat().st_mode) == 0o600
        later = await devnet.send(pid, data="return 6 * 7", tags={"Action": "Eval"})
        async with open_cu(devnet, own) as (cu, gateway):               # a restart reads the file
            await evaluates_lua(cu, pid, later)
        assert module not in gateway.loaded

        binary.write_bytes(PLANTED)                                     # right owner and mode, wrong content
        again = await devnet.send(pid, data="return 6 * 7", tags={"Action": "Eval"})
        async with open_cu(devnet, own) as (cu, gateway):
            await evaluates_lua(cu, pid, again)
        assert module in gateway.loaded
        assert binary.read_bytes() == LUA                               # repaired
