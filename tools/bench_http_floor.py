"""What a repeat ``/result`` costs in the HTTP stack alone: Quart, the fast path, bare hypercorn.

Usage::

    .venv/bin/python tools/bench_http_floor.py [--connections 20] [--seconds 5] [--rounds 2]

Serves one `aocu.testing.FakeComputeUnitApi` holding 200 results (20 processes x 10 messages)
three ways, each in its own subprocess, one after the other, ``--rounds`` times:

- ``quart``: `serve_http` with ``fast_path=False`` (every request through the Quart route);
- ``fast``: `serve_http` as `aocu serve` runs it (cache hits answered by `ResultFastPath`);
- ``bare``: hypercorn's trio worker serving a three-line ASGI app that sends the same headers and
  a body of the same size: the floor any answer through hypercorn costs.

Every result is read once (so the cache holds it), then wrk (tools/load_http.py's script and
figures) drives the server; *CU CPU ms/req* is the server process's CPU per answer, the figure to
compare on a shared machine. Needs ``wrk`` on PATH.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import trio
from load_http import ROOT, _cpu_seconds, run_wrk  # tools/ is this script's directory

PROCESSES = 20
MESSAGES = 10
TARGETS = [(f"process-{p:02d}-" + "p" * 32, f"message-{p:02d}-{m:02d}-" + "m" * 29)
           for p in range(PROCESSES) for m in range(MESSAGES)]
RESULT = {"Messages": [], "Assignments": [], "Spawns": [], "Output": {"data": "x" * 100}, "GasUsed": 1}


async def serve(mode: str, port: int) -> None:
    import hypercorn.trio

    from aocu.config import HttpConfig
    from aocu.http import hypercorn_config, serve_http
    from aocu.http._fast import _HEADERS
    from aocu.jsjson import stringify
    from aocu.testing import open_fake_api

    config = dataclasses.replace(HttpConfig(), host="127.0.0.1", port=port)
    body = (stringify(RESULT) or "").encode()

    async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*_HEADERS, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    with trio.open_signal_receiver(signal.SIGTERM) as signals:
        async with open_fake_api() as fake, trio.open_nursery() as nursery:
            for key in TARGETS:
                fake.results[key] = RESULT
            if mode == "bare":
                await nursery.start(lambda task_status: hypercorn.trio.serve(
                    bare, hypercorn_config(config), mode="asgi", task_status=task_status))
            else:
                await nursery.start(lambda task_status: serve_http(
                    fake, config, fast_path=mode == "fast", task_status=task_status))
            print("ready", flush=True)
            async for _ in signals:
                nursery.cancel_scope.cancel()
                break


def bench(mode: str, args: argparse.Namespace, tmp: Path) -> str:
    server = subprocess.Popen([sys.executable, __file__, "--serve", mode, "--port", str(args.port)],
                              stdout=subprocess.PIPE, cwd=ROOT)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
        base = f"http://127.0.0.1:{args.port}"
        with httpx.Client(base_url=base) as http:
            for pid, mid in TARGETS:
                http.get(f"/result/{mid}", params={"process-id": pid}).raise_for_status()
        time.sleep(0.5)
        cpu = _cpu_seconds(server.pid)
        figures = run_wrk(base, TARGETS, args.connections, args.seconds, args.threads, 0, tmp)
        figures.cu_cpu_s = _cpu_seconds(server.pid) - cpu
        return f"{mode:>5}  {figures.line()}"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port", type=int, default=6392)
    parser.add_argument("--serve", choices=["quart", "fast", "bare"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        trio.run(serve, args.serve, args.port)
        return 0
    with tempfile.TemporaryDirectory(prefix="aocu-floor-") as tmp:
        for _ in range(args.rounds):
            for mode in ("quart", "fast", "bare"):
                print(bench(mode, args, Path(tmp)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
