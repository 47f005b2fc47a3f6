"""What an Arweave checkpoint is: its tags, its encoded memory, and the checks before it is trusted.

Pure functions, any thread. The tags and their order, the gzip level and the SHA-256 of the
*uncompressed* memory are the reference's (reference-cu.md §2.16, ``createCheckpointDataItemWith``
in ``servers/cu/src/effects/ao-process.js``), so a reference CU loads our checkpoints and we load
theirs. `point_of` reads a checkpoint's tags back as ``findLatestProcessMemoryWith`` does
(§2.5.6 step 6: the ordinate comes from ``Nonce``). `check_checkpoint` holds the checks the
reference does not make (issue 6): owner trusted, tags consistent, memory hash matching.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from aocu.model import Tag
from aocu.stores import MemoryPoint

__all__ = [
    "GZIP_LEVEL",
    "CheckpointRejected",
    "EncodedMemory",
    "check_item",
    "check_memory",
    "checkpoint_tags",
    "decode_memory",
    "encode_memory",
    "first_tag",
    "point_of",
]

#: ``zlib.gzip(memory, {level: 9})`` in the reference (best compression: uploads are paid by size).
GZIP_LEVEL = 9
CONTENT_TYPE = "application/octet-stream"


class CheckpointRejected(ValueError):
    """A checkpoint that must not be loaded; the message says why (it is logged, never raised to a client)."""


@dataclass(frozen=True, slots=True)
class EncodedMemory:
    """gzip of the memory, and the hex SHA-256 of the memory itself (the ``SHA-256`` tag)."""

    data: bytes
    sha256: str
    size: int


def encode_memory(memory: bytes | bytearray | memoryview) -> EncodedMemory:
    """gzip level 9 and the SHA-256 of the uncompressed bytes (CPU-bound: call in a thread).

    ``mtime=0`` makes the gzip header deterministic (Node's zlib writes 0 there too).
    """
    view = memoryview(memory)
    return EncodedMemory(gzip.compress(view, compresslevel=GZIP_LEVEL, mtime=0),
                         hashlib.sha256(view).hexdigest(), view.nbytes)


def decode_memory(data: bytes, encoding: str | None, *, max_bytes: int | None = None) -> bytes:
    """``decodeData``: gunzip when ``encoding`` is ``gzip``, as is when empty; anything else is refused.

    More than ``max_bytes`` of memory (a process cannot have more than its memory limit) is
    refused without inflating the rest.
    """
    if not encoding:
        memory = data
    elif encoding != "gzip":
        raise CheckpointRejected(f"encoding {encoding!r} is not supported (only gzip)")
    else:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            memory = inflater.decompress(data, (max_bytes + 1) if max_bytes is not None else 0)
        except zlib.error as exc:
            raise CheckpointRejected(f"the data is not valid gzip: {exc}") from None
        if not inflater.eof and (max_bytes is None or len(memory) <= max_bytes):
            raise CheckpointRejected("the gzip data is truncated")
    if max_bytes is not None and len(memory) > max_bytes:
        raise CheckpointRejected(f"the memory is larger than {max_bytes} bytes")
    return memory


def _text(value: object) -> str:
    """JS template-literal text of a tag value, trimmed (``${undefined}`` is ``undefined``)."""
    if value is None:
        return "undefined"
    return str(value).strip()


def checkpoint_tags(point: MemoryPoint, *, sha256: str, unit_id: str) -> list[Tag]:
    """The reference's tags, in its order (§2.16 step 3); optional ones only when set."""
    if not point.module_id:
        raise ValueError(f"a checkpoint of {point.process_id} needs its module id")
    nonce = point.nonce or point.ordinate           # `nonce || ordinate`: crons and nonce 0 use the ordinate
    tags = [
        Tag("Data-Protocol", "ao"),
        Tag("Variant", "ao.TN.1"),
        Tag("Type", "Checkpoint"),
        Tag("Module", point.module_id.strip()),
        Tag("Process", point.process_id.strip()),
        Tag("Nonce", _text(nonce)),
        Tag("Timestamp", _text(point.timestamp)),
        Tag("Block-Height", _text(point.block_height)),
        Tag("Content-Type", CONTENT_TYPE),
        Tag("SHA-256", sha256),
        Tag("Content-Encoding", "gzip"),
        Tag("Unit-Identifier", unit_id),
        Tag("Ordinate", _text(point.ordinate)),
    ]
    if point.assignment_id:
        tags.append(Tag("Assignment", point.assignment_id.strip()))
    if point.hash_chain:
        tags.append(Tag("Hash-Chain", point.hash_chain.strip()))
    if point.epoch:                                 # epoch 0 is omitted, as in the reference
        tags.append(Tag("Epoch", _text(point.epoch)))
    if point.cron:
        tags.append(Tag("Cron-Interval", point.cron))
    return tags


def first_tag(tags: Sequence[Tag], name: str) -> str | None:
    return next((t.value for t in tags if t.name == name), None)


def _int(text: str | None, name: str) -> int:
    try:
        return int(text or "")
    except ValueError:
        raise CheckpointRejected(f"tag {name} is {text!r}, not an integer") from None


def _maybe_int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None            # maybeParseInt: "undefined" / NaN -> undefined


def point_of(tags: Sequence[Tag]) -> MemoryPoint:
    """Where a checkpoint's memory stands, from its tags (§2.5.6 step 6); `CheckpointRejected` if unusable.

    Stricter than the reference's ``parseInt``s: a checkpoint without a process, an integer
    timestamp or an integer nonce is refused rather than loaded with NaN fields.
    """
    process_id = first_tag(tags, "Process")
    if not process_id:
        raise CheckpointRejected("no Process tag")
    nonce_text = first_tag(tags, "Nonce")
    nonce = _int(nonce_text, "Nonce")
    return MemoryPoint(
        process_id=process_id, timestamp=_int(first_tag(tags, "Timestamp"), "Timestamp"),
        ordinate=str(nonce_text), cron=first_tag(tags, "Cron-Interval"), module_id=first_tag(tags, "Module"),
        nonce=nonce, epoch=_maybe_int(first_tag(tags, "Epoch")),
        block_height=_maybe_int(first_tag(tags, "Block-Height")),
        assignment_id=first_tag(tags, "Assignment"), hash_chain=first_tag(tags, "Hash-Chain"))


#: Tags whose value must be exactly this in every checkpoint.
_FIXED = (("Data-Protocol", "ao"), ("Type", "Checkpoint"))


def check_item(*, item_id: str, expected_id: str, owner_address: str, trusted: Collection[str],
               tags: Sequence[Tag], listed_tags: Sequence[Tag] | None, process_id: str,
               module_id: str | None) -> None:
    """What a checkpoint's signed item must satisfy before its data is even decompressed.

    Raises `CheckpointRejected` naming the first failed check. The signature is checked by the
    `ItemVerifier` that produced ``tags``; ``listed_tags`` is what the gateway's index said (the
    index chose the checkpoint, so it must describe the signed item).
    """
    if item_id != expected_id:
        raise CheckpointRejected(f"the signed item's id is {item_id}, not {expected_id}")
    if owner_address not in trusted:
        raise CheckpointRejected(f"owner {owner_address} is not a trusted checkpoint owner")
    if listed_tags is not None and list(listed_tags) != list(tags):
        raise CheckpointRejected("the gateway listed other tags than the signed item has")
    for name, value in _FIXED:
        if first_tag(tags, name) != value:
            raise CheckpointRejected(f"tag {name} is {first_tag(tags, name)!r}, not {value!r}")
    if first_tag(tags, "Process") != process_id:
        raise CheckpointRejected(f"tag Process is {first_tag(tags, 'Process')!r}, not {process_id}")
    if module_id is not None and first_tag(tags, "Module") != module_id:
        raise CheckpointRejected(f"tag Module is {first_tag(tags, 'Module')!r}, not the process's {module_id}")
    if not first_tag(tags, "SHA-256"):
        raise CheckpointRejected("no SHA-256 tag")


def check_memory(tags: Sequence[Tag], memory: bytes) -> None:
    """The decoded memory must hash to the ``SHA-256`` tag (hex SHA-256 of the uncompressed memory)."""
    expected = first_tag(tags, "SHA-256") or ""
    actual = hashlib.sha256(memory).hexdigest()
    if actual != expected.lower():
        raise CheckpointRejected(f"the memory's SHA-256 is {actual}, the tag says {expected}")
