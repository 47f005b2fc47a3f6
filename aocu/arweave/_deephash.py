"""Arweave deep hash: the SHA-384 tree hash that ANS-104 data items are signed over.

Pure and synchronous (runs on whichever thread calls it); no I/O. Used for the CU's
forwarded-message dedupe hash (reference-cu.md §2.10.1, §A.4 step 3) and, later, for signing
checkpoint data items (§A.11). Algorithm (arweave-js / warp-arbundles ``deepHash``)::

    blob b:  sha384(sha384(b"blob" + str(len(b))) + sha384(b))
    list l:  acc = sha384(b"list" + str(len(l))); for item: acc = sha384(acc + deep_hash(item))
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeAlias

__all__ = ["DeepHashChunk", "deep_hash"]

DeepHashChunk: TypeAlias = "bytes | bytearray | memoryview | Sequence[DeepHashChunk]"


def _sha384(data: bytes | bytearray | memoryview) -> bytes:
    return hashlib.sha384(data).digest()


def deep_hash(chunk: DeepHashChunk) -> bytes:
    """The 48-byte deep hash of a blob (bytes-like) or a (nested) list of chunks."""
    if isinstance(chunk, bytes | bytearray | memoryview):
        blob = memoryview(chunk)
        tag = _sha384(b"blob" + str(blob.nbytes).encode())
        return _sha384(tag + _sha384(blob))
    if isinstance(chunk, str):
        # A str is a Sequence but never a chunk; failing loudly beats hashing its characters.
        raise TypeError("deep_hash takes bytes or lists of them, not str")
    items = list(chunk)
    acc = _sha384(b"list" + str(len(items)).encode())
    for item in items:
        acc = _sha384(acc + deep_hash(item))
    return acc
