"""Compressed process-memory snapshot files: the format, durable atomic writes, verified reads.

Owns the files in one snapshot directory (LRU drains in ``PROCESS_MEMORY_CACHE_FILE_DIR``, file
checkpoints in ``PROCESS_MEMORY_FILE_CHECKPOINTS_DIR``; reference-cu.md §3.5, §5.5, §2.16). Every
function blocks on disk and burns CPU on zstd and sha256, so it runs in a worker thread only, never
on the trio thread. It never deletes a file it did not name: names carry the database's store id, and
`MemoryFiles.own_files` lists only those (the reference's drain directory defaults to the OS temp
directory, which holds other programs' files too; ao#1013).

The directory is a private subdirectory (`StoreOptions.snapshot_dir`) that follows
`aocu._safefiles`'s rules: every operation works on an O_NOFOLLOW fd of it, once it is checked to
be ours and not group/other-writable, and a file is read only when, on its own fd, it is a regular
file of ours (a planted symlink to a FIFO, a device or a huge file is never opened; a write never
goes through a link, it creates a fresh name with O_EXCL and renames it). A refused directory
raises `SnapshotsUnavailable` (one warning per directory): drains are dropped and checkpoints
skipped by the callers, and reads are misses. A refused file is a `SnapshotError`, a miss too.

File layout (little-endian)::

    0   8   magic  b"AOCUMEM\\x01"
    8   8   uncompressed size (u64)
    16  8   length of the zstd frame (u64): trailing bytes mean a damaged file
    24  32  sha256 of the uncompressed memory
    56  ..  one zstd frame with its content size

zstd level 1 compresses wasm-like memory 5.8x at ~370-870 MiB/s straight from a memoryview, against
29-80 MiB/s for gzip at the same ratio (stack.md §5). The sha256 is computed chunk by chunk as the
chunk is compressed, while it is still in cache, and checked again on every load.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import zstandard

from aocu._safefiles import PrivateDir, Refused, create_private_file, open_private_file

from ._errors import SnapshotError, SnapshotsUnavailable
from .base import MemoryBuffer

__all__ = ["DEFAULT_ZSTD_LEVEL", "MemoryFiles", "safe_name_part"]

MiB: Final = 1 << 20
DEFAULT_ZSTD_LEVEL: Final = 1
"""zstd level for snapshots: level 3 gains 2% ratio for half the speed (stack.md §5)."""
_CHUNK: Final = 1 * MiB
"""Hash-and-compress step: small enough to stay in L2/L3 between the two passes."""
_MAGIC: Final = b"AOCUMEM\x01"
_HEADER: Final = struct.Struct("<8sQQ32s")
_SUFFIX: Final = ".aomem"
_TMP: Final = ".tmp"
_SAFE_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
log = logging.getLogger("aocu.stores.snapshots")


def safe_name_part(value: str) -> str:
    """*value* if it is file-name safe (ao ids are base64url), else a hash of it."""
    if _SAFE_ID.fullmatch(value):
        return value
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:43]


class MemoryFiles:
    """One private directory of snapshot files written by the database whose store id is *store_id*.

    *setting* names the configuration that chose the directory, for the refusal warning.
    """

    def __init__(self, directory: Path, store_id: str, *, level: int = DEFAULT_ZSTD_LEVEL,
                 setting: str = "the snapshot directory setting") -> None:
        self.directory = directory
        self.store_id = store_id
        self.level = level
        self.setting = setting
        self._dir = PrivateDir(directory, log, use="memory snapshots",
                               fallback="processes are replayed instead of reloaded from it", setting=setting)
        self._own = re.compile(
            rf"{re.escape(store_id)}\.[A-Za-z0-9_-]+\.[0-9]+\.[0-9a-f]{{12}}{re.escape(_SUFFIX)}"
            rf"(?:{re.escape(_TMP)})?"
        )

    def new_name(self, process_id: str, timestamp: int) -> str:
        """A fresh file name; the random part keeps concurrent saves of one point apart."""
        return f"{self.store_id}.{safe_name_part(process_id)}.{timestamp}.{secrets.token_hex(6)}{_SUFFIX}"

    def _open_dir(self) -> int:
        """A checked fd of the directory (created 0o700 if missing); raises `SnapshotsUnavailable`."""
        try:
            return self._dir.open()
        except Refused as exc:
            raise SnapshotsUnavailable(f"not using {self.directory}: {exc}") from exc

    def write(self, name: str, memory: MemoryBuffer) -> tuple[int, bytes]:
        """Compress *memory* into *name* durably; returns ``(size, sha256)``.

        Order: write ``<name>.tmp`` (a new file, O_EXCL), fsync it, rename it to *name*, fsync the
        directory. A crash leaves at most an unreferenced file, which `own_files` lets the caller
        clean up. Raises `SnapshotsUnavailable` or `OSError`.
        """
        view = memoryview(memory)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        size = view.nbytes
        tmp = name + _TMP
        digest = hashlib.sha256()
        cctx = zstandard.ZstdCompressor(level=self.level, write_content_size=True)
        dir_fd = self._open_dir()
        try:
            fd = create_private_file(dir_fd, tmp)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(_HEADER.pack(_MAGIC, size, 0, bytes(32)))
                    with cctx.stream_writer(f, size=size, closefd=False) as out:
                        for offset in range(0, size, _CHUNK):
                            chunk = view[offset : offset + _CHUNK]
                            digest.update(chunk)
                            out.write(chunk)
                    sha = digest.digest()
                    frame_length = f.tell() - _HEADER.size
                    f.seek(0)
                    f.write(_HEADER.pack(_MAGIC, size, frame_length, sha))
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                try:
                    os.unlink(tmp, dir_fd=dir_fd)
                except OSError:
                    pass
                raise
            os.fsync(dir_fd)            # the rename is durable before the caller commits the record
        finally:
            os.close(dir_fd)
        return size, sha

    def read(self, name: str, *, size: int, sha256: bytes) -> bytes:
        """The memory in *name*, checked against the header, the expected size and sha256.

        The file's length is checked against its header before the frame is read, so nothing larger
        than what was written is ever read into memory. One-shot decompression into a fresh
        ``bytes``: zstd and sha256 run without the GIL, while ``bytearray(size)`` would zero-fill
        under the GIL (a 256 MiB buffer held the trio loop for ~200 ms in tests/stores/bench_stores.py's
        setting).
        """
        path = self.directory / name
        dir_fd = self._open_dir()
        try:
            opened = open_private_file(dir_fd, name)
        except Refused as exc:
            log.warning("not loading memory snapshot %s: %s", path, exc)
            raise SnapshotError(f"{path}: refused: {exc}") from exc
        except OSError as exc:
            raise SnapshotError(f"{path}: {exc}") from exc
        finally:
            os.close(dir_fd)
        if opened is None:
            raise SnapshotError(f"{path}: missing")
        fd, st = opened
        try:
            with os.fdopen(fd, "rb") as f:
                header = f.read(_HEADER.size)
                if len(header) != _HEADER.size:
                    raise SnapshotError(f"{path}: truncated header")
                magic, file_size, frame_length, file_sha = _HEADER.unpack(header)
                if magic != _MAGIC:
                    raise SnapshotError(f"{path}: not an aocu memory snapshot")
                if file_size != size or file_sha != sha256:
                    raise SnapshotError(f"{path}: header does not match its record")
                if st.st_size - _HEADER.size != frame_length:
                    raise SnapshotError(
                        f"{path}: {st.st_size - _HEADER.size} bytes after the header, expected {frame_length}"
                    )
                compressed = f.read(frame_length + 1)
        except OSError as exc:
            raise SnapshotError(f"{path}: {exc}") from exc
        if frame_length != len(compressed):
            raise SnapshotError(f"{path}: {len(compressed)} bytes after the header, expected {frame_length}")
        try:
            params = zstandard.get_frame_parameters(compressed)
            if params.content_size != size:
                raise SnapshotError(f"{path}: frame holds {params.content_size} bytes, not {size}")
            data = zstandard.ZstdDecompressor().decompress(compressed)
        except zstandard.ZstdError as exc:
            raise SnapshotError(f"{path}: {exc}") from exc
        if len(data) != size:
            raise SnapshotError(f"{path}: holds {len(data)} bytes, not {size}")
        if hashlib.sha256(data).digest() != sha256:
            raise SnapshotError(f"{path}: sha256 mismatch")
        return data

    def remove(self, names: Iterable[str]) -> list[str]:
        """Unlink *names* and make the unlinks durable; best effort, because every caller has
        already committed the records' deletion and startup cleanup retries. Returns the names
        that could not be removed (missing ones count as removed; all of them when the directory
        is refused)."""
        names = list(names)
        if not names:
            return []
        try:
            dir_fd = self._open_dir()
        except SnapshotsUnavailable:
            return names
        removed, failed = False, []
        try:
            for name in names:
                try:
                    os.unlink(name, dir_fd=dir_fd)
                    removed = True
                except FileNotFoundError:
                    pass
                except OSError:
                    failed.append(name)
            if removed:
                try:
                    os.fsync(dir_fd)
                except OSError:
                    pass  # the unlinks happened; only their durability is in doubt
        finally:
            os.close(dir_fd)
        return failed

    def own_files(self) -> list[str]:
        """Names in the directory that this store wrote (finished or ``.tmp``), nothing else; none
        when the directory is refused. Symlinks are never listed."""
        try:
            dir_fd = self._open_dir()
        except SnapshotsUnavailable:
            return []
        try:
            with os.scandir(dir_fd) as it:
                return [e.name for e in it if self._own.fullmatch(e.name) and e.is_file(follow_symlinks=False)]
        finally:
            os.close(dir_fd)
