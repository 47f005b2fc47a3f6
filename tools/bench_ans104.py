"""Time ANS-104 signing and verifying (aocu.arweave) for data items of a few sizes.

    PYTHONPATH=$PWD python tools/bench_ans104.py [MiB ...]     (default: 0 1 100)

Each size: sign_data_item (deep hash + RSA-4096 PSS), serialize_data_item, parse_data_item and
verify_data_item, best of 3. Figures go in docs/performance.md.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from aocu.arweave import ArweaveSigner, parse_data_item, serialize_data_item, sign_data_item, verify_data_item
from aocu.model import Tag

JWK = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ans104" / "test_jwk.json"


def _best(fn: object, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str]) -> None:
    signer = ArweaveSigner.from_jwk(json.loads(JWK.read_text()))
    tags = [Tag("Data-Protocol", "ao"), Tag("Type", "Checkpoint"), Tag("Nonce", "12345")]
    print(f"{'MiB':>6} {'sign ms':>9} {'serialize ms':>13} {'parse ms':>9} {'verify ms':>10}")
    for mib in (float(a) for a in (argv or ["0", "1", "100"])):
        data = os.urandom(int(mib * 1024 * 1024))
        item = sign_data_item(signer, data=data, tags=tags)
        raw = serialize_data_item(item)
        assert verify_data_item(parse_data_item(raw))
        sign = _best(lambda: sign_data_item(signer, data=data, tags=tags))  # noqa: B023
        ser = _best(lambda: serialize_data_item(item))  # noqa: B023
        parse = _best(lambda: parse_data_item(raw))  # noqa: B023
        verify = _best(lambda: verify_data_item(item))  # noqa: B023
        print(f"{mib:>6g} {sign * 1e3:>9.1f} {ser * 1e3:>13.1f} {parse * 1e3:>9.1f} {verify * 1e3:>10.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
