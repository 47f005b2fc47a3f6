"""The FS syscall imports (aocu.wasm._syscalls) on a bytearray memory.

``memfs_node_vectors.json.gz`` was recorded by calling the real glue's import
functions (``emscripten2.cjs``, ``emscripten3.cjs``, ``emscripten4.cjs``,
``wasm64-emscripten.cjs`` from ao-loader 0.0.49 under Node 20) around a stub
wasm module: per call the return value (or the thrown error), the number of
``Date.now`` calls it made, and the memory it wrote. ``Date.now`` was read
before and after each call (so two extra ticks per call), ``/dev/urandom``
served a byte counter, staticInit's clock was 0. The replay below reproduces
that harness.
"""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import pytest
from fakemem import FakeMemory

from aocu.wasm._errors import Abort, _Signal
from aocu.wasm._memfs import EBADF, ENOSYS, ESPIPE, GlueError, MemFS
from aocu.wasm._syscalls import FS_IMPORT_NAMES, FS_IMPORT_NAMES_BY_GEN, make_fs_imports

VECTORS = json.loads(gzip.decompress((Path(__file__).parent / "memfs_node_vectors.json.gz").read_bytes()))
HEAP = 1179648  # the stub's emscripten_builtin_memalign bump pointer


def replay(script: dict) -> list[dict]:
    clock = [10000]

    def now() -> float:
        clock[0] += 1
        return float(clock[0] - 1)
    rnd = [0]

    def random_bytes(n: int) -> bytes:
        out = bytes((rnd[0] + i) & 255 for i in range(n))
        rnd[0] += n
        return out
    heap = [HEAP]

    def memalign(align: int, n: int) -> int:
        r = (heap[0] + align - 1) & -align
        heap[0] = r + n
        return r
    gen, m64 = script["gen"], script["m64"]
    mem = FakeMemory(40 * 65536, m64)
    fs = MemFS(now, random_bytes, lambda fd, data: None, gen, m64)
    if gen == 4:
        fs.create_path("/", "data")
    imports = make_fs_imports(mem, fs, gen, memory64=m64, errno_location=lambda: 2048, memalign=memalign)
    results = []
    for op in script["ops"]:
        for addr, data in op["w"]:
            mem.write(addr, bytes.fromhex(data))
        res: dict = {}
        t0 = now()
        try:
            res["ret"] = imports[op["f"]](*op["a"])
        except _Signal as e:
            res["throw"] = str(e)
        res["bumps"] = int(now() - t0 - 1)
        res["r"] = [mem.read(a, n).hex() for a, n in op["r"]]
        results.append(res)
    return results


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_matches_glue_recorded_in_node(name: str) -> None:
    script = VECTORS[name]
    for i, (op, want, got) in enumerate(zip(script["ops"], script["expect"], replay(script), strict=True)):
        where = f"{name} op {i} {op['f']}{tuple(op['a'])}"
        if "throw" in want:
            assert "throw" in got, where
            if "Aborted" in want["throw"]:  # "RuntimeError: Aborted(...)" in JS
                assert want["throw"].endswith(got["throw"]), where
        else:
            assert got.get("ret") == want["ret"], where
        assert got["bumps"] == want["bumps"], where
        assert got["r"] == want["r"], where


# -- fixtures for targeted tests ---------------------------------------------------------------
class Env:
    def __init__(self, gen: int = 4, m64: bool = False) -> None:
        self.clock = 10000
        self.now_calls = 0
        self.out: list[tuple[int, bytes]] = []
        self.mem = FakeMemory(1 << 20, m64)
        self.m64 = m64
        self.fs = MemFS(self.now, lambda n: bytes(n), lambda fd, d: self.out.append((fd, d)), gen, m64)
        if gen == 4:
            self.fs.create_path("/", "data")
        self.sys = make_fs_imports(self.mem, self.fs, gen, memory64=m64, errno_location=lambda: 2048)
        self.top = 0x10000

    def now(self) -> float:
        self.now_calls += 1
        self.clock += 1
        return float(self.clock - 1)

    def put(self, data: bytes) -> int:
        addr = self.top
        self.mem.write(addr, data)
        self.top = (self.top + len(data) + 15) & ~15
        return addr

    def s(self, text: str) -> int:
        return self.put(text.encode() + b"\0")

    def iov(self, *chunks: bytes) -> int:
        fmt = "<QQ" if self.m64 else "<II"
        return self.put(b"".join(struct.pack(fmt, self.put(c) if c else 0, len(c)) for c in chunks))

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        return self.sys["__syscall_openat"](-100, self.s(path), flags, self.put(struct.pack("<i", mode)))


def test_import_tables_per_gen() -> None:
    assert "__syscall_getdents64" not in FS_IMPORT_NAMES         # no glue defines it
    assert "fd_pread" not in FS_IMPORT_NAMES and "fd_pwrite" not in FS_IMPORT_NAMES
    assert "_mmap_js" in FS_IMPORT_NAMES_BY_GEN[2] and "_mmap_js" not in FS_IMPORT_NAMES_BY_GEN[4]
    for gen in (2, 3, 4):
        assert set(Env(gen).sys) == FS_IMPORT_NAMES_BY_GEN[gen]
    assert set(Env(4, True).sys) == FS_IMPORT_NAMES_BY_GEN[4]
    assert len(FS_IMPORT_NAMES_BY_GEN[4]) == 27


def test_fd_write_stdout_fast_path() -> None:
    env = Env()
    pnum = env.put(bytes(4))
    before = env.now_calls
    assert env.sys["fd_write"](1, env.iov(b"hello ", b"", b"world\n"), 3, pnum) == 0
    assert env.out == [(1, b"hello "), (1, b"world\n")]
    assert env.mem.u32(pnum) == 12
    assert env.now_calls - before == 2                           # one TTY write per non-empty iovec
    assert env.sys["fd_write"](2, env.iov(b"err"), 1, pnum) == 0 and env.out[-1] == (2, b"err")
    assert env.sys["fd_write"](9, env.iov(b"x"), 1, pnum) == EBADF
    assert env.sys["fd_write"](0, env.iov(b"x"), 1, pnum) == EBADF


def test_fd_write_wasm64() -> None:
    env = Env(4, True)
    pnum = env.put(bytes(8))
    assert env.sys["fd_write"](1, env.iov(b"abc", b"de"), 2, pnum) == 0
    assert env.mem.u64(pnum) == 5 and env.out == [(1, b"abc"), (1, b"de")]


def test_file_roundtrip_and_seek_split_offsets() -> None:
    env = Env()
    fd = env.open("/tmp/f", 64 | 2)
    assert fd == 3
    pnum = env.put(bytes(4))
    env.sys["fd_write"](fd, env.iov(b"0123456789"), 1, pnum)
    out = env.put(bytes(8))
    assert env.sys["fd_seek"](fd, -3, -1, 2, out) == 0 and env.mem.u64(out) == 7
    assert env.sys["fd_seek"](fd, 0, 0x7FFFFFFF, 0, out) == 61   # beyond 2^53: EOVERFLOW, unsigned
    assert env.sys["fd_seek"](1, 0, 0, 0, out) == ESPIPE
    buf = env.put(bytes(8))
    iov = env.put(struct.pack("<II", buf, 8))
    assert env.sys["fd_read"](fd, iov, 1, pnum) == 0
    assert env.mem.u32(pnum) == 3 and env.mem.read(buf, 3) == b"789"


def test_stat_layout_wasm32_gen4() -> None:
    env = Env()
    fd = env.open("/tmp/f", 64 | 2)                              # created at 10004 (4 init ticks)
    env.sys["fd_write"](fd, env.iov(b"x" * 5000), 1, env.put(bytes(4)))   # written at 10005
    buf = env.put(b"\x5a" * 104)
    assert env.sys["__syscall_fstat64"](fd, buf) == 0
    f = struct.unpack_from("<iiIiiiqiiqI4xqI4xqI4xq", env.mem.read(buf, 96))
    assert f == (1, 0o100644, 1, 0, 0, 0, 5000, 4096, 2, 10, 5000, 10, 5000, 10, 5000, 21)
    # padding after each nanosecond field is left untouched
    assert env.mem.read(buf + 52, 4) == b"\x5a" * 4 and env.mem.read(buf + 96, 8) == b"\x5a" * 8


def test_stat_layout_wasm64() -> None:
    env = Env(4, True)
    buf = env.put(b"\x5a" * 112)
    assert env.sys["__syscall_stat64"](env.s("/dev/tty"), buf) == 0
    f = struct.unpack_from("<iiQiii4xqiiqQqQqQq", env.mem.read(buf, 104))
    # a chrdev's st_dev is its inode; static nodes carry static_time 0
    assert f == (7, 0o20666, 1, 0, 0, 1280, 0, 4096, 0, 0, 0, 0, 0, 0, 0, 7)
    assert env.mem.read(buf + 28, 4) == b"\x5a" * 4


def test_stat_layout_gen2() -> None:
    env = Env(2)
    buf = env.put(b"\x5a" * 96)
    assert env.sys["__syscall_lstat64"](env.s("/dev/stdout"), buf) == 0
    f = struct.unpack_from("<iiiiIiiii4xqiiiiiiiiq", env.mem.read(buf, 88))
    assert f == (1, 0, 18, 0o120777, 1, 0, 0, 0, 0, 8, 4096, 1, 10, 0, 10, 0, 10, 0, 18)
    assert env.mem.read(buf + 36, 4) == b"\x5a" * 4


def test_gen2_stat_through_a_file_is_enotdir() -> None:
    env = Env(2)
    env.open("/tmp/f", 64 | 2)
    assert env.sys["__syscall_stat64"](env.s("/tmp/f/x"), env.put(bytes(96))) == -54
    assert env.open("/tmp/f/x", 0) == -44


@pytest.mark.parametrize("gen", [2, 3, 4])
def test_tty_ioctls(gen: int) -> None:
    env = Env(gen)
    arg = env.put(b"\x33" * 64)
    va = env.put(struct.pack("<I", arg))
    assert env.sys["__syscall_ioctl"](1, 21505, va) == 0         # TCGETS
    if gen == 2:
        assert env.mem.read(arg, 64) == b"\x33" * 64             # gen 2 writes nothing
    else:
        assert struct.unpack_from("<4I", env.mem.read(arg, 16)) == (25856, 5, 191, 35387)
        assert env.mem.read(arg + 16, 1) == b"\x33"
        cc = bytes([3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22])
        assert env.mem.read(arg + 17, 16) == cc
    arg2 = env.put(b"\x33" * 8)
    va2 = env.put(struct.pack("<I", arg2))
    assert env.sys["__syscall_ioctl"](1, 21523, va2) == 0        # TIOCGWINSZ
    assert env.mem.read(arg2, 4) == (b"\x33" * 4 if gen == 2 else struct.pack("<hh", 24, 80))
    arg3 = env.put(b"\x33" * 8)
    assert env.sys["__syscall_ioctl"](2, 21523, env.put(struct.pack("<I", arg3))) == 0
    assert env.mem.read(arg3, 4) == b"\x33" * 4                  # /dev/tty1 has no ioctl_tiocgwinsz
    fd = env.open("/tmp/f", 64 | 2)
    assert env.sys["__syscall_ioctl"](fd, 21505, va) == -59
    assert env.sys["__syscall_ioctl"](1, 21531, va) == -59
    if gen == 2:
        with pytest.raises(Abort, match=r"Aborted\(bad ioctl syscall 21515\)"):
            env.sys["__syscall_ioctl"](1, 21515, va)
    else:
        assert env.sys["__syscall_ioctl"](1, 21515, va) == 0
        assert env.sys["__syscall_ioctl"](1, 99, va) == -28


def test_fcntl() -> None:
    env = Env()
    zero = env.put(struct.pack("<i", 0))
    assert env.sys["__syscall_fcntl64"](1, 3, 0) == 1            # F_GETFL: O_WRONLY
    assert env.sys["__syscall_fcntl64"](1, 0, zero) == 3         # F_DUPFD
    assert env.sys["__syscall_fcntl64"](1, 4, env.put(struct.pack("<i", 1024))) == 0
    assert env.sys["__syscall_fcntl64"](3, 3, 0) == 1025         # F_SETFL is shared with the dup
    lk = env.put(b"\x99" * 8)
    assert env.sys["__syscall_fcntl64"](1, 12, env.put(struct.pack("<I", lk))) == 0
    assert env.mem.read(lk, 2) == b"\x02\x00"                     # F_GETLK: F_UNLCK
    assert env.sys["__syscall_fcntl64"](1, 9, 0) == -28
    assert env.sys["__syscall_fcntl64"](50, 3, 0) == -8


def test_fcntl_getown_gen2_sets_errno() -> None:
    env = Env(2)
    assert env.sys["__syscall_fcntl64"](1, 9, 0) == -1
    assert env.mem.i32(2048) == 28


def test_dup3_and_shared_position() -> None:
    env = Env()
    fd = env.open("/tmp/f", 64 | 2)
    assert env.sys["__syscall_dup3"](fd, 7, 0) == 7
    assert env.sys["__syscall_dup3"](fd, fd, 0) == -28
    out = env.put(bytes(8))
    env.sys["fd_seek"](7, 42, 0, 0, out)
    env.sys["fd_seek"](fd, 0, 0, 1, out)
    assert env.mem.u64(out) == 42
    assert env.sys["__syscall_dup3"](fd, 1, 0) == 1              # closes stdout, then dups onto 1
    with pytest.raises(Abort):
        env.sys["__syscall_dup3"](fd, 8, 1)


@pytest.mark.parametrize(("gen", "m64", "expect"), [(2, False, -61), (3, False, 61), (4, False, 61),
                                                      (4, True, 61)])
def test_ftruncate_overflow_sign(gen: int, m64: bool, expect: int) -> None:
    env = Env(gen, m64)
    fd = env.open("/tmp/f", 64 | 2)
    args = (fd, 1 << 60) if m64 else (fd, 0, 0x7FFFFFFF)
    assert env.sys["__syscall_ftruncate64"](*args) == expect     # gen 3/4 forgot the minus


def test_readlinkat_truncates_without_nul() -> None:
    env = Env()
    buf = env.put(b"\x77" * 12)
    assert env.sys["__syscall_readlinkat"](-100, env.s("/dev/stdin"), buf, 4) == 4
    assert env.mem.read(buf, 12) == b"/dev" + b"\x77" * 8
    assert env.sys["__syscall_readlinkat"](-100, env.s("/dev/stdin"), buf, 12) == 8
    assert env.mem.read(buf, 12) == b"/dev/tty" + b"\x77" * 4
    assert env.sys["__syscall_readlinkat"](-100, env.s("/tmp"), buf, 12) == -28
    assert env.sys["__syscall_readlinkat"](-100, env.s("/proc/self/fd/2"), buf, 12) == 9
    assert env.mem.read(buf, 9) == b"/dev/tty1"


def test_getcwd() -> None:
    env = Env()
    buf = env.put(b"\x44" * 4)
    assert env.sys["__syscall_getcwd"](buf, 0) == -28
    assert env.sys["__syscall_getcwd"](buf, 1) == -68
    assert env.sys["__syscall_getcwd"](buf, 4) == 2 and env.mem.read(buf, 4) == b"/\0\x44\x44"


def test_utimensat_now_and_times() -> None:
    env = Env()
    env.open("/tmp/f", 64 | 2)
    before = env.now_calls
    assert env.sys["__syscall_utimensat"](-100, env.s("/tmp/f"), 0, 0) == 0
    assert env.now_calls - before == 1
    times = env.put(struct.pack("<qi4xqi4x", 3, 500_000_000, 9, 1))
    assert env.sys["__syscall_utimensat"](-100, env.s("/tmp/f"), times, 0) == 0
    assert env.fs.stat("/tmp/f").mtime == 9000                   # max(atime, mtime) in ms
    with pytest.raises(Abort):
        env.sys["__syscall_utimensat"](-100, env.s("/tmp/f"), 0, 256)
    with pytest.raises(GlueError):                               # the fake /proc node has no setattr
        env.sys["__syscall_utimensat"](-100, env.s("/proc/self/fd/1"), 0, 0)


def test_unlinkat_mkdirat_renameat() -> None:
    env = Env()
    assert env.sys["__syscall_mkdirat"](-100, env.s("/tmp/d/"), 0o755) == 0
    dirfd = env.open("/tmp/d", 65536)
    assert env.sys["__syscall_openat"](dirfd, env.s("x"), 64 | 1, env.put(struct.pack("<i", 0o644))) > 0
    assert env.sys["__syscall_renameat"](dirfd, env.s("x"), -100, env.s("/tmp/y")) == 0
    assert env.sys["__syscall_unlinkat"](-100, env.s("/tmp/d"), 0) == -31
    assert env.sys["__syscall_unlinkat"](-100, env.s("/tmp/d"), 512) == 0
    assert env.sys["__syscall_unlinkat"](-100, env.s("/tmp/y"), 0) == 0
    assert env.sys["__syscall_rmdir"](env.s("/tmp/nope")) == -44
    with pytest.raises(Abort, match="Invalid flags"):
        env.sys["__syscall_unlinkat"](-100, env.s("/tmp"), 1)


def test_fdstat_and_sync() -> None:
    env = Env()
    buf = env.put(b"\x55" * 24)
    assert env.sys["fd_fdstat_get"](1, buf) == 0
    assert env.mem.read(buf, 24) == b"\x02\x55" + bytes(2) + b"\x55" * 4 + bytes(16)
    fd = env.open("/tmp", 65536)
    assert env.sys["fd_fdstat_get"](fd, buf) == 0 and env.mem.u8(buf) == 4   # `stream.mode` is undefined
    assert env.sys["fd_sync"](fd) == 0 and env.sys["fd_sync"](77) == EBADF
    assert env.sys["fd_close"](fd) == 0 and env.sys["fd_close"](fd) == EBADF


def test_mmap_gen2_copies_file_into_memalign_block() -> None:
    mem = FakeMemory(1 << 21)
    clock = [10000.0]

    def now() -> float:
        clock[0] += 1
        return clock[0]
    fs = MemFS(now, bytes, lambda fd, d: None, 2, False)
    fs.write_file("/tmp/f", b"abcdefgh")
    calls = []

    def memalign(align: int, size: int) -> int:
        calls.append((align, size))
        return 0x100000
    sys_ = make_fs_imports(mem, fs, 2, memory64=False, errno_location=lambda: 0, memalign=memalign)
    fd = fs.open("/tmp/f", 2).fd
    mem.fill(0x100000, 0xEE, 65536)
    assert sys_["_mmap_js"](5, 1, 2, fd, 2, 0x2000) == 0x100000
    assert calls == [(65536, 65536)] and mem.u32(0x2000) == 1
    assert mem.read(0x100000, 8) == b"cdefg\0\0\0"             # zeroed block, file bytes at offset 2
    assert sys_["_mmap_js"](5, 1, 2, 99, 0, 0x2000) == -8


def test_gen1_stubs() -> None:
    mem = FakeMemory()
    out: list[tuple[int, bytes]] = []
    fs = MemFS(lambda: 0.0, bytes, lambda fd, d: out.append((fd, d)), 1, False)
    sys_ = make_fs_imports(mem, fs, 1, memory64=False, errno_location=lambda: 0)
    assert set(sys_) == FS_IMPORT_NAMES_BY_GEN[1]
    mem.write(0x100, b"hi\n")
    mem.write(0x200, struct.pack("<II", 0x100, 3))
    assert sys_["fd_write"](1, 0x200, 1, 0x300) == 0 and out == [(1, b"hi\n")] and mem.u32(0x300) == 3
    with pytest.raises(GlueError):
        sys_["fd_write"](5, 0x200, 1, 0x300)                     # printCharBuffers[5] is undefined
    assert sys_["fd_close"](1) == ENOSYS and sys_["fd_read"](0, 0, 0, 0) == ENOSYS
    assert sys_["fd_seek"](1, 0, 0, 0, 0) == ESPIPE
    assert sys_["__syscall_openat"](-100, 0x100, 0, 0) == 0      # "succeeds" with fd 0


def test_wasm64_lengths_beyond_2_53_are_nan() -> None:
    # bigintToI53Checked gives NaN: getcwd writes nothing and reports the length,
    # readlinkat writes nothing and returns NaN (0 in wasm); checked against Node
    env = Env(4, True)
    buf = env.put(b"\x44" * 4)
    assert env.sys["__syscall_getcwd"](buf, 1 << 60) == 2 and env.mem.read(buf, 4) == b"\x44" * 4
    assert env.sys["__syscall_getcwd"](buf, -5) == -68
    assert env.sys["__syscall_readlinkat"](-100, env.s("/dev/stdin"), buf, 1 << 60) == 0
    assert env.mem.read(buf, 4) == b"\x44" * 4
    assert env.sys["__syscall_readlinkat"](-100, env.s("/dev/nope"), buf, 1 << 60) == -44
