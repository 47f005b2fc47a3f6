"""Wires the in-host filesystem (`_memfs`, `_syscalls`) into an instance.

Gen 1 glue has stubs only; gen 2+ carry a full MEMFS with TTYs on fds 0-2.
What a module prints to stdout/stderr is kept as a bounded tail (the glue
sends it to Node's console, i.e. operator logs), never written to the host.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._formats import Format

if TYPE_CHECKING:
    from ._glue import EmscriptenGlue, HostOptions
    from ._memory import LinearMemory

STDIO_TAIL_BYTES = 64 * 1024


def _tty_sink(glue: EmscriptenGlue) -> Callable[[int, bytes], None]:
    out = glue.stdout

    def write(_fd: int, data: bytes) -> None:
        out.extend(data)
        if len(out) > STDIO_TAIL_BYTES:
            del out[: len(out) - STDIO_TAIL_BYTES]
    return write


def fs_factory(fmt: Format, options: HostOptions, glue: EmscriptenGlue) -> Any:
    from ._memfs import MemFS
    return MemFS(now=glue.now, random_bytes=options.random_bytes, tty_out=_tty_sink(glue), gen=fmt.gen,
                 memory64=fmt.memory64)


def fs_import_names() -> frozenset[str]:
    from ._syscalls import FS_IMPORT_NAMES
    return frozenset(FS_IMPORT_NAMES)


def make_fs_imports(fmt: Format, mem: LinearMemory, fs: Any,
                    exports: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
    from ._syscalls import make_fs_imports as make
    errno_location = exports["__errno_location"] if "__errno_location" in exports else (lambda: 0)
    return make(mem, fs, fmt.gen, memory64=fmt.memory64, errno_location=errno_location)


# ---- interim: TTY-only stand-in until _memfs/_syscalls land -------------------
class _TtyOnly:
    def __init__(self, tty_out: Callable[[int, bytes], None]) -> None:
        self.tty_out = tty_out

    def create_path(self, parent: str, name: str) -> None:
        return None

    def exists(self, path: str) -> bool:
        return False


_TTY_NAMES = frozenset({
    "fd_write", "fd_read", "fd_close", "fd_seek", "fd_sync", "fd_fdstat_get", "__syscall_ioctl",
    "__syscall_fcntl64", "__syscall_openat", "__syscall_lstat64", "__syscall_stat64",
    "__syscall_newfstatat", "__syscall_fstat64", "__syscall_unlinkat", "__syscall_rmdir",
    "__syscall_renameat", "__syscall_readlinkat", "__syscall_faccessat", "__syscall_mkdirat",
    "__syscall_chmod", "__syscall_fchmod", "__syscall_fchown32", "__syscall_utimensat",
    "__syscall_ftruncate64", "__syscall_dup3", "__syscall_getcwd", "_mmap_js", "_munmap_js",
    "__syscall_getdents64",
})


def _tty_imports(fmt: Format, mem: LinearMemory, fs: _TtyOnly) -> dict[str, Callable[..., Any]]:
    gen, p = fmt.gen, mem.ptr_size

    def fd_write(fd: int, iov: int, iovcnt: int, pnum: int) -> int:
        iov, pnum = mem.uptr(iov), mem.uptr(pnum)
        if fd not in (1, 2) and gen != 1:
            return 8
        total = 0
        for i in range(iovcnt):
            ptr = mem.ptr(iov + i * 2 * p)
            n = mem.ptr(iov + i * 2 * p + p)
            if fd in (1, 2):
                fs.tty_out(fd, mem.read(ptr, n))
            total += n
        mem.set_ptr(pnum, total) if p == 8 else mem.set_i32(pnum, total)
        return 0

    def fd_read(fd: int, iov: int, iovcnt: int, pnum: int) -> int:
        if gen == 1:
            return 52
        if fd != 0:
            return 8
        mem.set_ptr(mem.uptr(pnum), 0)
        return 0

    def ioctl(fd: int, op: int, varargs: int) -> int:
        if gen == 1:
            return 0
        if fd not in (0, 1, 2):
            return -8
        if op == 21505 and gen == 4:
            argp = mem.ptr(mem.uptr(varargs))
            for off, v in ((0, 25856), (4, 5), (8, 191), (12, 35387)):
                mem.set_i32(argp + off, v)
            mem.write(argp + 17, bytes([3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22] + [0] * 16))
            return 0
        if op == 21523 and gen == 4:
            argp = mem.ptr(mem.uptr(varargs))
            mem.set_i16(argp, 24)
            mem.set_i16(argp + 2, 80)
            return 0
        if op in (21505, 21523, 21509, 21510, 21511, 21512, 21506, 21507, 21508, 21524, 21515):
            return 0
        if op == 21519:
            mem.set_i32(mem.ptr(mem.uptr(varargs)), 0)
            return 0
        return -28

    def fcntl(fd: int, cmd: int, varargs: int) -> int:
        if gen == 1:
            return 0
        if fd not in (0, 1, 2):
            return -8
        if cmd in (1, 2, 4, 6, 7):
            return 0
        if cmd == 3:
            return 1 if fd else 0
        return -28

    def enoent(*_a: int) -> int:
        return 0 if gen == 1 else -44

    def ebadf(*_a: int) -> int:
        return 0 if gen == 1 else -8

    table: dict[str, Callable[..., Any]] = {name: enoent for name in _TTY_NAMES}
    table.update({
        "fd_write": fd_write, "fd_read": fd_read, "__syscall_ioctl": ioctl, "__syscall_fcntl64": fcntl,
        "fd_close": lambda fd: 52 if gen == 1 else (0 if fd in (0, 1, 2) else 8),
        "fd_seek": lambda fd, *a: 70 if gen == 1 or fd in (0, 1, 2) else 8,
        "__syscall_dup3": ebadf, "__syscall_fstat64": ebadf, "_munmap_js": lambda *a: 0,
    })
    return table


try:
    import aocu.wasm._memfs  # noqa: F401
    import aocu.wasm._syscalls  # noqa: F401
except ImportError:
    def fs_factory(fmt: Format, options: HostOptions, glue: EmscriptenGlue) -> Any:  # type: ignore[misc]
        return _TtyOnly(_tty_sink(glue))

    def fs_import_names() -> frozenset[str]:  # type: ignore[misc]
        return _TTY_NAMES

    def make_fs_imports(fmt: Format, mem: LinearMemory, fs: Any,  # type: ignore[misc]
                        exports: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
        return _tty_imports(fmt, mem, fs)
