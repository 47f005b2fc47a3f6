"""MemFS (aocu.wasm._memfs): the glue's FS.staticInit/FS.init layout, FS semantics, Date.now calls.

Expectations are read off the glue sources (``FS.*``, ``MEMFS.*``, ``TTY`` in
``emscripten{2,3,4}.cjs`` / ``wasm64-emscripten.cjs``); the byte-level
syscall behaviour is checked against vectors recorded from the real glue in
test_syscalls.py.
"""

from __future__ import annotations

import pytest

from aocu.wasm._errors import Abort
from aocu.wasm._memfs import (
    EACCES,
    EBADF,
    EBUSY,
    EEXIST,
    EINVAL,
    EISDIR,
    ELOOP,
    ENOENT,
    ENOTDIR,
    ENOTEMPTY,
    EPERM,
    ESPIPE,
    EXDEV,
    ErrnoError,
    GlueError,
    MemFS,
    js_to_number,
    js_to_utf8,
    length_bytes_utf8,
    object_keys,
    path_basename,
    path_dirname,
    path_normalize,
    utf8_to_js,
)


class Clock:
    """The glue's deterministic Date.now: starts at 10000, +1 per call."""

    def __init__(self) -> None:
        self.t = 10000
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        self.t += 1
        return float(self.t - 1)


def make(gen: int = 4, memory64: bool = False, random_bytes=None):
    clock = Clock()
    out: list[tuple[int, bytes]] = []
    fs = MemFS(clock, random_bytes or (lambda n: bytes(n)), lambda fd, d: out.append((fd, d)), gen, memory64)
    return fs, clock, out


def errno_of(fn, *args) -> int:
    with pytest.raises(ErrnoError) as ei:
        fn(*args)
    return ei.value.errno


# -- init ------------------------------------------------------------------------------
@pytest.mark.parametrize("gen", [2, 3, 4])
def test_init_layout_inodes_and_now_calls(gen: int) -> None:
    fs, clock, _ = make(gen)
    # FS.init's 3 symlinks are the only Date.now calls (staticInit runs before the counter exists)
    assert fs.init_now_calls == 3 and clock.calls == 3
    ids = {fs.get_path(n): n.id for n in fs.iter_nodes() if n.kind != "fdroot"}
    assert ids == {
        "/": 1, "/tmp": 2, "/home": 3, "/home/web_user": 4, "/dev": 5, "/dev/null": 6, "/dev/tty": 7,
        "/dev/tty1": 8, "/dev/random": 9, "/dev/urandom": 10, "/dev/shm": 11, "/dev/shm/tmp": 12,
        "/proc": 13, "/proc/self": 14, "/proc/self/fd": 15, "/dev/stdin": 17, "/dev/stdout": 18,
        "/dev/stderr": 19,
    }
    # inode 16 is the /proc/self/fd mount root (FS.createNode: no Date.now)
    assert fs.lookup_path("/proc/self/fd").node.id == 16
    assert {fd: (s.path, s.flags, s.tty.out_fd) for fd, s in fs.streams.items()} == {
        0: ("/dev/tty", 0, 1), 1: ("/dev/tty", 1, 1), 2: ("/dev/tty1", 1, 2)}
    # symlinks stamped 10000..10002, /dev takes the last one; static nodes keep static_time
    assert [fs.lookup_path(p).node.timestamp for p in ("/dev/stdin", "/dev/stdout", "/dev/stderr")] == \
        [10000.0, 10001.0, 10002.0]
    assert fs.lookup_path("/dev").node.timestamp == 10002.0
    assert fs.lookup_path("/tmp").node.timestamp == 0.0
    # the loader's FS_createPath('/', 'data') (gen 4): one more Date.now, inode 20
    fs.create_path("/", "data")
    assert clock.calls == 4 and fs.lookup_path("/data").node.id == 20


def test_gen1_has_no_fs() -> None:
    fs, clock, _ = make(1)
    assert clock.calls == 0 and fs.streams == {} and fs.root is None


def test_device_modes_and_rdev() -> None:
    fs, _, _ = make()
    st = {p: fs.stat(p) for p in ("/dev/null", "/dev/tty", "/dev/tty1", "/dev/random", "/dev/urandom")}
    assert {p: (oct(a.mode), a.rdev, a.dev) for p, a in st.items()} == {
        "/dev/null": ("0o20666", 259, 6), "/dev/tty": ("0o20666", 1280, 7), "/dev/tty1": ("0o20666", 1536, 8),
        "/dev/random": ("0o20555", 16384, 9), "/dev/urandom": ("0o20555", 16640, 10)}
    assert fs.lstat("/dev/stdout").size == len("/dev/tty")
    assert fs.readdir("/dev") == [".", "..", "null", "tty", "tty1", "random", "urandom", "shm", "stdin",
                                  "stdout", "stderr"]


# -- paths -------------------------------------------------------------------------------
def test_path_helpers_match_glue() -> None:
    assert path_normalize("/tmp/../tmp//a/./b/") == "/tmp/a/b/"
    assert path_normalize("a/../..") == ".."
    assert path_normalize("") == "."
    assert path_dirname("/tmp/a/") == "/tmp"
    assert path_dirname("a") == "."
    assert path_dirname("/") == "/"
    assert path_basename("/tmp/a/") == "a"
    assert path_basename("/") == "/"
    assert path_basename("") == "."
    fs, _, _ = make()
    assert fs.resolve("a", "../b") == "/b"
    assert fs.resolve("") == ""
    # PATH_FS.relative's trim slices (start, end - start + 1): a leading "" is never dropped
    assert fs.relative("/tmp/a", "/tmp") == ".."
    assert fs.relative("/tmp/a", "/tmp/a/b") == "b"
    assert fs.relative("/tmp", "/tmp") == ""


def test_lookup_follows_links_and_dotdot_is_lexical() -> None:
    fs, _, _ = make()
    assert fs.lookup_path("/dev/stdout", follow=True).node.id == 7
    assert fs.lookup_path("/dev/stdout").node.id == 18
    assert errno_of(fs.lookup_path, "/dev/stdout/../tmp") == ENOENT   # lexical: /dev/tmp
    assert fs.readlink("/dev/stdin") == "/dev/tty"
    assert errno_of(fs.readlink, "/tmp") == EINVAL
    fs.mkdir("/tmp/d")
    assert fs.lookup_path("/tmp/d/../../tmp/d").node is fs.lookup_path("/tmp/d").node


def test_proc_self_fd() -> None:
    fs, _, _ = make()
    assert fs.readlink("/proc/self/fd/1") == "/dev/tty"
    assert fs.readlink("/proc/self/fd/0x2") == "/dev/tty1"   # `+name`
    assert fs.readlink("/proc/self/fd/ 0") == "/dev/tty"     # JS ToNumber trims
    assert errno_of(fs.readlink, "/proc/self/fd/7") == EBADF
    assert errno_of(fs.readlink, "/proc/self/fd/1.5") == EBADF
    assert errno_of(fs.stat, "/proc/self/fd/1") == EPERM      # no getattr on the fake node
    assert errno_of(fs.stat, "/proc/self/fd") == EPERM
    assert errno_of(fs.rename, "/tmp", "/proc/self/fd/x") == EXDEV


def test_js_to_number() -> None:
    assert js_to_number(" 12 ") == 12 and js_to_number("0b11") == 3 and js_to_number("0o17") == 15
    assert js_to_number("1e1") == 10 and js_to_number("") == 0
    for bad in ("1_0", "inf", "0x", "-0x1", "1 2"):
        assert js_to_number(bad) != js_to_number(bad)  # NaN


# -- strings --------------------------------------------------------------------------------
def test_utf8_decoding_like_the_glue() -> None:
    assert utf8_to_js("é".encode()) == "é"
    # <= 16 bytes: the glue's own decoder, which reads past the NUL for a cut sequence
    assert utf8_to_js(b"\xc3", b"\x00") == "\u00c0"
    assert utf8_to_js(b"\xff") == "\udec0\udc00"               # a 4-byte lead with zero continuations
    assert utf8_to_js("😀".encode()) == "\ud83d\ude00"        # stored as UTF-16 code units
    # > 16 bytes: TextDecoder (replacement characters, BOM dropped)
    assert utf8_to_js(b"\xef\xbb\xbf" + b"a" * 20) == "a" * 20
    assert utf8_to_js(b"\xff" + b"a" * 20) == "\ufffd" + "a" * 20


def test_utf8_encoding_like_the_glue() -> None:
    assert js_to_utf8("/tmp") == b"/tmp\0"
    assert js_to_utf8("é", 2) == b"\0"              # a character that does not fit is dropped
    assert js_to_utf8("aé", 4) == b"a\xc3\xa9\0"
    assert js_to_utf8("x", 0) == b""
    assert js_to_utf8("\ud83d\ude00") == "😀".encode() + b"\0"
    assert length_bytes_utf8("é\ud83d\ude00") == 2 + 4


def test_object_keys_order() -> None:
    assert object_keys(dict.fromkeys(["b", "10", "a", "2", "01", "4294967295"])) == \
        ["2", "10", "b", "a", "01", "4294967295"]


# -- files, streams, Date.now --------------------------------------------------------------
def test_create_write_read_seek_and_now_calls() -> None:
    fs, clock, _ = make()
    base = clock.calls
    s = fs.open("/tmp/f", 64 | 2, 0o644)                       # MEMFS.createNode: 1
    assert s.fd == 3 and clock.calls == base + 1
    assert fs.write(s, b"hello") == 5 and clock.calls == base + 2   # MEMFS write: 1
    assert fs.write(s, b"") == 0 and clock.calls == base + 2        # empty: none
    fs.llseek(s, 1, 0)
    assert fs.read(s, 3) == b"ell" and clock.calls == base + 2      # MEMFS read: none
    assert fs.llseek(s, -1, 2) == 4
    assert errno_of(fs.llseek, s, -10, 1) == EINVAL
    assert errno_of(fs.llseek, s, 0, 3) == EINVAL
    fs.llseek(s, 10, 0)
    fs.write(s, b"!")                                           # writing past the end zero-fills
    assert fs.read_file("/tmp/f") == b"hello\0\0\0\0\0!"
    st = fs.stat("/tmp/f")
    assert (st.size, st.blocks, st.nlink, st.mode) == (11, 1, 1, 0o100644)
    assert st.mtime == clock.t - 1


def test_now_calls_per_operation() -> None:
    fs, clock, _ = make()

    def calls(fn, *args):
        before = clock.calls
        fn(*args)
        return clock.calls - before
    assert calls(fs.mkdir, "/tmp/d") == 1                        # createNode
    assert calls(fs.open, "/tmp/d/f", 64 | 1) == 1               # createNode (stream 3)
    assert calls(fs.open, "/tmp/d/f", 1 | 512) == 1              # O_TRUNC of an existing file: FS.truncate
    assert calls(fs.open, "/tmp/d/f", 1) == 0
    assert calls(fs.chmod, "/tmp/d/f", 0o600) == 1
    assert calls(fs.chown, "/tmp/d/f", 1, 1) == 1
    assert calls(fs.truncate, "/tmp/d/f", 7) == 1
    assert calls(fs.utime, "/tmp/d/f", 5000.0, 7000.0) == 0      # times given: no Date.now
    assert fs.stat("/tmp/d/f").mtime == 7000
    assert calls(fs.rename, "/tmp/d/f", "/tmp/g") == 1           # one for both parents
    assert fs.lookup_path("/tmp").node.timestamp == fs.lookup_path("/tmp/d").node.timestamp
    assert calls(fs.unlink, "/tmp/g") == 1
    assert calls(fs.rmdir, "/tmp/d") == 1
    tty = fs.streams[1]
    assert calls(fs.write, tty, b"hi\n") == 1 and calls(fs.write, tty, b"") == 0
    null = fs.open("/dev/null", 2)
    assert calls(fs.write, null, b"xx") == 0 and calls(fs.read, null, 4) == 0


def test_tty_output_goes_to_sink() -> None:
    fs, _, out = make()
    fs.write(fs.streams[1], b"out\n")
    fs.write(fs.streams[2], b"err")
    assert out == [(1, b"out\n"), (2, b"err")]
    assert errno_of(fs.write, fs.streams[0], b"x") == EBADF     # stdin is O_RDONLY
    assert errno_of(fs.read, fs.streams[1], 1) == EBADF
    assert fs.read(fs.streams[0], 10) == b""                     # stdin: EOF


def test_gen2_stdin_read_is_eio() -> None:
    # gen 2's get_char uses a `fs` that the loader's path never initialises
    fs, _, _ = make(2)
    assert errno_of(fs.read, fs.streams[0], 10) == 29
    assert fs.read(fs.streams[0], 0) == b""


@pytest.mark.parametrize("gen", [2, 4])
def test_urandom(gen: int) -> None:
    counter = [0]

    def rnd(n: int) -> bytes:
        out = bytes((counter[0] + i) & 255 for i in range(n))
        counter[0] += n
        return out
    fs, clock, _ = make(gen, random_bytes=rnd)
    s = fs.open("/dev/urandom", 0)
    before = clock.calls
    data = fs.read(s, 4)
    assert clock.calls == before + 1                             # device read with bytes: 1
    # gen 3/4 fill a 1024-byte buffer and hand it out from the end; gen 2 asks byte by byte
    assert data == (bytes([255, 254, 253, 252]) if gen == 4 else bytes([0, 1, 2, 3]))
    assert errno_of(fs.llseek, s, 0, 0) == ESPIPE
    assert errno_of(fs.open, "/dev/urandom", 1) == EACCES        # mode 0555


def test_urandom_defaults_to_zeros() -> None:
    fs, _, _ = make()
    assert fs.read(fs.open("/dev/random", 0), 8) == bytes(8)


def test_fd_allocation_reuses_lowest() -> None:
    fs, _, _ = make()
    a, b, c = (fs.open(f"/tmp/{n}", 64 | 2) for n in "abc")
    assert (a.fd, b.fd, c.fd) == (3, 4, 5)
    fs.close(b)
    assert fs.open("/tmp/d", 64 | 2).fd == 4
    assert errno_of(fs.close, b) == EBADF
    dup = fs.dup_stream(a, 9)
    fs.write(a, b"xyz")
    assert dup.position == 3                                     # dups share position and flags
    assert fs.dup_stream(a).fd == 6


def test_errnos() -> None:
    fs, _, _ = make()
    fs.write_file("/tmp/f", b"data")
    fs.mkdir("/tmp/d")
    fs.write_file("/tmp/d/x", b"x")
    assert errno_of(fs.open, "/nope", 0) == ENOENT
    assert errno_of(fs.open, "/nope/x", 64) == ENOENT
    assert errno_of(fs.open, "/tmp/f", 64 | 128) == EEXIST
    assert errno_of(fs.open, "/tmp/f/x", 0) == ENOENT            # lookup errors are swallowed: ENOENT
    assert errno_of(fs.stat, "/tmp/f/x") == ENOTDIR              # gen 3/4 mayLookup
    assert errno_of(fs.open, "/tmp", 1) == EISDIR
    assert errno_of(fs.open, "/tmp/f", 65536) == ENOTDIR
    assert errno_of(fs.open, "/dev/stdout", 131072) == ELOOP
    assert errno_of(fs.mkdir, "/tmp/d") == EEXIST
    assert errno_of(fs.rmdir, "/tmp/d") == ENOTEMPTY
    assert errno_of(fs.rmdir, "/tmp/f") == ENOTDIR
    assert errno_of(fs.unlink, "/tmp/d") == EISDIR
    assert errno_of(fs.rmdir, "/") == EBUSY
    assert errno_of(fs.rename, "/tmp/d", "/tmp/d/y") == EINVAL
    assert errno_of(fs.rename, "/tmp/f", "/tmp/d") == EISDIR
    assert errno_of(fs.rename, "/tmp/d", "/tmp/f") == ENOTDIR
    assert errno_of(fs.truncate, "/tmp/d", 0) == EISDIR
    assert errno_of(fs.truncate, "/dev/null", 0) == EINVAL
    assert errno_of(fs.mkdir, "/tmp/d/.") == EEXIST             # basename of the normalized path
    assert errno_of(fs.mkdir, "") == EINVAL
    fs.chmod("/tmp/f", 0)
    assert errno_of(fs.open, "/tmp/f", 0) == EACCES
    with pytest.raises(GlueError):                               # flags & 3 == 3: perms undefined
        fs.open("/tmp/d/x", 3)


def test_gen2_lookup_through_file_is_eacces() -> None:
    fs, _, _ = make(2)
    fs.write_file("/tmp/f", b"")
    with pytest.raises(ErrnoError) as ei:
        fs.stat("/tmp/f/x")
    assert ei.value.errno == EACCES and ei.value.node is fs.lookup_path("/tmp/f").node


def test_renamed_over_node_resurfaces_after_unlink() -> None:
    # MEMFS.rename overwrites dir.contents[name] but never removes the old node from
    # FS.nameTable; once the new one is unlinked, lookups find the old one again.
    fs, _, _ = make()
    fs.write_file("/tmp/a", b"new")
    fs.write_file("/tmp/b", b"old")
    fs.rename("/tmp/a", "/tmp/b")
    assert fs.read_file("/tmp/b") == b"new" and fs.readdir("/tmp") == [".", "..", "b"]
    fs.unlink("/tmp/b")
    assert fs.read_file("/tmp/b") == b"old"
    assert fs.readdir("/tmp") == [".", ".."]
    fs.rmdir("/tmp")                                             # contents is empty, so this works


def test_proto_named_child() -> None:
    fs, _, _ = make()
    fs.mkdir("/tmp/d")
    fs.write_file("/tmp/d/__proto__", b"p")
    assert fs.readdir("/tmp/d") == [".", ".."]                   # it became the prototype
    assert fs.read_file("/tmp/d/__proto__") == b"p"
    fs.unlink("/tmp/d/__proto__")
    assert errno_of(fs.rmdir, "/tmp/d") == ENOTEMPTY             # for-in still sees inherited keys


def test_rmdir_empty_path_is_a_type_error() -> None:
    fs, _, _ = make()
    with pytest.raises(GlueError):
        fs.rmdir("")


def test_max_file_size() -> None:
    clock = Clock()
    fs = MemFS(clock, bytes, lambda fd, d: None, 4, False, max_file_size=100)
    s = fs.open("/tmp/f", 64 | 2)
    fs.llseek(s, 100, 0)
    with pytest.raises(GlueError, match="RangeError"):
        fs.write(s, b"x")
    with pytest.raises(GlueError, match="RangeError"):
        fs.truncate("/tmp/f", 101)


def test_msync_assert_gen4() -> None:
    fs, _, _ = make()
    s = fs.open("/tmp/f", 64 | 2)
    with pytest.raises(Abort):
        fs.do_msync(s, lambda: b"x", float("nan"), 1, 1)


def test_create_data_file_now_calls() -> None:
    # FS.createDataFile: create (1), chmod (1), open O_TRUNC (1), write (1), chmod (1)
    fs, clock, _ = make()
    before = clock.calls
    assert errno_of(fs.create_data_file, "/", "data/x", b"abc", True, False) == ENOENT  # no /data yet
    fs.create_path("/", "data")
    before = clock.calls
    node = fs.create_data_file("/", "data/x", b"abc", True, False)
    assert clock.calls - before == 5 and oct(node.mode) == "0o100555"
    assert fs.read_file("/data/x") == b"abc"


def test_analyze_path() -> None:
    fs, _, _ = make()
    info = fs.analyze_path("/dev/stdout")
    assert info["exists"] and info["path"] == "/dev/tty" and info["object"].id == 7
    assert fs.analyze_path("/data/x")["exists"] is False
