"""Benchmark a stream of assigned messages against a slow gateway: one at a time vs side by side.

Usage::

    .venv/bin/python tools/bench_assignments.py [--messages 64] [--latency-ms 50]

An in-process devnet holds a Lua process (the project's gen 2 fixture) and ``--messages``
transactions on its gateway, each assigned to the process (``Message`` tag: the CU loads the
transaction's tags from GraphQL and its data from ``/raw``). Every GraphQL and ``/raw``
answer is delayed by ``--latency-ms`` (a public gateway's round trip). A fresh CU then
answers ``/result`` for a plain message sent after them, loading the assignments one at a time (as
the reference does) and then up to `HYDRATE_CONCURRENCY` at a time. Prints the wall time of
each and checks both give the same result. Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

from aocu.devnet import DevnetConfig, open_devnet
from aocu.devnet._faults import Fault
from aocu.pipeline import _runner
from aocu.testing import open_pipeline_cu

ROOT = Path(__file__).resolve().parents[1]


async def read_last(devnet: Any, state: Path, pid: str, mid: str) -> tuple[float, dict[str, Any]]:
    async with open_pipeline_cu(devnet.urls.cu_env(), state) as cu:
        started = time.perf_counter()
        result = await cu.read_result(pid, mid)
        return time.perf_counter() - started, result


async def main_async(messages: int, latency_s: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with open_devnet(DevnetConfig(directory=Path(tmp) / "devnet")) as devnet:
            module = await devnet.publish_module((ROOT / "tests/fixtures/modules/lua_process_gen2.wasm").read_bytes(),
                                                 module_format="wasm32-unknown-emscripten2")
            pid = await devnet.spawn(module, tags={"Name": "assigned"})
            for _ in range(messages):
                item = devnet.item(tags=[("Action", "Eval")], data="Counter = (Counter or 0) + 1 return Counter",
                                   target=pid)
                await devnet.assign(pid, await devnet.publish_data_item(item))
            # a plain message last: its /result evaluates every assignment before it
            last = await devnet.send(pid, data="return Counter", tags={"Action": "Eval"})
            devnet.faults.add(Fault(mode="latency", latency_s=latency_s, endpoint="gw.graphql"))
            devnet.faults.add(Fault(mode="latency", latency_s=latency_s, endpoint="gw.raw"))
            concurrency = _runner.HYDRATE_CONCURRENCY
            outputs = []
            for label, limit in (("one at a time (the reference)", 1), (f"up to {concurrency} at a time", concurrency)):
                _runner.HYDRATE_CONCURRENCY = limit
                elapsed, result = await read_last(devnet, Path(tmp) / f"cu-{limit}", pid, last)
                outputs.append(result)
                print(f"{label}: {messages} assigned messages in {elapsed:.2f} s "
                      f"({elapsed / messages * 1000:.1f} ms each), Output {result.get('Output')!r}")
            _runner.HYDRATE_CONCURRENCY = concurrency
            print("same result" if outputs[0] == outputs[1] else "DIFFERENT RESULTS")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    trio.run(main_async, args.messages, args.latency_ms / 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
