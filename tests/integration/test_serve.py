"""`aocu serve` end to end: the real pipeline behind the HTTP routes, against the devnet."""

from __future__ import annotations

from pathlib import Path

import httpx
import trio

from aocu.app import run_cu
from aocu.config import Config
from aocu.devnet import DevnetConfig, cu_state_env, open_devnet
from aocu.testing import test_wallet_jwk

from .test_pipeline_devnet import MODULES


async def test_a_client_reads_results_state_and_dry_runs_over_http(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),
                                             module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module)
        mids = [await devnet.send(pid, data="x", tags={"Action": "Count"}) for _ in range(5)]
        env = {**devnet.urls.cu_env(), "WALLET": test_wallet_jwk(), "HOST": "127.0.0.1", "PORT": "0",
               **cu_state_env(tmp_path), "DEFAULT_LOG_LEVEL": "error"}
        config = Config.from_env(env, cwd=tmp_path)
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(run_cu, config)
            base = binds[0]
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                last = await http.get(f"/result/{mids[-1]}", params={"process-id": pid})
                assert last.status_code == 200, last.text
                assert last.json()["Output"] == "count=6"
                assert list(last.json()) == ["Messages", "Assignments", "Spawns", "Output", "GasUsed"]
                page = (await http.get(f"/results/{pid}", params={"limit": "3"})).json()
                assert len(page["edges"]) == 3 and page["pageInfo"]["hasNextPage"] is True
                state = await http.get(f"/state/{pid}")
                assert state.status_code == 200 and len(state.content) > 1 << 20
                assert state.headers["content-type"] == "application/octet-stream"
                dry = await http.post("/dry-run", params={"process-id": pid},
                                      json={"Owner": "someone", "Target": pid, "Data": "x",
                                            "Tags": [{"name": "Action", "value": "Count"}]})
                assert dry.status_code == 200, dry.text
                assert dry.json()["Output"] == "count=7"          # a fork: the process itself is not advanced
                again = await http.get(f"/result/{mids[-1]}", params={"process-id": pid})
                assert again.json() == last.json()
                bad = await http.get(f"/results/{pid}", params={"from": "not-a-cursor!", "sort": "SIDEWAYS"})
                assert bad.status_code == 400
            nursery.cancel_scope.cancel()
