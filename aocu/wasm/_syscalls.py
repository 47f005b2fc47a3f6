"""The glue's file/fd syscall imports, bound to one instance's memory and `MemFS`.

Owns the wasm-facing half of the filesystem: argument decoding (wasm32
pointers arrive as signed i32s, wasm64 ones as i64s; 64-bit offsets are split
in two i32s in wasm32, ``convertI32PairToI53Checked``), string decoding
(``SYSCALLS.getStr``), the struct layouts the glue writes (``doStat``, which
differs between gen 2, gen 3/4 wasm32 and wasm64; iovecs; termios; fdstat) and
the return conventions (``-errno`` for ``__syscall_*``, ``errno`` for ``fd_*``,
a few positive 61s where the glue forgot the minus). Each function mirrors the
glue function of the same name in ``emscripten{,2,3,4}.cjs`` /
``wasm64-emscripten.cjs``; gen differences are commented where they happen.

`make_fs_imports` returns exactly the FS imports the generation's glue defines
(see `FS_IMPORT_NAMES_BY_GEN`): a module importing another one (for example
``__syscall_getdents64``, which no glue has) fails to link in the reference too.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

from ._errors import Abort
from ._memfs import (
    EBADF,
    EINVAL,
    ENOENT,
    ENOMEM,
    ENOSYS,
    ENOTDIR,
    ENOTTY,
    EOVERFLOW,
    ERANGE,
    ESPIPE,
    TERMIOS,
    TERMIOS_CC,
    WINSIZE,
    Attr,
    ErrnoError,
    GlueError,
    MemFS,
    Stream,
    js_to_utf8,
    length_bytes_utf8,
    path_join2,
    path_normalize,
    utf8_to_js,
)

__all__ = ["FS_IMPORT_NAMES", "FS_IMPORT_NAMES_BY_GEN", "make_fs_imports"]

_GEN1 = frozenset({
    "fd_close", "fd_read", "fd_seek", "fd_write",
    "__syscall_dup3", "__syscall_fcntl64", "__syscall_ioctl", "__syscall_lstat64",
    "__syscall_openat", "__syscall_renameat", "__syscall_rmdir", "__syscall_unlinkat",
})
_SYSCALLS = frozenset({
    "__syscall_chmod", "__syscall_dup3", "__syscall_faccessat", "__syscall_fchmod", "__syscall_fchown32",
    "__syscall_fcntl64", "__syscall_fstat64", "__syscall_ftruncate64", "__syscall_getcwd", "__syscall_ioctl",
    "__syscall_lstat64", "__syscall_mkdirat", "__syscall_newfstatat", "__syscall_openat",
    "__syscall_readlinkat", "__syscall_renameat", "__syscall_rmdir", "__syscall_stat64",
    "__syscall_unlinkat", "__syscall_utimensat",
})
_FD = frozenset({"fd_close", "fd_fdstat_get", "fd_read", "fd_seek", "fd_sync", "fd_write"})

#: The FS import names each glue generation defines (gen 4 = emscripten4 and wasm64).
FS_IMPORT_NAMES_BY_GEN: dict[int, frozenset[str]] = {
    1: _GEN1,
    2: _SYSCALLS | _FD | {"_mmap_js", "_munmap_js"},
    3: _SYSCALLS | _FD | {"_mmap_js", "_munmap_js"},
    4: _SYSCALLS | _FD | {"_munmap_js"},
}
#: Every FS import name any glue defines.
FS_IMPORT_NAMES: frozenset[str] = frozenset().union(*FS_IMPORT_NAMES_BY_GEN.values())

_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF
_TWO32 = 4294967296.0
_MAX_I53 = 9007199254740991
_IOV32 = struct.Struct("<II")
_IOV64 = struct.Struct("<QQ")
AT_FDCWD = -100
_TERMIOS_FLAGS = struct.pack("<4I", *TERMIOS)


# -- JS number conversions -------------------------------------------------------------
def _to_uint32(d: float) -> int:
    if not math.isfinite(d):
        return 0
    return int(d) & _M32


def _to_int32(d: float) -> int:
    u = _to_uint32(d)
    return u - 0x100000000 if u & 0x80000000 else u


def _temp_i64(d: float, gen2: bool = False) -> int:
    """The glue's ``tempI64 = [d >>> 0, hi]`` trick, as the 64-bit pattern it stores."""
    lo = _to_uint32(d)
    if math.isfinite(d) and abs(d) >= 1:
        if d > 0:
            q = math.floor(d / _TWO32)
            hi = (_to_int32(min(q, 4294967295.0)) & _M32) if gen2 else _to_uint32(q)
        else:
            hi = _to_uint32(_to_int32(math.ceil((d - _to_uint32(d)) / _TWO32)))
    else:
        hi = 0
    return lo | (hi << 32)


def _i53_pair(lo: int, hi: int) -> int | None:
    """``convertI32PairToI53Checked(lo, hi)``; None for NaN."""
    lo_u = lo & _M32
    hi_s = _to_int32(hi)
    if ((hi_s + 2097152) & _M32) < 4194305 - (1 if lo_u else 0):
        return lo_u + hi_s * 4294967296
    return None


def _i53(value: int) -> int | None:
    """``bigintToI53Checked`` of a wasm64 i64 argument; None for NaN."""
    return value if -_MAX_I53 <= value <= _MAX_I53 else None


def _as_i32(v: int) -> int:
    """What JS hands back to a wasm i32 result (ToInt32)."""
    v &= _M32
    return v - 0x100000000 if v & 0x80000000 else v


# -- stat layouts (SYSCALLS.doStat) ------------------------------------------------------
def _stat_wasm32(st: Attr) -> list[tuple[int, int]]:
    """Gen 3/4 wasm32 (struct stat of 96 bytes): (offset, u32) pairs; 52, 68, 84 untouched."""
    out = [(0, st.dev), (4, st.mode), (8, st.nlink), (12, st.uid), (16, st.gid), (20, st.rdev)]
    size = _temp_i64(float(st.size))
    out += [(24, size & _M32), (28, size >> 32), (32, 4096), (36, st.blocks)]
    for off, ms in ((40, st.atime), (56, st.mtime), (72, st.ctime)):
        t = math.nan if ms is None else float(ms)
        sec = _temp_i64(math.floor(t / 1e3))
        out += [(off, sec & _M32), (off + 4, sec >> 32), (off + 8, _to_uint32(math.fmod(t, 1e3) * 1e3))]
    ino = _temp_i64(float(st.ino))
    out += [(88, ino & _M32), (92, ino >> 32)]
    return out


def _stat_gen2(st: Attr) -> list[tuple[int, int]]:
    """Gen 2 (older musl, 88 bytes): 32-bit ino at 8 and 64-bit at 80, times in whole seconds."""
    out = [(0, st.dev), (4, 0), (8, st.ino), (12, st.mode), (16, st.nlink), (20, st.uid), (24, st.gid),
           (28, st.rdev), (32, 0)]
    size = _temp_i64(float(st.size), gen2=True)
    out += [(40, size & _M32), (44, size >> 32), (48, 4096), (52, st.blocks)]
    for off, ms in ((56, st.atime), (64, st.mtime), (72, st.ctime)):
        out += [(off, 0 if ms is None else _to_uint32(ms / 1000)), (off + 4, 0)]
    ino = _temp_i64(float(st.ino), gen2=True)
    out += [(80, ino & _M32), (84, ino >> 32)]
    return out


def _stat_wasm64(st: Attr) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """wasm64 (104 bytes): (offset, u32) and (offset, u64) pairs; 28..31 untouched."""
    w32 = [(0, st.dev), (4, st.mode), (16, st.uid), (20, st.gid), (24, st.rdev), (40, 4096), (44, st.blocks)]
    w64 = [(8, st.nlink), (32, st.size)]
    for off, ms in ((48, st.atime), (64, st.mtime), (80, st.ctime)):
        if ms is None:  # BigInt(NaN)
            raise GlueError("RangeError: The number NaN cannot be converted to a BigInt because it is not an "
                            "integer")
        t = float(ms)
        w64 += [(off, math.floor(t / 1e3)), (off + 8, int(math.fmod(t, 1e3) * 1e3))]
    w64.append((96, st.ino))
    return w32, w64


def make_fs_imports(mem: Any, fs: MemFS, gen: int, *, memory64: bool, errno_location: Callable[[], int],
                    memalign: Callable[[int, int], int] | None = None,
                    ) -> dict[str, Callable[..., int | None]]:
    """The FS imports of glue generation ``gen`` (1-4), by unminified import name.

    ``mem`` is a `LinearMemory` (or anything with its methods); ``fs`` the
    instance's `MemFS` (for gen 1 only its ``tty_out`` is used);
    ``errno_location`` the module's ``__errno_location`` export (gen 2's
    ``fcntl(F_GETOWN)`` sets errno); ``memalign`` its
    ``emscripten_builtin_memalign`` export, needed by ``_mmap_js`` (gen 2/3)
    to place a mapping as ``mmapAlloc`` does. Arguments are the raw ints wasm
    passes; results are what the glue returns (``undefined`` becomes 0).
    """
    if gen == 1:
        return _gen1_imports(mem, fs)
    if gen not in (2, 3, 4):
        raise ValueError(f"no glue generation {gen}")
    if memory64 and gen != 4:
        raise ValueError("memory64 modules use the gen 4 (wasm64-emscripten) glue")
    m64 = memory64
    streams = fs.streams
    write = fs.write
    read = fs.read
    mask = _M64 if m64 else _M32
    iov_struct = _IOV64 if m64 else _IOV32
    iov_size = iov_struct.size
    iov_unpack = iov_struct.unpack
    iov_iter = iov_struct.iter_unpack
    set_size = mem.set_i64 if m64 else mem.set_i32

    # -- helpers bound to this memory -------------------------------------------------
    def get_str(ptr: int) -> str:
        """``SYSCALLS.getStr`` = ``UTF8ToString(ptr)``."""
        if not ptr:
            return ""
        raw = mem.cstring(ptr)
        if raw.isascii():
            return raw.decode("ascii")
        tail = b""
        if len(raw) <= 16:  # the hand-written decoder may read past the NUL
            end = ptr + len(raw)
            tail = mem.read(end, max(0, min(4, mem.size() - end)))
        return utf8_to_js(raw, tail)

    def vararg_i(ptr: int) -> int:
        return mem.i32(ptr)  # syscallGetVarargI / SYSCALLS.get(): HEAP32

    def vararg_p(ptr: int) -> int:
        # syscallGetVarargP: HEAPU64 in wasm64; HEAP32 (then `>>> 0` at use) in wasm32
        return mem.u64(ptr) if m64 else mem.u32(ptr)

    def calculate_at(dirfd: int, path: str, allow_empty: bool = False) -> str:
        if path[:1] == "/":
            return path
        if dirfd == AT_FDCWD:
            d = fs.cwd()
        else:
            d = fs.get_stream_checked(dirfd).path
        if not path:
            if not allow_empty:
                raise ErrnoError(ENOENT)
            return d
        return path_join2(d, path)

    def do_stat(func: Callable[[str], Attr], path: str, buf: int) -> int:
        if gen == 2:
            try:
                st = func(path)
            except ErrnoError as e:
                # gen 2: a lookup that failed on a non-directory says ENOTDIR, not EACCES
                if e.node is not None and path_normalize(path) != path_normalize(fs.get_path(e.node)):
                    return -ENOTDIR
                raise
            fields = _stat_gen2(st)
            region = bytearray(mem.read(buf, 88))
            for off, v in fields:
                struct.pack_into("<I", region, off, v & _M32)
            mem.write(buf, region)
            return 0
        st = func(path)
        if m64:
            w32, w64 = _stat_wasm64(st)
            region = bytearray(mem.read(buf, 104))
            for off, v in w32:
                struct.pack_into("<I", region, off, v & _M32)
            for off, v in w64:
                struct.pack_into("<Q", region, off, v & _M64)
        else:
            region = bytearray(mem.read(buf, 96))
            for off, v in _stat_wasm32(st):
                struct.pack_into("<I", region, off, v & _M32)
        mem.write(buf, region)
        return 0

    def errno_of(e: ErrnoError) -> int:
        return -e.errno

    # -- fd_* (WASI-shaped, return errno) ---------------------------------------------------
    def fix_iovcnt(iovcnt: int) -> int:
        # gen 3/4 wasm32 do `iovcnt >>>= 0`; gen 2 and wasm64 (bigintToI53Checked) keep the
        # sign, and `i < iovcnt` never runs for a negative count
        return iovcnt & _M32 if gen >= 3 and not m64 else max(iovcnt, 0)

    def fd_write(fd: int, iov: int, iovcnt: int, pnum: int) -> int:
        stream = streams.get(fd)
        if stream is None:
            return EBADF
        iov &= mask
        pnum &= mask
        iovcnt = fix_iovcnt(iovcnt)
        total = 0
        try:
            if iovcnt == 0:
                pass
            elif iovcnt == 1:
                ptr, ln = iov_unpack(mem.read(iov, iov_size))
                total = write(stream, mem.read(ptr, ln) if ln else b"")
            else:
                for ptr, ln in iov_iter(mem.read(iov, iov_size * iovcnt)):
                    total += write(stream, mem.read(ptr, ln) if ln else b"")
        except ErrnoError as e:
            return e.errno
        set_size(pnum, total)
        return 0

    def fd_read(fd: int, iov: int, iovcnt: int, pnum: int) -> int:
        stream = streams.get(fd)
        if stream is None:
            return EBADF
        iov &= mask
        pnum &= mask
        iovcnt = fix_iovcnt(iovcnt)
        total = 0
        try:
            for i in range(iovcnt):
                # doReadv reads each iovec after the previous read landed in memory
                ptr, ln = iov_unpack(mem.read(iov + i * iov_size, iov_size))
                data = read(stream, ln)
                if data:
                    mem.write(ptr, data)
                total += len(data)
                if len(data) < ln:
                    break
        except ErrnoError as e:
            return e.errno
        set_size(pnum, total)
        return 0

    def _seek(fd: int, offset: int | None, whence: int, new_offset: int) -> int:
        if offset is None:
            return EOVERFLOW  # `if (isNaN(offset)) return 61`
        try:
            stream = fs.get_stream_checked(fd)
            fs.llseek(stream, offset, whence)
            mem.set_i64(new_offset, stream.position)
            if stream.getdents is not None and offset == 0 and whence == 0:
                stream.getdents = None
        except ErrnoError as e:
            return e.errno
        return 0

    if m64:
        def fd_seek(fd: int, offset: int, whence: int, new_offset: int) -> int:
            return _seek(fd, _i53(offset), whence, new_offset & mask)
    else:
        def fd_seek(fd: int, offset_low: int, offset_high: int, whence: int, new_offset: int) -> int:  # type: ignore[misc]
            return _seek(fd, _i53_pair(offset_low, offset_high), whence, new_offset & mask)

    def fd_close(fd: int) -> int:
        try:
            fs.close(fs.get_stream_checked(fd))
        except ErrnoError as e:
            return e.errno
        return 0

    def fd_sync(fd: int) -> int:
        # gen 2: stream_ops.fsync (the TTY's is named flush there); gen 3: TTY fsync
        # returns undefined; gen 4: Asyncify.handleSleep whose wakeUp(0) runs synchronously
        # because MEMFS has no syncfs. All of them answer 0 for an open fd.
        if fd not in streams:
            return EBADF
        return 0

    def fd_fdstat_get(fd: int, pbuf: int) -> int:
        try:
            stream = fs.get_stream_checked(fd)
        except ErrnoError as e:
            return e.errno
        pbuf &= mask
        # `stream.mode` does not exist, so everything that is not a TTY is a regular file (4)
        mem.set_u8(pbuf, 2 if stream.tty is not None else 4)
        if gen >= 3:
            mem.set_i16(pbuf + 2, 0)
            mem.set_i64(pbuf + 8, 0)
            mem.set_i64(pbuf + 16, 0)
        return 0

    # -- __syscall_* (return -errno) ------------------------------------------------------
    def sys_openat(dirfd: int, path: int, flags: int, varargs: int) -> int:
        varargs &= mask
        try:
            p = calculate_at(dirfd, get_str(path & mask))
            mode = vararg_i(varargs) if varargs else 0
            fd = fs.open(p, flags, mode).fd
            assert fd is not None
            return fd
        except ErrnoError as e:
            return errno_of(e)

    def sys_fcntl64(fd: int, cmd: int, varargs: int) -> int:
        varargs &= mask
        try:
            stream = fs.get_stream_checked(fd)
            if cmd == 0:  # F_DUPFD
                arg = vararg_i(varargs)
                if arg < 0:
                    return -EINVAL
                if gen == 2:
                    new = fs.create_stream(stream.copy(), arg)  # nextfd(arg, 4096)
                else:
                    while arg in streams:
                        arg += 1
                    new = fs.dup_stream(stream, arg)
                assert new.fd is not None
                return new.fd
            if cmd in (1, 2):  # F_GETFD / F_SETFD
                return 0
            if cmd == 3:  # F_GETFL
                return _as_i32(stream.flags)
            if cmd == 4:  # F_SETFL: flags |= arg
                stream.flags = _as_i32(stream.flags | vararg_i(varargs))
                return 0
            getlk, setlk = (5, (6, 7)) if gen == 2 or m64 else (12, (13, 14))
            if cmd == getlk:  # F_GETLK: l_type = F_UNLCK
                mem.set_i16(vararg_p(varargs) if gen != 2 else vararg_i(varargs) & _M32, 2)
                return 0
            if cmd in setlk:
                return 0
            if gen == 2 and cmd == 9:  # F_GETOWN: setErrNo(EINVAL), return -1
                mem.set_i32(mem.uptr(errno_location()), EINVAL)
                return -1
            return -EINVAL
        except ErrnoError as e:
            return errno_of(e)

    def sys_ioctl(fd: int, op: int, varargs: int) -> int:
        varargs &= mask
        try:
            stream = fs.get_stream_checked(fd)
            tty = stream.tty
            if op == 21505:  # TCGETS
                if tty is None:
                    return -ENOTTY
                if tty.termios_ioctls:  # gen 3/4 /dev/tty only: ioctl_tcgets
                    argp = vararg_p(varargs)
                    mem.write(argp, _TERMIOS_FLAGS)  # c_line at 16 is left alone
                    mem.write(argp + 17, TERMIOS_CC)
                return 0
            if op in (21506, 21507, 21508):  # TCSETS*
                if tty is None:
                    return -ENOTTY
                if tty.termios_ioctls:  # the glue reads the termios it is given, then ignores it
                    argp = vararg_p(varargs)
                    mem.read(argp, 16)
                    mem.read(argp + 17, 32)
                return 0
            if op in (21509, 21510, 21511, 21512, 21524):  # TCSBRK, TCXONC, TCFLSH.., TIOCSWINSZ
                return -ENOTTY if tty is None else 0
            if op == 21519:  # TIOCGPGRP
                if tty is None:
                    return -ENOTTY
                argp = vararg_i(varargs) & _M32 if gen == 2 else vararg_p(varargs)
                mem.set_i32(argp, 0)
                return 0
            if op == 21520:  # TIOCSPGRP
                return -ENOTTY if tty is None else -EINVAL
            if op == 21531:  # FIONREAD: FS.ioctl -> no stream_ops.ioctl anywhere
                raise ErrnoError(ENOTTY)
            if op == 21523:  # TIOCGWINSZ
                if tty is None:
                    return -ENOTTY
                if tty.termios_ioctls:
                    argp = vararg_p(varargs)
                    mem.set_i16(argp, WINSIZE[0])
                    mem.set_i16(argp + 2, WINSIZE[1])
                return 0
            if op == 21515 and gen >= 3:  # TCFLSH
                return -ENOTTY if tty is None else 0
            if gen == 2:
                raise Abort(f"Aborted(bad ioctl syscall {op})")
            return -EINVAL
        except ErrnoError as e:
            return errno_of(e)

    def sys_dup3(fd: int, newfd: int, flags: int) -> int:
        try:
            old = fs.get_stream_checked(fd)
            if flags:
                raise Abort("Aborted(Assertion failed)")  # assert(!flags)
            if old.fd == newfd:
                return -EINVAL
            existing = streams.get(newfd)
            if existing is not None:
                fs.close(existing)
            if gen == 2:
                new = fs.create_stream(old.copy(), newfd, newfd + 1)
            else:
                new = fs.dup_stream(old, newfd)
            assert new.fd is not None
            return new.fd
        except ErrnoError as e:
            return errno_of(e)

    def sys_fstat64(fd: int, buf: int) -> int:
        try:
            stream = fs.get_stream_checked(fd)
            return do_stat(fs.stat, stream.path, buf & mask)  # by path, as the glue does
        except ErrnoError as e:
            return errno_of(e)

    def sys_stat64(path: int, buf: int) -> int:
        try:
            return do_stat(fs.stat, get_str(path & mask), buf & mask)
        except ErrnoError as e:
            return errno_of(e)

    def sys_lstat64(path: int, buf: int) -> int:
        try:
            return do_stat(fs.lstat, get_str(path & mask), buf & mask)
        except ErrnoError as e:
            return errno_of(e)

    def sys_newfstatat(dirfd: int, path: int, buf: int, flags: int) -> int:
        try:
            p = get_str(path & mask)
            nofollow = flags & 256
            allow_empty = bool(flags & 4096)
            if gen == 2:
                rest = flags & ~4352
                if rest:
                    raise Abort(f"Aborted(Assertion failed: {rest})")
            else:
                rest = flags & ~6400
                if rest:
                    raise Abort(f"Aborted(Assertion failed: unknown flags in __syscall_newfstatat: {rest})")
            p = calculate_at(dirfd, p, allow_empty)
            return do_stat(fs.lstat if nofollow else fs.stat, p, buf & mask)
        except ErrnoError as e:
            return errno_of(e)

    def sys_getcwd(buf: int, size: int) -> int:
        # gen 3 does `size >>>= 0`; gen 2 and gen 4 wasm32 compare the signed i32
        if gen == 3:
            size &= _M32
        try:
            if size == 0:
                return -EINVAL
            cwd = fs.cwd()
            n = length_bytes_utf8(cwd) + 1
            if m64 and _i53(size) is None:
                return n  # bigintToI53Checked gave NaN: no comparison holds, nothing is written
            if size < n:
                return -ERANGE
            mem.write(buf & mask, js_to_utf8(cwd, size))
            return n
        except ErrnoError as e:
            return errno_of(e)

    def sys_mkdirat(dirfd: int, path: int, mode: int) -> int:
        try:
            p = path_normalize(calculate_at(dirfd, get_str(path & mask)))
            if p[-1:] == "/":
                p = p[:-1]
            fs.mkdir(p, mode)
            return 0
        except ErrnoError as e:
            return errno_of(e)

    def sys_readlinkat(dirfd: int, path: int, buf: int, bufsize: int) -> int:
        if gen >= 3 and not m64:
            bufsize &= _M32  # `bufsize >>>= 0`; gen 2 and wasm64 keep the sign
        buf &= mask
        try:
            p = calculate_at(dirfd, get_str(path & mask))
            if m64 and _i53(bufsize) is None:
                fs.readlink(p)
                return 0  # NaN length: nothing written, NaN returned
            if bufsize <= 0:
                return -EINVAL
            target = fs.readlink(p)
            ln = min(bufsize, length_bytes_utf8(target))
            end_char = mem.read(buf + ln, 1)
            mem.write(buf, js_to_utf8(target, bufsize + 1))
            mem.write(buf + ln, end_char)  # readlink does not NUL-terminate
            return ln
        except ErrnoError as e:
            return errno_of(e)

    def sys_renameat(olddirfd: int, oldpath: int, newdirfd: int, newpath: int) -> int:
        try:
            old = get_str(oldpath & mask)
            new = get_str(newpath & mask)
            fs.rename(calculate_at(olddirfd, old), calculate_at(newdirfd, new))
            return 0
        except ErrnoError as e:
            return errno_of(e)

    def sys_rmdir(path: int) -> int:
        try:
            fs.rmdir(get_str(path & mask))  # no calculateAt: relative to cwd
            return 0
        except ErrnoError as e:
            return errno_of(e)

    def sys_unlinkat(dirfd: int, path: int, flags: int) -> int:
        try:
            p = calculate_at(dirfd, get_str(path & mask))
            if flags == 0:
                fs.unlink(p)
            elif flags == 512:  # AT_REMOVEDIR
                fs.rmdir(p)
            else:
                raise Abort("Aborted(Invalid flags passed to unlinkat)")
            return 0
        except ErrnoError as e:
            return errno_of(e)

    def sys_utimensat(dirfd: int, path: int, times: int, flags: int) -> int:
        times &= mask
        try:
            p = get_str(path & mask)
            if flags != 0:
                raise Abort("Aborted(Assertion failed)")  # assert(flags === 0)
            p = calculate_at(dirfd, p, True)
            if not times:
                atime = mtime = fs.now()  # one Date.now for both
            elif gen == 2:
                # gen 2: {i32 tv_sec, i32 tv_nsec} pairs; no UTIME_NOW/UTIME_OMIT handling
                atime = mem.i32(times) * 1e3 + mem.i32(times + 4) / 1e6
                mtime = mem.i32(times + 8) * 1e3 + mem.i32(times + 12) / 1e6
            else:
                # gen 3/4: readI53FromI64(tv_sec) = HEAPU32 + HEAP32 * 2^32, i32 tv_nsec at +8
                atime = (mem.u32(times) + mem.i32(times + 4) * _TWO32) * 1e3 + mem.i32(times + 8) / 1e6
                t2 = times + 16
                mtime = (mem.u32(t2) + mem.i32(t2 + 4) * _TWO32) * 1e3 + mem.i32(t2 + 8) / 1e6
            fs.utime(p, atime, mtime)
            return 0
        except ErrnoError as e:
            return errno_of(e)

    def sys_chmod(path: int, mode: int) -> int:
        try:
            fs.chmod(get_str(path & mask), mode)
            return 0
        except ErrnoError as e:
            return errno_of(e)

    def sys_fchmod(fd: int, mode: int) -> int:
        try:
            fs.fchmod(fd, mode)
            return 0
        except ErrnoError as e:
            return errno_of(e)

    def sys_fchown32(fd: int, owner: int, group: int) -> int:
        try:
            fs.fchown(fd, owner, group)
            return 0
        except ErrnoError as e:
            return errno_of(e)

    def sys_faccessat(dirfd: int, path: int, amode: int, flags: int) -> int:
        try:
            p = get_str(path & mask)
            if flags != 0:
                raise Abort("Aborted(Assertion failed)")  # assert(flags === 0)
            p = calculate_at(dirfd, p)
            if amode & ~7:
                return -EINVAL
            node = fs.lookup_path(p, follow=True).node
            if node is None:
                return -ENOENT
            perms = ("r" if amode & 4 else "") + ("w" if amode & 2 else "") + ("x" if amode & 1 else "")
            if perms and fs.node_permissions(node, perms):
                return -2
            return 0
        except ErrnoError as e:
            return errno_of(e)

    def _ftruncate(fd: int, length: int | None) -> int:
        if length is None:
            return -EOVERFLOW if gen == 2 else EOVERFLOW  # gen 3/4 return a positive 61
        try:
            fs.ftruncate(fd, length)
            return 0
        except ErrnoError as e:
            return errno_of(e)

    if m64:
        def sys_ftruncate64(fd: int, length: int) -> int:
            return _ftruncate(fd, _i53(length))
    else:
        def sys_ftruncate64(fd: int, length_low: int, length_high: int) -> int:  # type: ignore[misc]
            return _ftruncate(fd, _i53_pair(length_low, length_high))

    # -- mmap / munmap ------------------------------------------------------------------------
    def mmap_alloc(size: int) -> int:
        """``mmapAlloc``: a zeroed, 64 KiB-aligned block from ``emscripten_builtin_memalign``."""
        if memalign is None:
            raise GlueError("TypeError: _emscripten_builtin_memalign is not available to the host")
        size = -(-size // 65536) * 65536
        ptr = mem.uptr(memalign(65536, size))
        if not ptr:
            raise ErrnoError(ENOMEM)
        mem.fill(ptr, 0, size)
        return ptr

    def _map(stream: Stream, length: int, offset: int, prot: int, flags: int) -> int:
        data = fs.mmap_data(stream, length, offset, prot, flags)
        ptr = mmap_alloc(length)
        if data:
            mem.write(ptr, data)
        return ptr

    def mmap_js_gen2(length: int, prot: int, flags: int, fd: int, off: int, allocated: int) -> int:
        stream = streams.get(fd)
        if stream is None:
            return -EBADF
        try:
            ptr = _map(stream, length & _M32, off, prot, flags)
            mem.set_i32(allocated & _M32, 1)  # res.allocated === true
            return _as_i32(ptr)
        except ErrnoError as e:
            return errno_of(e)

    def mmap_js_gen3(length: int, prot: int, flags: int, fd: int, offset_low: int, offset_high: int,
                     allocated: int, addr: int) -> int:
        offset = _i53_pair(offset_low, offset_high)
        try:
            if offset is None:
                return EOVERFLOW
            stream = fs.get_stream_checked(fd)
            ptr = _map(stream, length & _M32, offset, prot, flags)
            mem.set_i32(allocated & _M32, 1)
            mem.set_i32(addr & _M32, ptr)
            return 0
        except ErrnoError as e:
            return errno_of(e)

    def _unmap(addr: int, length: int, prot: int, flags: int, stream: Stream, offset: float) -> None:
        if prot & 2:  # PROT_WRITE: doMsync writes the mapping back into the file
            fs.do_msync(stream, lambda: mem.read(addr, length), offset, length, flags)

    def munmap_js_gen2(addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
        stream = streams.get(fd)
        try:
            if stream is not None:
                _unmap(addr & _M32, length & _M32, prot, flags, stream, offset)
            return 0
        except ErrnoError as e:
            return errno_of(e)

    if m64:
        def munmap_js(addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
            off = _i53(offset)
            try:
                stream = fs.get_stream_checked(fd)
                _unmap(addr & mask, length & mask, prot, flags, stream, math.nan if off is None else off)
                return 0
            except ErrnoError as e:
                return errno_of(e)
    else:
        def munmap_js(addr: int, length: int, prot: int, flags: int, fd: int,  # type: ignore[misc]
                      offset_low: int, offset_high: int) -> int:
            off = _i53_pair(offset_low, offset_high)  # NaN is not checked here
            try:
                stream = fs.get_stream_checked(fd)
                _unmap(addr & _M32, length & _M32, prot, flags, stream, math.nan if off is None else off)
                return 0
            except ErrnoError as e:
                return errno_of(e)

    table: dict[str, Callable[..., int | None]] = {
        "fd_write": fd_write, "fd_read": fd_read, "fd_seek": fd_seek, "fd_close": fd_close,
        "fd_sync": fd_sync, "fd_fdstat_get": fd_fdstat_get,
        "__syscall_openat": sys_openat, "__syscall_fcntl64": sys_fcntl64, "__syscall_ioctl": sys_ioctl,
        "__syscall_dup3": sys_dup3, "__syscall_fstat64": sys_fstat64, "__syscall_stat64": sys_stat64,
        "__syscall_lstat64": sys_lstat64, "__syscall_newfstatat": sys_newfstatat,
        "__syscall_getcwd": sys_getcwd, "__syscall_mkdirat": sys_mkdirat,
        "__syscall_readlinkat": sys_readlinkat, "__syscall_renameat": sys_renameat,
        "__syscall_rmdir": sys_rmdir, "__syscall_unlinkat": sys_unlinkat,
        "__syscall_utimensat": sys_utimensat, "__syscall_chmod": sys_chmod, "__syscall_fchmod": sys_fchmod,
        "__syscall_fchown32": sys_fchown32, "__syscall_faccessat": sys_faccessat,
        "__syscall_ftruncate64": sys_ftruncate64,
        "_munmap_js": munmap_js_gen2 if gen == 2 else munmap_js,
    }
    if gen == 2:
        table["_mmap_js"] = mmap_js_gen2
    elif gen == 3:
        table["_mmap_js"] = mmap_js_gen3
    assert set(table) == FS_IMPORT_NAMES_BY_GEN[gen]
    return table


def _gen1_imports(mem: Any, fs: Any) -> dict[str, Callable[..., int | None]]:
    """Gen 1 (``emscripten.cjs``): no FS. Stubs, and ``fd_write`` via ``printChar``."""
    tty_out = fs.tty_out

    def fd_write(fd: int, iov: int, iovcnt: int, pnum: int) -> int:
        iov &= _M32
        total = 0
        for _ in range(max(iovcnt, 0)):
            ptr, ln = _IOV32.unpack(mem.read(iov, 8))
            iov += 8
            if ln:
                if fd not in (1, 2):
                    # printCharBuffers[fd] is null/undefined: buffer.push throws
                    raise GlueError("TypeError: Cannot read properties of null (reading 'push')")
                tty_out(fd, mem.read(ptr, ln))
            total += ln
        mem.set_i32(pnum & _M32, total)
        return 0

    def zero(*_args: int) -> int:
        return 0  # `function ___syscall_rmdir(path) { }`: undefined -> 0

    table: dict[str, Callable[..., int | None]] = {name: zero for name in _GEN1}
    table.update({
        "fd_write": fd_write,
        "fd_close": lambda fd: ENOSYS,
        "fd_read": lambda fd, iov, iovcnt, pnum: ENOSYS,
        "fd_seek": lambda fd, lo, hi, whence, new_offset: ESPIPE,
    })
    return table
