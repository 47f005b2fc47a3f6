"""Benchmark the evaluation pipeline: cold evaluation of N messages from a devnet.

Usage::

    .venv/bin/python tools/bench_pipeline.py [--messages 1000] [--modules $AO_TEST_MODULES] \
        [--repeat 3] [--mode both|cached|cold] [--overhead R]

Starts ``aocu devnet serve`` in a subprocess (so its CPU is not counted), publishes
a module, spawns a process and schedules N counter messages; then, in this
process, a CU (apsw stores, httpx clients, the pipeline) answers ``/result`` for
the last message from a cold start: every message is fetched, hydrated,
evaluated and persisted. Reports wall time, this process's CPU time per message
(the CU's cost), the pure wasm time of the same messages on a bare instance,
the module alone (its compile plus those messages: what a cold CU cannot avoid), the
ratios, peak RSS, and the time to answer ``/result`` for an earlier message
from the store. With ``--modules`` it runs the real AOS module (gen 2,
``loader/test/aos``), else the project's Lua fixture.

Two kinds of cold start are measured (``--mode both``, the default): *cached*, where the
compiled module comes from the CU's on-disk cache, as for every CU that has run the module on
this machine before (a restart, a second process); and *cold*, where Cranelift compiles it
first, once per module per machine. The per-message cost of a CU is the cached figure; the
cold one adds the compile (0.4-0.5 s CPU for AOS) spread over N messages.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import trio

from aocu.app import tune_gc_for_serving
from aocu.pipeline import LiveProcess
from aocu.testing import open_pipeline_cu
from aocu.wasm import load_module

ROOT = Path(__file__).resolve().parents[1]


def start_devnet(directory: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, "-m", "aocu", "devnet", "serve", "--dir", str(directory),
                             "--port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = directory / "devnet.json"
    for _ in range(300):
        if state.exists():
            return proc, json.loads(state.read_text())
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("devnet did not start")


def populate(gateway: str, binary: bytes, fmt: str, n: int, aos: bool) -> tuple[str, list[str], list[dict[str, Any]]]:
    with httpx.Client(base_url=f"{gateway}/_devnet", timeout=60) as http:
        module = http.post("/modules", params={"format": fmt}, content=binary).raise_for_status().json()["id"]
        pid = http.post("/processes", json={"module": module, "tags": [{"name": "Name", "value": "bench"}]}
                        ).raise_for_status().json()["id"]
        mids, bodies = [], []
        for i in range(n):
            code = "Counter = (Counter or 0) + 1 return Counter"
            tags = [{"name": "Action", "value": "Eval"}] if aos else [{"name": "Action", "value": "Count"}]
            body = {"process": pid, "data": code, "tags": tags}
            mids.append(http.post("/messages", json=body).raise_for_status().json()["id"])
            bodies.append({"i": i})
        return pid, mids, bodies


RECORDED: list[tuple[dict[str, Any], dict[str, Any]]] = []
#: seconds spent in the module's ``handle`` during the CU run (what `Evaluated.elapsed_s` says)
HANDLE_S: list[float] = []
#: the outcome of every message by id, for the ``--overhead`` runs (which skip the module)
OUTCOMES: dict[Any, Any] = {}
REPLAY_OUTCOMES = False


def record_messages() -> None:
    """Keep every (message, env) the pipeline hands to the module, to replay them bare."""
    original = LiveProcess.evaluate

    def evaluate(self: LiveProcess, message: dict[str, Any], env: dict[str, Any], env_text: str | None = None) -> Any:
        if REPLAY_OUTCOMES:
            return OUTCOMES[message.get("Id")]
        RECORDED.append((message, env))
        evaluated = original(self, message, env, env_text)
        HANDLE_S.append(evaluated.elapsed_s)
        OUTCOMES[message.get("Id")] = evaluated
        return evaluated

    LiveProcess.evaluate = evaluate  # type: ignore[method-assign]


def thread_cpu_s(ident: int) -> float:
    return time.clock_gettime(time.pthread_getcpuclockid(ident))


def pure_wasm_ms(binary: bytes, fmt: str) -> tuple[float, float]:
    """The same messages, in order, on a bare instance: the module's own CPU cost per message,
    and the CPU seconds of compiling it (which a cold CU pays too; in-process cache dropped)."""
    from aocu.wasm import _module
    _module._drop_caches()
    compile_started = time.process_time()
    module = load_module(binary, fmt)
    compile_s = time.process_time() - compile_started
    instance = module.instantiate()
    started = time.process_time()
    for message, env in RECORDED:
        instance.handle(message, env)
    return (time.process_time() - started) * 1000 / len(RECORDED), compile_s


async def run_cu(su_env: dict[str, str], state: Path, pid: str, mids: list[str]) -> dict[str, float]:
    async with open_pipeline_cu(su_env, state) as cu:
        tune_gc_for_serving()               # as `aocu serve` does once the CU listens
        # Nobody subscribes to progress events, as for a plain /result: the time inside handle()
        # comes from the recorder instead.
        trio_thread = threading.get_ident()
        cpu0, wall0, trio0 = time.process_time(), time.perf_counter(), thread_cpu_s(trio_thread)
        await cu.read_result(pid, mids[-1])
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        trio_cpu = thread_cpu_s(trio_thread) - trio0
        earlier = mids[len(mids) // 2]
        reads = []
        for _ in range(200):
            t0 = time.perf_counter()
            await cu.read_result(pid, earlier)
            reads.append(time.perf_counter() - t0)
    return {"cpu_s": cpu, "wall_s": wall, "trio_cpu_s": trio_cpu, "handle_ms": sum(HANDLE_S) * 1000,
            "stored_result_ms": statistics.median(reads) * 1000,
            "stored_result_p99_ms": sorted(reads)[int(len(reads) * 0.99) - 1] * 1000}


def run_without_module(env: dict[str, str], state: Path, pid: str, mids: list[str], n: int) -> tuple[float, float]:
    """One more cold CU run in which `LiveProcess.evaluate` hands back the recorded outcomes:
    (process CPU µs/msg, trio-thread CPU µs/msg). The compiled module comes from the disk cache;
    loading and instantiating it still happen."""
    global REPLAY_OUTCOMES
    from aocu.wasm import _module
    _module._drop_caches()
    REPLAY_OUTCOMES = True
    try:
        figures = trio.run(run_cu, env, state, pid, mids)
    finally:
        REPLAY_OUTCOMES = False
    return figures["cpu_s"] * 1e6 / n, figures["trio_cpu_s"] * 1e6 / n


MODES = {
    "cached": "compiled module from the disk cache (any CU that has run the module before on this machine)",
    "cold": "compile included (the first CU ever to run the module on this machine)",
}


def report(mode: str, runs: list[dict[str, float]], label: str, n: int) -> None:
    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    cpu_ms, wasm, alone_ms, wall = median("cpu_ms"), median("wasm_ms"), median("alone_ms"), median("wall_s")
    ratios = sorted(r["cpu_ms"] / r["wasm_ms"] for r in runs)
    print(f"module: {label}, {n} messages, cold start, {MODES[mode]}; medians of {len(runs)} runs")
    print(f"  wall {wall:.2f} s ({n / wall:.0f} msg/s), "
          f"CU CPU {cpu_ms:.3f} ms/msg ({1000 / cpu_ms:.0f} msg per CPU-second)")
    print(f"  pure wasm: the same {len(RECORDED)} messages on a bare instance {wasm:.3f} ms/msg; "
          f"CU CPU / pure wasm = {statistics.median(ratios):.2f} (runs {ratios[0]:.2f}-{ratios[-1]:.2f}; "
          f"best CU / best pure wasm {min(r['cpu_ms'] for r in runs) / min(r['wasm_ms'] for r in runs):.2f})")
    print(f"  module alone (compile {median('compile_s'):.2f} s CPU + these messages) {alone_ms:.3f} ms/msg; "
          f"CU CPU / module alone = {cpu_ms / alone_ms:.2f}")
    print(f"  (wall time inside handle() during the run: {median('handle_ms') / n:.3f} ms/msg)")
    print(f"  /result of an earlier message from the store: median {median('stored_result_ms'):.3f} ms, "
          f"p99 {median('stored_result_p99_ms'):.3f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--modules", default=os.environ.get("AO_TEST_MODULES"))
    parser.add_argument("--repeat", type=int, default=3,
                        help="CU runs (each on a fresh store) and bare-instance runs; medians are reported")
    parser.add_argument("--overhead", type=int, default=0, metavar="R",
                        help="then R more CU runs that replay the recorded outcomes instead of running the "
                             "module: the CU's own CPU per message, with less noise than a difference")
    parser.add_argument("--mode", choices=("both", *MODES), default="both",
                        help="cached: the compiled module comes from the on-disk cache "
                             "(WASM_BINARY_FILE_DIRECTORY/aocu-compiled), as for any CU that has run the module "
                             "on this machine before; cold: Cranelift compiles it first; both (default)")
    parser.add_argument("--compiled-cache", action="store_true", help="the same as --mode cached")
    args = parser.parse_args()
    modes = ["cached"] if args.compiled_cache else list(MODES) if args.mode == "both" else [args.mode]
    if args.modules:
        binary = (Path(args.modules) / "loader/test/aos/process.wasm").read_bytes()
        fmt, aos, label = "wasm32-unknown-emscripten2", True, "aos (gen 2)"
    else:
        binary = (ROOT / "tests/fixtures/modules/lua_process_gen2.wasm").read_bytes()
        fmt, aos, label = "wasm32-unknown-emscripten2", False, "lua fixture (gen 2)"
    record_messages()
    n = args.messages
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    rss_mib = 0.0
    from aocu.wasm import _module
    with tempfile.TemporaryDirectory() as tmp:
        devnet, urls = start_devnet(Path(tmp) / "devnet")
        try:
            pid, mids, _ = populate(urls["gateway"], binary, fmt, n, aos)
            env = {"GATEWAY_URL": urls["gateway"], "GRAPHQL_URL": urls["gateway"] + "/graphql",
                   "CHECKPOINT_GRAPHQL_URL": urls["gateway"] + "/graphql", "ARWEAVE_URL": urls["gateway"]}
            for run in range(args.repeat):
                this_round = []
                for mode in modes:
                    RECORDED.clear()
                    HANDLE_S.clear()
                    _module._drop_caches()
                    if mode == "cached":
                        os.environ[_module.CACHE_DIR_ENV] = str(Path(tmp) / "compiled")
                        load_module(binary, fmt)            # a previous run's compile, left on disk
                        _module._drop_caches()
                    figures = trio.run(run_cu, env, Path(tmp) / f"cu-{mode}-{run}", pid, mids)
                    os.environ.pop(_module.CACHE_DIR_ENV, None)
                    figures["cpu_ms"] = figures["cpu_s"] * 1000 / n
                    runs[mode].append(figures)
                    this_round.append((mode, figures))
                    if not rss_mib:                     # one CU's peak: before a second CU ran here
                        rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                wasm_ms, compile_s = pure_wasm_ms(binary, fmt)
                for mode, figures in this_round:
                    figures["wasm_ms"], figures["compile_s"] = wasm_ms, compile_s
                    figures["alone_ms"] = wasm_ms * len(RECORDED) / n + compile_s * 1000 / n
                    print(f"run {run + 1} ({mode}): CU CPU {figures['cpu_ms']:.3f} ms/msg, pure wasm {wasm_ms:.3f}, "
                          f"CU / pure wasm {figures['cpu_ms'] / wasm_ms:.2f}, wall {figures['wall_s']:.2f} s",
                          flush=True)
            os.environ[_module.CACHE_DIR_ENV] = str(Path(tmp) / "compiled")     # compiling is the module's
            _module._drop_caches()
            load_module(binary, fmt)                # on disk now, whatever this process compiled before
            overhead = [run_without_module(env, Path(tmp) / f"overhead{run}", pid, mids, n)
                        for run in range(args.overhead)]
            os.environ.pop(_module.CACHE_DIR_ENV, None)
        finally:
            devnet.terminate()
            devnet.wait(10)

    for mode in modes:
        report(mode, runs[mode], label, n)
    print(f"peak RSS {rss_mib:.0f} MiB (bench process after its first CU run, {modes[0]}: devnet client, CU, "
          f"module; `compare_reference.py --bench` reads a served CU's)")
    if overhead:
        wasm = statistics.median(r["wasm_ms"] for r in runs[modes[0]])
        total = statistics.median(o[0] for o in overhead)
        trio_us = statistics.median(o[1] for o in overhead)
        print(f"the CU without the module ({len(overhead)} runs replaying the outcomes; medians): "
              f"{total:.1f} us CPU/msg, of which the trio thread {trio_us:.1f} and worker threads "
              f"{total - trio_us:.1f}; that is {total / 1000 / wasm:.2f} of the pure wasm time")
    return 0

if __name__ == "__main__":
    sys.exit(main())
