"""Check that a test module only imports what its ao-loader glue provides.

Usage: ``check_imports.py MODULE.wasm GEN`` with GEN 2 (wasm32-unknown-emscripten2),
3 (wasm32-unknown-emscripten3) or 4 (wasm32-unknown-emscripten4 /
wasm32-unknown-emscripten-metering).

The name lists are the keys of the import objects that the @permaweb/ao-loader
0.0.49 glues build (``asmLibraryArg`` in the gen 2 glue, ``wasmImports`` in the
gen 3 and gen 4 glues; each is offered as ``env`` and ``wasi_snapshot_preview1``,
plus ``metering.usegas``).  A module importing anything else fails in ao-loader with
a LinkError.  The exports listed are the ones the glue calls at boot or per
message.
"""

from __future__ import annotations

import sys
from pathlib import Path

GEN2_PROVIDED = frozenset(
    """
    __assert_fail __syscall_chmod __syscall_dup3 __syscall_faccessat __syscall_fchmod
    __syscall_fchown32 __syscall_fcntl64 __syscall_fstat64 __syscall_ftruncate64 __syscall_getcwd
    __syscall_ioctl __syscall_lstat64 __syscall_mkdirat __syscall_newfstatat __syscall_openat
    __syscall_readlinkat __syscall_renameat __syscall_rmdir __syscall_stat64 __syscall_unlinkat
    __syscall_utimensat _dlinit _dlopen_js _dlsym_js _emscripten_date_now
    _emscripten_get_now_is_monotonic _emscripten_throw_longjmp _gmtime_js _localtime_js _mktime_js
    _mmap_js _munmap_js _tzset_js abort emscripten_get_heap_max emscripten_get_now
    emscripten_memcpy_big emscripten_resize_heap environ_get environ_sizes_get exit fd_close
    fd_fdstat_get fd_read fd_seek fd_sync fd_write getTempRet0 invoke_vii setTempRet0 strftime
    system
    """.split()
)

GEN3_PROVIDED = frozenset(
    """
    __syscall_chmod __syscall_dup3 __syscall_faccessat __syscall_fchmod __syscall_fchown32
    __syscall_fcntl64 __syscall_fstat64 __syscall_ftruncate64 __syscall_getcwd __syscall_ioctl
    __syscall_lstat64 __syscall_mkdirat __syscall_newfstatat __syscall_openat __syscall_readlinkat
    __syscall_renameat __syscall_rmdir __syscall_stat64 __syscall_unlinkat __syscall_utimensat
    _emscripten_get_now_is_monotonic _emscripten_system _emscripten_throw_longjmp _gmtime_js
    _localtime_js _mktime_js _mmap_js _munmap_js _tzset_js abort emscripten_date_now
    emscripten_get_heap_max emscripten_get_now emscripten_memcpy_js emscripten_resize_heap
    environ_get environ_sizes_get exit fd_close fd_fdstat_get fd_read fd_seek fd_sync fd_write
    invoke_vii strftime
    """.split()
)

GEN4_PROVIDED = frozenset(
    """
    __assert_fail metering_gasUsed __asyncjs__weavedrive_close __asyncjs__weavedrive_open
    __asyncjs__weavedrive_read __cxa_throw __syscall_chmod __syscall_dup3 __syscall_faccessat
    __syscall_fchmod __syscall_fchown32 __syscall_fcntl64 __syscall_fstat64 __syscall_ftruncate64
    __syscall_getcwd __syscall_ioctl __syscall_lstat64 __syscall_mkdirat __syscall_newfstatat
    __syscall_openat __syscall_readlinkat __syscall_renameat __syscall_rmdir __syscall_stat64
    __syscall_unlinkat __syscall_utimensat _abort_js _emscripten_get_now_is_monotonic
    _emscripten_memcpy_js _emscripten_system _emscripten_throw_longjmp _gmtime_js _localtime_js
    _mktime_js _munmap_js _tzset_js emscripten_date_now emscripten_get_heap_max emscripten_get_now
    emscripten_resize_heap environ_get environ_sizes_get exit fd_close fd_fdstat_get fd_read
    fd_seek fd_sync fd_write invoke_vii strftime strftime_l
    """.split()
)

GEN2_EXPORTS = frozenset(
    """
    memory __indirect_function_table __wasm_call_ctors handle main malloc setThrew
    stackSave stackRestore stackAlloc emscripten_stack_init emscripten_stack_get_end
    __errno_location
    """.split()
)

GEN3_EXPORTS = frozenset(
    """
    memory __indirect_function_table __wasm_call_ctors handle main malloc setThrew
    stackSave stackRestore stackAlloc emscripten_stack_init emscripten_stack_get_end setTempRet0
    """.split()
)

GEN4_EXPORTS = frozenset(
    """
    memory __indirect_function_table __wasm_call_ctors handle malloc free setThrew dynCall_vii
    emscripten_stack_init emscripten_stack_get_end emscripten_stack_get_current
    _emscripten_stack_restore _emscripten_stack_alloc _emscripten_tempret_set
    asyncify_start_unwind asyncify_stop_unwind asyncify_start_rewind asyncify_stop_rewind
    """.split()
)

_IMPORT_SECTION = 2
_EXPORT_SECTION = 7


def _leb(data: bytes, pos: int) -> tuple[int, int]:
    """Decode an unsigned LEB128 at ``pos``; return (value, next position)."""
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _name(data: bytes, pos: int) -> tuple[str, int]:
    """Decode a length-prefixed UTF-8 name."""
    n, pos = _leb(data, pos)
    return data[pos : pos + n].decode(), pos + n


def _skip_limits(data: bytes, pos: int) -> int:
    flags, pos = _leb(data, pos)
    _, pos = _leb(data, pos)
    if flags & 1:
        _, pos = _leb(data, pos)
    return pos


def read_imports_exports(binary: bytes) -> tuple[list[tuple[str, str, int]], list[str]]:
    """Return ([(module, name, kind)], [export names]) of a wasm binary."""
    if binary[:4] != b"\0asm":
        raise ValueError("not a wasm binary")
    imports: list[tuple[str, str, int]] = []
    exports: list[str] = []
    pos = 8
    while pos < len(binary):
        sid = binary[pos]
        size, pos = _leb(binary, pos + 1)
        end = pos + size
        if sid == _IMPORT_SECTION:
            count, p = _leb(binary, pos)
            for _ in range(count):
                mod, p = _name(binary, p)
                field, p = _name(binary, p)
                kind = binary[p]
                p += 1
                if kind == 0:  # func: type index
                    _, p = _leb(binary, p)
                elif kind == 1:  # table: reftype + limits
                    p = _skip_limits(binary, p + 1)
                elif kind == 2:  # memory
                    p = _skip_limits(binary, p)
                elif kind == 3:  # global: valtype + mut
                    p += 2
                else:
                    raise ValueError(f"unknown import kind {kind}")
                imports.append((mod, field, kind))
        elif sid == _EXPORT_SECTION:
            count, p = _leb(binary, pos)
            for _ in range(count):
                field, p = _name(binary, p)
                p += 1
                _, p = _leb(binary, p)
                exports.append(field)
        pos = end
    return imports, exports


def check(path: Path, gen: int) -> list[str]:
    """Return a list of problems of ``path`` for glue generation ``gen``."""
    provided, needed = {
        2: (GEN2_PROVIDED, GEN2_EXPORTS),
        3: (GEN3_PROVIDED, GEN3_EXPORTS),
        4: (GEN4_PROVIDED, GEN4_EXPORTS),
    }[gen]
    imports, exports = read_imports_exports(path.read_bytes())
    problems = []
    for mod, field, kind in imports:
        if kind != 0:
            problems.append(f"non-function import {mod}.{field}")
        elif mod == "metering" and field == "usegas":
            continue
        elif mod not in ("env", "wasi_snapshot_preview1") or field not in provided:
            problems.append(f"import {mod}.{field} is not provided by the gen {gen} glue")
    missing = needed - set(exports)
    problems.extend(f"export {name} missing" for name in sorted(missing))
    if gen == 4 and "main" in exports:
        problems.append("gen 4 modules must not export main")
    return problems


def main(argv: list[str]) -> int:
    """Command-line entry: print problems, exit 1 if any."""
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, gen = Path(argv[1]), int(argv[2])
    problems = check(path, gen)
    for p in problems:
        print(f"{path.name}: {p}", file=sys.stderr)
    if not problems:
        imports, _ = read_imports_exports(path.read_bytes())
        print(f"{path.name}: {len(imports)} imports, all provided by the gen {gen} glue")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
