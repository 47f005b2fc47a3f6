"""The reference's answers to bad inputs, through the real pipeline on the devnet (upstream.md §2,
reference-cu.md §1.13), with aocu's documented differences (docs/differences.md: invalid input is 400).

One CU serves every case: an unknown process on each route that evaluates, unknown messages, the
425 of the old-message rule for ``/state?to`` and dry-runs ``to`` an earlier message, a dry-run
body the message schema rejects.
"""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import trio

from aocu.app import run_cu
from aocu.config import Config
from aocu.devnet import DevnetConfig, cu_state_env, open_devnet
from aocu.testing import test_wallet_jwk

from .test_pipeline_devnet import MODULES

UNKNOWN = "U" * 43
SU_NOT_FOUND = ('Error Encountered when loading message from Scheduler Unit: 400: '
                '{"error":"Message or Process not found"}')


async def test_bad_inputs_answer_the_references_statuses_and_bodies(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),
                                             module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module)
        mids = [await devnet.send(pid, data="x", tags={"Action": "Count"}) for _ in range(5)]
        env = {**devnet.urls.cu_env(), "WALLET": test_wallet_jwk(), "HOST": "127.0.0.1", "PORT": "0",
               **cu_state_env(tmp_path), "DEFAULT_LOG_LEVEL": "error",
               "RATE_LIMIT_MAX_REQUESTS": "100"}
        config = Config.from_env(env, cwd=tmp_path)
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(run_cu, config)
            async with httpx.AsyncClient(base_url=binds[0], timeout=60) as http:
                async def answer(method: str, url: str, **kw: object) -> tuple[int, object]:
                    response = await http.request(method, url, **kw)  # type: ignore[arg-type]
                    return response.status_code, response.json()

                # an unknown process: scheduler-utils' named error, 500, on every route that evaluates
                not_found = (500, {"error": f"TransactionNotFound: Process {UNKNOWN} was not found on gateway"})
                assert await answer("GET", f"/result/{UNKNOWN}", params={"process-id": UNKNOWN}) == not_found
                assert await answer("GET", f"/state/{UNKNOWN}") == not_found
                assert await answer("GET", f"/cron/{UNKNOWN}") == not_found
                assert await answer("POST", "/dry-run", params={"process-id": UNKNOWN},
                                    json={"Owner": "x", "Tags": []}) == not_found
                # /results reads rows only: an unknown process has none
                assert await answer("GET", f"/results/{UNKNOWN}") == (
                    200, {"pageInfo": {"hasNextPage": False}, "edges": []})

                # bounds findEvaluationsSchema rejects: its argument issues (400 here, 500 there)
                def cursor(text: str) -> str:
                    return base64.b64encode(text.encode()).decode()

                assert await answer("GET", f"/results/{pid}", params={"from": "abc"}) == (
                    400, {"error": "Invalid Arguments 'from': Expected number, received nan."})
                assert await answer("GET", f"/results/{pid}", params={"from": cursor("[1]"), "to": "x"}) == (
                    400, {"error": "Invalid Arguments 'from': Expected object, received array. | "
                                   "Invalid Arguments 'to': Expected number, received nan."})
                up = cursor('{"timestamp":1,"ordinate":"1","cron":null,"sort":"UP"}')
                assert await answer("GET", f"/results/{pid}", params={"from": up}) == (
                    400, {"error": "Invalid Arguments 'sort': Invalid enum value. Expected 'ASC' | 'DESC', "
                                   "received 'UP'."})
                assert await answer("GET", f"/results/{pid}", params={"to": cursor('{"timestamp":1,"cron":5}')}) == (
                    400, {"error": "Invalid Arguments 'to': Expected string, received number."})

                # an unknown message: the SU's answer inside the reference's sentence
                su_not_found = (500, {"error": SU_NOT_FOUND})
                assert await answer("GET", f"/result/{UNKNOWN}", params={"process-id": pid}) == su_not_found
                assert await answer("GET", "/result/not-an-id", params={"process-id": pid}) == su_not_found
                assert await answer("POST", "/dry-run", params={"process-id": pid, "to": UNKNOWN},
                                    json={"Owner": "x", "Tags": []}) == su_not_found

                # evaluated to the latest, the CU has no state before it: 425 (§2.5.8)
                assert (await http.get(f"/result/{mids[-1]}", params={"process-id": pid})).status_code == 200
                assert await answer("GET", f"/state/{pid}", params={"to": "1"}) == (
                    425, {"error": "message at timestamp 1 not found cached, and earlier than latest known nonce 5"})
                assert await answer("POST", "/dry-run", params={"process-id": pid, "to": mids[1]},
                                    json={"Owner": "x", "Tags": []}) == (
                    425, {"error": "message at nonce 2 not found cached, and earlier than latest known nonce 5"})
                # ... but results of earlier messages are rows
                assert (await answer("GET", f"/result/{mids[1]}", params={"process-id": pid}))[0] == 200
                # and the state at the latest point is the state
                latest = await http.get(f"/state/{pid}")
                assert latest.status_code == 200 and latest.headers["last-ordinate"] == "5"

                # a dry-run body the message schema rejects is the caller's: 400 with the reference's text
                assert await answer("POST", "/dry-run", params={"process-id": pid}, json={"Tags": []}) == (
                    400, {"error": "'Owner': Required. | 'From': Required."})
                assert await answer("POST", "/dry-run", params={"process-id": pid}, json={"Owner": "x"}) == (
                    400, {"error": "'Tags': Required."})

            nursery.cancel_scope.cancel()


async def test_module_limits_and_formats_answer_413_and_422(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        binary = (MODULES / "lua_process_gen2.wasm").read_bytes()
        fmt = "wasm32-unknown-emscripten2"
        big_memory = await devnet.spawn(await devnet.publish_module(binary, module_format=fmt, memory_limit="100-gb"))
        big_compute = await devnet.spawn(await devnet.publish_module(binary, module_format=fmt,
                                                                     compute_limit="99999999999999999"))
        odd_module = await devnet.publish_module(binary, module_format="wasm128-unknown")
        odd_format = await devnet.spawn(odd_module)
        env = {**devnet.urls.cu_env(), "WALLET": test_wallet_jwk(), "HOST": "127.0.0.1", "PORT": "0",
               **cu_state_env(tmp_path), "DEFAULT_LOG_LEVEL": "error"}
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(run_cu, Config.from_env(env, cwd=tmp_path))
            async with httpx.AsyncClient(base_url=binds[0], timeout=60) as http:
                expected = {
                    big_memory: (413, f'Memory-Limit for process "{big_memory}" exceeds supported limit'),
                    big_compute: (413, f'Compute-Limit for process "{big_compute}" exceeds supported limit'),
                    odd_format: (422, f'Module-Format for module "{odd_module}" is not supported'),
                }
                for pid, (status, error) in expected.items():
                    for response in (await http.get(f"/result/{pid}", params={"process-id": pid}),
                                     await http.get(f"/state/{pid}"),
                                     await http.post("/dry-run", params={"process-id": pid},
                                                     json={"Owner": "x", "Tags": []})):
                        assert (response.status_code, response.json()) == (status, {"error": error})
            nursery.cancel_scope.cancel()
