"""LiveProcess rolls back like the reference CU, without a memory copy per message.

The reference evaluates with a copy in and out per message; `reference_run` below does
exactly that (snapshot before each message, a fresh instance from the previous memory
after an error). LiveProcess must give the same results and the same memory after every
message, including when the failing message comes long after the last base (replay),
and when messages read the glue's Date.now counter and write MEMFS files (host-side
state that the replay must reproduce, then reset like a fresh instance).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from aocu.pipeline import LiveProcess, normalize
from aocu.wasm import HandleError, WasmError, load_module

MODULES = Path(__file__).resolve().parents[2] / "fixtures" / "modules"
ENV = {"Process": {"Id": "PROCESS_ID", "Owner": "OWNER", "Tags": []}}


def eval_msg(n: int, code: str) -> dict[str, Any]:
    return {"Id": f"m{n}", "Owner": "OWNER", "From": "OWNER", "Target": "PROCESS_ID", "Data": code,
            "Tags": [{"name": "Action", "value": "Eval"}], "Block-Height": "1", "Timestamp": str(n)}


STREAM = [
    "Counter = (Counter or 0) + 1 return Counter",
    "return os.time()",                                     # reads Date.now (gen 3/4)
    "local f = io.open('/tmp/log', 'a') f:write('x') f:close() return 'w'",   # MEMFS
    "Counter = Counter + 1 error('boom')",                  # rolled back
    "return Counter",
    "T = {} for i = 1, 2000 do T[i] = string.rep('y', 100) end return #T",
    "return os.time()",
    "error({code = 7})",
    "local f = io.open('/tmp/log') local s = f and f:read('a') return tostring(s)",
    "Counter = Counter + 10 return Counter",
    "return os.clock()",
    "this is not lua",
    "return Counter",
]


def reference_run(module: Any, messages: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """The reference's way: a copy of memory before every message, a fresh instance after an error."""
    instance, out = module.instantiate(), []
    for message in messages:
        before = instance.memory_snapshot()
        try:
            raw = instance.handle(message, ENV)
        except HandleError as exc:
            raw = {"Error": exc.value}
        if raw.get("Error"):
            instance = module.instantiate(before)
        out.append((normalize(raw), hashlib.sha256(instance.memory_snapshot()).hexdigest()))
    return out


@pytest.mark.parametrize(("name", "fmt"), [
    ("lua_process_gen4.wasm", "wasm32-unknown-emscripten4"),
    ("lua_process_gen3.wasm", "wasm32-unknown-emscripten3"),
    ("lua_process_gen2.wasm", "wasm32-unknown-emscripten2"),
])
@pytest.mark.parametrize("rebase_after_messages", [1, 3, 1000])
def test_same_results_and_memory_as_copying_every_message(name: str, fmt: str,
                                                          rebase_after_messages: int) -> None:
    module = load_module((MODULES / name).read_bytes(), fmt)
    expected = reference_run(module, [eval_msg(n, code) for n, code in enumerate(STREAM)])
    live = LiveProcess(module, rebase_after_messages=rebase_after_messages)
    for n, code in enumerate(STREAM):
        evaluated = live.evaluate(eval_msg(n, code), ENV)
        memory = hashlib.sha256(live.instance.memory_snapshot()).hexdigest()
        assert (evaluated.result, memory) == expected[n], f"message {n}: {code}"
    assert live.rollbacks >= 1


@pytest.mark.parametrize(("name", "fmt"), [
    ("lua_process_gen4.wasm", "wasm32-unknown-emscripten4"),
    ("lua_process_gen2.wasm", "wasm32-unknown-emscripten2"),
])
def test_a_fresh_process_takes_no_copy_and_rolls_back_to_a_fresh_memory(name: str, fmt: str) -> None:
    """The first base of a cold start is the module itself: a failure before any rebase
    rebuilds the fresh memory by instantiating again (and the next messages see it)."""
    module = load_module((MODULES / name).read_bytes(), fmt)
    codes = ["Counter = 5 error('first fails')", "this is not lua", "return Counter",
             "Counter = (Counter or 0) + 1 return Counter", "error('boom')", "return Counter"]
    messages = [eval_msg(n, code) for n, code in enumerate(codes)]
    expected = reference_run(module, messages)
    live = LiveProcess(module)
    assert live._base.memory is None and live.rebases == 1
    got = []
    for message in messages:
        evaluated = live.evaluate(message, ENV)
        got.append((evaluated.result, hashlib.sha256(live.instance.memory_snapshot()).hexdigest()))
    assert got == expected
    assert live.rollbacks == 3


def test_error_free_stream_takes_no_snapshot_per_message() -> None:
    module = load_module((MODULES / "lua_process_gen4.wasm").read_bytes(), "wasm32-unknown-emscripten4")
    live = LiveProcess(module)
    for n in range(50):
        live.evaluate(eval_msg(n, "Counter = (Counter or 0) + 1 return Counter"), ENV)
    assert live.rebases == 1          # only the initial base
    assert live.rollbacks == 0


def action_msg(n: int, action: str) -> dict[str, Any]:
    return {"Id": f"m{n}", "Owner": "OWNER", "From": "OWNER", "Target": "PROCESS_ID", "Data": "",
            "Tags": [{"name": "Action", "value": action}], "Block-Height": "1", "Timestamp": str(n)}


@pytest.mark.parametrize(("name", "fmt"), [
    ("c_echo_gen4.wasm", "wasm32-unknown-emscripten4"),
    ("c_echo_gen3.wasm", "wasm32-unknown-emscripten3"),
])
def test_replay_from_a_mid_stream_base_restores_host_state(name: str, fmt: str) -> None:
    """A base taken mid-stream carries the glue's Date.now counter; replay must start from it.

    c_echo's Time action reports clock_gettime in nanoseconds, which moves with every
    Date.now read; a replay from fresh host state would give other values.
    """
    actions = ["Time", "Count", "Time", "Count", "Time", "Fail", "Time", "ErrorField", "Count", "Time"]
    module = load_module((MODULES / name).read_bytes(), fmt)
    expected = reference_run(module, [action_msg(n, a) for n, a in enumerate(actions)])
    live = LiveProcess(module, rebase_after_messages=2)
    got = []
    for n, action in enumerate(actions):
        evaluated = live.evaluate(action_msg(n, action), ENV)
        got.append((evaluated.result, hashlib.sha256(live.instance.memory_snapshot()).hexdigest()))
    assert got == expected
    assert live.rebases >= 3 and live.rollbacks == 2


def test_a_handed_over_memory_is_the_first_base_packed_and_snapshots_leave_the_base_alone() -> None:
    """A decoded checkpoint becomes the first base, packed (no snapshot of the instance); the
    caller's buffer is not kept. A snapshot is a plain copy: bases are taken only by evaluation."""
    module = load_module((MODULES / "lua_process_gen4.wasm").read_bytes(), "wasm32-unknown-emscripten4")
    first = LiveProcess(module)
    first.evaluate(eval_msg(0, "Counter = 41 return Counter"), ENV)
    memory = bytearray(first.memory_snapshot())                 # what a checkpoint decoder hands over
    live = LiveProcess(module, memory)
    assert live.rebases == 1 and live._base.memory is not None and live._base.memory.size == len(memory)
    assert 0 < live.base_bytes < len(memory) // 4               # packed
    snapshot = live.memory_snapshot()
    assert type(snapshot) is bytes and snapshot == memory
    memory[:4] = b"XXXX"                                        # the caller's buffer is not the base
    assert live.memory_snapshot() == snapshot and live.rebases == 1
    live.evaluate(eval_msg(1, "Counter = Counter + 1 return Counter"), ENV)
    at_42 = live.memory_snapshot()
    assert live.rebases == 1                                    # a snapshot takes no base
    failed = live.evaluate(eval_msg(2, "Counter = 100 error('boom')"), ENV)
    assert failed.rolled_back and live.instance.memory_snapshot() == at_42       # base + replay
    assert live.evaluate(eval_msg(3, "return Counter"), ENV).result == first.evaluate(
        eval_msg(3, "return Counter + 1"), ENV).result


@pytest.mark.parametrize("code", ["Counter = 1 return Counter", "Counter = 2 error('boom')", "not lua",
                                  "return 'x: not enough memory for buffer allocation'"])
def test_a_single_use_fork_gives_the_same_results_and_keeps_no_base(code: str) -> None:
    """A dry-run's fork: the result of a full LiveProcess, without a base or any rollback work."""
    module = load_module((MODULES / "lua_process_gen2.wasm").read_bytes(), "wasm32-unknown-emscripten2")
    base = LiveProcess(module)
    base.evaluate(eval_msg(0, "Counter = 41 return Counter"), ENV)
    memory = base.memory_snapshot()
    full, fork = LiveProcess(module, memory), LiveProcess(module, memory, single_use=True)
    expected, got = full.evaluate(eval_msg(1, code), ENV), fork.evaluate(eval_msg(1, code), ENV)
    assert (got.result, got.rolled_back) == (expected.result, expected.rolled_back)
    assert fork.base_bytes == 0 and fork.rollbacks == 0 and fork.rebases == 0
    fork.close()


def test_an_instance_dropped_by_a_rollback_is_closed_at_once() -> None:
    """Instances are reference cycles: closed, their memory goes now, not at the next collection."""
    module = load_module((MODULES / "lua_process_gen4.wasm").read_bytes(), "wasm32-unknown-emscripten4")
    live = LiveProcess(module)
    live.evaluate(eval_msg(0, "Counter = 1 return Counter"), ENV)
    old = live.instance
    assert live.evaluate(eval_msg(1, "error('boom')"), ENV).rolled_back
    assert live.instance is not old
    with pytest.raises(WasmError, match="closed"):
        old.handle(eval_msg(2, "return Counter"), ENV)
    assert "1" in str(live.evaluate(eval_msg(2, "return Counter"), ENV).result["Output"])


def test_the_buffer_allocation_failure_restores_the_memory_from_before_it_without_an_error() -> None:
    """reference: an Output ending in this text copies the previous memory back into the same
    instance and sets no Error; on a fresh process that memory is the fresh one."""
    module = load_module((MODULES / "lua_process_gen4.wasm").read_bytes(), "wasm32-unknown-emscripten4")
    fresh = module.instantiate().memory_snapshot()
    live = LiveProcess(module)
    failed = live.evaluate(eval_msg(0, "Counter = 5 return 'oops: not enough memory for buffer allocation'"), ENV)
    assert failed.rolled_back and "Error" not in failed.result
    assert live.instance.memory_snapshot() == fresh
    live.evaluate(eval_msg(1, "Counter = 7 return Counter"), ENV)
    at_7 = live.instance.memory_snapshot()
    again = live.evaluate(eval_msg(2, "Counter = 9 return 'not enough memory for buffer allocation'"), ENV)
    assert again.rolled_back and live.instance.memory_snapshot() == at_7
    assert "7" in str(live.evaluate(eval_msg(3, "return Counter"), ENV).result["Output"])


def test_a_costly_copy_waits_for_proportionally_more_messages_before_the_next_base() -> None:
    """A base's copy stays a small share of the evaluation: a memory that copies slowly (a GiB
    takes ~0.8 s) rebases after more messages; a cheap one after the configured count."""
    module = load_module((MODULES / "lua_process_gen2.wasm").read_bytes(), "wasm32-unknown-emscripten2")
    live = LiveProcess(module, rebase_after_messages=2, rebase_after_s=2.0)
    assert 0 < live.snapshot_s < 0.1                  # estimated from the memory's size
    live.snapshot_s = 1.0                             # as if copying took a second: 5x the messages
    for n in range(9):
        live.evaluate(eval_msg(n, "Counter = (Counter or 0) + 1 return Counter"), ENV)
    assert live.rebases == 1
    live.evaluate(eval_msg(9, "Counter = Counter + 1 return Counter"), ENV)
    assert live.rebases == 2 and live.snapshot_s < 1.0      # the copy just taken was timed
    for n in range(10, 12):
        live.evaluate(eval_msg(n, "Counter = Counter + 1 return Counter"), ENV)
    assert live.rebases == 3
    failed = live.evaluate(eval_msg(12, "Counter = 0 error('boom')"), ENV)
    assert failed.rolled_back
    assert "13" in str(live.evaluate(eval_msg(13, "Counter = Counter + 1 return Counter"), ENV).result["Output"])
