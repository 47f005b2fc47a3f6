"""Small wasm modules that keep hot host services inside wasm.

Two services would otherwise cross into Python thousands of times a message
(loader-abi.md §6): ``metering.usegas`` (once per basic block of a metered
binary) and Emscripten's ``invoke_*``/``_emscripten_throw_longjmp`` (every Lua
``pcall`` and ``error``). Both are served by helper modules written in WAT:

* the gas meter keeps ``used``/``limit`` in wasm globals and calls the host
  only to report "out of gas!";
* the longjmp helper uses the exception-handling proposal: ``throw $lj``
  replaces JS's ``throw Infinity`` and ``try_table (catch $lj)`` around the
  indirect call replaces the JS ``try``/``catch`` in ``invoke_*``, followed by
  ``stackRestore(sp)`` and ``setThrew(1, 0)`` exactly as the glue does.

The longjmp helper must exist before the main instance (the main module
imports from it), so it owns tables filled after the main instance exists:
``$t`` a copy of ``__indirect_function_table`` (gen 1-3 call table entries
directly) and ``$h`` with stackSave, stackRestore, setThrew and the
``dynCall_*`` exports (gen 4 calls through ``dynCall_*`` like its glue, which
matters for metering because those exports are themselves metered).
Helpers are compiled once per `aocu.wasm.Module` and instantiated per store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import wasmtime

GAS_WAT = """
(module
  (import "host" "out_of_gas" (func $out_of_gas))
  (global $used (export "used") (mut i64) (i64.const 0))
  (global $limit (export "limit") (mut i64) (i64.const 0))
  (func (export "usegas_i32") (param i32)
    (global.set $used (i64.add (global.get $used) (i64.extend_i32_s (local.get 0))))
    (if (i64.gt_s (global.get $used) (global.get $limit)) (then (call $out_of_gas))))
  (func (export "usegas_i64") (param i64)
    (global.set $used (i64.add (global.get $used) (local.get 0)))
    (if (i64.gt_s (global.get $used) (global.get $limit)) (then (call $out_of_gas)))))
"""

# Copies the main instance's function table into the longjmp helper's $t.
TABLE_LINK_WAT = """
(module
  (import "main" "table" (table $src 0 funcref))
  (import "helper" "table" (table $dst 0 funcref))
  (func (export "link") (param $n i32)
    (table.copy $dst $src (i32.const 0) (i32.const 0) (local.get $n))))
"""

# Slots of the $h table.
SLOT_STACK_SAVE, SLOT_STACK_RESTORE, SLOT_SET_THREW = 0, 1, 2
FIRST_DYNCALL_SLOT = 3


@dataclass(frozen=True, slots=True)
class InvokeSpec:
    """One ``invoke_<sig>`` import: the wasm types after the table index."""

    name: str
    index_kind: str                 # i32, or i64 in wasm64 (``invoke_vjj``)
    params: tuple[str, ...]
    result: str | None
    dyncall_slot: int | None        # slot in $h of ``dynCall_<sig>`` (gen 4), else table path


@dataclass(slots=True)
class LongjmpHelperPlan:
    """What the longjmp helper must provide for one main module."""

    pointer_kind: str               # i32 or i64: stackSave/stackRestore/setThrew's first param
    table_size: int
    invokes: list[InvokeSpec] = field(default_factory=list)
    dyncall_exports: list[str] = field(default_factory=list)   # by slot - FIRST_DYNCALL_SLOT

    @property
    def uses_table(self) -> bool:
        return any(spec.dyncall_slot is None for spec in self.invokes)

    def wat(self) -> str:
        p = self.pointer_kind
        lines = [
            "(module",
            f"  (type $save (func (result {p})))",
            f"  (type $restore (func (param {p})))",
            f"  (type $threw (func (param {p} i32)))",
            "  (tag $lj)",
            f"  (table $t (export \"table\") {max(self.table_size, 1)} funcref)",
            f"  (table $h (export \"services\") {FIRST_DYNCALL_SLOT + len(self.dyncall_exports)} funcref)",
            "  (func (export \"throw_longjmp\") (throw $lj))",
        ]
        for n, spec in enumerate(self.invokes):
            lines.extend(_invoke_wat(n, spec, p))
        lines.append(")")
        return "\n".join(lines)


def _invoke_wat(n: int, spec: InvokeSpec, p: str) -> list[str]:
    params = " ".join(spec.params)
    result = f" (result {spec.result})" if spec.result else ""
    args = " ".join(f"(local.get {i + 1})" for i in range(len(spec.params)))
    index = "(local.get 0)" if spec.index_kind == "i32" else "(i32.wrap_i64 (local.get 0))"
    if spec.dyncall_slot is not None:
        type_decl = f"  (type $c{n} (func (param i32 {params}){result}))"
        call = f"(call_indirect $h (type $c{n}) {index} {args} (i32.const {spec.dyncall_slot}))"
    else:
        type_decl = f"  (type $c{n} (func (param {params}){result}))"
        call = f"(call_indirect $t (type $c{n}) {args} {index})"
    sp = len(spec.params) + 1
    zero = f"\n    ({spec.result}.const 0)" if spec.result else ""
    return [
        type_decl,
        f"  (func (export \"{spec.name}\") (param {spec.index_kind} {params}){result} (local {p})",
        f"    (local.set {sp} (call_indirect $h (type $save) (i32.const {SLOT_STACK_SAVE})))",
        "    (block $caught",
        f"      (try_table (catch $lj $caught) (return {call})))",
        f"    (call_indirect $h (type $restore) (local.get {sp}) (i32.const {SLOT_STACK_RESTORE}))",
        f"    (call_indirect $h (type $threw) ({p}.const 1) (i32.const 0)"
        f" (i32.const {SLOT_SET_THREW})){zero})",
    ]


def compile_wat(engine: wasmtime.Engine, wat: str) -> wasmtime.Module:
    return wasmtime.Module(engine, wasmtime.wat2wasm(wat))
