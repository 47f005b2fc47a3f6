"""Arweave checkpoints of process memory: create (sign, upload, record) and load (find, trust, verify).

Start with `ArweaveCheckpointer` (creation, reference-cu.md §2.16) and `CheckpointFinder` (the
record and Arweave starting-point sources, §2.5.5-6, verified more strictly than the reference).
`_format` owns what a checkpoint is (tags, checks), `_codec` its gzip in bounded pieces with the
hashes made on the way, `_items` the signing and verifying ports, `_stream` the download-side
pipeline. The pipeline (`aocu.pipeline`) decides when to create and when to look.
"""

from ._codec import (
    GZIP_LEVEL,
    EncodedMemory,
    MemoryDecoder,
    check_memory,
    check_sha256,
    decode_memory,
    encode_memory,
)
from ._create import ArweaveCheckpointer, FindsCheckpoint
from ._format import CheckpointRejected, check_item, checkpoint_tags, point_of
from ._items import (
    Ans104Signer,
    Ans104Verifier,
    ItemSigner,
    ItemVerifier,
    SignedItem,
    assemble_item,
    signed_item_bytes,
)
from ._load import CheckpointFinder, CheckpointGateway, FinderSettings, Found, Replay

__all__ = [
    "GZIP_LEVEL",
    "Ans104Signer",
    "Ans104Verifier",
    "ArweaveCheckpointer",
    "CheckpointFinder",
    "CheckpointGateway",
    "CheckpointRejected",
    "EncodedMemory",
    "FinderSettings",
    "FindsCheckpoint",
    "Found",
    "ItemSigner",
    "ItemVerifier",
    "MemoryDecoder",
    "Replay",
    "SignedItem",
    "assemble_item",
    "check_item",
    "check_memory",
    "check_sha256",
    "checkpoint_tags",
    "decode_memory",
    "encode_memory",
    "point_of",
    "signed_item_bytes",
]
