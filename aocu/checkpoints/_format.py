"""What an Arweave checkpoint is: its tags, and the checks of its signed item before it is trusted.

Pure functions, any thread. The tags and their order, gzip and the SHA-256 of the
*uncompressed* memory are the reference's (reference-cu.md §2.16, ``createCheckpointDataItemWith``
in ``servers/cu/src/effects/ao-process.js``), so a reference CU loads our checkpoints and we load
theirs. `point_of` reads a checkpoint's tags back as ``findLatestProcessMemoryWith`` does
(§2.5.6 step 6: the ordinate comes from ``Nonce``). `check_item` holds the checks the
reference does not make (issue 6): owner trusted, tags consistent (the memory's hash: ``_codec``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from aocu.model import Tag
from aocu.stores import MemoryPoint

__all__ = [
    "CheckpointRejected",
    "check_item",
    "checkpoint_tags",
    "first_tag",
    "point_of",
]

CONTENT_TYPE = "application/octet-stream"


class CheckpointRejected(ValueError):
    """A checkpoint that must not be loaded; the message says why (it is logged, never raised to a client)."""


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
