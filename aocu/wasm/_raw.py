"""Fast calls across the wasm boundary through wasmtime's "unchecked" C API.

wasmtime-py's generic ``Func`` path costs 10-35 µs a crossing (type
introspection in Python) and relays host exceptions through one
process-global variable, which mixes errors between threads (stack.md §3a,
§3f). Here host functions and export calls use ``wasmtime_func_new_unchecked``
and ``wasmtime_func_call_unchecked`` (about 1-2 µs), and a host exception is
recorded on its owner (an `ErrorSink`, one per instance) instead of the global.

Calls that take nanoseconds (memory geometry, globals, the stack exports) go through
`held`: the same library loaded as a ``PyDLL``, so the calling thread keeps the GIL. ctypes'
usual ``CDLL`` releases and re-takes it around every call, and while the trio thread runs
Python each re-take is a futex wait and a context switch: measured on AOS, a busy second
thread raised the wasm thread's CPU by 40%. ``handle`` itself still releases the GIL.

These are private bindings of wasmtime-py, hence its pinned major version.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from ctypes import POINTER, byref
from typing import Any, Protocol

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime._bindings import wasmtime_func_unchecked_callback_t, wasmtime_val_raw

_KINDS = {"i32", "i64", "f32", "f64"}


class _HeldBindings:
    """wasmtime's C functions called without releasing the GIL (see the module docstring)."""

    def __init__(self) -> None:
        lib = ctypes.PyDLL(ffi.dll._name)
        for name in ("wasmtime_memory_data_size", "wasmtime_global_get", "wasmtime_global_set",
                     "wasmtime_func_call_unchecked"):
            fn, like = getattr(lib, name), getattr(ffi.dll, name)
            fn.argtypes, fn.restype = like.argtypes, like.restype
            setattr(self, name, fn)
        self.wasmtime_memory_data = lib.wasmtime_memory_data
        self.wasmtime_memory_data.argtypes = ffi.dll.wasmtime_memory_data.argtypes
        self.wasmtime_memory_data.restype = ctypes.c_void_p        # the address as an int


held = _HeldBindings()
_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _p: None)


class ErrorSink(Protocol):
    """Where a host function's exception goes while wasm unwinds."""

    def record_host_error(self, exc: BaseException) -> None: ...


def value_kinds(types: Sequence[wasmtime.ValType]) -> tuple[str, ...]:
    kinds = tuple(str(t) for t in types)
    for kind in kinds:
        if kind not in _KINDS:
            raise wasmtime.WasmtimeError(f"unsupported value type {kind} at the host boundary")
    return kinds


def _trap_address(message: bytes) -> int:
    trap = ffi.wasmtime_trap_new(ctypes.create_string_buffer(message), len(message))
    return ctypes.cast(trap, ctypes.c_void_p).value or 0


def host_func(
    store: wasmtime.Store,
    functype: wasmtime.FuncType,
    fn: Callable[..., Any],
    sink: ErrorSink,
    keepalive: list[object],
) -> wasmtime.Func:
    """A wasm function that calls ``fn(*args)`` with raw ints/floats.

    An exception from ``fn`` is handed to ``sink`` and turned into a trap that
    unwinds wasm; the caller of the export learns the cause from ``sink``.
    ``keepalive`` must outlive the store (it holds the ctypes callback).
    """
    params = value_kinds(functype.params)
    results = value_kinds(functype.results)
    if len(results) > 1:
        raise wasmtime.WasmtimeError("multi-value host functions are not supported")
    result = results[0] if results else None
    getters = tuple((i, kind) for i, kind in enumerate(params))

    def callback(_env: int, _caller: object, raw: Any, _nraw: int) -> int:
        try:
            value = fn(*[getattr(raw[i], kind) for i, kind in getters])
            if result is not None:
                # ctypes stores c_int32/c_int64 modulo 2**n, like JS's ToInt32.
                setattr(raw[0], result, 0 if value is None else value)
            return 0
        except BaseException as exc:  # recorded, then re-raised by the export's caller
            sink.record_host_error(exc)
            return _trap_address(b"host function failed")

    c_callback = wasmtime_func_unchecked_callback_t(callback)
    keepalive.append(c_callback)
    raw_func = ffi.wasmtime_func_t()
    ffi.wasmtime_func_new_unchecked(store._context(), functype.ptr(), c_callback, None, _NO_FINALIZER,
                                    byref(raw_func))
    return wasmtime.Func._from_raw(raw_func)


class RawCall:
    """Calls one exported function with raw values and a preallocated buffer."""

    __slots__ = ("_buf", "_call", "_ctx", "_func", "_n", "_params", "_result", "_sink")

    def __init__(self, store: wasmtime.Store, func: wasmtime.Func, sink: ErrorSink | None = None, *,
                 hold_gil: bool = False) -> None:
        """``hold_gil`` for exports that return at once (the stack helpers): see `held`."""
        ty = func.type(store)
        self._params = value_kinds(ty.params)
        results = value_kinds(ty.results)
        self._result = results[0] if results else None
        self._n = max(len(self._params), len(results), 1)
        self._buf = (wasmtime_val_raw * self._n)()
        self._ctx = store._context()
        self._func = byref(func._func)
        self._call = held.wasmtime_func_call_unchecked if hold_gil else ffi.wasmtime_func_call_unchecked

    def __call__(self, *args: int | float) -> Any:
        buf = self._buf
        for i, kind in enumerate(self._params):
            setattr(buf[i], kind, args[i])
        trap = POINTER(ffi.wasm_trap_t)()
        error = self._call(self._ctx, self._func, buf, self._n, byref(trap))
        if error:
            raise wasmtime.WasmtimeError._from_ptr(error)
        if trap:
            raise wasmtime.Trap._from_ptr(trap)
        return getattr(buf[0], self._result) if self._result else None


class RawGlobal:
    """Reads and writes one i32/i64 global without wasmtime-py's ``Val`` round trip (~2 µs, not ~10)."""

    __slots__ = ("_ctx", "_global", "_kind", "_val")

    def __init__(self, store: wasmtime.Store, global_: wasmtime.Global) -> None:
        kind = str(global_.type(store).content)
        if kind not in ("i32", "i64"):
            raise wasmtime.WasmtimeError(f"unsupported global type {kind}")
        self._kind = kind
        self._ctx = store._context()
        self._global = byref(global_._global)
        self._val = ffi.wasmtime_val_t()
        self._val.kind = (ffi.WASMTIME_I32 if kind == "i32" else ffi.WASMTIME_I64).value

    def get(self) -> int:
        held.wasmtime_global_get(self._ctx, self._global, byref(self._val))
        return int(getattr(self._val.of, self._kind))

    def set(self, value: int) -> None:
        setattr(self._val.of, self._kind, value)
        error = held.wasmtime_global_set(self._ctx, self._global, byref(self._val))
        if error:
            raise wasmtime.WasmtimeError._from_ptr(error)
