"""Arweave formats, byte for byte with the JS libraries the reference CU uses.

Pure functions; no I/O, no threads. The deep hash (`deep_hash`), ANS-104 tag bytes
(`serialize_tags`, `deserialize_tags`), Node ``Buffer`` conversions, owner addresses
(`address_from`), and ANS-104 data items (``_dataitem``: `DataItem`, `parse_data_item`,
`serialize_data_item`, `signature_data`; ``_signer``: `ArweaveSigner`, `sign_data_item`,
`verify_data_item`) for checkpoint uploads (reference-cu.md §A.11) and the devnet. The
CU-specific use of these pieces (the forwarded-message dedupe hash) lives in `aocu.domain`.
"""

from ._address import address_from, keccak256
from ._bytes import base64url_encode, js_string_units, node_base64_decode, node_utf8, wtf8
from ._dataitem import (
    ARWEAVE_SIGNATURE_TYPE,
    MAX_TAG_NAME_BYTES,
    MAX_TAG_VALUE_BYTES,
    MAX_TAGS,
    SIGNATURE_CONFIG,
    DataItem,
    DataItemError,
    parse_data_item,
    serialize_data_item,
    signature_data,
)
from ._deephash import DeepHashChunk, HashedBlob, deep_hash
from ._signer import ArweaveSigner, DataItemSigner, sign_data_item, verify_data_item
from ._tags import MAX_TAG_BYTES, deserialize_tags, serialize_tags, zigzag_varint

__all__ = [
    "ARWEAVE_SIGNATURE_TYPE",
    "MAX_TAGS",
    "MAX_TAG_BYTES",
    "MAX_TAG_NAME_BYTES",
    "MAX_TAG_VALUE_BYTES",
    "SIGNATURE_CONFIG",
    "ArweaveSigner",
    "DataItem",
    "DataItemError",
    "DataItemSigner",
    "DeepHashChunk",
    "HashedBlob",
    "address_from",
    "base64url_encode",
    "deep_hash",
    "deserialize_tags",
    "js_string_units",
    "keccak256",
    "node_base64_decode",
    "node_utf8",
    "parse_data_item",
    "serialize_data_item",
    "serialize_tags",
    "sign_data_item",
    "signature_data",
    "verify_data_item",
    "wtf8",
    "zigzag_varint",
]
