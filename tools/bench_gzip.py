"""Benchmark gzip levels on real process memory: time to compress, size, time to gunzip.

Usage::

    .venv/bin/python tools/bench_gzip.py [--blocks 6] [--memory FILE]

Builds the memory of a Lua process (the committed gen 3 fixture) that evaluated ``--blocks``
of tools/bench_checkpoint.py's allocating messages (16 MiB of random hex text each, the rest
zero pages and the Lua heap), or reads a raw memory dump from ``--memory``. Then, for zlib
levels 1/6/9 (9 is the reference's) and ISA-L levels 0-3 (``isal``, what
`aocu.checkpoints.GZIP_LEVEL` picks from), compresses it in one pass and gunzips it back, and
prints MB/s of memory and the compressed size. Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_checkpoint import ALLOCATE  # type: ignore[import-not-found]
from isal import isal_zlib

from aocu.wasm import load_module

ROOT = Path(__file__).resolve().parents[1]
ENV = {"Process": {"Id": "PROCESS_ID", "Owner": "OWNER", "Tags": []}}


def lua_memory(blocks: int) -> bytes:
    module = load_module((ROOT / "tests/fixtures/modules/lua_process_gen3.wasm").read_bytes(),
                         "wasm32-unknown-emscripten3")
    instance = module.instantiate()
    for n in range(blocks):
        instance.handle({"Id": f"m{n}", "Owner": "OWNER", "From": "OWNER", "Target": "PROCESS_ID",
                         "Module": "MODULE", "Block-Height": "1", "Timestamp": str(1700000000000 + n),
                         "Tags": [{"name": "Action", "value": "Eval"}], "Data": ALLOCATE}, ENV)
    return instance.memory_snapshot()


def gzip_with(lib: Any, level: int) -> Callable[[bytes], bytes]:
    def compress(memory: bytes) -> bytes:
        c = lib.compressobj(level, lib.DEFLATED, 31)
        return c.compress(memory) + c.flush()
    return compress


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=6,
                        help="16 MiB allocating messages (the fixture stops at 128 MiB)")
    parser.add_argument("--memory", type=Path, help="a raw memory dump instead")
    args = parser.parse_args()
    memory = args.memory.read_bytes() if args.memory else lua_memory(args.blocks)
    zero_pages = sum(memory[i:i + 65536].count(0) == 65536 for i in range(0, len(memory), 65536))
    print(f"memory {len(memory) / (1 << 20):.0f} MiB, {zero_pages * 100 // max(1, len(memory) >> 16)}% zero "
          f"64 KiB pages")
    print(f"{'codec':10} {'level':>5} {'ratio':>7} {'deflate MB/s':>13} {'gunzip MB/s':>12}")
    for name, lib, levels in (("zlib", zlib, (1, 6, 9)), ("isal", isal_zlib, (0, 1, 2, 3))):
        for level in levels:
            t0 = time.perf_counter()
            data = gzip_with(lib, level)(memory)
            deflate_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            back = lib.decompressobj(wbits=31).decompress(data)
            gunzip_s = time.perf_counter() - t0
            assert back == memory
            print(f"{name:10} {level:5} {len(data) / len(memory):7.3f} {len(memory) / deflate_s / 1e6:13.0f} "
                  f"{len(memory) / gunzip_s / 1e6:12.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
