"""loader/test/emscripten2.test.js (gen 2, `wasm32-unknown-emscripten2`)."""

from __future__ import annotations

import pytest

from .conftest import AOS, E2, F2, simple_msg


def test_load_wasm_and_evaluate_message(load):
    msg, _ = simple_msg("echo", "Hello World")
    msg["Target"] = "FOO"
    res = load(E2, F2).instantiate().handle(msg, {"Process": {"Id": "ctr-id-456", "Tags": []}})
    assert res["Output"] == "Hello World"
    assert "GasUsed" in res


def test_separately_instantiated_instance_keeps_state(load):
    inst = load(E2, F2).instantiate()
    assert inst.handle(*simple_msg("inc"))["Output"] == 1
    assert inst.handle(*simple_msg("inc"))["Output"] == 2


def test_should_load_previous_memory(load):
    module = load(E2, F2)
    inst = module.instantiate()
    assert inst.handle(*simple_msg("inc"))["Output"] == 1
    assert module.instantiate(inst.memory_snapshot()).handle(*simple_msg("inc"))["Output"] == 2


def test_should_refill_the_gas_on_every_invocation(load):
    inst = load(E2, F2).instantiate()
    r1 = inst.handle(*simple_msg("inc"))
    r2 = inst.handle(*simple_msg("inc"))
    assert r1["GasUsed"] > 0
    assert abs(r1["GasUsed"] - r2["GasUsed"]) < 600_000


def test_should_run_out_of_gas(load, wasm):
    inst = load(E2, F2, compute_limit=9_000_000_000).instantiate()
    with pytest.raises(wasm.HandleError) as e:
        inst.handle(*simple_msg("foo"))
    assert e.value.value == "out of gas!"


def test_should_resize_the_initial_heap_for_a_larger_buffer(load):
    first = load(AOS, F2, compute_limit=9_000_000_000_000).instantiate()
    initial_size = len(first.memory_snapshot())
    res = first.handle(
        {"Owner": "tom", "Target": "FOO", "Tags": [{"name": "Action", "value": "Eval"}],
         "Module": "1234", "Block-Height": "1234", "Id": "1234",
         "Data": "\n          Data = {}\n          for i = 1, 100000 do\n"
                 "            table.insert(Data, \"Hello\")\n          end\n        "},
        {"Process": {"Owner": "tom", "Id": "ctr-id-456", "Tags": [{"name": "Module", "value": "1234"}],
                     "Module": "1234", "Block-Height": "1234"}},
    )
    assert not res.get("Error")
    grown = first.memory_snapshot()
    assert len(grown) > initial_size
    # the JS test hands the grown Memory to a new loader (default options), whose fresh heap is smaller
    nxt = load(AOS, F2).instantiate(grown).handle(
        {"Owner": "tom", "Target": "FOO", "Tags": [{"name": "Action", "value": "Eval"}], "Data": "#Data"},
        {"Process": {"Id": "ctr-id-456", "Tags": []}},
    )
    assert nxt["Output"]["data"]["output"] == 100000


def test_should_get_deterministic_date(load):
    # the loader test also accepts 1969-12-31 (host timezone); aocu pins UTC
    module = load(E2, F2)
    assert module.instantiate().handle(*simple_msg("Date"))["Output"] == "1970-01-01"
    assert module.instantiate().handle(*simple_msg("Date"))["Output"] == "1970-01-01"


def test_should_get_deterministic_random_numbers(load):
    inst = load(E2, F2).instantiate()
    assert inst.handle(*simple_msg("Random"))["Output"] == 0.5
    assert inst.handle(*simple_msg("Random"))["Output"] == 0.5


def test_should_not_list_files(load, wasm):
    with pytest.raises(wasm.HandleError) as e:
        load(E2, F2).instantiate().handle(*simple_msg("Directory"))
    assert e.value.value == "[string \".process\"]:47: 'popen' not supported"
