"""The project's own ao test modules through aocu.wasm, against ao-loader golden results.

Modules (``tests/fixtures/modules``) and their sources/build live in ``tools/testmodules``;
the golden files (``tests/fixtures/golden``) were recorded from ``@permaweb/ao-loader@0.0.49``
by ``tools/testmodules/record_golden.cjs``.  Each golden file is self-contained: module,
format, options and every message/env as it was sent.

Messages follow the CU's policy, as the recorder did: an instance continues while results
are good; after a thrown error, or a result with a truthy ``Error``, the instance is dropped
and the next message runs on ``module.instantiate(previous good memory)``.

The hostile cases that Node cannot serve as a reference for (an infinite loop without
metering, host shell commands in gen 4, a memory bomb under a host memory limit) are
checked against the host's own guarantees at the end.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

try:
    import aocu.wasm as _wasm
except ImportError:  # pragma: no cover - the package is always importable in this repo
    _wasm = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[3]
MODULES = ROOT / "tests" / "fixtures" / "modules"
GOLDEN = ROOT / "tests" / "fixtures" / "golden"
RESULT_FIELDS = ("Output", "Messages", "Spawns", "Assignments", "Patches", "Error", "GasUsed")

pytestmark = pytest.mark.skipif(
    _wasm is None or not hasattr(_wasm, "load_module"), reason="aocu.wasm has no load_module yet"
)

GOLDEN_FILES = sorted(GOLDEN.glob("*.json"))


# ------------------------------------------------------------------ comparison helpers
_INDEX_KEY = re.compile(r"^(0|[1-9][0-9]*)$")


def _js_key_order(keys: list[str]) -> list[str]:
    """Key order of a JS object built from ``keys`` (integer-like keys first, ascending)."""
    idx = sorted((k for k in keys if _INDEX_KEY.match(k) and int(k) < 2**32 - 1), key=int)
    seen = set(idx)
    return idx + [k for k in keys if k not in seen]


def _diff(expected: Any, got: Any, where: str = "") -> str | None:
    """First difference between two JSON-shaped values, or None when they are the same.

    Types are strict (``True`` is not ``1``), numbers compare by value (JSON has one number
    type), dict key order must match JS's order.
    """
    if isinstance(expected, bool) or isinstance(got, bool):
        same = type(expected) is type(got) and expected == got
        return None if same else f"{where}: {expected!r} != {got!r}"
    if isinstance(expected, int | float) and isinstance(got, int | float):
        return None if expected == got else f"{where}: {expected!r} != {got!r}"
    if isinstance(expected, dict) and isinstance(got, dict):
        ek, gk = list(expected), _js_key_order([str(k) for k in got])
        if ek != gk:
            return f"{where}: keys {ek} != {gk}"
        for k in ek:
            d = _diff(expected[k], got[k], f"{where}.{k}")
            if d:
                return d
        return None
    if isinstance(expected, list) and isinstance(got, list | tuple):
        if len(expected) != len(got):
            return f"{where}: length {len(expected)} != {len(got)}"
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            d = _diff(e, g, f"{where}[{i}]")
            if d:
                return d
        return None
    if type(expected) is type(got) and expected == got:
        return None
    return f"{where}: {_short(expected)} != {_short(got)}"


def _short(v: Any, limit: int = 200) -> str:
    s = repr(v)
    return s if len(s) <= limit else s[:limit] + f"... ({len(s)} chars)"


def _js_length(s: str) -> int:
    """String.prototype.length: UTF-16 code units."""
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def _expected_thrown_value(threw: dict[str, Any]) -> Any:
    return threw.get("value") if threw.get("type") == "value" else threw.get("message")


def _expected_kind(threw: dict[str, Any]) -> str | None:
    if threw.get("type") == "value":
        return "response"
    if threw.get("type") == "exit":
        return "exit"
    message = threw.get("message") or ""
    if message == "out of gas!":
        return "out-of-gas"
    if message.startswith("Aborted("):
        return "abort"
    if threw.get("name") == "RuntimeError":
        return "trap"
    return None


def _load(name: str, fmt: str, **kwargs: Any) -> Any:
    return _wasm.load_module((MODULES / name).read_bytes(), fmt, **kwargs)


def _msg(action: str, data: str = "", **tags: str) -> dict[str, Any]:
    return {
        "Id": f"msg-{action}",
        "Owner": "OWNER_ADDRESS",
        "From": "FROM_ADDRESS",
        "Target": "PROCESS_ID",
        "Data": data,
        "Tags": [{"name": "Action", "value": action}] + [{"name": k, "value": v} for k, v in tags.items()],
        "Block-Height": "1234567",
        "Timestamp": "1700000000000",
    }


ENV = {"Process": {"Id": "PROCESS_ID", "Owner": "OWNER_ADDRESS", "Tags": []}}


# ------------------------------------------------------------------ golden scenarios
def _run_golden(golden: dict[str, Any]) -> list[str]:
    """Run a golden scenario through aocu.wasm; return every mismatch found."""
    binary = (MODULES / golden["module"]).read_bytes()
    if hashlib.sha256(binary).hexdigest() != golden["module_sha256"]:
        return [f"{golden['module']} changed since the golden file was recorded: "
                "re-run tools/testmodules/record_golden.cjs"]
    opts = golden.get("options") or {}
    module = _wasm.load_module(binary, golden["format"], compute_limit=opts.get("computeLimit"),
                               memory_limit=opts.get("memoryLimit"))
    problems: list[str] = []
    prev: bytes | None = None
    instance = None
    for step in golden["results"]:
        i = step["i"]
        label = f"#{i} {step['msg']['Tags'][0]['value']}"
        if (instance is None) != step["fresh_instance"]:
            problems.append(f"{label}: fresh instance expected {step['fresh_instance']}")
        try:
            if instance is None:
                instance = module.instantiate(prev)
            res = instance.handle(step["msg"], step["env"])
        except _wasm.HandleError as exc:
            instance = None
            if step["ok"]:
                problems.append(f"{label}: threw {exc.kind} {_short(exc.value)}; expected a result "
                                f"(Output {_short(step.get('Output', step.get('OutputDigest')))})")
                continue
            want = _expected_thrown_value(step["threw"])
            d = _diff(want, exc.value, "thrown")
            if d:
                problems.append(f"{label}: {d}")
            kind = _expected_kind(step["threw"])
            if kind and exc.kind != kind:
                problems.append(f"{label}: thrown kind {exc.kind} != {kind}")
            continue
        if not step["ok"]:
            problems.append(f"{label}: expected a throw {_short(step['threw'])}, got Output "
                            f"{_short(res.get('Output'))} Error {_short(res.get('Error'))}")
            instance = None
            continue
        for k in RESULT_FIELDS:
            if k == "Output" and "OutputDigest" in step:
                out = res.get("Output")
                got = ({"length": _js_length(out), "sha256": hashlib.sha256(out.encode()).hexdigest()}
                       if isinstance(out, str) else out)
                d = _diff(step["OutputDigest"], got, "OutputDigest")
            else:
                d = _diff(step.get(k), res.get(k), k)
            if d:
                problems.append(f"{label}: {d}")
        mem = instance.memory_snapshot()
        if len(mem) != step["MemoryLength"]:
            problems.append(f"{label}: memory length {len(mem)} != {step['MemoryLength']}")
        elif hashlib.sha256(mem).hexdigest() != step["MemorySha256"]:
            problems.append(f"{label}: memory sha256 differs")
        if res.get("Error"):
            instance = None
        else:
            prev = mem
    return problems


# Differences of aocu.wasm found by these fixtures and not fixed yet (strict: remove the
# entry with the fix).
KNOWN_HOST_BUGS: dict[str, str] = {}


def _golden_params() -> list[Any]:
    params = []
    for p in GOLDEN_FILES:
        marks = []
        if p.stem in KNOWN_HOST_BUGS:
            marks.append(pytest.mark.xfail(reason=KNOWN_HOST_BUGS[p.stem], strict=True))
        params.append(pytest.param(p, id=p.stem, marks=marks))
    return params


@pytest.mark.slow
@pytest.mark.parametrize("path", _golden_params())
def test_golden_scenario(path: Path) -> None:
    """Every field, GasUsed and the memory hash match ao-loader's results."""
    golden = json.loads(path.read_text())
    problems = _run_golden(golden)
    assert not problems, f"{golden['name']} ({golden['format']}):\n  " + "\n  ".join(problems)


def test_golden_files_exist() -> None:
    """The fixtures are committed: one golden file per scenario, modules beside them."""
    scenarios = json.loads((ROOT / "tools" / "testmodules" / "scenarios.json").read_text())["scenarios"]
    assert sorted(s["name"] for s in scenarios) == sorted(p.stem for p in GOLDEN_FILES)
    for s in scenarios:
        assert (MODULES / s["module"]).is_file()


# ------------------------------------------------------------------ hostile cases (no Node reference)
GENS = [
    ("gen2", "wasm32-unknown-emscripten2"),
    ("gen3", "wasm32-unknown-emscripten3"),
    ("gen4", "wasm32-unknown-emscripten4"),
]
LOOPERS = [(f"{m}_{g}.wasm", fmt, "Loop") for m in ("c_echo", "lua_process") for g, fmt in GENS]


@pytest.mark.slow
@pytest.mark.parametrize(("module", "fmt", "action"), LOOPERS, ids=[m[0] for m in LOOPERS])
def test_infinite_loop_hits_the_deadline(module: str, fmt: str, action: str) -> None:
    """An unmetered infinite loop ends with the host's deadline error; the process goes on."""
    mod = _load(module, fmt, options=_wasm.HostOptions(deadline_s=1.0))
    inst = mod.instantiate(None)
    first = inst.handle(_msg("Count"), ENV)
    snap = inst.memory_snapshot()
    with pytest.raises(_wasm.HandleError) as info:
        inst.handle(_msg(action), ENV)
    assert info.value.kind == "timeout"
    again = mod.instantiate(snap).handle(_msg("Count"), ENV)
    assert again["Output"] != first["Output"]
    assert again["Output"].startswith("count=")


SHELLERS = [
    (f"c_echo_{g}.wasm", fmt, "System", "/tmp/c_echo_system_marker",
     "system -1 errno 52 (Function not implemented); system(NULL) 0")
    for g, fmt in GENS
] + [
    (f"lua_process_{g}.wasm", fmt, "Exec", "/tmp/lua_exec_marker", "execute: nil Function not implemented 52")
    for g, fmt in GENS
]


@pytest.mark.parametrize(("module", "fmt", "action", "marker", "output"), SHELLERS,
                         ids=[m[0] for m in SHELLERS])
def test_shell_commands_never_reach_the_host(module: str, fmt: str, action: str, marker: str,
                                             output: str) -> None:
    """system()/os.execute fail like an unsupported call (ENOSYS) and run nothing on the host.

    Gen 4 ao-loader under Node really runs the command; aocu.wasm deliberately does not.
    """
    marker_path = Path(marker)
    marker_path.unlink(missing_ok=True)
    res = _load(module, fmt).instantiate(None).handle(_msg(action), ENV)
    assert res["Output"] == output
    assert not marker_path.exists()


BOMBERS = [(f"{m}_{g}.wasm", fmt, "bomb: ") for m in ("c_echo", "lua_process") for g, fmt in GENS]


@pytest.mark.slow
@pytest.mark.parametrize(("module", "fmt", "prefix"), BOMBERS, ids=[m[0] for m in BOMBERS])
def test_memory_bomb_is_bounded(module: str, fmt: str, prefix: str) -> None:
    """A process allocating until failure is stopped at the host's memory limit and survives."""
    limit = 48 << 20
    inst = _load(module, fmt, memory_limit=limit).instantiate(None)
    res = inst.handle(_msg("Bomb"), ENV)
    assert res["Output"].startswith(prefix)
    mib = int(res["Output"].split()[1])
    assert 0 < mib < 48
    assert len(inst.memory_snapshot()) <= limit
    after = inst.handle(_msg("Echo", "still here"), ENV)
    assert after["Output"] == "still here"
