"""A bytearray-backed stand-in for `aocu.wasm._memory.LinearMemory` (unit tests only).

Same method names and semantics (little endian, ``set_*`` wrap like JS typed
arrays, out-of-bounds access raises), without wasmtime.
"""

from __future__ import annotations

import struct


class FakeMemoryError(Exception):
    pass


class FakeMemory:
    def __init__(self, size: int = 1 << 20, memory64: bool = False) -> None:
        self.buf = bytearray(size)
        self.ptr_size = 8 if memory64 else 4

    # -- geometry ---------------------------------------------------------------
    def base(self) -> int:
        return 0

    def size(self) -> int:
        return len(self.buf)

    def uptr(self, value: int) -> int:
        return value & 0xFFFFFFFF if self.ptr_size == 4 else value & 0xFFFFFFFFFFFFFFFF

    def _chk(self, ptr: int, n: int) -> None:
        if ptr < 0 or n < 0 or ptr + n > len(self.buf):
            raise FakeMemoryError(f"out of bounds {ptr:#x}+{n}")

    # -- bytes ----------------------------------------------------------------
    def read(self, ptr: int, n: int) -> bytes:
        self._chk(ptr, n)
        return bytes(self.buf[ptr:ptr + n])

    def write(self, ptr: int, data: bytes | bytearray | memoryview) -> None:
        self._chk(ptr, len(data))
        self.buf[ptr:ptr + len(data)] = data

    def fill(self, ptr: int, byte: int, n: int) -> None:
        self._chk(ptr, n)
        self.buf[ptr:ptr + n] = bytes([byte]) * n

    def move(self, dest: int, src: int, n: int) -> None:
        self._chk(src, n)
        self._chk(dest, n)
        self.buf[dest:dest + n] = self.buf[src:src + n]

    def cstring(self, ptr: int) -> bytes:
        if not ptr:
            return b""
        self._chk(ptr, 0)
        end = self.buf.find(0, ptr)
        if end < 0:
            raise FakeMemoryError("unterminated string")
        return bytes(self.buf[ptr:end])

    # -- scalars ----------------------------------------------------------------
    def _get(self, fmt: str, ptr: int) -> int:
        self._chk(ptr, struct.calcsize(fmt))
        return struct.unpack_from(fmt, self.buf, ptr)[0]

    def u8(self, ptr: int) -> int:
        return self._get("<B", ptr)

    def i32(self, ptr: int) -> int:
        return self._get("<i", ptr)

    def u32(self, ptr: int) -> int:
        return self._get("<I", ptr)

    def i64(self, ptr: int) -> int:
        return self._get("<q", ptr)

    def u64(self, ptr: int) -> int:
        return self._get("<Q", ptr)

    def ptr(self, ptr: int) -> int:
        return self.u64(ptr) if self.ptr_size == 8 else self.u32(ptr)

    def set_u8(self, ptr: int, value: int) -> None:
        self.write(ptr, struct.pack("<B", value & 0xFF))

    def set_i16(self, ptr: int, value: int) -> None:
        self.write(ptr, struct.pack("<H", value & 0xFFFF))

    def set_i32(self, ptr: int, value: int) -> None:
        self.write(ptr, struct.pack("<I", value & 0xFFFFFFFF))

    def set_i64(self, ptr: int, value: int) -> None:
        self.write(ptr, struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF))

    def set_ptr(self, ptr: int, value: int) -> None:
        if self.ptr_size == 8:
            self.set_i64(ptr, value)
        else:
            self.set_i32(ptr, value)

    def snapshot(self) -> bytes:
        return bytes(self.buf)
