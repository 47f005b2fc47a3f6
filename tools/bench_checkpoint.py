"""Benchmark cold starts: from a file checkpoint, from an Arweave checkpoint on the devnet, by replay.

Usage::

    .venv/bin/python tools/bench_checkpoint.py [--sizes 100,1024] [--history 2000]

For each size (MiB of process memory): starts the devnet in a subprocess, publishes
the project's Lua fixture (gen 3 glue: a 4 GiB heap) with a 4 GiB memory limit, spawns a process and sends messages that
each add 16 MiB of pseudo-random hex text to its memory (so gzip halves it: neither the best
nor the worst case), then ``--history`` small messages (a counter), which stand for the rest
of a process's history: a replay redoes all of them. CU A (the real composition root,
`open_compute_unit`, with the committed test JWK and Arweave checkpoint creation on) evaluates
them from nonce 0, then writes a file checkpoint and uploads an Arweave checkpoint (SIGUSR2's
`checkpoint_all`). One more message is sent; the time to its ``/result`` is measured for a CU starting

* from the file checkpoint (A restarted on its own stores),
* from the Arweave checkpoint (fresh stores, ``PROCESS_CHECKPOINT_TRUSTED_OWNERS`` = A): query,
  download, signature verification, gunzip and SHA-256 check included,
* by replay from nonce 0 (fresh stores, no trusted checkpoint).

The committed Lua fixture has a 128 MiB memory maximum; for larger sizes build it with more::

    LUA_MAXIMUM_MEMORY=2GB OUT_DIR=/tmp/bigmods BUILD_DIR=/tmp/bigmods/.build tools/testmodules/build.sh
    .venv/bin/python tools/bench_checkpoint.py --sizes 1024 --module /tmp/bigmods/lua_process_gen3.wasm

The compiled module is cached across the CUs (shared ``WASM_BINARY_FILE_DIRECTORY``), so the
figures are the starting point's cost, not a compile. Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import trio

from aocu.config import Config
from aocu.pipeline import ComputeUnit, open_compute_unit
from aocu.testing import test_wallet_jwk

ROOT = Path(__file__).resolve().parents[1]
TEST_JWK = ROOT / "tests/fixtures/ans104/test_jwk.json"
LOG_LEVEL = ["error"]            # --log-level (info shows each checkpoint's stream time)
CHUNK_MIB = 16
# 64 KiB of random hex, repeated to 16 MiB: gzip's 32 KiB window sees no repeats, the hex alphabet halves it
ALLOCATE = """
local parts = {}
for j = 1, 4096 do parts[j] = string.format("%08x%08x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff)) end
Blocks = Blocks or {}
Blocks[#Blocks + 1] = string.rep(table.concat(parts), 256)
return #Blocks
"""


#: The devnet in its own process (its CPU not counted), accepting uploads of a 1 GiB memory's gzip.
DEVNET = """
import json, sys, trio
from pathlib import Path
from aocu.devnet import DevnetConfig, open_devnet

async def main():
    directory = Path(sys.argv[1])
    async with open_devnet(DevnetConfig(directory=directory, max_body_bytes=4 << 30)) as devnet:
        (directory / "urls.json").write_text(json.dumps({"gateway": devnet.urls.gateway}))
        await trio.sleep_forever()

trio.run(main)
"""


def start_devnet(directory: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    directory.mkdir(parents=True)
    proc = subprocess.Popen([sys.executable, "-c", DEVNET, str(directory)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    state = directory / "urls.json"
    for _ in range(600):
        if state.exists():
            return proc, json.loads(state.read_text())
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("devnet did not start")


def populate(gateway: str, mib: int, history: int, module: Path, fmt: str) -> tuple[str, list[str], str]:
    binary = module.read_bytes()
    with httpx.Client(base_url=f"{gateway}/_devnet", timeout=120) as http:
        module = http.post("/modules", params={"format": fmt, "memory-limit": "4-gb"},
                           content=binary).raise_for_status().json()["id"]
        pid = http.post("/processes", json={"module": module}).raise_for_status().json()["id"]
        tags = [{"name": "Action", "value": "Eval"}]
        mids = [http.post("/messages", json={"process": pid, "data": ALLOCATE, "tags": tags}
                          ).raise_for_status().json()["id"] for _ in range(max(1, mib // CHUNK_MIB))]
        mids += [http.post("/messages", json={"process": pid, "data": "N = (N or 0) + 1 return N", "tags": tags}
                           ).raise_for_status().json()["id"] for _ in range(history)]
        more = http.post("/messages", json={"process": pid, "data": "return #Blocks", "tags": tags}
                         ).raise_for_status().json()["id"]
    return pid, mids, more


def config(urls: dict[str, Any], state: Path, modules: Path, **env: str) -> Config:
    base = {
        "GATEWAY_URL": urls["gateway"], "GRAPHQL_URL": urls["gateway"] + "/graphql",
        "GRAPHQL_URLS": urls["gateway"] + "/graphql", "CHECKPOINT_GRAPHQL_URL": urls["gateway"] + "/graphql",
        "ARWEAVE_URL": urls["gateway"], "UPLOADER_URL": urls["gateway"],
        "DB_URL": str(state / "cu"), "PROCESS_MEMORY_CACHE_FILE_DIR": str(state / "drain"),
        "PROCESS_MEMORY_FILE_CHECKPOINTS_DIR": str(state / "checkpoints"),
        "WASM_BINARY_FILE_DIRECTORY": str(modules), "PROCESS_WASM_MEMORY_MAX_LIMIT": str(4 << 30),
        "PROCESS_MEMORY_CACHE_MAX_SIZE": str(8 << 30), "EAGER_CHECKPOINT_EVAL_TIME_THRESHOLD": "0",
        "EAGER_CHECKPOINT_ACCUMULATED_GAS_THRESHOLD": "0", "DEFAULT_LOG_LEVEL": LOG_LEVEL[0],
    }
    state.mkdir(parents=True, exist_ok=True)
    return Config.from_env({**base, **env})


async def timed_result(cu: ComputeUnit, pid: str, mid: str, cpu: dict[str, float] | None = None,
                       key: str = "") -> tuple[float, str, Any]:
    """Seconds to the message's result, how the process started, its Output; with ``cpu``, the
    CPU seconds this process (all its threads) spent meanwhile go to ``cpu[key]``."""
    async with cu.events.subscribe(pid, buffer=10_000) as events:
        t0, cpu0 = time.perf_counter(), time.process_time()
        result = await cu.read_result(pid, mid)
        elapsed = time.perf_counter() - t0
        if cpu is not None:
            cpu[key] = time.process_time() - cpu0
        start = "?"
        while True:
            try:
                event = events.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            if event.type == "stream-started":
                start = event.start
    return elapsed, start, result.get("Output")


def phase_start() -> float:
    """Reset the kernel's peak-RSS mark (``VmHWM``), so `phase_peak` is this phase's; the RSS now, MiB.

    A cycle collection first: a closed CU's instances are reference cycles (their import
    closures), freed only when the collector runs, and would otherwise count in the next phase.
    """
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status_mib("VmRSS")


def phase_peak() -> float:
    """Peak RSS since `phase_start` (MiB; Linux), whatever earlier phases reached."""
    return _status_mib("VmHWM")


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


async def bench(urls: dict[str, Any], tmp: Path, pid: str, mids: list[str], more: str) -> dict[str, Any]:
    modules = tmp / "modules"
    jwk = TEST_JWK.read_text()
    a_config = config(urls, tmp / "a", modules, WALLET=jwk, DISABLE_PROCESS_CHECKPOINT_CREATION="false")
    figures: dict[str, Any] = {"rss_before_a": phase_start()}
    async with open_compute_unit(a_config) as a:
        figures["replay_to_last_s"], _, _ = await timed_result(a, pid, mids[-1])
        hot = a.runner.memcache.peek(pid)
        figures["memory_bytes"] = a.runner.memcache.usage()["calculatedSize"]
        figures["rss_a"] = phase_peak()
        figures["rss_before_checkpoint"] = phase_start()
        async with a.events.subscribe(pid, buffer=100) as events:
            t0 = time.perf_counter()
            assert await a.checkpoint_all() == 1
            figures["checkpoint_all_s"] = time.perf_counter() - t0
            while True:
                try:
                    event = events.receive_nowait()
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
                if event.type == "checkpoint-written":
                    figures[f"{event.kind}_write_s"] = event.elapsed_ms / 1000
        assert hot is not None
        figures["rss_checkpoint"] = phase_peak()
    del a, hot                  # a closed CU's hot process would count in the next phases
    b_env = {"WALLET": test_wallet_jwk("bench-b")}
    cpu: dict[str, float] = {}
    figures["rss_before_file"] = phase_start()
    async with open_compute_unit(a_config) as restarted:
        figures["file_s"], figures["file_start"], out_file = await timed_result(restarted, pid, more, cpu, "file")
    figures["rss_file"] = phase_peak()
    del restarted
    b_config = config(urls, tmp / "b", modules, PROCESS_CHECKPOINT_TRUSTED_OWNERS=a_config.wallet.address, **b_env)
    figures["rss_before_arweave"] = phase_start()
    async with open_compute_unit(b_config) as b:
        figures["arweave_s"], figures["arweave_start"], out_arweave = await timed_result(b, pid, more, cpu,
                                                                                          "arweave")
    figures["rss_arweave"] = phase_peak()
    del b
    c_config = config(urls, tmp / "c", modules, **b_env)
    figures["rss_before_replay"] = phase_start()
    async with open_compute_unit(c_config) as c:
        figures["replay_s"], figures["replay_start"], out_replay = await timed_result(c, pid, more, cpu, "replay")
    figures["rss_replay"] = phase_peak()
    figures["cpu"] = cpu
    assert out_file == out_arweave == out_replay, (out_file, out_arweave, out_replay)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1024", help="process memory sizes in MiB, comma separated")
    parser.add_argument("--history", type=int, default=2000, help="small messages after the allocating ones")
    parser.add_argument("--module", type=Path, default=ROOT / "tests/fixtures/modules/lua_process_gen3.wasm",
                        help="a Lua fixture build; the committed ones stop at 128 MiB of memory")
    parser.add_argument("--format", default="wasm32-unknown-emscripten3",
                        help="its Module-Format (gen 1/2 glue caps the heap at 500 MiB; gen 3 at 4 GiB)")
    parser.add_argument("--log-level", default="error", help="the CUs' DEFAULT_LOG_LEVEL (logs go to stderr)")
    args = parser.parse_args()
    LOG_LEVEL[0] = args.log_level
    if args.log_level != "error":
        logging.basicConfig(level=logging.DEBUG if args.log_level == "debug" else logging.INFO,
                            format="%(asctime)s %(name)s %(message)s")
    for mib in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            devnet, urls = start_devnet(tmp / "devnet")
            try:
                pid, mids, more = populate(urls["gateway"], mib, args.history, args.module, args.format)
                f = trio.run(bench, urls, tmp, pid, mids, more)
                blobs = sorted((tmp / "devnet").rglob("blobs/*/*"), key=lambda p: p.stat().st_size)
                upload = blobs[-1].stat().st_size if blobs else 0
            finally:
                devnet.terminate()
                devnet.wait(10)
        print(f"process memory {f['memory_bytes'] / (1 << 20):.0f} MiB ({max(1, mib // CHUNK_MIB)} messages of "
              f"{CHUNK_MIB} MiB, then {args.history} small ones; "
              f"Arweave item {upload / (1 << 20):.0f} MiB gzip)")
        print(f"  CU A from nonce 0: {f['replay_to_last_s']:.2f} s; checkpoint_all {f['checkpoint_all_s']:.2f} s "
              f"(file {f.get('file_write_s', 0):.2f} s, Arweave gzip + sign + upload "
              f"{f.get('arweave_write_s', 0):.2f} s)")
        cpu = f["cpu"]
        print(f"  /result of the next message, cold: from the file checkpoint {f['file_s']:.2f} s "
              f"[{f['file_start']}], from the Arweave checkpoint {f['arweave_s']:.2f} s [{f['arweave_start']}], "
              f"by replay from nonce 0 {f['replay_s']:.2f} s [{f['replay_start']}]; CPU seconds of this process "
              f"meanwhile {cpu['file']:.2f}, {cpu['arweave']:.2f}, {cpu['replay']:.2f}")
        phases = [("CU A from nonce 0", "a"), ("checkpoint_all", "checkpoint"), ("file start", "file"),
                  ("Arweave start", "arweave"), ("replay", "replay")]
        print("  RSS of this process, MiB (at the phase's start -> its peak): " + ", ".join(
            f"{label} {f['rss_before_' + key]:.0f} -> {f['rss_' + key]:.0f}" for label, key in phases)
            + f"; peak over the run {max(f['rss_' + key] for _, key in phases):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
