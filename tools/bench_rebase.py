"""Benchmark what a hot process pays for its rollback bases (`aocu.pipeline.LiveProcess`).

Usage::

    .venv/bin/python tools/bench_rebase.py [--mib 96] [--messages 3000] [--rebase-after-s 0.2]
    .venv/bin/python tools/bench_rebase.py --errors [--messages 2000]

A live process of the project's Lua fixture (gen 3) first grows its memory by ``--mib`` (16 MiB
strings), then evaluates ``--messages`` counter messages. Every base copies the whole memory;
the count of bases and the CPU of the counter messages are printed for the copy budget now in
force (a copy costs at most `REBASE_COPY_SHARE` of the evaluation between two bases) and for
the fixed thresholds before it (every ``--rebase-after-s`` seconds of replay or 2000 messages).
``--rebase-after-s`` defaults to a tenth of the CU's 2 s, so a ~100 MiB memory here stands for a
~1 GiB one there (the fixture's memory stops at 128 MiB).

``--errors``: error-free streams and streams where every 50th or 10th message fails (each
failure rolls back: a replay since the base, a fresh instance from that memory, the memory
packed as the new base), on the gen 2 and gen 4 Lua fixtures; CPU per message, rollbacks and
the packed base's size. Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from aocu.pipeline import _live
from aocu.pipeline._live import LiveProcess
from aocu.wasm import load_module

ROOT = Path(__file__).resolve().parents[1]
ENV = {"Process": {"Id": "PROCESS", "Owner": "OWNER", "Tags": []}}


def eval_message(n: int, code: str) -> dict[str, Any]:
    return {"Id": f"m{n}", "Owner": "OWNER", "From": "OWNER", "Target": "PROCESS", "Data": code,
            "Tags": [{"name": "Action", "value": "Eval"}], "Block-Height": "1", "Timestamp": str(n)}


def run(module: Any, mib: int, messages: int, rebase_after_s: float) -> tuple[float, int, float, float]:
    """(CPU s of the counter messages, bases taken meanwhile, memory MiB, last copy s)."""
    live = LiveProcess(module, rebase_after_s=rebase_after_s)
    try:
        for i in range(mib // 16):
            live.evaluate(eval_message(i, f"B{i} = string.rep('{chr(65 + i % 26)}', 16 * 1024 * 1024)"), ENV)
        before = live.rebases
        started = time.process_time()
        for i in range(messages):
            live.evaluate(eval_message(1000 + i, "Counter = (Counter or 0) + 1 return Counter"), ENV)
        return (time.process_time() - started, live.rebases - before, live.memory_size / 2**20, live.snapshot_s)
    finally:
        live.close()


def error_streams(messages: int) -> None:
    for name, fmt in (("lua_process_gen2.wasm", "wasm32-unknown-emscripten2"),
                      ("lua_process_gen4.wasm", "wasm32-unknown-emscripten4")):
        module = load_module((ROOT / "tests/fixtures/modules" / name).read_bytes(), fmt)
        for every in (0, 50, 10):
            live = LiveProcess(module)
            started = time.process_time()
            for i in range(messages):
                fails = every and i % every == every - 1
                code = "Counter = (Counter or 0) + 1 " + ("error('boom')" if fails else "return Counter")
                live.evaluate(eval_message(i, code), ENV)
            cpu = time.process_time() - started
            stream = f"1 in {every} fails" if every else "no errors"
            print(f"{name} ({live.memory_size / 2**20:.0f} MiB), {stream}: "
                  f"{cpu / messages * 1000:.3f} ms/msg, {live.rollbacks} rollbacks, "
                  f"base {live.base_bytes / 2**20:.2f} MiB packed")
            live.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=96, help="memory to add before the counter messages")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rebase-after-s", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--errors", action="store_true", help="error-free and error-heavy streams instead")
    args = parser.parse_args()
    if args.errors:
        error_streams(args.messages)
        return 0
    module = load_module((ROOT / "tests/fixtures/modules/lua_process_gen3.wasm").read_bytes(),
                         "wasm32-unknown-emscripten3")
    budget = _live.REBASE_COPY_SHARE
    for _ in range(args.repeat):
        for label, share in (("copy budget", budget), ("fixed thresholds", float("inf"))):
            _live.REBASE_COPY_SHARE = share
            cpu, bases, mib, copy_s = run(module, args.mib, args.messages, args.rebase_after_s)
            print(f"{label:<17} memory {mib:.0f} MiB: {args.messages} messages {cpu:.2f} s CPU "
                  f"({cpu / args.messages * 1000:.3f} ms/msg), {bases} bases, a copy {copy_s * 1000:.0f} ms")
    _live.REBASE_COPY_SHARE = budget
    return 0


if __name__ == "__main__":
    sys.exit(main())
