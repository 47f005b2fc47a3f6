"""loader/test/metering.test.js: the `-metering` formats meter the binary at load time."""

from __future__ import annotations

import pytest

from .conftest import E4, F4, F4M, F64, F64M, W64, get_env, get_msg

CASES = [
    pytest.param(E4, F4M, F4, id="emscripten4-metering"),
    pytest.param(W64, F64M, F64, id="wasm64-metering"),
]


@pytest.mark.parametrize(("path", "fmt", "standard"), CASES)
def test_should_use_gas_for_computation(load, path, fmt, standard):
    module = load(path, fmt)
    initial = module.instantiate()
    initial.handle(get_msg('return "OK"'), get_env())
    snap = initial.memory_snapshot()
    # JS passes initial.Memory to the same handle twice; here: two instances from that snapshot
    r1 = module.instantiate(snap).handle(get_msg("return 1+1"), get_env())
    assert r1["GasUsed"] > 0
    r2 = module.instantiate(snap).handle(get_msg("return 1+1+1"), get_env())
    assert r2["GasUsed"] > r1["GasUsed"]


@pytest.mark.parametrize(("path", "fmt", "standard"), CASES)
def test_should_load_previous_memory_and_refill_gas(load, path, fmt, standard):
    module = load(path, fmt)
    inst = module.instantiate()
    initial = inst.handle(get_msg("count = 1\nreturn count"), get_env())
    assert initial["Output"]["data"] == "1"
    assert initial["GasUsed"] > 0
    r1 = inst.handle(get_msg("count = count + 1\nreturn count"), get_env())
    assert r1["Output"]["data"] == "2"
    assert r1["GasUsed"] > 0
    again = module.instantiate(inst.memory_snapshot())
    r2 = again.handle(get_msg("count = count + 1\nreturn count"), get_env())
    assert r2["Output"]["data"] == "3"
    assert r2["GasUsed"] > 0
    assert abs(r1["GasUsed"] - r2["GasUsed"]) < 1_900_000
    # the first call pays for the Lua boot: far more than a warm call
    assert initial["GasUsed"] > 10 * r1["GasUsed"]


@pytest.mark.parametrize(("path", "fmt", "standard"), CASES)
def test_should_run_out_of_gas(load, wasm, path, fmt, standard):
    inst = load(path, fmt, compute_limit=10_750_000_000).instantiate()
    with pytest.raises(wasm.HandleError) as e:
        inst.handle(get_msg("\n count = 0\n for i = 1, 1000 do\n count = count + 1\n end\n return count\n"),
                    get_env())
    assert e.value.value == "out of gas!"
    assert e.value.kind == "out-of-gas"


@pytest.mark.parametrize(("path", "fmt", "standard"), CASES)
def test_metering_should_only_apply_to_metering_formats(load, path, fmt, standard):
    res = load(path, standard).instantiate().handle(get_msg("return 'Hello World'"), get_env())
    assert res["GasUsed"] == 0


@pytest.mark.parametrize(("path", "fmt", "standard"), CASES)
def test_compute_limit_is_ignored_by_unmetered_formats(load, path, fmt, standard):
    # Compute-Limit only feeds the gas counter; the plain formats have none (loader 0.0.49)
    res = load(path, standard, compute_limit=1).instantiate().handle(get_msg("return 1"), get_env())
    assert res["Output"]["data"] == "1"
