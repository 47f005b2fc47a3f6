"""``aocu run-module``: evaluate messages on a local module file (a developer tool).

Reads a JSON list of ``{"msg": {...}, "env": {...}}`` objects and prints each
result as the loader would return it (without Memory), continuing from the
previous memory after a failed message, as the CU does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run-module", help="evaluate messages on a local .wasm module (no network)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("module", type=Path, help="the process module (.wasm)")
    p.add_argument("messages", type=Path, help='JSON file: [{"msg": {...}, "env": {...}}, ...]')
    p.add_argument("--format", default="wasm32-unknown-emscripten2", help="the Module-Format tag")
    p.add_argument("--compute-limit", type=int, default=None, help="gas limit (metering formats)")
    p.add_argument("--memory-limit", type=int, default=None, help="heap ceiling in bytes")
    p.add_argument("--deadline", type=float, default=None, help="wall-clock limit per message, seconds")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aocu.jsjson import stringify
    from aocu.wasm import HandleError, HostOptions, load_module

    module = load_module(args.module.read_bytes(), args.format, compute_limit=args.compute_limit,
                         memory_limit=args.memory_limit, options=HostOptions(deadline_s=args.deadline))
    steps = json.loads(args.messages.read_text())
    instance = module.instantiate()
    for n, step in enumerate(steps):
        # a developer tool: one snapshot per message keeps the rollback obvious
        before = instance.memory_snapshot()
        started = time.perf_counter()
        try:
            result: dict[str, Any] = instance.handle(step["msg"], step.get("env", {}))
            failed = bool(result.get("Error"))
        except HandleError as exc:
            result, failed = {"Error": exc.value}, True
        elapsed_ms = (time.perf_counter() - started) * 1000
        if failed:      # the CU keeps the memory from before the message, in a fresh instance
            instance = module.instantiate(before)
        memory = hashlib.sha256(instance.memory_snapshot()).hexdigest()[:16]
        sys.stdout.write(f"#{n} {elapsed_ms:.2f} ms memory {memory} {stringify(result)}\n")
    return 0
