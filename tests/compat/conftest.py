"""Compatibility tests: the expectations of @permaweb/ao-loader's own tests, run against aocu.wasm.

The process modules are the real permaweb/ao test binaries. They are never part of this repo:
set AO_TEST_MODULES to a folder laid out like the permaweb/ao repo (loader/test/**,
servers/cu/test/processes/**). Without it every test here is skipped.

AOCU_LOADER_GOLDEN (a folder of record.cjs recordings, see tools/loader_diff/) additionally
enables test_loader_diff.py, the byte-exact comparison with the real loader.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

F1 = "wasm32-unknown-emscripten"
F2 = "wasm32-unknown-emscripten2"
F4 = "wasm32-unknown-emscripten4"
F4M = "wasm32-unknown-emscripten-metering"
F64 = "wasm64-unknown-emscripten-draft_2024_02_15"
F64M = "wasm64-unknown-emscripten-draft_2024_10_16-metering"

E1 = "loader/test/emscripten/process.wasm"
E2 = "loader/test/emscripten2/process.wasm"
AOS = "loader/test/aos/process.wasm"
SQLITE = "loader/test/emscripten2_sqlite/process.wasm"
E4 = "loader/test/emscripten4/process.wasm"
W64 = "loader/test/wasm64-emscripten/process.wasm"
HAPPY = "servers/cu/test/processes/happy/process.wasm"
SAD = "servers/cu/test/processes/sad/process.wasm"


def _modules_dir() -> Path | None:
    d = os.environ.get("AO_TEST_MODULES")
    return Path(d) if d else None


@pytest.fixture(autouse=True)
def _require_test_modules() -> None:
    """Skip every test in this folder unless AO_TEST_MODULES names the permaweb/ao test modules."""
    if _modules_dir() is None:
        pytest.skip("AO_TEST_MODULES is not set (folder laid out like the permaweb/ao repo)")


@pytest.fixture(scope="session")
def modules_dir() -> Path:
    d = _modules_dir()
    if d is None:
        pytest.skip("AO_TEST_MODULES is not set")
    return d


@pytest.fixture(scope="session")
def wasm() -> Any:
    """The aocu.wasm package (skips while the host does not exist yet)."""
    try:
        import aocu.wasm as w
        w.load_module  # noqa: B018 - presence check
    except (ImportError, AttributeError) as e:
        pytest.skip(f"aocu.wasm host not available: {e}")
    return w


@pytest.fixture(scope="session")
def load(wasm: Any, modules_dir: Path):
    """load(path, format, compute_limit=None, memory_limit=None) -> aocu Module (cached per session).

    The loader tests create a new loader (= compile + instantiate) per test; compiled modules are
    cached here because compilation (and the metering transform) is not what these tests check.
    The cache is emptied at session end: a wasmtime object still alive at interpreter exit is
    freed after wasmtime-py's bindings are gone ("Exception ignored in ... __del__" noise).
    """
    modules: dict[tuple[str, str, int | None, int | None], Any] = {}

    def _load(path: str, fmt: str, compute_limit: int | None = None, memory_limit: int | None = None):
        key = (path, fmt, compute_limit, memory_limit)
        if key not in modules:
            p = modules_dir / path
            if not p.exists():
                pytest.skip(f"{p} is missing")
            kw: dict[str, Any] = {}
            if compute_limit is not None:
                kw["compute_limit"] = compute_limit
            if memory_limit is not None:
                kw["memory_limit"] = memory_limit
            modules[key] = wasm.load_module(p.read_bytes(), fmt, **kw)
        return modules[key]

    yield _load
    modules.clear()


# ---------------------------------------------------------------- message shapes of the loader tests
def simple_msg(action: str, data: str = "") -> tuple[dict, dict]:
    """index.test.js / emscripten2.test.js: {Owner, Target, Tags: [Action], Data}; env {Process}."""
    return ({"Owner": "tom", "Target": "1", "Tags": [{"name": "Action", "value": action}], "Data": data},
            {"Process": {"Id": "1", "Tags": []}})


def get_msg(data: str, action: str = "Eval") -> dict:
    """loader.test.js / metering.test.js getMsg (Timestamp fixed: Date.now() there)."""
    return {
        "Target": "1", "From": "FOOBAR", "Owner": "FOOBAR", "Module": "FOO", "Id": "1",
        "Block-Height": "1000", "Timestamp": 1700000000000,
        "Tags": [{"name": "Action", "value": action}], "Data": data,
    }


def get_env() -> dict:
    tags = [{"name": "Name", "value": "TEST_PROCESS_OWNER"}]
    return {"Process": {"Id": "1", "Owner": "FOOBAR", "Tags": tags}}
