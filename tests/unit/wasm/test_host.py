"""aocu.wasm's own guarantees: API contract, isolation, threads, traps, hostile pointers.

Uses the project's fixture modules (tests/fixtures/modules) and small WAT modules
written here; the exactness against ao-loader is covered by test_fixture_modules.py
and tests/compat.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from aocu.wasm import (
    FORMATS,
    HandleError,
    HostOptions,
    ModuleFormatError,
    ModuleLinkError,
    WasmError,
    load_module,
)

MODULES = Path(__file__).resolve().parents[2] / "fixtures" / "modules"
ENV = {"Process": {"Id": "PROCESS_ID", "Owner": "OWNER", "Tags": []}}
GEN2 = "wasm32-unknown-emscripten2"


def msg(action: str, data: str = "", **tags: str) -> dict[str, Any]:
    return {
        "Id": f"msg-{action}", "Owner": "OWNER", "From": "OWNER", "Target": "PROCESS_ID", "Data": data,
        "Tags": [{"name": "Action", "value": action}] + [{"name": k, "value": v} for k, v in tags.items()],
        "Block-Height": "1", "Timestamp": "1700000000000",
    }


@pytest.fixture(scope="module")
def lua2() -> Any:
    return load_module((MODULES / "lua_process_gen2.wasm").read_bytes(), GEN2)


@pytest.fixture(scope="module")
def echo2() -> Any:
    return load_module((MODULES / "c_echo_gen2.wasm").read_bytes(), GEN2)


# ---------------------------------------------------------------- loading
def test_unknown_format_is_a_clear_error() -> None:
    with pytest.raises(ModuleFormatError, match=r"unsupported module format 'wasm32-unknown-nope'"):
        load_module(b"\0asm\1\0\0\0", "wasm32-unknown-nope")
    assert issubclass(ModuleFormatError, ValueError)
    assert len(FORMATS) == 7


def test_garbage_binary_is_a_link_error() -> None:
    with pytest.raises(ModuleLinkError, match="cannot compile module"):
        load_module(b"not wasm at all", GEN2)


def test_import_the_glue_does_not_provide_is_refused_at_load() -> None:
    binary = wasmtime.wat2wasm('(module (import "env" "spawn_shell" (func)) (memory (export "memory") 1))')
    with pytest.raises(ModuleLinkError, match=r"env\.spawn_shell is not provided"):
        load_module(binary, GEN2)


def test_result_has_the_loader_keys_and_no_memory(echo2: Any) -> None:
    result = echo2.instantiate().handle(msg("Echo", "hi"), ENV)
    assert result["Output"] == "hi"
    assert "Memory" not in result
    assert result["Patches"] == []
    assert result["GasUsed"] == 0          # unmetered formats report 0, as the loader does
    assert "Error" not in result


# ---------------------------------------------------------------- warm instances and snapshots
def test_instantiate_from_snapshot_continues_like_the_warm_instance(lua2: Any) -> None:
    warm = lua2.instantiate()
    for _ in range(3):
        warm.handle(msg("Count"), ENV)
    snapshot = warm.memory_snapshot()
    cold = lua2.instantiate(snapshot)
    assert cold.memory_snapshot() == snapshot
    a, b = warm.handle(msg("Count"), ENV), cold.handle(msg("Count"), ENV)
    assert a == b
    assert hashlib.sha256(warm.memory_snapshot()).digest() == hashlib.sha256(cold.memory_snapshot()).digest()


def test_instances_of_one_module_are_independent(lua2: Any) -> None:
    a, b = lua2.instantiate(), lua2.instantiate()
    a.handle(msg("Count"), ENV)
    a.handle(msg("Count"), ENV)
    assert a.handle(msg("Count"), ENV)["Output"] != b.handle(msg("Count"), ENV)["Output"]


def test_after_a_thrown_error_the_instance_is_discarded(echo2: Any) -> None:
    inst = echo2.instantiate()
    with pytest.raises(HandleError) as info:
        inst.handle(msg("Fail"), ENV)
    assert info.value.kind == "response"
    with pytest.raises(WasmError, match="unusable"):
        inst.handle(msg("Echo", "x"), ENV)


@pytest.mark.parametrize(("action", "kind", "value"), [
    ("Trap", "trap", "unreachable"),
    ("Abort", "abort", "Aborted(native code called abort())"),
    ("Exit", "exit", "Program terminated with exit(3)"),
    ("Empty", "host", "Unexpected end of JSON input"),
])
def test_failures_carry_the_loader_value(echo2: Any, action: str, kind: str, value: str) -> None:
    with pytest.raises(HandleError) as info:
        echo2.instantiate().handle(msg(action), ENV)
    assert (info.value.kind, info.value.value) == (kind, value)


# ---------------------------------------------------------------- threads
def test_instances_in_threads_keep_their_own_errors(lua2: Any, echo2: Any) -> None:
    """wasmtime-py relays host exceptions through a process global; ours must not mix."""
    failures: list[str] = []
    host_raised = [("Abort", "abort"), ("Exit", "exit")]

    def worker(n: int) -> None:
        inst = lua2.instantiate()
        for i in range(40):
            code = f"local ok, e = pcall(error, 'e{n}-{i}') return e"
            out = inst.handle(msg("Eval", code), ENV)["Output"]
            if f"e{n}-{i}" not in str(out):
                failures.append(f"thread {n} message {i}: {out!r}")
            error = lua2.instantiate().handle(msg("Eval", f"error('boom{n}-{i}')"), ENV).get("Error")
            if f"boom{n}-{i}" not in str(error):
                failures.append(f"thread {n} got another thread's error {error!r}")
            action, kind = host_raised[n]          # raised in Python inside a host import
            try:
                echo2.instantiate().handle(msg(action), ENV)
            except HandleError as exc:
                if exc.kind != kind:
                    failures.append(f"thread {n} expected {kind}, got {exc.kind}: {exc.value!r}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_one_instance_refuses_concurrent_use(lua2: Any) -> None:
    inst = lua2.instantiate()
    inst._busy.acquire()          # as if another thread were inside handle
    try:
        with pytest.raises(WasmError, match="another thread"):
            inst.handle(msg("Count"), ENV)
    finally:
        inst._busy.release()
    assert inst.handle(msg("Count"), ENV)["Output"].startswith("count=")


# ---------------------------------------------------------------- hostile modules (WAT)
def _gen2_wat(handle_body: str, extra_imports: str = "") -> bytes:
    """A minimal module with the gen 2 glue's exports, whose handle runs ``handle_body``."""
    return wasmtime.wat2wasm(f"""
    (module
      {extra_imports}
      (memory (export "memory") 2 100)
      (table (export "__indirect_function_table") 1 funcref)
      (global $sp (mut i32) (i32.const 65536))
      (data (i32.const 1024) "{{\\"ok\\":true,\\"response\\":{{\\"Output\\":\\"fine\\"}}}}\\00")
      (func (export "__wasm_call_ctors"))
      (func (export "emscripten_stack_init"))
      (func (export "emscripten_stack_get_end") (result i32) (i32.const 4096))
      (func (export "stackSave") (result i32) (global.get $sp))
      (func (export "stackRestore") (param i32) (global.set $sp (local.get 0)))
      (func (export "stackAlloc") (param i32) (result i32)
        (global.set $sp (i32.and (i32.sub (global.get $sp) (local.get 0)) (i32.const -16)))
        (global.get $sp))
      (func (export "setThrew") (param i32 i32))
      (func (export "__errno_location") (result i32) (i32.const 2048))
      (func $recurse (param i32) (result i32) (call $recurse (i32.add (local.get 0) (i32.const 1))))
      (func (export "handle") (param i32 i32) (result i32) {handle_body}))
    """)


def test_hostile_pointer_is_an_error_not_a_crash() -> None:
    binary = _gen2_wat(
        "(drop (call $fd_write (i32.const 1) (i32.const 0x7ffffff0) (i32.const 1) (i32.const 0)))"
        "(i32.const 1024)",
        '(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))',
    )
    with pytest.raises(HandleError) as info:
        load_module(binary, GEN2).instantiate().handle({}, {})
    assert info.value.kind == "trap"
    assert "out of bounds" in info.value.value


def test_unterminated_result_string_is_an_error_not_a_crash() -> None:
    binary = _gen2_wat("(memory.fill (i32.const 0) (i32.const 65) (i32.const 131072)) (i32.const 131000)")
    with pytest.raises(HandleError):
        load_module(binary, GEN2).instantiate().handle({}, {})


def test_stack_overflow_is_an_error_not_a_crash() -> None:
    binary = _gen2_wat("(drop (call $recurse (i32.const 0))) (i32.const 1024)")
    with pytest.raises(HandleError) as info:
        load_module(binary, GEN2).instantiate().handle({}, {})
    assert info.value.value == "Maximum call stack size exceeded"


def test_runaway_loop_stops_at_the_deadline() -> None:
    binary = _gen2_wat("(loop $l (br $l)) (i32.const 1024)")
    module = load_module(binary, GEN2, options=HostOptions(deadline_s=0.2))
    with pytest.raises(HandleError) as info:
        module.instantiate().handle({}, {})
    assert info.value.kind == "timeout"


def test_memory_limit_caps_growth_the_reference_would_allow() -> None:
    binary = _gen2_wat(
        "(drop (call $resize (i32.const 5000000))) (i32.const 1024)",
        '(import "env" "emscripten_resize_heap" (func $resize (param i32) (result i32)))',
    )
    unlimited = load_module(binary, GEN2).instantiate()
    unlimited.handle({}, {})
    assert unlimited.memory_size() >= 5_000_000
    limited = load_module(binary, GEN2, memory_limit=1 << 20).instantiate()
    limited.handle({}, {})
    assert limited.memory_size() <= 1 << 20
