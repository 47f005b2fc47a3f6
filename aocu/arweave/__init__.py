"""Arweave formats, byte for byte with the JS libraries the reference CU uses.

Pure functions; no I/O, no threads. Today: the deep hash (`deep_hash`), ANS-104 tag bytes
(`serialize_tags`), Node ``Buffer`` conversions and owner addresses (`address_from`). ANS-104
data-item signing (checkpoint uploads, reference-cu.md §A.11) will join this package. The
CU-specific use of these pieces (the forwarded-message dedupe hash) lives in `aocu.domain`.
"""

from ._address import address_from, keccak256
from ._bytes import base64url_encode, js_string_units, node_base64_decode, node_utf8, wtf8
from ._deephash import DeepHashChunk, deep_hash
from ._tags import MAX_TAG_BYTES, serialize_tags, zigzag_varint

__all__ = [
    "MAX_TAG_BYTES",
    "DeepHashChunk",
    "address_from",
    "base64url_encode",
    "deep_hash",
    "js_string_units",
    "keccak256",
    "node_base64_decode",
    "node_utf8",
    "serialize_tags",
    "wtf8",
    "zigzag_varint",
]
