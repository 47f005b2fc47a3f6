"""The gzip encoding of checkpoint memory, in bounded pieces, with the hashes computed on the way.

Pure and synchronous (call from worker threads): `encode_memory` compresses a memory piece by
piece, hashing the memory (SHA-256, the ``SHA-256`` tag) and the gzip (SHA-384, what the
ANS-104 signature covers) as it goes; `MemoryDecoder` is fed a download piece by piece and
gunzips into one growing buffer, enforcing a size cap and refusing truncated, corrupt (CRC,
length) or over-long streams; it hands back what it added for hashing elsewhere. Neither holds more than the memory, its
gzip and one piece (`PIECE_BYTES`) at a time.

gzip is ISA-L's (``isal``): the same format, 2-3x faster to inflate than zlib and an order of
magnitude faster to deflate than zlib's level 9, at a smaller size on process memory
(docs/performance.md, "Checkpoint encoding"; ``tools/bench_gzip.py``). A reference CU gunzips
any level.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from isal import isal_zlib

from aocu.arweave import HashedBlob
from aocu.model import Tag

from ._format import CheckpointRejected, first_tag

__all__ = ["GZIP_LEVEL", "PIECE_BYTES", "EncodedMemory", "MemoryDecoder", "check_memory", "check_sha256",
           "decode_memory", "encode_memory"]

#: ISA-L level 1 (of 0-3): on process memory it compresses smaller than zlib's level 9 (the
#: reference's: 0.515 vs 0.542 of the size) at ~10x its speed; levels 2-3 are no smaller and
#: slower, 0 is 50% larger (docs/performance.md, "Checkpoint gzip level"). Uploads are paid by
#: size, creation runs beside evaluation: both count.
GZIP_LEVEL = 1
#: Memory is compressed, and gzip inflated, this many bytes at a time: the most held beside the
#: result, and small enough to keep each GIL-free call short.
PIECE_BYTES = 4 << 20
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ERRORS = (zlib.error, isal_zlib.error)


@dataclass(frozen=True, slots=True)
class EncodedMemory:
    """gzip of the memory in pieces (uploaded as they are, never joined), and what it is signed by.

    ``sha256`` is the hex SHA-256 of the memory itself (the ``SHA-256`` tag), ``size`` the memory's
    length, ``gzip`` the gzip's SHA-384 and length (the deep hash's view of the item's data).
    """

    parts: tuple[bytes, ...]
    sha256: str
    size: int
    gzip: HashedBlob

    @property
    def data(self) -> bytes:
        """The gzip in one piece (a copy: for tests and small memories)."""
        return b"".join(self.parts)


def encode_memory(memory: bytes | bytearray | memoryview) -> EncodedMemory:
    """gzip `GZIP_LEVEL` of ``memory`` and its hashes, in one pass (CPU-bound: call in a thread).

    The gzip header's mtime is 0 (as Node's zlib writes it), so equal memory gives equal bytes.
    """
    view = memoryview(memory).cast("B")
    compressor = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, _GZIP_WBITS)
    memory_hash, gzip_hash = hashlib.sha256(), hashlib.sha384()
    parts: list[bytes] = []
    gzip_size = 0
    for offset in range(0, view.nbytes, PIECE_BYTES):
        piece = view[offset:offset + PIECE_BYTES]
        memory_hash.update(piece)
        parts.append(compressor.compress(piece))
    parts.append(compressor.flush())
    parts = [p for p in parts if p]
    for part in parts:
        gzip_hash.update(part)
        gzip_size += len(part)
    return EncodedMemory(tuple(parts), memory_hash.hexdigest(), view.nbytes,
                         HashedBlob(gzip_hash.digest(), gzip_size))


class MemoryDecoder:
    """``decodeData`` fed piece by piece: gunzip with ``encoding`` ``gzip``, as is when empty.

    Another encoding is refused at construction. More than ``max_bytes`` of memory (a process
    cannot have more than its memory limit) is refused without inflating the rest; so are a
    truncated stream (`finish`), a bad CRC or length trailer, and anything after the gzip member
    (a reference checkpoint is one member; a second could only change the memory). Every refusal
    is a `CheckpointRejected`; the caller drops the decoder and its buffer. The memory's hash is
    the caller's (`feed` returns what it added, for another thread to hash).
    """

    def __init__(self, encoding: str | None, *, max_bytes: int | None = None) -> None:
        if encoding and encoding != "gzip":
            raise CheckpointRejected(f"encoding {encoding!r} is not supported (only gzip)")
        self._inflater = isal_zlib.decompressobj(wbits=_GZIP_WBITS) if encoding else None
        self._max_bytes = max_bytes
        # grows by appends: realloc moves large blocks with mremap (no copy), and nothing is
        # zero-filled under the GIL as a preallocated bytearray(n) would be
        self._memory = bytearray()

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Decode one more piece of the encoded data; the memory it added, in pieces."""
        if self._inflater is None:
            added = [bytes(data)]
            self._append(added[0])
            return added
        inflater = self._inflater
        added = []
        pending: bytes | bytearray | memoryview = data
        while pending:
            if inflater.eof:
                raise CheckpointRejected("data after the end of the gzip stream")
            try:
                # at most PIECE_BYTES out per call: the cap holds before a bomb is inflated
                out = inflater.decompress(pending, PIECE_BYTES)
            except _ERRORS as exc:
                raise CheckpointRejected(f"the data is not valid gzip: {exc}") from None
            if out:
                self._append(out)
                added.append(out)
            pending = inflater.unconsumed_tail
            if inflater.eof and inflater.unused_data:
                raise CheckpointRejected("data after the end of the gzip stream")
        return added

    def _append(self, out: bytes) -> None:
        if self._max_bytes is not None and len(self._memory) + len(out) > self._max_bytes:
            raise CheckpointRejected(f"the memory is larger than {self._max_bytes} bytes")
        self._memory += out

    def finish(self) -> bytearray:
        """The whole memory, once the encoded data is complete; `CheckpointRejected` if it is not."""
        if self._inflater is not None and not self._inflater.eof:
            raise CheckpointRejected("the gzip data is truncated")
        return self._memory


def decode_memory(data: bytes | bytearray | memoryview, encoding: str | None, *,
                  max_bytes: int | None = None) -> bytearray:
    """`MemoryDecoder` on the whole encoded data at once."""
    decoder = MemoryDecoder(encoding, max_bytes=max_bytes)
    decoder.feed(data)
    return decoder.finish()


def check_sha256(tags: Sequence[Tag], actual: str) -> None:
    """The memory's hex SHA-256 must be the ``SHA-256`` tag's (which is hex of the uncompressed memory)."""
    expected = first_tag(tags, "SHA-256") or ""
    if actual != expected.lower():
        raise CheckpointRejected(f"the memory's SHA-256 is {actual}, the tag says {expected}")


def check_memory(tags: Sequence[Tag], memory: bytes | bytearray | memoryview) -> None:
    """`check_sha256` of a memory in hand."""
    check_sha256(tags, hashlib.sha256(memory).hexdigest())
