"""Byte-exact comparison with @permaweb/ao-loader@0.0.49 over tools/loader_diff/scenarios.

Needs AO_TEST_MODULES and AOCU_LOADER_GOLDEN (recordings made by tools/loader_diff/record.cjs;
they are derived from the test modules, so they live outside the repo). Each scenario compares
Output, Messages, Spawns, Assignments, Patches, Error, GasUsed, thrown values, and the length and
sha256 of memory after every message (not memory for scenarios marked "compare": {"memory": false}).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "loader_diff"


def _compare_module():
    name = "aocu_loader_diff_compare"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TOOL / "compare.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod  # dataclasses look their module up there
        spec.loader.exec_module(mod)
    return sys.modules[name]


SCENARIOS = sorted((TOOL / "scenarios").glob("*.json"))


@pytest.fixture(scope="module")
def golden_dir() -> Path:
    d = os.environ.get("AOCU_LOADER_GOLDEN")
    if not d:
        pytest.skip("AOCU_LOADER_GOLDEN is not set (recordings of tools/loader_diff/record.cjs)")
    return Path(d)


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_matches_recorded_loader(path: Path, golden_dir: Path, modules_dir: Path, wasm) -> None:
    compare = _compare_module()
    scenario = json.loads(path.read_text())
    name = compare.scenario_name(path, scenario)
    if not (golden_dir / f"{name}.json").exists():
        pytest.skip(f"no recording for {name} in {golden_dir}")
    rep, _expected, _got = compare.compare_scenario(path, scenario, golden_dir, modules_dir)
    assert rep.error is None, rep.error
    if rep.diffs:
        lines = [f"{len(rep.differing_messages)} of {rep.compared} messages differ; first differences:"]
        for d in rep.diffs[:12]:
            lines.append(f"  #{d.index} {d.field}: expected {d.expected}")
            lines.append(f"  #{d.index} {d.field}:      got {d.got}" + (f"  ({d.note})" if d.note else ""))
        pytest.fail("\n".join(lines), pytrace=False)
