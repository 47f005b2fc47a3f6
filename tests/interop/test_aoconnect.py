"""aoconnect, unmodified, reads results and dry-runs from aocu (issue 5, item 8).

Needs Node and ``npm install`` in tests/interop (done by .ci/run); skipped otherwise.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
import trio

from aocu.app import run_cu
from aocu.config import Config
from aocu.devnet import DevnetConfig, cu_state_env, open_devnet
from aocu.testing import test_wallet_jwk

HERE = Path(__file__).resolve().parent
MODULES = HERE.parent / "fixtures" / "modules"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (HERE / "node_modules" / "@permaweb" / "aoconnect").is_dir(),
    reason="needs node and `npm install` in tests/interop",
)


async def test_aoconnect_gets_the_same_results_as_plain_http(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),
                                             module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module)
        mids = [await devnet.send(pid, data="x", tags={"Action": "Count"}) for _ in range(4)]
        env = {**devnet.urls.cu_env(), "WALLET": test_wallet_jwk(), "HOST": "127.0.0.1", "PORT": "0",
               **cu_state_env(tmp_path), "DEFAULT_LOG_LEVEL": "error"}
        async with trio.open_nursery() as nursery:
            base = (await nursery.start(run_cu, Config.from_env(env, cwd=tmp_path)))[0]
            done = await trio.run_process([NODE, str(HERE / "aoconnect_client.cjs"), base, pid, mids[-1]],
                                          capture_stdout=True, capture_stderr=True, check=False)
            assert done.returncode == 0, done.stderr.decode()
            got = json.loads(done.stdout)
            async with httpx.AsyncClient(base_url=base) as http:
                direct = (await http.get(f"/result/{mids[-1]}", params={"process-id": pid})).json()
                page = (await http.get(f"/results/{pid}", params={"sort": "ASC", "limit": "3"})).json()
            nursery.cancel_scope.cancel()
    assert got["result"]["Output"] == direct["Output"] == "count=5"
    assert got["result"]["Messages"] == direct["Messages"]
    assert [e["cursor"] for e in got["results"]["edges"]] == [e["cursor"] for e in page["edges"]]
    assert [e["node"]["Output"] for e in got["results"]["edges"]] == [e["node"]["Output"] for e in page["edges"]]
    assert [e["node"]["Output"] for e in got["results"]["edges"]][1:] == ["count=2", "count=3"]
    assert got["dryrun"]["Output"] == "count=6"
