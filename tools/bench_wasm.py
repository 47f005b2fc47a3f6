"""Benchmark aocu.wasm: warm handle cost per format, a 1000-message counter, snapshots.

Usage::

    .venv/bin/python tools/bench_wasm.py [--modules DIR] [--messages 1000] [--repeat 200]

With ``--modules`` (or ``$AO_TEST_MODULES``) pointing at permaweb/ao's test modules, it
measures the real AOS modules in every testable format; without, the project's own fixture
modules. For each case it reports the median warm ``handle`` of a trivial message, the
median time spent inside the wasm ``handle`` call (wasm plus the host imports it makes:
"pure wasm" in the issue's sense, since those imports are the module's own work), the
host overhead per message (the difference: JSON, stack strings, result parsing), a
1000-message counter sequence, and ``memory_snapshot``/``instantiate(memory)`` per MiB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from aocu.wasm import load_module

ROOT = Path(__file__).resolve().parents[1]
ENV = {"Process": {"Id": "PROCESS_ID", "Owner": "OWNER", "Tags": []}}

AO_CASES = [
    ("aos gen 2 (pre-metered)", "loader/test/aos/process.wasm", "wasm32-unknown-emscripten2", "aos"),
    ("emscripten4", "loader/test/emscripten4/process.wasm", "wasm32-unknown-emscripten4", "aos"),
    ("emscripten4 metering", "loader/test/emscripten4/process.wasm",
     "wasm32-unknown-emscripten-metering", "aos"),
    ("wasm64", "loader/test/wasm64-emscripten/process.wasm",
     "wasm64-unknown-emscripten-draft_2024_02_15", "aos"),
    ("wasm64 metering", "loader/test/wasm64-emscripten/process.wasm",
     "wasm64-unknown-emscripten-draft_2024_10_16-metering", "aos"),
    ("gen 1 (cu happy)", "servers/cu/test/processes/happy/process.wasm",
     "wasm32-unknown-emscripten", "echo"),
]
FIXTURE_CASES = [
    ("lua gen 2", "lua_process_gen2.wasm", "wasm32-unknown-emscripten2", "lua"),
    ("lua gen 3", "lua_process_gen3.wasm", "wasm32-unknown-emscripten3", "lua"),
    ("lua gen 4", "lua_process_gen4.wasm", "wasm32-unknown-emscripten4", "lua"),
    ("lua gen 4 metering", "lua_process_gen4.wasm", "wasm32-unknown-emscripten-metering", "lua"),
    ("c gen 2", "c_echo_gen2.wasm", "wasm32-unknown-emscripten2", "c"),
]


def message(kind: str, n: int, trivial: bool) -> dict[str, Any]:
    base = {"Id": f"m{n}", "Owner": "OWNER", "From": "OWNER", "Target": "PROCESS_ID", "Module": "MODULE",
            "Block-Height": "1", "Timestamp": str(1700000000000 + n)}
    if kind == "aos":
        data = "return 1+1" if trivial else "Counter = (Counter or 0) + 1 return Counter"
        return {**base, "Tags": [{"name": "Action", "value": "Eval"}], "Data": data}
    if kind == "lua":
        return {**base, "Tags": [{"name": "Action", "value": "Echo" if trivial else "Count"}], "Data": "x"}
    if kind == "echo":     # servers/cu/test/processes/happy: a `function` tag
        return {**base, "Tags": [{"name": "function", "value": "hello"}]}
    return {**base, "Tags": [{"name": "Action", "value": "Echo" if trivial else "Count"}], "Data": "x"}


def timed_instance(instance: Any) -> list[float]:
    """Record the time of each wasm ``handle`` call (wasm + the imports it makes)."""
    inner: list[float] = []
    call = instance.asyncify.call_export

    def timed(*args: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args)
        finally:
            inner.append(time.perf_counter() - started)

    instance.asyncify.call_export = timed
    return inner


def bench_case(label: str, binary: bytes, fmt: str, kind: str, messages: int, repeat: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    module = load_module(binary, fmt)
    load_s = time.perf_counter() - t0
    instance = module.instantiate()
    t0 = time.perf_counter()
    instance.handle(message(kind, 0, True), ENV)      # boots Lua in gen 4
    first_s = time.perf_counter() - t0
    inner = timed_instance(instance)
    totals = []
    trivial = message(kind, 1, True)
    for _ in range(repeat):
        t0 = time.perf_counter()
        instance.handle(trivial, ENV)
        totals.append(time.perf_counter() - t0)
    trivial_ms = statistics.median(totals) * 1000
    wasm_ms = statistics.median(inner) * 1000
    inner.clear()
    cpu0, t0 = time.process_time(), time.perf_counter()
    for n in range(messages):
        instance.handle(message(kind, n, False), ENV)
    seq_s, seq_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    seq_wasm = sum(inner)
    snap_t0 = time.perf_counter()
    snapshot = instance.memory_snapshot()
    snap_s = time.perf_counter() - snap_t0
    t0 = time.perf_counter()
    module.instantiate(snapshot)
    restore_s = time.perf_counter() - t0
    mib = len(snapshot) / (1 << 20)
    return {
        "case": label, "format": fmt, "load_s": load_s, "first_ms": first_s * 1000,
        "trivial_ms": trivial_ms, "wasm_ms": wasm_ms, "overhead_ms": trivial_ms - wasm_ms,
        "seq_ms_per_msg": seq_s / messages * 1000, "seq_cpu_ms_per_msg": seq_cpu / messages * 1000,
        "seq_ratio": seq_s / seq_wasm if seq_wasm else float("nan"),
        "memory_mib": mib, "snapshot_ms_per_mib": snap_s * 1000 / mib,
        "instantiate_ms_per_mib": restore_s * 1000 / mib,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modules", default=os.environ.get("AO_TEST_MODULES"))
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    if args.modules:
        cases = [(label, Path(args.modules) / rel, fmt, kind) for label, rel, fmt, kind in AO_CASES]
    else:
        fixtures = ROOT / "tests/fixtures/modules"
        cases = [(label, fixtures / f, fmt, kind) for label, f, fmt, kind in FIXTURE_CASES]
    header = (f"{'case':<26} {'load s':>7} {'1st ms':>8} {'trivial ms':>10} {'wasm ms':>8} {'host ms':>8} "
              f"{'seq ms/msg':>10} {'cpu ms/msg':>10} {'seq/wasm':>8} {'MiB':>7} {'snap ms/MiB':>11} "
              f"{'inst ms/MiB':>11}")
    print(header)
    for label, path, fmt, kind in cases:
        r = bench_case(label, Path(path).read_bytes(), fmt, kind, args.messages, args.repeat)
        print(f"{r['case']:<26} {r['load_s']:7.2f} {r['first_ms']:8.1f} {r['trivial_ms']:10.3f} "
              f"{r['wasm_ms']:8.3f} {r['overhead_ms']:8.3f} {r['seq_ms_per_msg']:10.3f} "
              f"{r['seq_cpu_ms_per_msg']:10.3f} {r['seq_ratio']:8.2f} {r['memory_mib']:7.1f} "
              f"{r['snapshot_ms_per_mib']:11.3f} {r['instantiate_ms_per_mib']:11.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
