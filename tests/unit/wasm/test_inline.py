"""The host-import inlining rewrite (aocu.wasm._inline): same meaning, counters in the module.

The real modules' exactness (GasUsed, memory sha256 after every message) is
checked against ao-loader in tests/compat; here small WAT modules pin the
rewrite itself: every way the imports can be reached, and the cases it leaves alone.
"""

from __future__ import annotations

from typing import Any

import pytest
import wasmtime

from aocu.wasm._inline import (
    GAS_LIMIT_EXPORT,
    GAS_USED_EXPORT,
    GET_TEMP_RET0,
    MEMCPY_BIG,
    SET_TEMP_RET0,
    TEMP_RET0_EXPORT,
    USEGAS,
    inline_host_imports,
)

ROLES = {("metering", "usegas"): USEGAS, ("env", "getTempRet0"): GET_TEMP_RET0,
         ("env", "setTempRet0"): SET_TEMP_RET0}

GAS_WAT = """
(module
  (import "metering" "usegas" (func $gas (param {kind})))
  (import "env" "getTempRet0" (func $get (result i32)))
  (import "env" "setTempRet0" (func $set (param i32)))
  (table 1 funcref)
  (elem (i32.const 0) $gas)
  (type $g (func (param {kind})))
  (func (export "run") (param $n i32) (result i32)
    (local $i i32)
    (call $gas ({kind}.const 5))
    (loop $l
      (call $gas ({kind}.const 7))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (call $set (i32.const -3))
    (call $get))
  (func (export "indirect") (param {kind})
    (call_indirect (type $g) (local.get 0) (i32.const 0)))
  (func (export "straight")
    (call $gas ({kind}.const 5)))
  (func (export "dead") (result i32)
    (return (i32.const 1))
    (call $gas ({kind}.const 1))
    (i32.const 2)))
"""


class Host:
    """What the Instance binds the imports to after the rewrite: the slow path on the same globals."""

    def __init__(self) -> None:
        self.slow_calls: list[int] = []
        self.store = wasmtime.Store()
        self.instance: wasmtime.Instance | None = None

    def export(self, name: str) -> Any:
        assert self.instance is not None
        return self.instance.exports(self.store)[name]

    def usegas(self, amount: int) -> None:
        self.slow_calls.append(amount)
        used = self.export(GAS_USED_EXPORT)
        used.set_value(self.store, wasmtime.Val.i64(used.value(self.store) + amount))
        if used.value(self.store) > self.export(GAS_LIMIT_EXPORT).value(self.store):
            raise RuntimeError("out of gas!")


def instantiate(binary: bytes, kind: str) -> Host:
    host = Host()
    module = wasmtime.Module(host.store.engine, binary)
    imports = [
        wasmtime.Func(host.store, wasmtime.FuncType([getattr(wasmtime.ValType, kind)()], []), host.usegas),
        wasmtime.Func(host.store, wasmtime.FuncType([], [wasmtime.ValType.i32()]), lambda: 0),
        wasmtime.Func(host.store, wasmtime.FuncType([wasmtime.ValType.i32()], []), lambda _v: None),
    ]
    host.instance = wasmtime.Instance(host.store, module, imports)
    return host


@pytest.mark.parametrize("kind", ["i32", "i64"])
def test_gas_and_temp_ret0_live_in_exported_globals(kind: str) -> None:
    binary = inline_host_imports(wasmtime.wat2wasm(GAS_WAT.format(kind=kind)), ROLES)
    assert binary is not None
    host = instantiate(binary, kind)
    host.export(GAS_LIMIT_EXPORT).set_value(host.store, wasmtime.Val.i64(1000))
    assert host.export("run")(host.store, 3) == -3             # tempRet0 round trip through the global
    assert host.export(TEMP_RET0_EXPORT).value(host.store) == -3
    assert host.export(GAS_USED_EXPORT).value(host.store) == 5 + 3 * 7
    assert host.slow_calls == []                              # nothing left the module
    host.export("indirect")(host.store, 4)                    # through the table: the import itself
    assert host.slow_calls == [4]
    assert host.export(GAS_USED_EXPORT).value(host.store) == 30
    assert host.export("dead")(host.store) == 1               # rewritten unreachable code still validates
    host.export(GAS_LIMIT_EXPORT).set_value(host.store, wasmtime.Val.i64(29))
    with pytest.raises(RuntimeError, match="out of gas"):     # the slow path checks on its own
        host.export("indirect")(host.store, 0)


def test_straight_line_code_is_not_checked_in_the_module() -> None:
    # the host checks when the export returns (Instance._check_gas)
    binary = inline_host_imports(wasmtime.wat2wasm(GAS_WAT.format(kind="i32")), ROLES)
    assert binary is not None
    host = instantiate(binary, "i32")
    host.export(GAS_LIMIT_EXPORT).set_value(host.store, wasmtime.Val.i64(1))
    host.export("straight")(host.store)
    assert host.export(GAS_USED_EXPORT).value(host.store) == 5
    assert host.slow_calls == []


def test_negative_i32_gas_is_sign_extended_like_the_helper() -> None:
    binary = inline_host_imports(wasmtime.wat2wasm(GAS_WAT.format(kind="i32")), ROLES)
    assert binary is not None
    host = instantiate(binary, "i32")
    host.export(GAS_LIMIT_EXPORT).set_value(host.store, wasmtime.Val.i64(1000))
    host.export("indirect")(host.store, -10)
    assert host.export(GAS_USED_EXPORT).value(host.store) == -10


def test_out_of_gas_is_caught_at_the_next_loop_top() -> None:
    # the block that crosses the limit runs on; the loop's next iteration stops before its body
    binary = inline_host_imports(wasmtime.wat2wasm(GAS_WAT.format(kind="i64")), ROLES)
    assert binary is not None
    host = instantiate(binary, "i64")
    host.export(GAS_LIMIT_EXPORT).set_value(host.store, wasmtime.Val.i64(5 + 2 * 7))
    with pytest.raises(RuntimeError, match="out of gas"):
        host.export("run")(host.store, 10)
    assert host.slow_calls == [0]                             # the check at the 4th loop top
    assert host.export(GAS_USED_EXPORT).value(host.store) == 5 + 3 * 7


def test_sections_are_created_in_order_when_missing() -> None:
    wat = '(module (import "env" "getTempRet0" (func $get (result i32))) (func $f (result i32) (call $get)))'
    binary = inline_host_imports(wasmtime.wat2wasm(wat), ROLES)
    assert binary is not None
    module = wasmtime.Module(wasmtime.Engine(), binary)       # validates: globals before exports before code
    assert [e.name for e in module.exports] == [TEMP_RET0_EXPORT]


@pytest.mark.parametrize("wat", [
    '(module (func (export "f")))',                                              # nothing to inline
    '(module (import "metering" "usegas" (func (param f32))) (func (call 0 (f32.const 1))))',  # not the glue's
    f'(module (import "metering" "usegas" (func (param i32))) (global (export "{GAS_USED_EXPORT}") i32'
    ' (i32.const 0)))',                                                          # name taken
])
def test_left_alone(wat: str) -> None:
    assert inline_host_imports(wasmtime.wat2wasm(wat), ROLES) is None


def test_unknown_opcodes_leave_the_binary_alone() -> None:
    binary = bytearray(wasmtime.wat2wasm(
        '(module (import "metering" "usegas" (func (param i32))) (func (call 0 (i32.const 1)) nop))'))
    binary[binary.rindex(b"\x01\x0b")] = 0xFB                   # nop -> a GC-prefixed opcode
    assert inline_host_imports(bytes(binary), ROLES) is None
    assert inline_host_imports(b"not wasm", ROLES) is None


def test_memcpy_big_becomes_memory_copy() -> None:
    wat = """(module (import "env" "emscripten_memcpy_big" (func $cp (param i32 i32 i32)))
      (memory (export "memory") 1) (data (i32.const 8) "abcdef")
      (func (export "f") (param i32 i32 i32) (call $cp (local.get 0) (local.get 1) (local.get 2))))"""
    roles = {("env", "emscripten_memcpy_big"): MEMCPY_BIG}
    binary = inline_host_imports(wasmtime.wat2wasm(wat), roles)
    assert binary is not None
    store = wasmtime.Store()
    calls: list[tuple[int, ...]] = []
    host = wasmtime.Func(store, wasmtime.FuncType([wasmtime.ValType.i32()] * 3, []), lambda *a: calls.append(a))
    instance = wasmtime.Instance(store, wasmtime.Module(store.engine, binary), [host])
    memory = instance.exports(store)["memory"]
    instance.exports(store)["f"](store, 10, 8, 4)              # overlapping: memmove semantics
    assert bytes(memory.read(store, 8, 14)) == b"ababcd" and calls == []
    with pytest.raises(wasmtime.Trap):                        # out of bounds traps, as the host did
        instance.exports(store)["f"](store, 65530, 8, 10)
    wat64 = wat.replace("(memory (export \"memory\") 1)", "(memory (export \"memory\") i64 1)")
    assert inline_host_imports(wasmtime.wat2wasm(wat64), roles) is None   # only 32-bit memories
