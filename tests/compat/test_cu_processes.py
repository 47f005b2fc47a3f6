"""servers/cu/src/effects/worker/evaluate.test.js: the CU's happy/sad test processes (gen 1).

The CU test goes through the worker's evaluate(); what it asserts about the loader's result is
checked here at the host level. CU-level mapping (Assignments defaulting to [], a thrown error
becoming {Error}, keeping the previous Memory) belongs to the CU, not to aocu.wasm.
"""

from __future__ import annotations

import json

import pytest

from .conftest import F1, HAPPY, SAD

OPTS = {"compute_limit": 9_000_000_000_000, "memory_limit": 524_288_000}
AO_GLOBAL = {"Process": {"Id": "1234", "Tags": []}}


def _msg(fn: str, owner: str = "owner-123", height: int = 1234) -> dict:
    return {"Id": "message-123", "Timestamp": 1702846520559, "Owner": owner,
            "Tags": [{"name": "function", "value": fn}], "Block-Height": height}


def test_happy_returns_messages_spawns_and_output(load):
    res = load(HAPPY, F1, **OPTS).instantiate().handle(_msg("hello"), AO_GLOBAL)
    assert res["Messages"] == [{
        "Target": "process-foo-123",
        "Tags": [{"name": "foo", "value": "bar"}, {"name": "function", "value": "noop"}],
    }]
    assert res["Spawns"] == [{"Owner": "owner-123", "Tags": [
        {"name": "foo", "value": "bar"},
        {"name": "balances", "value": '{"myOVEwyX7QKFaPkXo3Wlib-Q80MOf5xyjL9ZyvYSVYc": 1000 }'}]}]
    assert not res.get("Assignments")  # the process returns none; the CU defaults it to []
    assert json.loads(res["Output"]) == {
        "heardHello": True,
        "lastMessage": {"Id": "message-123", "Timestamp": 1702846520559, "Owner": "owner-123",
                        "Tags": [{"name": "function", "value": "hello"}], "Block-Height": 1234,
                        "function": "hello"},
    }


def test_happy_folds_state_across_invocations(load):
    inst = load(HAPPY, F1, **OPTS).instantiate()
    inst.handle(_msg("hello"), AO_GLOBAL)
    res = inst.handle(_msg("world", owner="owner-456", height=1235), AO_GLOBAL)
    assert json.loads(res["Output"]) == {
        "heardHello": True, "heardWorld": True, "happy": True,
        "lastMessage": {"Id": "message-123", "Timestamp": 1702846520559, "Owner": "owner-456",
                        "Tags": [{"name": "function", "value": "world"}], "Block-Height": 1235,
                        "function": "world"},
    }


@pytest.fixture
def sad_on_hello_memory(load):
    # evaluate.test.js passes Memory = Buffer.from('Hello') to a fresh instance: the loader copies
    # those 5 bytes over the start of the booted memory and evaluates as usual
    return load(SAD, F1, **OPTS).instantiate(b"Hello")


def test_sad_error_returned_in_process_result(sad_on_hello_memory):
    res = sad_on_hello_memory.handle(_msg("errorResult", owner="owner-456"), AO_GLOBAL)
    assert res["Error"] == {"code": 123, "message": "a handled error within the process"}


def test_sad_error_thrown_by_process(sad_on_hello_memory, wasm):
    with pytest.raises(wasm.HandleError) as e:
        sad_on_hello_memory.handle(_msg("errorThrow", owner="owner-456"), AO_GLOBAL)
    assert e.value.value == {"code": 123, "message": "a thrown error within the process"}
    assert e.value.kind == "response"


def test_sad_error_unhandled_by_process(sad_on_hello_memory, wasm):
    with pytest.raises(wasm.HandleError) as e:
        sad_on_hello_memory.handle(_msg("errorUnhandled", owner="owner-456"), AO_GLOBAL)
    assert isinstance(e.value.value, str)
    assert e.value.value.endswith("attempt to index a nil value (field 'field')")


def test_sad_counter_continues_from_snapshot_after_a_throw(load, wasm):
    module = load(SAD, F1, **OPTS)
    inst = module.instantiate()
    assert inst.handle(_msg("counter"), AO_GLOBAL)["Output"] == "1"
    snap = inst.memory_snapshot()
    with pytest.raises(wasm.HandleError):
        inst.handle(_msg("errorThrow"), AO_GLOBAL)
    # after a throw the instance is discarded; the CU continues from the previous memory
    assert module.instantiate(snap).handle(_msg("counter"), AO_GLOBAL)["Output"] == "2"
