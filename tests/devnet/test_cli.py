"""``aocu devnet``: the client subcommands against an in-process devnet, and ``serve`` as a process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import trio

from aocu.__main__ import main

from .conftest import LUA_MODULE, tags_of


async def run_cli(*argv: str) -> int:
    # the CLI uses blocking httpx; the devnet serves on this trio thread, so the CLI runs in another
    return await trio.to_thread.run_sync(main, list(argv))


async def test_publish_spawn_send_info_and_faults(devnet, http, capsys):
    url = ("--url", devnet.urls.gateway)
    assert await run_cli("devnet", "publish-module", str(LUA_MODULE), "--format", "wasm32-unknown-emscripten2",
                         "--memory-limit", "256-mb", "--tag", "Name=lua", *url) == 0
    module = capsys.readouterr().out.strip()
    assert await run_cli("devnet", "spawn", "--module", module, "--tag", "Cron-Interval=10-seconds",
                         "--tag", "Cron-Tag-Action=Tick", "--data", "init", *url) == 0
    pid = capsys.readouterr().out.strip()
    assert await run_cli("devnet", "send", pid, "--data", "return 1", "--tag", "Action=Eval", *url) == 0
    mid = capsys.readouterr().out.strip()

    meta = (await http.post(devnet.urls.graphql, json={
        "query": "query($i: [ID!]!) { transactions(ids: $i) { edges { node { tags { name value } } } } }",
        "variables": {"i": [module]}})).json()
    assert tags_of(meta["data"]["transactions"]["edges"][0]["node"])["Memory-Limit"] == "256-mb"
    process = (await http.get(f"{devnet.urls.su}/processes/{pid}")).json()
    assert tags_of(process)["Cron-Tag-Action"] == "Tick" and tags_of(process)["Module"] == module
    node = (await http.get(f"{devnet.urls.su}/{mid}", params={"process-id": pid})).json()
    assert node["message"]["data"] == "return 1"

    assert await run_cli("devnet", "info", *url) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["processes"] == 1
    assert await run_cli("devnet", "fault", "add", "status", "--endpoint", "su.timestamp", "--times", "1",
                         *url) == 0
    capsys.readouterr()
    assert (await http.get(devnet.urls.su + "/timestamp")).status_code == 500
    assert await run_cli("devnet", "fault", "list", *url) == 0
    assert json.loads(capsys.readouterr().out)[0]["fired"] == 1
    assert await run_cli("devnet", "fault", "clear", *url) == 0
    assert devnet.faults.rules() == []


async def test_client_errors_are_readable(devnet, tmp_path, capsys):
    for argv in (("devnet", "send", "Z" * 43, "--url", devnet.urls.su),
                 ("devnet", "info", "--dir", str(tmp_path / "none"))):
        try:
            await run_cli(*argv)
        except SystemExit as exc:
            assert str(exc.code).startswith("aocu devnet:"), exc.code
        else:
            raise AssertionError(f"{argv} should fail")


async def test_serve_prints_the_urls_and_stops_on_sigterm(tmp_path):
    net = tmp_path / "net"
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "aocu", "devnet", "serve", "--dir", str(net), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = b""
    try:
        with trio.fail_after(15):
            while b"Stop:" not in out:
                chunk = await proc.stdout.receive_some()
                assert chunk, out.decode()
                out += chunk
        text = out.decode()
        state = json.loads((net / "devnet.json").read_text())
        assert f"export GRAPHQL_URL={state['gateway']}/graphql" in text
        assert f"export UPLOADER_URL={state['gateway']}" in text
        assert state["su"].startswith("http://127.0.0.1:")
    finally:
        proc.send_signal(signal.SIGTERM)
        with trio.move_on_after(10) as scope:
            scope.shield = True
            code = await proc.wait()
            await proc.stdout.aclose()
        if scope.cancelled_caught:
            proc.kill()
    assert code == 0
    assert not (net / "devnet.json").exists()          # a stopped devnet leaves no stale URLs
