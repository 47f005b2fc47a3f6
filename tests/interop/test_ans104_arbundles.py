"""arbundles (the JS library bundlers and aoconnect use) verifies the data items aocu signs.

Runs tools/ans104_vectors/vectors.cjs with tests/interop/node_modules (``npm install`` there,
done by .ci/run); skipped without node or that install. The reverse direction (aocu reading
arbundles' items) is tests/unit/arweave/test_ans104.py on committed vectors.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from aocu.arweave import ArweaveSigner, DataItem, base64url_encode, serialize_data_item, sign_data_item
from aocu.model import Tag

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPT = ROOT / "tools" / "ans104_vectors" / "vectors.cjs"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (HERE / "node_modules" / "arbundles").is_dir(),
    reason="needs node and `npm install` in tests/interop",
)


def _items() -> dict[str, DataItem]:
    signer = ArweaveSigner.from_jwk(json.loads((ROOT / "tests" / "fixtures" / "ans104" / "test_jwk.json").read_text()))
    items = {
        "empty": sign_data_item(signer, data=b""),
        "checkpoint": sign_data_item(signer, data=os.urandom(1 << 20), target=b"\x07" * 32, anchor=b"n" * 32, tags=[
            Tag("Data-Protocol", "ao"), Tag("Type", "Checkpoint"), Tag("Nonce", "42"), Tag("Empty", "")]),
        "unicode": sign_data_item(signer, data="ünïcödé".encode(), tags=[
            Tag("é", "€"), Tag("emoji-😀", "🚀" * 20), Tag("中文", "价值" * 40)]),
        "128-tags": sign_data_item(signer, data=b"x", tags=[Tag(f"T-{i}", f"v{i}") for i in range(128)]),
    }
    good = items["checkpoint"]
    items["tampered-data"] = dataclasses.replace(good, data=good.data[:-1] + bytes([good.data[-1] ^ 1]))
    items["tampered-signature"] = dataclasses.replace(good, signature=bytes([good.signature[0] ^ 1])
                                                      + good.signature[1:])
    return items


def test_arbundles_verifies_what_aocu_signs(tmp_path: Path) -> None:
    items = _items()
    request = tmp_path / "items.json"
    request.write_text(json.dumps([{"name": k, "raw": base64url_encode(serialize_data_item(v))}
                                   for k, v in items.items()]))
    env = {**os.environ, "NODE_PATH": str(HERE / "node_modules")}
    done = subprocess.run([str(NODE), str(SCRIPT), "verify", str(request)], capture_output=True, env=env,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    results = {r["name"]: r for r in json.loads(done.stdout)}
    assert set(results) == set(items)
    for name, item in items.items():
        got = results[name]
        assert got["valid"] is (not name.startswith("tampered")), (name, got)
        assert got["id"] == item.id
        assert got["owner_address"] == item.owner_address
        assert got["target"] == base64url_encode(item.target) and got["anchor"] == base64url_encode(item.anchor)
        assert [Tag(t["name"], t["value"]) for t in got["tags"]] == list(item.tags)
        assert got["data_sha256"] == hashlib.sha256(item.data).hexdigest()
