"""loader/test/loader.test.js: gen 4 and wasm64, plain and metering formats.

The JS file also runs each case with `UNSAFE_MEMORY: true` (the loader then returns the live
ArrayBuffer instead of a copy). aocu has no such option: memory_snapshot() always copies, so
those variants are the same test here.
"""

from __future__ import annotations

import pytest

from .conftest import E4, F4, F4M, F64, F64M, W64, get_env, get_msg

CASES = [
    pytest.param(E4, F4, id="emscripten4"),
    pytest.param(W64, F64, id="wasm64"),
    pytest.param(E4, F4M, id="emscripten4-metering"),
    pytest.param(W64, F64M, id="wasm64-metering"),
]


@pytest.mark.parametrize(("path", "fmt"), CASES)
def test_load_wasm_and_evaluate_message(load, path, fmt):
    inst = load(path, fmt).instantiate()
    res = inst.handle(get_msg("return 'Hello World'"), get_env())
    assert res["Output"]["data"] == "Hello World"
    assert res["Messages"] == []
    assert res["Spawns"] == []
    assert not res.get("Error")
    assert len(inst.memory_snapshot()) > 0


@pytest.mark.parametrize(("path", "fmt"), CASES)
def test_separately_instantiated_instance(load, path, fmt):
    module = load(path, fmt)
    inst = module.instantiate()
    assert inst.handle(get_msg("count = 1\nreturn count"), get_env())["Output"]["data"] == "1"
    # JS: handle(result.Memory, ...); the same instance and a new one from the snapshot agree
    snap = inst.memory_snapshot()
    assert inst.handle(get_msg("count = count + 1\nreturn count"), get_env())["Output"]["data"] == "2"
    again = module.instantiate(snap)
    assert again.handle(get_msg("count = count + 1\nreturn count"), get_env())["Output"]["data"] == "2"


@pytest.mark.parametrize(("path", "fmt"), CASES)
def test_should_get_deterministic_date(load, path, fmt):
    # the JS test accepts 1969-12-31 too (host timezone); aocu pins UTC
    res = load(path, fmt).instantiate().handle(get_msg('return os.date("%Y-%m-%d")'), get_env())
    assert res["Output"]["data"] == "1970-01-01"


@pytest.mark.parametrize(("path", "fmt"), CASES)
def test_should_get_deterministic_random_numbers(load, path, fmt):
    module = load(path, fmt)
    for _ in range(2):  # a new loader each time in the JS test
        res = module.instantiate().handle(get_msg("return math.random(1, 10)"), get_env())
        assert res["Output"]["data"] == "4"
