"""The glue's in-JS filesystem (Emscripten ``FS`` + ``MEMFS`` + ``TTY``), modelled in Python.

Owns everything the ao-loader glues (gen 2 ``emscripten2.cjs``, gen 3
``emscripten3.cjs``, gen 4 ``emscripten4.cjs`` / ``wasm64-emscripten.cjs``)
keep in JS about files: the node tree with inode numbers, the name hash table,
open streams and fd allocation, the TTYs behind fds 0-2, ``/dev/null``,
``/dev/(u)random`` and ``/proc/self/fd``. It reproduces the glue's observable
behaviour, including its quirks (stat times, errno choices, the order of
``Date.now`` calls, a renamed-over file that reappears after an unlink), so
that wasm sees byte-identical results. It never touches the host filesystem.

Reading guide: `MemFS.__init__` is ``FS.staticInit`` + ``FS.init``; the
``FS.*`` functions are methods with snake_case names (``lookup_path``,
``open``, ``rename``...); ``MEMFS.*`` node/stream operations are the ``_memfs_*``
methods and the `StreamOps` classes. The wasm-facing syscalls (memory layouts,
argument decoding) live in `aocu.wasm._syscalls`.

Strings: JS strings are sequences of UTF-16 code units. Names and paths here
are Python ``str`` whose characters are those code units (an astral character
is stored as its surrogate pair), so lengths, comparisons and ``split("/")``
behave as in JS. `utf8_to_js` / `js_to_utf8` convert like the glue's
``UTF8ToString`` / ``stringToUTF8Array``.

``Date.now``: the host passes ``now``; it is called exactly where the JS FS calls
``Date.now()``: ``MEMFS.createNode`` (every mkdir/create/symlink), MEMFS
``rename``/``unlink``/``rmdir`` (parent mtime), MEMFS ``write`` (non-empty
only), TTY and device ``read``/``write`` (only when bytes moved),
``FS.chmod``/``FS.chown``/``FS.truncate`` (always, also for an ``O_TRUNC`` open
of an existing file) and ``utimensat`` with ``times == NULL``.
``FS.staticInit`` runs before the glue installs its counter (the reference
stamps those 15 nodes with Node's real clock, or with a previous instance's
counter), so it uses the constant ``static_time`` instead and does not call
``now``. ``FS.init`` (3 symlinks) calls ``now`` 3 times in gen 2-4; gen 1 has no FS.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ._errors import Abort, _Signal

# -- Emscripten errno numbering (ERRNO_CODES in every glue) -------------------
EACCES = 2
EAGAIN = 6
EBADF = 8
EBUSY = 10
EEXIST = 20
EINVAL = 28
EIO = 29
EISDIR = 31
ELOOP = 32
EMFILE = 33
ENODEV = 43
ENOENT = 44
ENOMEM = 48
ENOSYS = 52
ENOTDIR = 54
ENOTEMPTY = 55
ENOTTY = 59
ENXIO = 60
EOVERFLOW = 61
EPERM = 63
ERANGE = 68
ESPIPE = 70
EXDEV = 75

# -- mode bits and open flags (musl values, as the glue hard-codes them) -------
S_IFMT = 61440
S_IFDIR = 16384
S_IFREG = 32768
S_IFLNK = 40960
S_IFCHR = 8192
S_IFBLK = 24576
S_IFIFO = 4096
O_ACCMODE = 2097155  # O_ACCMODE | O_PATH: the glue masks with this
O_RDONLY = 0
O_WRONLY = 1
O_RDWR = 2
O_CREAT = 64
O_EXCL = 128
O_TRUNC = 512
O_APPEND = 1024
O_DIRECTORY = 65536
O_NOFOLLOW = 131072
MAX_OPEN_FDS = 4096


def makedev(ma: int, mi: int) -> int:
    return (ma << 8) | mi


DEV_NULL = makedev(1, 3)
DEV_TTY = makedev(5, 0)
DEV_TTY1 = makedev(6, 0)


def is_file(mode: int) -> bool:
    return (mode & S_IFMT) == S_IFREG


def is_dir(mode: int) -> bool:
    return (mode & S_IFMT) == S_IFDIR


def is_link(mode: int) -> bool:
    return (mode & S_IFMT) == S_IFLNK


def is_chrdev(mode: int) -> bool:
    return (mode & S_IFMT) == S_IFCHR


# -- errors ----------------------------------------------------------------------
class ErrnoError(Exception):
    """``FS.ErrnoError``: syscalls turn it into ``-errno`` (fd_* into ``errno``).

    ``node`` is set only where gen 2 attaches one (``lookupNode``'s
    ``mayLookup`` failure); gen 2's ``doStat`` looks at it.
    """

    __slots__ = ("errno", "node")

    def __init__(self, errno: int, node: Node | None = None) -> None:
        self.errno = errno
        self.node = node


class GlueError(_Signal):
    """A JS exception that is not an ``FS.ErrnoError`` (TypeError, RangeError...).

    The glue's syscall wrappers rethrow these, so ``handle`` rejects; this
    happens only for edge cases the glue never guarded (mmap of an empty file,
    utimensat on ``/proc/self/fd/N``...). The message names the JS error.
    """

    kind = "host"


def _type_error(what: str) -> GlueError:
    return GlueError(f"TypeError: {what}")


def _range_error(n: int) -> GlueError:
    # MEMFS's `new Uint8Array(n)` beyond what V8 allows
    return GlueError(f"RangeError: Invalid typed array length: {n}")


# -- JS string conversions ----------------------------------------------------------
def _to_code_units(s: str) -> str:
    """A Python string with astral characters split into UTF-16 surrogate pairs."""
    if s.isascii() or all(ord(c) < 0x10000 for c in s):
        return s
    out = []
    for c in s:
        o = ord(c)
        if o < 0x10000:
            out.append(c)
        else:
            o -= 0x10000
            out.append(chr(0xD800 | (o >> 10)))
            out.append(chr(0xDC00 | (o & 1023)))
    return "".join(out)


def utf8_to_js(data: bytes, tail: bytes = b"") -> str:
    """``UTF8ArrayToString`` on ``data`` (the bytes before the NUL).

    Up to 16 bytes use the glue's hand-written decoder, which reads ``tail``
    (the bytes after ``data``: the NUL and beyond, missing bytes count as 0)
    when a multi-byte sequence is cut; longer strings go through
    ``TextDecoder('utf8')`` (replacement characters, a leading BOM dropped).
    """
    if data.isascii():
        return data.decode("ascii")
    if len(data) > 16:
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        return _to_code_units(data.decode("utf-8", "replace"))
    h = data + tail + bytes(4)
    end = len(data)
    idx = 0
    out: list[str] = []
    while idx < end:
        u0 = h[idx]
        idx += 1
        if not u0 & 128:
            out.append(chr(u0))
            continue
        u1 = h[idx] & 63
        idx += 1
        if (u0 & 224) == 192:
            out.append(chr(((u0 & 31) << 6) | u1))
            continue
        u2 = h[idx] & 63
        idx += 1
        if (u0 & 240) == 224:
            u0 = ((u0 & 15) << 12) | (u1 << 6) | u2
        else:
            u0 = ((u0 & 7) << 18) | (u1 << 12) | (u2 << 6) | (h[idx] & 63)
            idx += 1
        if u0 < 65536:
            out.append(chr(u0))
        else:
            ch = u0 - 65536
            out.append(chr(0xD800 | (ch >> 10)))
            out.append(chr(0xDC00 | (ch & 1023)))
    return "".join(out)


def length_bytes_utf8(s: str) -> int:
    """``lengthBytesUTF8`` (a surrogate counts 4 and swallows the next unit)."""
    if s.isascii():
        return len(s)
    n = 0
    i = 0
    ln = len(s)
    while i < ln:
        c = ord(s[i])
        if c <= 127:
            n += 1
        elif c <= 2047:
            n += 2
        elif 55296 <= c <= 57343:
            n += 4
            i += 1
        else:
            n += 3
        i += 1
    return n


def js_to_utf8(s: str, max_bytes: int | None = None) -> bytes:
    """``stringToUTF8Array(s, heap, 0, max_bytes)``: the bytes written, NUL included.

    ``max_bytes`` counts the terminator (None: unlimited); a character that
    does not fit whole is dropped, as in the glue. ``max_bytes <= 0`` writes
    nothing at all.
    """
    if max_bytes is not None and not max_bytes > 0:
        return b""
    if s.isascii() and (max_bytes is None or len(s) < max_bytes):
        return s.encode("ascii") + b"\0"
    limit = (1 << 62) if max_bytes is None else max_bytes - 1
    out = bytearray()
    i = 0
    ln = len(s)
    while i < ln:
        u = ord(s[i])
        if 55296 <= u <= 57343:
            i += 1
            u1 = ord(s[i]) if i < ln else 0  # charCodeAt past the end is NaN; NaN & 1023 == 0
            u = (65536 + ((u & 1023) << 10)) | (u1 & 1023)
        n = len(out)
        if u <= 127:
            if n >= limit:
                break
            out.append(u)
        elif u <= 2047:
            if n + 1 >= limit:
                break
            out += bytes((192 | (u >> 6), 128 | (u & 63)))
        elif u <= 65535:
            if n + 2 >= limit:
                break
            out += bytes((224 | (u >> 12), 128 | ((u >> 6) & 63), 128 | (u & 63)))
        else:
            if n + 3 >= limit:
                break
            out += bytes((240 | (u >> 18), 128 | ((u >> 12) & 63), 128 | ((u >> 6) & 63), 128 | (u & 63)))
        i += 1
    out.append(0)
    return bytes(out)


_JS_WS = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
         "\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_DEC = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\Z")
_JS_RADIX = re.compile(r"0(?:[xX](?P<x>[0-9a-fA-F]+)|[oO](?P<o>[0-7]+)|[bB](?P<b>[01]+))\Z")


def js_to_number(s: str) -> float:
    """JS ``+s`` for a string (used by ``/proc/self/fd``'s lookup: ``var fd = +name``)."""
    s = s.strip(_JS_WS)
    if not s:
        return 0.0
    m = _JS_RADIX.match(s)
    if m:
        if m.group("x"):
            return float(int(m.group("x"), 16))
        if m.group("o"):
            return float(int(m.group("o"), 8))
        return float(int(m.group("b"), 2))
    if _JS_DEC.match(s):
        return float(s.replace("Infinity", "inf"))
    return math.nan


# -- PATH and PATH_FS (pure string functions of the glue) ---------------------------
_SPLIT_PATH = re.compile(r"(/?|)([\s\S]*?)((?:\.{1,2}|[^/]+?|)(\.[^./]*|))(?:/*)\Z")


def _normalize_array(parts: list[str], allow_above_root: bool) -> list[str]:
    up = 0
    for i in range(len(parts) - 1, -1, -1):
        last = parts[i]
        if last == ".":
            del parts[i]
        elif last == "..":
            del parts[i]
            up += 1
        elif up:
            del parts[i]
            up -= 1
    if allow_above_root:
        parts[:0] = [".."] * up
    return parts


def path_normalize(path: str) -> str:
    """``PATH.normalize``."""
    is_abs = path[:1] == "/"
    trailing = path[-1:] == "/"
    path = "/".join(_normalize_array([p for p in path.split("/") if p], not is_abs))
    if not path and not is_abs:
        path = "."
    if path and trailing:
        path += "/"
    return ("/" if is_abs else "") + path


def path_dirname(path: str) -> str:
    """``PATH.dirname`` (via the glue's ``splitPath`` regex)."""
    m = _SPLIT_PATH.match(path)
    assert m is not None  # every group is optional
    root, d = m.group(1), m.group(2)
    if not root and not d:
        return "."
    if d:
        d = d[:-1]
    return root + d


def path_basename(path: str) -> str:
    """``PATH.basename`` (``"/"`` for ``"/"``; one trailing slash ignored)."""
    if path == "/":
        return "/"
    path = path_normalize(path)
    if path.endswith("/"):
        path = path[:-1]
    i = path.rfind("/")
    return path if i == -1 else path[i + 1:]


def path_join2(left: str, right: str) -> str:
    return path_normalize(left + "/" + right)


def _is_array_index(key: str) -> bool:
    # Object.keys lists "array index" keys first, ascending (ES OrdinaryOwnPropertyKeys)
    return key.isdigit() and key.isascii() and (key == "0" or key[0] != "0") and int(key) < 4294967295


def object_keys(contents: dict[str, Any]) -> list[str]:
    """``Object.keys(dir.contents)``: integer-like names first (ascending), then insertion order."""
    keys = list(contents)
    idx = [k for k in keys if _is_array_index(k)]
    if not idx:
        return keys
    idx.sort(key=int)
    return idx + [k for k in keys if not _is_array_index(k)]


# -- nodes, mounts, streams ------------------------------------------------------------
KIND_DIR = "dir"          # MEMFS directory
KIND_FILE = "file"        # MEMFS regular file
KIND_LINK = "link"        # MEMFS symlink
KIND_CHRDEV = "chrdev"    # MEMFS character device (ops from FS.devices)
KIND_OTHER = "other"      # MEMFS node of another type: no ops at all
KIND_FDROOT = "fdroot"    # the /proc/self/fd mount root (node_ops: lookup only)
KIND_FDLINK = "fdlink"    # the plain object /proc/self/fd's lookup returns

_HAS_ATTR = (KIND_DIR, KIND_FILE, KIND_LINK, KIND_CHRDEV)


class Mount:
    """``FS.mount``'s mount record."""

    __slots__ = ("mountpoint", "mounts", "root", "type")

    def __init__(self, type_: str, mountpoint: str) -> None:
        self.type = type_
        self.mountpoint = mountpoint
        self.mounts: list[Mount] = []
        self.root: Node | None = None


class Node:
    """``FS.FSNode`` plus the MEMFS fields. ``kind`` selects its node_ops/stream_ops.

    ``contents`` is a ``dict`` for directories (insertion ordered like a JS
    object) and a ``bytearray`` for files (``usedBytes`` is its length; the
    JS capacity is invisible). ``proto_child`` is a child named ``__proto__``:
    the glue's ``contents["__proto__"] = node`` sets the object's prototype
    instead of a key, so readdir never lists it and rmdir says ENOTEMPTY.
    ``used_bytes_override`` lets a host emulate nodes whose ``usedBytes`` was
    redefined from JS (WeaveDrive does that).
    """

    def __init__(self, fs: MemFS, parent: Node | None, name: str | None, mode: int, rdev: int,
                 kind: str) -> None:
        self.parent: Node = parent if parent is not None else self
        self.mount: Any = self.parent.__dict__.get("mount")
        self.mounted: Mount | None = None
        self.id: int | None = fs.next_inode
        fs.next_inode += 1
        self.name = name
        self.mode = mode
        self.rdev = rdev
        self.kind = kind
        self.timestamp: float = 0.0
        self.contents: Any = None
        self.link: str | None = None
        self.proto_child: Node | None = None
        self.used_bytes_override: int | None = None
        self.stream_ops: StreamOps = _EMPTY_OPS

    @property
    def used_bytes(self) -> int:
        if self.used_bytes_override is not None:
            return self.used_bytes_override
        return len(self.contents) if self.kind == KIND_FILE else 0

    def __repr__(self) -> str:
        return f"<Node {self.id} {self.name!r} {self.kind} mode={self.mode:o}>"


def _fdlink(stream: Stream) -> Node:
    """The object ``/proc/self/fd``'s lookup returns: its own parent, mount "fake"."""
    node = Node.__new__(Node)
    node.parent = node
    node.mount = Mount("fake", "fake")
    node.mounted = None
    node.id = None
    node.name = None
    node.mode = 0       # undefined in JS: every bit test on it is false, like 0
    node.rdev = 0
    node.kind = KIND_FDLINK
    node.timestamp = 0.0
    node.contents = None
    node.link = None
    node.proto_child = None
    node.used_bytes_override = None
    node.stream_ops = _EMPTY_OPS
    node.fd_stream = stream  # readlink: () => stream.path, read when called
    return node


class _Shared:
    __slots__ = ("flags", "position")

    def __init__(self, flags: int, position: int) -> None:
        self.flags = flags
        self.position = position


class Stream:
    """``FS.FSStream``: ``flags``/``position`` live in ``shared`` (kept by dups)."""

    __slots__ = ("error", "fd", "getdents", "node", "ops", "path", "seekable", "shared", "tty", "ungotten")

    def __init__(self, node: Node, path: str, flags: int, ops: StreamOps,
                 shared: _Shared | None = None) -> None:
        self.fd: int | None = None
        self.node = node
        self.path = path
        self.shared = shared if shared is not None else _Shared(flags, 0)
        self.seekable = True
        self.ops = ops
        self.tty: Tty | None = None
        self.ungotten: list[int] = []
        self.error = False
        self.getdents: Any = None

    @property
    def flags(self) -> int:
        return self.shared.flags

    @flags.setter
    def flags(self, value: int) -> None:
        self.shared.flags = value

    @property
    def position(self) -> int:
        return self.shared.position

    @position.setter
    def position(self, value: int) -> None:
        self.shared.position = value

    def copy(self) -> Stream:
        """``Object.assign(new FS.FSStream, orig)``: own fields copied, ``shared`` shared."""
        s = Stream(self.node, self.path, 0, self.ops, self.shared)
        s.seekable = self.seekable
        s.tty = self.tty
        s.ungotten = self.ungotten
        s.error = self.error
        s.getdents = self.getdents
        return s


@dataclass(slots=True)
class Tty:
    """``TTY.ttys[dev]``. ``out_fd``: 1 for the glue's ``out`` (``/dev/tty``), 2 for ``err``."""

    out_fd: int
    can_read: bool          # default_tty_ops has get_char; default_tty1_ops has not
    termios_ioctls: bool    # gen 3/4 default_tty_ops has ioctl_tcgets/tcsets/tiocgwinsz


TERMIOS = (25856, 5, 191, 35387)  # default_tty_ops.ioctl_tcgets: c_iflag, c_oflag, c_cflag, c_lflag
TERMIOS_CC = bytes([3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22] + [0] * 16)
WINSIZE = (24, 80)  # default_tty_ops.ioctl_tiocgwinsz


# -- stream operations ---------------------------------------------------------------
class StreamOps:
    """A ``stream_ops`` table; ``None`` means the JS object lacks that function."""

    open: Callable[[MemFS, Stream], None] | None = None
    close: Callable[[MemFS, Stream], None] | None = None
    read: Callable[[MemFS, Stream, int, int], bytes] | None = None
    write: Callable[[MemFS, Stream, bytes, int], int] | None = None
    llseek: Callable[[MemFS, Stream, int, int], int] | None = None
    mmap: Callable[..., Any] | None = None
    msync: Callable[..., int] | None = None
    fsync: Callable[[MemFS, Stream], Any] | None = None
    allocate: Callable[..., None] | None = None
    ioctl: Callable[..., int] | None = None


_EMPTY_OPS = StreamOps()


def _memfs_llseek(fs: MemFS, stream: Stream, offset: int, whence: int) -> int:
    # MEMFS.stream_ops.llseek
    position = offset
    if whence == 1:
        position += stream.position
    elif whence == 2 and is_file(stream.node.mode):
        position += stream.node.used_bytes
    if position < 0:
        raise ErrnoError(EINVAL)
    return position


def _memfs_read(fs: MemFS, stream: Stream, length: int, position: int) -> bytes:
    # MEMFS.stream_ops.read: no Date.now
    node = stream.node
    used = node.used_bytes
    if position >= used:
        return b""
    size = min(used - position, length)
    return bytes(node.contents[position:position + size])


def _memfs_write(fs: MemFS, stream: Stream, data: bytes, position: int) -> int:
    return fs.memfs_write(stream.node, data, position)


def _memfs_msync(fs: MemFS, stream: Stream, data: bytes, offset: int, length: int, flags: int) -> int:
    if fs.gen == 2:  # gen 2 MEMFS.stream_ops.msync does the checks gen 3/4 moved to doMsync
        if not is_file(stream.node.mode):
            raise ErrnoError(ENODEV)
        if flags & 2:
            return 0
    fs.memfs_write(stream.node, data[:length], offset)
    return 0


def _memfs_mmap(fs: MemFS, stream: Stream, length: int, position: int, prot: int, flags: int) -> bytes:
    """MEMFS.stream_ops.mmap up to ``mmapAlloc``: the bytes to copy into the new mapping.

    The glue copies ``contents.subarray(position, position + length)`` (or the
    whole capacity array) into a zeroed 64 KiB-aligned block; bytes past
    ``usedBytes`` are zero in the capacity array, so the file slice is enough.
    """
    node = stream.node
    if not is_file(node.mode):
        raise ErrnoError(ENODEV)
    if node.used_bytes == 0:  # contents === null
        raise _type_error("Cannot read properties of null (reading 'length')" if flags & 2
                          else "Cannot read properties of null (reading 'buffer')")
    return bytes(node.contents[position:position + length])


class _MemfsDirOps(StreamOps):
    llseek = staticmethod(_memfs_llseek)


class _MemfsFileOps(StreamOps):
    llseek = staticmethod(_memfs_llseek)
    read = staticmethod(_memfs_read)
    write = staticmethod(_memfs_write)
    mmap = staticmethod(_memfs_mmap)
    msync = staticmethod(_memfs_msync)
    allocate = staticmethod(lambda fs, stream, offset, length: None)  # no syscall reaches it


def _chrdev_open(fs: MemFS, stream: Stream) -> None:
    # FS.chrdev_stream_ops.open: swap in the device's stream_ops
    device = fs.devices.get(stream.node.rdev)
    if device is None:
        raise _type_error("Cannot read properties of undefined (reading 'stream_ops')")
    stream.ops = device
    if device.open is not None:
        device.open(fs, stream)


def _chrdev_llseek(fs: MemFS, stream: Stream, offset: int, whence: int) -> int:
    raise ErrnoError(ESPIPE)


class _ChrdevOps(StreamOps):
    open = staticmethod(_chrdev_open)
    llseek = staticmethod(_chrdev_llseek)


def _tty_open(fs: MemFS, stream: Stream) -> None:
    tty = fs.ttys.get(stream.node.rdev)
    if tty is None:
        raise ErrnoError(ENODEV)
    stream.tty = tty
    stream.seekable = False


def _tty_noop(fs: MemFS, stream: Stream) -> None:
    # close/fsync only flush the line buffer to console.log; the sink gets bytes unbuffered
    return None


def _tty_read(fs: MemFS, stream: Stream, length: int, position: int) -> bytes:
    tty = stream.tty
    if tty is None or not tty.can_read:
        raise ErrnoError(ENXIO)
    if length and fs.gen == 2:
        # gen 2's get_char calls `fs.readSync(process.stdin.fd, ...)`, but that glue's
        # `fs` is only set by requireNodeFS(), which the loader's path never runs:
        # the TypeError is caught by TTY.read and becomes EIO.
        raise ErrnoError(EIO)
    # gen 3/4 read Node's real stdin; a CU's stdin is /dev/null, so EOF (null):
    # nothing read, hence no Date.now either.
    return b""


def _tty_write(fs: MemFS, stream: Stream, data: bytes, position: int) -> int:
    tty = stream.tty
    if tty is None:
        raise ErrnoError(ENXIO)
    if data:
        fs.tty_out(tty.out_fd, data)
        stream.node.timestamp = fs.now()
    return len(data)


class _TtyOps(StreamOps):
    """TTY.stream_ops; gen 2 names its flush ``flush`` (so ``fd_sync`` does not see it)."""

    open = staticmethod(_tty_open)
    close = staticmethod(_tty_noop)
    read = staticmethod(_tty_read)
    write = staticmethod(_tty_write)


class _TtyOpsFsync(_TtyOps):
    fsync = staticmethod(_tty_noop)


class _NullOps(StreamOps):
    """``/dev/null``: ``{read: () => 0, write: (...) => length}``; no open, so it stays 'seekable'."""

    read = staticmethod(lambda fs, stream, length, position: b"")
    write = staticmethod(lambda fs, stream, data, position: len(data))


class _DeviceOps(StreamOps):
    """``FS.createDevice``'s ops around an ``input()`` byte source (``output`` unused here)."""

    def __init__(self, input_fn: Callable[[], int | None] | None,
                 output_fn: Callable[[int], None] | None) -> None:
        self.input_fn = input_fn
        self.output_fn = output_fn
        self.open = self._open
        self.close = self._close
        self.read = self._read
        self.write = self._write

    @staticmethod
    def _open(fs: MemFS, stream: Stream) -> None:
        stream.seekable = False

    @staticmethod
    def _close(fs: MemFS, stream: Stream) -> None:
        return None

    def _read(self, fs: MemFS, stream: Stream, length: int, position: int) -> bytes:
        out = bytearray()
        for _ in range(length):
            if self.input_fn is None:
                raise ErrnoError(EIO)  # input() is not a function: TypeError caught -> EIO
            result = self.input_fn()
            if result is None:
                break
            out.append(result & 0xFF)
        if out:
            stream.node.timestamp = fs.now()
        return bytes(out)

    def _write(self, fs: MemFS, stream: Stream, data: bytes, position: int) -> int:
        for b in data:
            if self.output_fn is None:
                raise ErrnoError(EIO)  # output is undefined: TypeError caught -> EIO
            self.output_fn(b)
        if data:
            stream.node.timestamp = fs.now()
        return len(data)


_DIR_OPS = _MemfsDirOps()
_FILE_OPS = _MemfsFileOps()
_CHRDEV_OPS = _ChrdevOps()


@dataclass(slots=True)
class Lookup:
    path: str
    node: Node | None


@dataclass(slots=True)
class Attr:
    """``node_ops.getattr``'s result; times in ms as JS ``Date#getTime`` (None for NaN)."""

    dev: int
    ino: int
    mode: int
    nlink: int
    uid: int
    gid: int
    rdev: int
    size: int
    atime: int | None
    mtime: int | None
    ctime: int | None
    blksize: int
    blocks: int


def _time_clip(t: float) -> int | None:
    """``new Date(t).getTime()``: NaN past ±8.64e15, else truncated toward zero."""
    if not math.isfinite(t) or abs(t) > 8.64e15:
        return None
    return int(t)


class MemFS:
    """One instance's filesystem, initialised like the glue's ``FS.staticInit`` + ``FS.init``.

    ``now`` is the glue's deterministic ``Date.now`` (called where the JS FS
    calls it, see the module docstring); ``random_bytes(n)`` feeds
    ``/dev/random`` and ``/dev/urandom``; ``tty_out(fd, data)`` receives what
    wasm writes to a TTY (fd 1: the glue's ``out``, i.e. ``/dev/tty``; fd 2:
    ``err``, ``/dev/tty1``), as raw bytes, one call per non-empty write.
    ``static_time`` stamps the nodes ``FS.staticInit`` creates before the
    glue replaces ``Date.now`` (Node's wall clock in the reference).
    ``max_file_size``: growing a file past it raises like V8's
    ``new Uint8Array(n)`` past its 4 GiB limit (a host may lower it).

    ``Date.now`` calls during construction: gen 1: 0 (no FS), gen 2/3/4: 3
    (``FS.init`` creates the /dev/stdin, /dev/stdout, /dev/stderr symlinks).
    The loader's ``FS_createPath('/', 'data')`` for gen 4 is *not* done here:
    the host calls ``create_path('/', 'data')`` after the constructors, as the
    loader does (one more ``now`` call).
    """

    def __init__(self, now: Callable[[], float], random_bytes: Callable[[int], bytes],
                 tty_out: Callable[[int, bytes], None], gen: int, memory64: bool, *,
                 static_time: float = 0.0, max_file_size: int = 1 << 32) -> None:
        self.now = now
        self.max_file_size = max_file_size
        self.random_bytes = random_bytes
        self.tty_out = tty_out
        self.gen = gen
        self.memory64 = memory64
        self.next_inode = 1
        self.name_table: dict[tuple[int | None, str | None], list[Node]] = {}
        self.streams: dict[int, Stream] = {}
        self.devices: dict[int, StreamOps] = {}
        self.ttys: dict[int, Tty] = {}
        self.cwd_path = "/"
        self.ignore_permissions = True
        self.root: Node | None = None
        self._device_major = 64
        self._rand_buf = b""
        self._rand_left = 0
        self.init_now_calls = 0
        if gen < 2:
            return
        # FS.staticInit runs before `Date.now = deterministicNow`: no counter bumps.
        real_now = self.now
        self.now = lambda: static_time
        try:
            self._static_init()
        finally:
            self.now = real_now
        # FS.init (from initRuntime), then `FS.ignorePermissions = false`.
        calls = [0]

        def counting_now() -> float:
            calls[0] += 1
            return real_now()
        self.now = counting_now
        try:
            self._create_standard_streams()
        finally:
            self.now = real_now
        self.init_now_calls = calls[0]
        self.ignore_permissions = False

    # -- init (FS.staticInit, FS.init) ---------------------------------------------------
    def _static_init(self) -> None:
        self.mount_root()
        # createDefaultDirectories
        self.mkdir("/tmp")
        self.mkdir("/home")
        self.mkdir("/home/web_user")
        # createDefaultDevices
        self.mkdir("/dev")
        self.devices[DEV_NULL] = _NullOps()
        self.mkdev("/dev/null", DEV_NULL)
        tty_ops: StreamOps = _TtyOps() if self.gen == 2 else _TtyOpsFsync()
        self.ttys[DEV_TTY] = Tty(out_fd=1, can_read=True, termios_ioctls=self.gen >= 3)
        self.devices[DEV_TTY] = tty_ops
        self.ttys[DEV_TTY1] = Tty(out_fd=2, can_read=False, termios_ioctls=False)
        self.devices[DEV_TTY1] = tty_ops
        self.mkdev("/dev/tty", DEV_TTY)
        self.mkdev("/dev/tty1", DEV_TTY1)
        self.create_device("/dev", "random", self._random_byte)
        self.create_device("/dev", "urandom", self._random_byte)
        self.mkdir("/dev/shm")
        self.mkdir("/dev/shm/tmp")
        # createSpecialDirectories
        self.mkdir("/proc")
        proc_self = self.mkdir("/proc/self")
        self.mkdir("/proc/self/fd")
        self._mount_proc_self_fd(proc_self)

    def mount_root(self) -> None:
        mount = Mount("MEMFS", "/")
        root = self._memfs_create_node(None, "/", S_IFDIR | 511, 0)
        root.mount = mount
        mount.root = root
        self.root = root

    def _mount_proc_self_fd(self, proc_self: Node) -> None:
        # FS.mount({mount() {FS.createNode(proc_self, "fd", 16384 | 511, 73)...}}, {}, "/proc/self/fd")
        lookup = self.lookup_path("/proc/self/fd", follow_mount=False)
        node = lookup.node
        assert node is not None
        if node.mounted is not None:
            raise ErrnoError(EBUSY)
        if not is_dir(node.mode):
            raise ErrnoError(ENOTDIR)
        mount = Mount("PROC_SELF_FD", lookup.path)
        root = Node(self, proc_self, "fd", S_IFDIR | 511, 73, KIND_FDROOT)  # FS.createNode: no Date.now
        self._hash_add(root)
        root.mount = mount
        mount.root = root
        node.mounted = mount
        if node.mount is not None:
            node.mount.mounts.append(mount)

    def _create_standard_streams(self) -> None:
        self.symlink("/dev/tty", "/dev/stdin")
        self.symlink("/dev/tty", "/dev/stdout")
        self.symlink("/dev/tty1", "/dev/stderr")
        stdin = self.open("/dev/stdin", O_RDONLY)
        stdout = self.open("/dev/stdout", O_WRONLY)
        stderr = self.open("/dev/stderr", O_WRONLY)
        assert (stdin.fd, stdout.fd, stderr.fd) == (0, 1, 2)

    def _random_byte(self) -> int:
        if self.gen == 2:
            # getRandomDevice(): crypto.randomBytes(1)[0] per byte
            return (self.random_bytes(1) + b"\0")[0]
        # gen 3/4 randomByte(): refill a 1024-byte buffer, hand it out from the end
        if self._rand_left == 0:
            buf = bytes(self.random_bytes(1024))[:1024]
            self._rand_buf = buf + bytes(1024 - len(buf))
            self._rand_left = 1024
        self._rand_left -= 1
        return self._rand_buf[self._rand_left]

    # -- PATH_FS ---------------------------------------------------------------------
    def cwd(self) -> str:
        return self.cwd_path

    def resolve(self, *args: str) -> str:
        """``PATH_FS.resolve`` (relative to ``FS.cwd()``)."""
        resolved = ""
        resolved_abs = False
        i = len(args) - 1
        while i >= -1 and not resolved_abs:
            path = args[i] if i >= 0 else self.cwd_path
            if not path:
                return ""
            resolved = path + "/" + resolved
            resolved_abs = path[:1] == "/"
            i -= 1
        resolved = "/".join(_normalize_array([p for p in resolved.split("/") if p], not resolved_abs))
        return (("/" if resolved_abs else "") + resolved) or "."

    def relative(self, frm: str, to: str) -> str:
        """``PATH_FS.relative``, including its ``trim`` that slices ``(start, end - start + 1)``."""
        frm = self.resolve(frm)[1:]
        to = self.resolve(to)[1:]

        def trim(arr: list[str]) -> list[str]:
            start = 0
            while start < len(arr) and arr[start] == "":
                start += 1
            end = len(arr) - 1
            while end >= 0 and arr[end] == "":
                end -= 1
            if start > end:
                return []
            return arr[start:end - start + 1]
        from_parts = trim(frm.split("/"))
        to_parts = trim(to.split("/"))
        length = min(len(from_parts), len(to_parts))
        same = length
        for i in range(length):
            if from_parts[i] != to_parts[i]:
                same = i
                break
        out = [".."] * (len(from_parts) - same) + to_parts[same:]
        return "/".join(out)

    # -- name table (FS.hashAddNode / hashRemoveNode / lookupNode) -------------------------
    def _hash_add(self, node: Node) -> None:
        key = (node.parent.id, node.name)
        chain = self.name_table.get(key)
        if chain is None:
            self.name_table[key] = [node]
        else:
            chain.insert(0, node)  # newest first, like `node.name_next = nameTable[hash]`

    def _hash_remove(self, node: Node) -> None:
        chain = self.name_table.get((node.parent.id, node.name))
        if chain:
            for i, n in enumerate(chain):
                if n is node:
                    del chain[i]
                    break

    def lookup_node(self, parent: Node | None, name: str) -> Node:
        if parent is None:
            raise _type_error("Cannot read properties of null (reading 'mode')")
        err = self.may_lookup(parent)
        if err:
            raise ErrnoError(err, parent if self.gen == 2 else None)
        chain = self.name_table.get((parent.id, name))
        if chain:
            return chain[0]
        return self._node_lookup(parent, name)

    def _node_lookup(self, parent: Node, name: str) -> Node:
        if parent.kind == KIND_FDROOT:
            # /proc/self/fd's lookup: `var fd = +name; FS.getStreamChecked(fd)`
            num = js_to_number(name)
            stream = None
            if math.isfinite(num) and num == int(num):
                stream = self.streams.get(int(num))
            if stream is None:
                raise ErrnoError(EBADF)
            return _fdlink(stream)
        if parent.kind == KIND_DIR:
            raise ErrnoError(ENOENT)  # MEMFS lookup: FS.genericErrors[44]
        raise _type_error("parent.node_ops.lookup is not a function")

    # -- permission checks ------------------------------------------------------------
    def node_permissions(self, node: Node, perms: str | None) -> int:
        if self.ignore_permissions:
            return 0
        if perms is None:
            raise _type_error("Cannot read properties of undefined (reading 'includes')")
        mode = node.mode
        if "r" in perms and not mode & 292:
            return EACCES
        if "w" in perms and not mode & 146:
            return EACCES
        if "x" in perms and not mode & 73:
            return EACCES
        return 0

    def may_lookup(self, node: Node) -> int:
        if self.gen >= 3 and not is_dir(node.mode):
            return ENOTDIR  # gen 2's mayLookup has no isDir check: EACCES below instead
        err = self.node_permissions(node, "x")
        if err:
            return err
        if node.kind not in (KIND_DIR, KIND_FDROOT):
            return EACCES
        return 0

    def may_create(self, dir_: Node, name: str) -> int:
        try:
            self.lookup_node(dir_, name)
            return EEXIST
        except (ErrnoError, GlueError):
            pass
        return self.node_permissions(dir_, "wx")

    def may_delete(self, dir_: Node, name: str, isdir: bool) -> int:
        try:
            node = self.lookup_node(dir_, name)
        except ErrnoError as e:
            return e.errno
        err = self.node_permissions(dir_, "wx")
        if err:
            return err
        if isdir:
            if not is_dir(node.mode):
                return ENOTDIR
            if node.parent is node or self.get_path(node) == self.cwd_path:
                return EBUSY
        elif is_dir(node.mode):
            return EISDIR
        return 0

    @staticmethod
    def flags_to_permission_string(flag: int) -> str | None:
        perms = ("r", "w", "rw", None)[flag & 3]
        if flag & O_TRUNC:
            perms = ("undefined" if perms is None else perms) + "w"  # JS string concatenation
        return perms

    def may_open(self, node: Node | None, flags: int) -> int:
        if node is None:
            return ENOENT
        if is_link(node.mode):
            return ELOOP
        if is_dir(node.mode) and (self.flags_to_permission_string(flags) != "r" or flags & O_TRUNC):
            return EISDIR
        return self.node_permissions(node, self.flags_to_permission_string(flags))

    # -- paths --------------------------------------------------------------------------
    def lookup_path(self, path: str, *, parent: bool = False, follow: bool = False,
                    follow_mount: bool = True, recurse_count: int = 0) -> Lookup:
        """``FS.lookupPath``. ``..`` is resolved lexically first, as in the glue."""
        path = self.resolve(path)
        if not path:
            return Lookup("", None)
        if recurse_count > 8:
            raise ErrnoError(ELOOP)
        parts = [p for p in path.split("/") if p]
        current = self.root
        assert current is not None
        current_path = "/"
        n = len(parts)
        for i, part in enumerate(parts):
            islast = i == n - 1
            if islast and parent:
                break
            current = self.lookup_node(current, part)
            current_path = path_join2(current_path, part)
            if current.mounted is not None and (not islast or follow_mount):
                current = current.mounted.root
                assert current is not None
            if not islast or follow:
                count = 0
                while is_link(current.mode):
                    link = self.readlink(current_path)
                    current_path = self.resolve(path_dirname(current_path), link)
                    lookup = self.lookup_path(current_path, recurse_count=recurse_count + 1)
                    current = lookup.node
                    assert current is not None
                    if count > 40:
                        raise ErrnoError(ELOOP)
                    count += 1
        return Lookup(current_path, current)

    def get_path(self, node: Node) -> str:
        """``FS.getPath``: names up to the mount root, prefixed by its mountpoint."""
        path: str | None = None
        while True:
            if node.parent is node:
                mount = node.mount.mountpoint
                if not path:
                    return mount
                return f"{mount}/{path}" if mount[-1:] != "/" else mount + path
            path = f"{node.name}/{path}" if path else str(node.name)
            node = node.parent

    # -- MEMFS node operations -------------------------------------------------------
    def _memfs_create_node(self, parent: Node | None, name: str, mode: int, dev: int) -> Node:
        if (mode & S_IFMT) in (S_IFBLK, S_IFIFO):
            raise ErrnoError(EPERM)
        if is_dir(mode):
            kind = KIND_DIR
        elif is_file(mode):
            kind = KIND_FILE
        elif is_link(mode):
            kind = KIND_LINK
        elif is_chrdev(mode):
            kind = KIND_CHRDEV
        else:
            kind = KIND_OTHER
        node = Node(self, parent, name, mode, dev, kind)
        self._hash_add(node)
        if kind == KIND_DIR:
            node.stream_ops = _DIR_OPS
            node.contents = {}
        elif kind == KIND_FILE:
            node.stream_ops = _FILE_OPS
            node.contents = bytearray()
        elif kind == KIND_CHRDEV:
            node.stream_ops = _CHRDEV_OPS
        node.timestamp = self.now()
        if parent is not None:
            self._contents_set(parent, name, node)
            parent.timestamp = node.timestamp
        return node

    @staticmethod
    def _contents_set(dir_: Node, name: str, node: Node) -> None:
        """``dir.contents[name] = node``, with what JS does when ``dir`` is not a directory.

        ``rename`` can target a non-directory parent whose mode has x bits: a
        file's ``contents`` is a Uint8Array (or null when empty). A numeric
        name then zeroes that byte (``ToUint8(NaN)``), any other name becomes an
        invisible property, so the moved node is simply unreachable.
        """
        if dir_.kind == KIND_DIR:
            if name == "__proto__":
                dir_.proto_child = node
            else:
                dir_.contents[name] = node
        elif dir_.kind == KIND_FILE and dir_.used_bytes_override is None and dir_.contents:
            if name.isdigit() and name.isascii() and (name == "0" or name[0] != "0"):
                idx = int(name)
                if idx < len(dir_.contents):
                    dir_.contents[idx] = 0
        else:
            what = "null" if dir_.kind == KIND_FILE else "undefined"
            raise _type_error(f"Cannot set properties of {what} (setting '{name}')")

    @staticmethod
    def _contents_delete(dir_: Node, name: str | None) -> None:
        if name != "__proto__":  # `delete contents.__proto__` deletes nothing
            dir_.contents.pop(name, None)

    @staticmethod
    def _has_entries(node: Node) -> bool:
        """``for (var i in node.contents)`` finds something (own or inherited keys)."""
        if node.kind != KIND_DIR:
            return False
        return bool(node.contents) or node.proto_child is not None

    def memfs_write(self, node: Node, data: bytes, position: int) -> int:
        """``MEMFS.stream_ops.write``: one ``Date.now`` per non-empty write."""
        length = len(data)
        if not length:
            return 0
        node.timestamp = self.now()
        contents = node.contents
        used = len(contents)
        if position + length > max(used, self.max_file_size):
            raise _range_error(position + length)
        if position > used:
            contents.extend(bytes(position - used))
        contents[position:position + length] = data
        return length

    def getattr(self, node: Node) -> Attr:
        """``MEMFS.node_ops.getattr``."""
        if node.kind not in _HAS_ATTR:
            raise ErrnoError(EPERM)
        mode = node.mode
        if is_dir(mode):
            size = 4096
        elif is_file(mode):
            size = node.used_bytes
        elif is_link(mode):
            size = len(node.link or "")
        else:
            size = 0
        t = _time_clip(node.timestamp)
        assert node.id is not None
        return Attr(dev=node.id if is_chrdev(mode) else 1, ino=node.id, mode=mode, nlink=1, uid=0, gid=0,
                    rdev=node.rdev, size=size, atime=t, mtime=t, ctime=t, blksize=4096,
                    blocks=-(-size // 4096))

    def _setattr(self, node: Node, *, mode: int | None = None, timestamp: float | None = None,
                 size: int | None = None) -> None:
        # MEMFS.node_ops.setattr
        if mode is not None:
            node.mode = mode
        if timestamp is not None:
            node.timestamp = timestamp
        if size is not None:
            if size > self.max_file_size:
                raise _range_error(size)
            c = node.contents
            if size < len(c):
                del c[size:]
            elif size > len(c):
                c.extend(bytes(size - len(c)))

    def _require_setattr(self, node: Node) -> None:
        if node.kind not in _HAS_ATTR:
            raise ErrnoError(EPERM)

    # -- FS: creating -----------------------------------------------------------------
    def mknod(self, path: str, mode: int, dev: int) -> Node:
        parent = self.lookup_path(path, parent=True).node
        name = path_basename(path)
        if not name or name in (".", ".."):
            raise ErrnoError(EINVAL)
        err = self.may_create(parent, name)  # type: ignore[arg-type]
        if err:
            raise ErrnoError(err)
        assert parent is not None
        if parent.kind != KIND_DIR:
            raise ErrnoError(EPERM)
        return self._memfs_create_node(parent, name, mode, dev)

    def create(self, path: str, mode: int = 438) -> Node:
        return self.mknod(path, (mode & 4095) | S_IFREG, 0)

    def mkdir(self, path: str, mode: int = 511) -> Node:
        return self.mknod(path, (mode & (511 | 512)) | S_IFDIR, 0)

    def mkdev(self, path: str, mode: int, dev: int | None = None) -> Node:
        if dev is None:
            dev, mode = mode, 438
        return self.mknod(path, mode | S_IFCHR, dev)

    def symlink(self, oldpath: str, newpath: str) -> Node:
        if not self.resolve(oldpath):
            raise ErrnoError(ENOENT)
        parent = self.lookup_path(newpath, parent=True).node
        if parent is None:
            raise ErrnoError(ENOENT)
        newname = path_basename(newpath)
        err = self.may_create(parent, newname)
        if err:
            raise ErrnoError(err)
        if parent.kind != KIND_DIR:
            raise ErrnoError(EPERM)
        node = self._memfs_create_node(parent, newname, 511 | S_IFLNK, 0)
        node.link = oldpath
        return node

    def create_path(self, parent: str | Node, path: str, can_read: bool = True,
                    can_write: bool = True) -> str | None:
        """``FS.createPath`` (the loader's ``FS_createPath('/', 'data')``).

        mkdir of each part, every error ignored."""
        cur_parent = parent if isinstance(parent, str) else self.get_path(parent)
        current: str | None = None
        for part in path.split("/"):
            if not part:
                continue
            current = path_join2(cur_parent, part)
            try:
                self.mkdir(current)
            except (ErrnoError, GlueError):
                pass
            cur_parent = current
        return current

    @staticmethod
    def get_mode(can_read: bool, can_write: bool) -> int:
        mode = 0
        if can_read:
            mode |= 292 | 73
        if can_write:
            mode |= 146
        return mode

    def create_file(self, parent: str | Node, name: str, can_read: bool, can_write: bool) -> Node:
        path = path_join2(parent if isinstance(parent, str) else self.get_path(parent), name)
        return self.create(path, self.get_mode(can_read, can_write))

    def create_data_file(self, parent: str | Node | None, name: str, data: bytes | None,
                         can_read: bool, can_write: bool) -> Node:
        """``FS.createDataFile`` (WeaveDrive uses it): create, chmod, open O_TRUNC, write, close, chmod."""
        path = name
        if parent:
            p = parent if isinstance(parent, str) else self.get_path(parent)
            path = path_join2(p, name) if name else p
        mode = self.get_mode(can_read, can_write)
        node = self.create(path, mode)
        if data is not None:
            self.chmod(node, mode | 146)
            stream = self.open(node, 577)
            self.write(stream, bytes(data), 0)
            self.close(stream)
            self.chmod(node, mode)
        return node

    def create_device(self, parent: str | Node, name: str, input_fn: Callable[[], int | None] | None = None,
                      output_fn: Callable[[int], None] | None = None) -> Node:
        path = path_join2(parent if isinstance(parent, str) else self.get_path(parent), name)
        mode = self.get_mode(input_fn is not None, output_fn is not None)
        dev = makedev(self._device_major, 0)
        self._device_major += 1
        self.devices[dev] = _DeviceOps(input_fn, output_fn)
        return self.mkdev(path, mode, dev)

    # -- FS: renaming and removing ------------------------------------------------------
    def rename(self, old_path: str, new_path: str) -> None:
        old_dirname = path_dirname(old_path)
        new_dirname = path_dirname(new_path)
        old_name = path_basename(old_path)
        new_name = path_basename(new_path)
        old_dir = self.lookup_path(old_path, parent=True).node
        new_dir = self.lookup_path(new_path, parent=True).node
        if old_dir is None or new_dir is None:
            raise ErrnoError(ENOENT)
        if old_dir.mount is not new_dir.mount:
            raise ErrnoError(EXDEV)
        old_node = self.lookup_node(old_dir, old_name)
        if self.relative(old_path, new_dirname)[:1] != ".":
            raise ErrnoError(EINVAL)
        if self.relative(new_path, old_dirname)[:1] != ".":
            raise ErrnoError(ENOTEMPTY)
        try:
            new_node: Node | None = self.lookup_node(new_dir, new_name)
        except (ErrnoError, GlueError):
            new_node = None
        if old_node is new_node:
            return
        isdir = is_dir(old_node.mode)
        err = self.may_delete(old_dir, old_name, isdir)
        if err:
            raise ErrnoError(err)
        err = self.may_delete(new_dir, new_name, isdir) if new_node else self.may_create(new_dir, new_name)
        if err:
            raise ErrnoError(err)
        if old_dir.kind != KIND_DIR:
            raise ErrnoError(EPERM)
        if old_node.mounted is not None or (new_node is not None and new_node.mounted is not None):
            raise ErrnoError(EBUSY)
        if new_dir is not old_dir:
            err = self.node_permissions(old_dir, "w")
            if err:
                raise ErrnoError(err)
        self._hash_remove(old_node)
        try:
            self._memfs_rename(old_node, new_dir, new_name)
        finally:
            self._hash_add(old_node)

    def _memfs_rename(self, old_node: Node, new_dir: Node, new_name: str) -> None:
        # MEMFS.node_ops.rename. The replaced node is not destroyed: it stays in the
        # name table behind old_node and shows up again if old_node is unlinked.
        if is_dir(old_node.mode):
            try:
                new_node: Node | None = self.lookup_node(new_dir, new_name)
            except (ErrnoError, GlueError):
                new_node = None
            if new_node is not None and self._has_entries(new_node):
                raise ErrnoError(ENOTEMPTY)
        self._contents_delete(old_node.parent, old_node.name)
        old_node.parent.timestamp = self.now()
        old_node.name = new_name
        self._contents_set(new_dir, new_name, old_node)
        new_dir.timestamp = old_node.parent.timestamp
        old_node.parent = new_dir

    def rmdir(self, path: str) -> None:
        parent = self.lookup_path(path, parent=True).node
        name = path_basename(path)
        node = self.lookup_node(parent, name)
        assert parent is not None
        err = self.may_delete(parent, name, True)
        if err:
            raise ErrnoError(err)
        if parent.kind != KIND_DIR:
            raise ErrnoError(EPERM)
        if node.mounted is not None:
            raise ErrnoError(EBUSY)
        # MEMFS.node_ops.rmdir
        victim = self.lookup_node(parent, name)
        if self._has_entries(victim):
            raise ErrnoError(ENOTEMPTY)
        self._contents_delete(parent, name)
        parent.timestamp = self.now()
        self._hash_remove(node)

    def unlink(self, path: str) -> None:
        parent = self.lookup_path(path, parent=True).node
        if parent is None:
            raise ErrnoError(ENOENT)
        name = path_basename(path)
        node = self.lookup_node(parent, name)
        err = self.may_delete(parent, name, False)
        if err:
            raise ErrnoError(err)
        if parent.kind != KIND_DIR:
            raise ErrnoError(EPERM)
        if node.mounted is not None:
            raise ErrnoError(EBUSY)
        self._contents_delete(parent, name)  # MEMFS.node_ops.unlink
        parent.timestamp = self.now()
        self._hash_remove(node)

    # -- FS: reading the tree --------------------------------------------------------------
    def readdir(self, path: str) -> list[str]:
        """``FS.readdir`` (no glue exposes a getdents syscall; kept for the host and tests)."""
        node = self._node_of(path, True)
        if node.kind != KIND_DIR:
            raise ErrnoError(ENOTDIR)
        return [".", "..", *object_keys(node.contents)]

    def readlink(self, path: str) -> str:
        """``FS.readlink``: the target resolved against the link's directory."""
        link = self.lookup_path(path).node
        if link is None:
            raise ErrnoError(ENOENT)
        if link.kind == KIND_FDLINK:
            target = link.fd_stream.path  # type: ignore[attr-defined]
        elif link.kind == KIND_LINK:
            target = link.link or ""
        else:
            raise ErrnoError(EINVAL)
        return self.resolve(self.get_path(link.parent), target)

    def stat(self, path: str, dont_follow: bool = False) -> Attr:
        node = self.lookup_path(path, follow=not dont_follow).node
        if node is None:
            raise ErrnoError(ENOENT)
        if node.kind not in _HAS_ATTR:
            raise ErrnoError(EPERM)
        return self.getattr(node)

    def lstat(self, path: str) -> Attr:
        return self.stat(path, True)

    def analyze_path(self, path: str, dont_resolve_last_link: bool = False) -> dict[str, Any]:
        """``FS.analyzePath`` (WeaveDrive's existence test)."""
        try:
            path = self.lookup_path(path, follow=not dont_resolve_last_link).path
        except (ErrnoError, GlueError):
            pass
        ret: dict[str, Any] = {"isRoot": False, "exists": False, "error": 0, "name": None, "path": None,
                               "object": None, "parentExists": False, "parentPath": None,
                               "parentObject": None}
        try:
            lookup = self.lookup_path(path, parent=True)
            ret["parentExists"] = True
            ret["parentPath"] = lookup.path
            ret["parentObject"] = lookup.node
            ret["name"] = path_basename(path)
            lookup = self.lookup_path(path, follow=not dont_resolve_last_link)
            ret["exists"] = True
            ret["path"] = lookup.path
            ret["object"] = lookup.node
            ret["name"] = lookup.node.name if lookup.node is not None else None
            ret["isRoot"] = lookup.path == "/"
        except ErrnoError as e:
            ret["error"] = e.errno
        return ret

    # -- FS: attributes ---------------------------------------------------------------------
    def _node_of(self, path: str | Node, follow: bool) -> Node:
        if isinstance(path, Node):
            return path
        node = self.lookup_path(path, follow=follow).node
        if node is None:  # lookupPath("") gives node null; the glue then reads null.node_ops
            raise _type_error("Cannot read properties of null (reading 'node_ops')")
        return node

    def chmod(self, path: str | Node, mode: int, dont_follow: bool = False) -> None:
        node = self._node_of(path, not dont_follow)
        self._require_setattr(node)
        self._setattr(node, mode=(mode & 4095) | (node.mode & ~4095), timestamp=self.now())

    def fchmod(self, fd: int, mode: int) -> None:
        self.chmod(self.get_stream_checked(fd).node, mode)

    def chown(self, path: str | Node, uid: int, gid: int, dont_follow: bool = False) -> None:
        node = self._node_of(path, not dont_follow)
        self._require_setattr(node)
        self._setattr(node, timestamp=self.now())

    def fchown(self, fd: int, uid: int, gid: int) -> None:
        self.chown(self.get_stream_checked(fd).node, uid, gid)

    def truncate(self, path: str | Node, length: int) -> None:
        if length < 0:
            raise ErrnoError(EINVAL)
        node = self._node_of(path, True)
        self._require_setattr(node)
        if is_dir(node.mode):
            raise ErrnoError(EISDIR)
        if not is_file(node.mode):
            raise ErrnoError(EINVAL)
        err = self.node_permissions(node, "w")
        if err:
            raise ErrnoError(err)
        self._setattr(node, size=length, timestamp=self.now())

    def ftruncate(self, fd: int, length: int) -> None:
        stream = self.get_stream_checked(fd)
        if (stream.flags & O_ACCMODE) == O_RDONLY:
            raise ErrnoError(EINVAL)
        self.truncate(stream.node, length)

    def utime(self, path: str, atime: float, mtime: float) -> None:
        node = self._node_of(path, True)
        if node.kind not in _HAS_ATTR:
            raise _type_error("node.node_ops.setattr is not a function")
        ts = math.nan if math.isnan(atime) or math.isnan(mtime) else max(atime, mtime)
        self._setattr(node, timestamp=ts)

    # -- FS: streams ---------------------------------------------------------------------
    def get_stream(self, fd: int) -> Stream | None:
        return self.streams.get(fd)

    def get_stream_checked(self, fd: int) -> Stream:
        stream = self.streams.get(fd)
        if stream is None:
            raise ErrnoError(EBADF)
        return stream

    def next_fd(self, fd_start: int = 0, fd_end: int = MAX_OPEN_FDS) -> int:
        streams = self.streams
        for fd in range(fd_start, fd_end + 1):
            if fd not in streams:
                return fd
        raise ErrnoError(EMFILE)

    def create_stream(self, stream: Stream, fd: int | None = None, fd_end: int | None = None) -> Stream:
        """``FS.createStream``. Gen 3/4 ``(stream, fd = -1)``: -1 (or None) picks
        ``FS.nextfd()``, any other value is used as is. Gen 2 ``(stream, fd_start,
        fd_end)``: the lowest free fd in ``[fd_start, fd_end]`` (defaults 0, 4096)."""
        if self.gen == 2:
            fd = self.next_fd(0 if fd is None else fd, MAX_OPEN_FDS if fd_end is None else fd_end)
        elif fd is None or fd == -1:
            fd = self.next_fd()
        stream.fd = fd
        self.streams[fd] = stream
        return stream

    def dup_stream(self, orig: Stream, fd: int | None = None) -> Stream:
        return self.create_stream(orig.copy(), fd)  # no stream_ops.dup in MEMFS/TTY

    def close_stream(self, fd: int) -> None:
        self.streams.pop(fd, None)

    def open(self, path: str | Node, flags: int | str, mode: int | None = None) -> Stream:
        """``FS.open`` (a lookup error is swallowed and reported as ENOENT, as in the glue)."""
        if path == "":
            raise ErrnoError(ENOENT)
        if isinstance(flags, str):
            flags = {"r": 0, "r+": 2, "w": 577, "w+": 578, "a": 1089, "a+": 1090}[flags]
        mode = 438 if mode is None else mode
        mode = (mode & 4095) | S_IFREG if flags & O_CREAT else 0
        node: Node | None
        if isinstance(path, Node):
            node = path
        else:
            path = path_normalize(path)
            try:
                node = self.lookup_path(path, follow=not flags & O_NOFOLLOW).node
            except (ErrnoError, GlueError):
                node = None
        created = False
        if flags & O_CREAT:
            if node is not None:
                if flags & O_EXCL:
                    raise ErrnoError(EEXIST)
            else:
                assert isinstance(path, str)
                node = self.mknod(path, mode, 0)
                created = True
        if node is None:
            raise ErrnoError(ENOENT)
        if is_chrdev(node.mode):
            flags &= ~O_TRUNC
        if flags & O_DIRECTORY and not is_dir(node.mode):
            raise ErrnoError(ENOTDIR)
        if not created:
            err = self.may_open(node, flags)
            if err:
                raise ErrnoError(err)
        if flags & O_TRUNC and not created:
            self.truncate(node, 0)
        flags &= ~(O_EXCL | O_TRUNC | O_NOFOLLOW)
        stream = self.create_stream(Stream(node, self.get_path(node), flags, node.stream_ops))
        if stream.ops.open is not None:
            stream.ops.open(self, stream)
        return stream

    def close(self, stream: Stream) -> None:
        if stream.fd is None:
            raise ErrnoError(EBADF)
        stream.getdents = None
        try:
            if stream.ops.close is not None:
                stream.ops.close(self, stream)
        finally:
            self.close_stream(stream.fd)
        stream.fd = None

    def llseek(self, stream: Stream, offset: int, whence: int) -> int:
        if stream.fd is None:
            raise ErrnoError(EBADF)
        if not stream.seekable or stream.ops.llseek is None:
            raise ErrnoError(ESPIPE)
        if whence not in (0, 1, 2):
            raise ErrnoError(EINVAL)
        stream.position = stream.ops.llseek(self, stream, offset, whence)
        stream.ungotten = []
        return stream.position

    def read(self, stream: Stream, length: int, position: int | None = None) -> bytes:
        """``FS.read`` returning the bytes (the syscall copies them to ``HEAP8``)."""
        if length < 0 or (position is not None and position < 0):
            raise ErrnoError(EINVAL)
        if stream.fd is None:
            raise ErrnoError(EBADF)
        if (stream.flags & O_ACCMODE) == O_WRONLY:
            raise ErrnoError(EBADF)
        if is_dir(stream.node.mode):
            raise ErrnoError(EISDIR)
        if stream.ops.read is None:
            raise ErrnoError(EINVAL)
        seeking = position is not None
        if position is None:
            position = stream.position
        elif not stream.seekable:
            raise ErrnoError(ESPIPE)
        data = stream.ops.read(self, stream, length, position)
        if not seeking:
            stream.position += len(data)
        return data

    def write(self, stream: Stream, data: bytes, position: int | None = None) -> int:
        """``FS.write``."""
        if position is not None and position < 0:
            raise ErrnoError(EINVAL)
        if stream.fd is None:
            raise ErrnoError(EBADF)
        if (stream.flags & O_ACCMODE) == O_RDONLY:
            raise ErrnoError(EBADF)
        if is_dir(stream.node.mode):
            raise ErrnoError(EISDIR)
        if stream.ops.write is None:
            raise ErrnoError(EINVAL)
        if stream.seekable and stream.flags & O_APPEND:
            self.llseek(stream, 0, 2)
        seeking = position is not None
        if position is None:
            position = stream.position
        elif not stream.seekable:
            raise ErrnoError(ESPIPE)
        written = stream.ops.write(self, stream, data, position)
        if not seeking:
            stream.position += written
        return written

    def mmap_data(self, stream: Stream, length: int, position: int, prot: int, flags: int) -> bytes:
        """``FS.mmap`` up to ``mmapAlloc``: the bytes the new mapping starts with."""
        acc = stream.flags & O_ACCMODE
        if prot & 2 and not flags & 2 and acc != O_RDWR:
            raise ErrnoError(EACCES)
        if acc == O_WRONLY:
            raise ErrnoError(EACCES)
        if stream.ops.mmap is None:
            raise ErrnoError(ENODEV)
        data: bytes = stream.ops.mmap(self, stream, length, position, prot, flags)
        return data

    def do_msync(self, stream: Stream, read_data: Callable[[], bytes], offset: float, length: int,
                 flags: int) -> int:
        """``SYSCALLS.doMsync`` + ``FS.msync``; ``read_data`` is ``HEAPU8.slice(addr, addr + len)``.

        Gen 3/4 check the node type and ``MAP_PRIVATE`` before slicing; gen 2
        slices first and leaves those checks to ``MEMFS.stream_ops.msync``."""
        if self.gen >= 3:
            if not is_file(stream.node.mode):
                raise ErrnoError(ENODEV)
            if flags & 2:
                return 0
        data = read_data()
        if self.gen >= 3 and not offset >= 0:  # FS.msync: assert(offset >= 0)
            raise Abort("Aborted(Assertion failed)")
        if stream.ops.msync is None:
            return 0
        return stream.ops.msync(self, stream, data, int(offset), length, flags)

    def fsync_op(self, stream: Stream) -> Callable[[MemFS, Stream], Any] | None:
        return stream.ops.fsync

    # -- convenience for hosts and tests -----------------------------------------------------
    def read_file(self, path: str) -> bytes:
        """``FS.readFile(path)`` (binary)."""
        stream = self.open(path, 0)
        length = self.stat(path).size
        data = self.read(stream, length, 0)
        self.close(stream)
        return data

    def write_file(self, path: str, data: bytes, flags: int = 577, mode: int | None = None) -> None:
        """``FS.writeFile(path, data)``."""
        stream = self.open(path, flags, mode)
        self.write(stream, data)
        self.close(stream)

    def iter_nodes(self) -> Iterator[Node]:
        for chain in self.name_table.values():
            yield from chain
