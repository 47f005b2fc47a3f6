"""Load test: many concurrent clients reading results of many processes from `aocu serve`.

Usage::

    .venv/bin/python tools/load_http.py [--processes 20] [--messages 10] [--clients 200] [--seconds 20]

Runs ``aocu serve --devnet`` (the real pipeline, apsw stores, a local network) in a subprocess
on loopback, spawns the processes, schedules the messages, then lets N concurrent httpx clients request ``/result`` of
random messages (first requests evaluate; repeats are served from the store or the result cache)
for the given time. Reports requests, errors, and latency percentiles of first and repeated
reads. The load loop is bounded in time and count and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import trio

ROOT = Path(__file__).resolve().parents[1]


def start_cu(directory: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "aocu", "serve", "--devnet", str(directory), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "DEFAULT_LOG_LEVEL": "error"})


async def main(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="aocu-load-"))
    binary = (ROOT / "tests/fixtures/modules/lua_process_gen2.wasm").read_bytes()
    cu = start_cu(tmp, args.port)
    state = tmp / "network" / "devnet.json"
    try:
        for _ in range(600):                      # the CU writes the devnet's state file when up
            if await trio.Path(state).exists():
                break
            await trio.sleep(0.1)
        gateway = json.loads(await trio.Path(state).read_text())["gateway"]
        base = f"http://127.0.0.1:{args.port}"
        async with httpx.AsyncClient(base_url=f"{gateway}/_devnet", timeout=60) as admin:
            module = (await admin.post("/modules", params={"format": "wasm32-unknown-emscripten2"},
                                       content=binary)).json()["id"]
            targets = []
            for _ in range(args.processes):
                pid = (await admin.post("/processes", json={"module": module})).json()["id"]
                for _ in range(args.messages):
                    body = {"process": pid, "data": "x", "tags": [{"name": "Action", "value": "Count"}]}
                    targets.append((pid, (await admin.post("/messages", json=body)).json()["id"]))
        first: list[float] = []
        repeat: list[float] = []
        errors: list[str] = []
        seen: set[str] = set()
        limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
        async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
            with trio.fail_after(60):
                while True:
                    try:
                        if (await http.get("/")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        await trio.sleep(0.1)
            deadline = trio.current_time() + args.seconds
            rng = random.Random(7)

            async def client() -> None:
                count = 0
                while trio.current_time() < deadline and count < args.max_requests_per_client:
                    pid, mid = rng.choice(targets)
                    is_repeat = mid in seen
                    t0 = time.perf_counter()
                    try:
                        r = await http.get(f"/result/{mid}", params={"process-id": pid})
                        if r.status_code != 200:
                            errors.append(f"{r.status_code} {r.text[:100]}")
                    except httpx.HTTPError as exc:
                        errors.append(repr(exc))
                    (repeat if is_repeat else first).append(time.perf_counter() - t0)
                    seen.add(mid)
                    count += 1

            async with trio.open_nursery() as clients:
                for _ in range(args.clients):
                    clients.start_soon(client)
    finally:
        cu.send_signal(signal.SIGTERM)
        cu.wait(30)

    def pct(xs: list[float], p: float) -> float:
        return sorted(xs)[min(len(xs) - 1, int(len(xs) * p))] * 1000 if xs else float("nan")

    total = len(first) + len(repeat)
    print(f"{args.clients} clients, {args.processes} processes x {args.messages} messages, {args.seconds} s")
    print(f"requests {total} ({total / args.seconds:.0f}/s), errors {len(errors)}"
          + (f" (first: {errors[0]})" if errors else ""))
    print(f"first reads  n={len(first)} median {pct(first, 0.5):.1f} ms p99 {pct(first, 0.99):.1f} ms")
    print(f"repeat reads n={len(repeat)} median {pct(repeat, 0.5):.2f} ms p99 {pct(repeat, 0.99):.2f} ms "
          f"(mean {statistics.fmean(repeat) * 1000 if repeat else float('nan'):.2f} ms)")
    return 1 if errors else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--max-requests-per-client", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=6391)
    sys.exit(trio.run(main, parser.parse_args()))
