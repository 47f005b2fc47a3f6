"""The ao module formats: which Emscripten glue generation each one mirrors.

Pure data, no wasmtime. A format string (the ``Module-Format`` tag) selects the
glue of ao-loader 0.0.49 (`loader/src/formats/*.cjs`) whose behaviour the host
reproduces, whether memory is 64-bit, and whether the binary is metered at load.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import ModuleFormatError

#: The glue's ``getHeapMax()``: gen 1/2 were built with a 500 MiB ceiling,
#: gen 3/4 with 4 GiB - 64 KiB, wasm64 with 16 GiB (loader-abi.md §1).
_HEAP_MAX_GEN12 = 524_288_000
_HEAP_MAX_GEN34 = 4_294_901_760
_HEAP_MAX_WASM64 = 17_179_869_184


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    gen: int                  # glue generation: 1..4 (wasm64 glue is gen 4)
    memory64: bool
    metering: str | None      # "i32"/"i64": wasm-metering applied at load time

    @property
    def heap_max(self) -> int:
        if self.memory64:
            return _HEAP_MAX_WASM64
        return _HEAP_MAX_GEN12 if self.gen <= 2 else _HEAP_MAX_GEN34

    @property
    def calls_main(self) -> bool:
        """Gen 1-3 glue runs ``main`` at boot; gen 4 has none (Lua boots lazily)."""
        return self.gen <= 3

    @property
    def asyncify(self) -> bool:
        """Gen 4 glue calls ``handle`` with ``{async: true}`` (Asyncify, WeaveDrive)."""
        return self.gen == 4


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("wasm32-unknown-emscripten", 1, False, None),
        Format("wasm32-unknown-emscripten2", 2, False, None),
        Format("wasm32-unknown-emscripten3", 3, False, None),
        Format("wasm32-unknown-emscripten4", 4, False, None),
        Format("wasm32-unknown-emscripten-metering", 4, False, "i32"),
        Format("wasm64-unknown-emscripten-draft_2024_02_15", 4, True, None),
        Format("wasm64-unknown-emscripten-draft_2024_10_16-metering", 4, True, "i64"),
    )
}


def resolve_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except (KeyError, TypeError):
        known = ", ".join(FORMATS)
        raise ModuleFormatError(f"unsupported module format {name!r} (known: {known})") from None


#: Gen-1 binaries were built with minified import/export names; the mapping
#: exists only in the glue's ``asmLibraryArg`` and ``Module.asm.X`` accessors
#: (loader/src/formats/emscripten.cjs).
GEN1_IMPORT_NAMES: dict[str, str] = {
    "w": "__syscall_dup3", "d": "__syscall_fcntl64", "z": "__syscall_ioctl", "r": "__syscall_lstat64",
    "g": "__syscall_openat", "s": "__syscall_renameat", "t": "__syscall_rmdir", "e": "__syscall_unlinkat",
    "a": "_emscripten_date_now", "A": "_emscripten_get_now_is_monotonic", "p": "_emscripten_throw_longjmp",
    "B": "_gmtime_js", "C": "_localtime_js", "i": "_mktime_js", "j": "_tzset_js", "D": "abort",
    "k": "emscripten_memcpy_big", "q": "emscripten_resize_heap", "u": "environ_get",
    "v": "environ_sizes_get", "l": "exit", "c": "fd_close", "y": "fd_read", "o": "fd_seek",
    "f": "fd_write", "h": "getTempRet0", "x": "invoke_vii", "b": "setTempRet0", "n": "strftime",
    "m": "system",
}
GEN1_EXPORT_NAMES: dict[str, str] = {
    "E": "memory", "F": "__wasm_call_ctors", "G": "handle", "H": "main", "I": "__indirect_function_table",
    "J": "malloc", "K": "__errno_location", "L": "setThrew", "M": "stackSave", "N": "stackRestore",
    "O": "stackAlloc",
}
