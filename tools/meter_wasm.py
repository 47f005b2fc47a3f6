"""Meter a wasm binary the way ao-loader's ``-metering`` formats do.

    python tools/meter_wasm.py IN OUT --type i32|i64

i32 is for ``wasm32-unknown-emscripten-metering``, i64 for
``wasm64-unknown-emscripten-draft_2024_10_16-metering``. Prints the output's
sha256 and the time taken; exits 1 with the reason if the binary cannot be
metered (as @permaweb/wasm-metering would fail on it).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aocu.wasm._metering import MeteringError, meter_binary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--type", dest="meter_type", choices=("i32", "i64"), required=True)
    args = parser.parse_args(argv)
    binary = args.input.read_bytes()
    start = time.perf_counter()
    try:
        metered = meter_binary(binary, args.meter_type)
    except MeteringError as exc:
        print(f"{args.input}: cannot meter: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    args.output.write_bytes(metered)
    digest = hashlib.sha256(metered).hexdigest()
    print(f"{digest}  {args.output} ({len(binary)} -> {len(metered)} bytes, {elapsed:.3f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
