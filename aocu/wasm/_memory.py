"""Typed, bounds-checked access to an instance's linear memory from host imports.

Runs on whichever thread runs the instance. The base address is fetched anew
on every access: wasm may grow (and, for memory64, move) memory between two
host calls, so nothing here caches a pointer or a memoryview across calls
(stack.md §3c). Every access is bounds-checked: a hostile pointer must become
an error inside the message, never a segfault of the hosting process.
Pointers arriving from wasm32 as signed i32 are made unsigned by `uptr`.
"""

from __future__ import annotations

import ctypes
from ctypes import byref

import wasmtime

from ._errors import _Signal
from ._raw import held

_u8 = ctypes.c_uint8
_i16 = ctypes.c_int16
_i32 = ctypes.c_int32
_u32 = ctypes.c_uint32
_i64 = ctypes.c_int64
_u64 = ctypes.c_uint64
_libc = ctypes.CDLL(None)
_memchr = _libc.memchr
_memchr.restype = ctypes.c_void_p
_memchr.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t)


class MemoryAccessError(_Signal):
    """A host import was handed a pointer outside linear memory."""

    kind = "trap"


class LinearMemory:
    """The exported ``memory`` of one instance, for one store."""

    __slots__ = ("_ctx", "_raw", "memory", "ptr_size", "store")

    def __init__(self, store: wasmtime.Store, memory: wasmtime.Memory, memory64: bool) -> None:
        self.store = store
        self.memory = memory
        self.ptr_size = 8 if memory64 else 4
        self._ctx = store._context()
        self._raw = byref(memory._memory)

    # -- geometry -------------------------------------------------------------
    def base(self) -> int:
        return held.wasmtime_memory_data(self._ctx, self._raw) or 0

    def size(self) -> int:
        return int(held.wasmtime_memory_data_size(self._ctx, self._raw))

    def grow_pages(self, pages: int) -> bool:
        """Grow by ``pages`` 64 KiB pages; False when the module or a limit refuses."""
        if pages <= 0:
            return True
        try:
            self.memory.grow(self.store, pages)
        except wasmtime.WasmtimeError:
            return False
        return True

    def uptr(self, value: int) -> int:
        """A pointer argument as an unsigned address (wasm32 i32s arrive signed)."""
        return value & 0xFFFFFFFF if self.ptr_size == 4 else value & 0xFFFFFFFFFFFFFFFF

    def _at(self, ptr: int, n: int) -> int:
        if ptr < 0 or n < 0 or ptr + n > self.size():
            raise MemoryAccessError(f"memory access out of bounds ({ptr:#x}+{n})")
        return self.base() + ptr

    # -- bytes ----------------------------------------------------------------
    def read(self, ptr: int, n: int) -> bytes:
        return ctypes.string_at(self._at(ptr, n), n)

    def write(self, ptr: int, data: bytes | bytearray) -> None:
        if data:
            # bytes go to memmove as they are; a bytearray is copied (ctypes takes only bytes by value)
            ctypes.memmove(self._at(ptr, len(data)), data if type(data) is bytes else bytes(data), len(data))

    def fill(self, ptr: int, byte: int, n: int) -> None:
        ctypes.memset(self._at(ptr, n), byte, n)

    def move(self, dest: int, src: int, n: int) -> None:
        if n:
            size = self.size()
            if min(dest, src, n) < 0 or max(dest, src) + n > size:
                raise MemoryAccessError(f"memory access out of bounds ({src:#x}->{dest:#x}+{n})")
            base = self.base()
            ctypes.memmove(base + dest, base + src, n)

    def cstring(self, ptr: int) -> bytes:
        """The NUL-terminated bytes at ``ptr`` (empty for NULL); never reads past memory."""
        if not ptr:
            return b""
        start = self._at(ptr, 0)
        end = _memchr(start, 0, self.size() - ptr)
        if not end:
            raise MemoryAccessError("unterminated string at the end of memory")
        return ctypes.string_at(start, end - start)

    # -- scalars (little endian, as wasm) -------------------------------------
    def u8(self, ptr: int) -> int:
        return _u8.from_address(self._at(ptr, 1)).value

    def i32(self, ptr: int) -> int:
        return _i32.from_address(self._at(ptr, 4)).value

    def u32(self, ptr: int) -> int:
        return _u32.from_address(self._at(ptr, 4)).value

    def i64(self, ptr: int) -> int:
        return _i64.from_address(self._at(ptr, 8)).value

    def u64(self, ptr: int) -> int:
        return _u64.from_address(self._at(ptr, 8)).value

    def ptr(self, ptr: int) -> int:
        """A pointer-sized unsigned value (u32 in wasm32, u64 in wasm64)."""
        return self.u64(ptr) if self.ptr_size == 8 else self.u32(ptr)

    def set_u8(self, ptr: int, value: int) -> None:
        _u8.from_address(self._at(ptr, 1)).value = value & 0xFF

    def set_i16(self, ptr: int, value: int) -> None:
        _i16.from_address(self._at(ptr, 2)).value = value

    def set_i32(self, ptr: int, value: int) -> None:
        # wraps like JS's HEAP32[...] = value
        _u32.from_address(self._at(ptr, 4)).value = value & 0xFFFFFFFF

    def set_i64(self, ptr: int, value: int) -> None:
        _u64.from_address(self._at(ptr, 8)).value = value & 0xFFFFFFFFFFFFFFFF

    def set_ptr(self, ptr: int, value: int) -> None:
        if self.ptr_size == 8:
            self.set_i64(ptr, value)
        else:
            self.set_i32(ptr, value)

    # -- whole memory -----------------------------------------------------------
    def snapshot(self) -> bytes:
        """One copy of the whole memory (the only full copy aocu.wasm makes)."""
        return ctypes.string_at(self.base(), self.size())

    def restore(self, data: bytes | bytearray | memoryview) -> None:
        """Copy ``data`` to offset 0; memory must already be at least that large."""
        n = memoryview(data).nbytes
        if n:
            ctypes.memmove(self._at(0, n), _pointable(data, n), n)


def _pointable(data: bytes | bytearray | memoryview, n: int) -> bytes | ctypes.Array[ctypes.c_char]:
    """``data`` as ctypes can pass it by pointer: without a copy unless it is a read-only view
    (a checkpoint's 1 GiB bytearray goes in place; memmove itself runs without the GIL)."""
    if isinstance(data, bytes):
        return data
    view = memoryview(data)
    if view.readonly:
        return view.tobytes()
    return (ctypes.c_char * n).from_buffer(view)
