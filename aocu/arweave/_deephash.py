"""Arweave deep hash: the SHA-384 tree hash that ANS-104 data items are signed over.

Pure and synchronous (runs on whichever thread calls it); no I/O. Used for the CU's
forwarded-message dedupe hash (reference-cu.md §2.10.1, §A.4 step 3) and, later, for signing
checkpoint data items (§A.11). Algorithm (arweave-js / warp-arbundles ``deepHash``)::

    blob b:  sha384(sha384(b"blob" + str(len(b))) + sha384(b))
    list l:  acc = sha384(b"list" + str(len(l))); for item: acc = sha384(acc + deep_hash(item))

A blob enters the tree only through its length and its SHA-384, so a `HashedBlob` (both, computed
by whoever streamed the bytes) stands for it: checkpoints are signed and verified without ever
holding their data in one piece.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

__all__ = ["DeepHashChunk", "HashedBlob", "deep_hash"]


@dataclass(frozen=True, slots=True)
class HashedBlob:
    """A blob known by its SHA-384 digest and its length in bytes (all the deep hash needs of it)."""

    sha384: bytes
    size: int

    @classmethod
    def of(cls, data: bytes | bytearray | memoryview) -> HashedBlob:
        view = memoryview(data)
        return cls(hashlib.sha384(view).digest(), view.nbytes)


DeepHashChunk: TypeAlias = "bytes | bytearray | memoryview | HashedBlob | Sequence[DeepHashChunk]"


def _sha384(data: bytes | bytearray | memoryview) -> bytes:
    return hashlib.sha384(data).digest()


def deep_hash(chunk: DeepHashChunk) -> bytes:
    """The 48-byte deep hash of a blob (bytes-like or `HashedBlob`) or a (nested) list of chunks."""
    if isinstance(chunk, bytes | bytearray | memoryview):
        chunk = HashedBlob.of(chunk)
    if isinstance(chunk, HashedBlob):
        tag = _sha384(b"blob" + str(chunk.size).encode())
        return _sha384(tag + chunk.sha384)
    if isinstance(chunk, str):
        # A str is a Sequence but never a chunk; failing loudly beats hashing its characters.
        raise TypeError("deep_hash takes bytes or lists of them, not str")
    items = list(chunk)
    acc = _sha384(b"list" + str(len(items)).encode())
    for item in items:
        acc = _sha384(acc + deep_hash(item))
    return acc
