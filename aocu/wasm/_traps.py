"""Wasm traps translated into what V8 (and so ao-loader) would have thrown.

The reference CU stores the thrown ``WebAssembly.RuntimeError``'s message;
wasmtime words traps differently, so each trap code maps to V8's text.
"""

from __future__ import annotations

import wasmtime
from wasmtime import TrapCode

from ._errors import HandleError

_V8_MESSAGES: dict[TrapCode, str] = {
    TrapCode.UNREACHABLE: "unreachable",
    TrapCode.MEMORY_OUT_OF_BOUNDS: "memory access out of bounds",
    TrapCode.HEAP_MISALIGNED: "operation does not support unaligned accesses",
    TrapCode.TABLE_OUT_OF_BOUNDS: "table index is out of bounds",
    TrapCode.INDIRECT_CALL_TO_NULL: "null function or function signature mismatch",
    TrapCode.BAD_SIGNATURE: "null function or function signature mismatch",
    TrapCode.INTEGER_OVERFLOW: "divide result unrepresentable",
    TrapCode.INTEGER_DIVISION_BY_ZERO: "divide by zero",
    TrapCode.BAD_CONVERSION_TO_INTEGER: "float unrepresentable in integer range",
    TrapCode.STACK_OVERFLOW: "Maximum call stack size exceeded",
}


def handle_error_from_trap(trap: wasmtime.Trap, deadline_s: float | None) -> HandleError:
    code = trap.trap_code
    if code == TrapCode.INTERRUPT:
        return HandleError(f"evaluation exceeded its deadline of {deadline_s} s", kind="timeout")
    if code == TrapCode.OUT_OF_FUEL:
        return HandleError("out of gas!", kind="out-of-gas")
    message = _V8_MESSAGES.get(code) if code is not None else None
    return HandleError(message or f"{trap.message}", kind="trap")
