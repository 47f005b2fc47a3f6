"""Hydration of the merged stream (reference-cu.md §2.10): dedupe hashes, assignments, schema.

Pure except `hydrate_envelope`, which awaits the injected `TransactionLoader` (the gateway) and
nothing else; it starts no tasks and holds no state. Per envelope, in the reference's order
(``servers/cu/src/domain/lib/hydrateMessages.js``):

1. a forwarded message (truthy ``Forwarded-By``) gets ``deep_hash``: standard base64 of the
   deep hash of an unsigned ANS-104 item built from its Data/Tags/Target/Anchor, created with a
   0-byte owner but read back as if the owner were 512 bytes (§A.4, quirk §8.4 #20; kept
   because the hash is stored as ``messages.id`` and must match the reference's DB);
2. an assignment gets Id, Signature, Owner, From, Target, Tags, Anchor and Data from the gateway,
   minus what its ``Exclude`` tags skip (§2.10.2);
3. the schema check and coercions of `validate_envelope` (§2.10.3).
"""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any, Final, Protocol

from aocu.arweave import deep_hash, node_base64_decode, node_utf8, serialize_tags
from aocu.errors import InvalidMessageError
from aocu.jsjson import UNDEFINED

from ._js import js_truthy
from ._message import validate_envelope
from ._model import Envelope, GatewaySkip, Message, Tag, TransactionMeta
from ._tags import map_from

__all__ = [
    "TransactionLoader",
    "apply_transaction",
    "assignment_request",
    "forwarded_deep_hash",
    "hydrate_envelope",
    "with_deep_hash",
]

_SIGNATURE_TYPE: Final = b"\x01\x00"  # ANS-104 signature type 1 (Arweave), 2 bytes LE
_SIGNATURE_BYTES: Final = 512
_PARSED_OWNER_BYTES: Final = 512  # what DataItem assumes for type 1, though 0 bytes were written
_TARGET_BYTES: Final = 32
_ANCHOR_BYTES: Final = 32


class TransactionLoader(Protocol):
    """The gateway, as hydration needs it (the reference's ``loadTransactionMeta``/``Data``)."""

    async def load_transaction_meta(self, tx_id: str, skip: GatewaySkip) -> TransactionMeta:
        """The ``GetProcesses`` node of ``tx_id``; skipped fields `UNDEFINED`, missing tags ``()``."""
        ...

    async def load_transaction_data(self, tx_id: str) -> str:
        """``/raw/<tx_id>`` as text, decoded like ``Response.text()`` (UTF-8, U+FFFD, BOM dropped)."""
        ...


def _le64(n: int) -> bytes:
    return n.to_bytes(8, "little")


def _unsigned_item(data: bytes, tags: list[Tag], target: str, anchor: str) -> bytes:
    # warp-arbundles createData(data, {publicKey: '', ownerLength: 0, signatureLength: 512,
    # signatureType: 1}, {tags, target, anchor}): falsy target/anchor are absent.
    out = bytearray(_SIGNATURE_TYPE + bytes(_SIGNATURE_BYTES))
    if target:
        raw = node_base64_decode(target)
        if len(raw) != _TARGET_BYTES:
            raise InvalidMessageError(f"Target must be 32 bytes but was incorrectly {len(raw)}")
        out += b"\x01" + raw
    else:
        out += b"\x00"
    if anchor:
        raw = node_utf8(anchor)
        if len(raw) != _ANCHOR_BYTES:
            raise InvalidMessageError("Anchor must be 32 bytes")
        out += b"\x01" + raw
    else:
        out += b"\x00"
    try:
        tag_bytes = serialize_tags(tags) if tags else b""
    except (TypeError, ValueError) as exc:
        raise InvalidMessageError(str(exc)) from exc
    out += _le64(len(tags)) + _le64(len(tag_bytes)) + tag_bytes + data
    return bytes(out)


def _signature_chunks(item: bytes) -> list[bytes]:
    # DataItem.getSignatureData() on that binary: it reads signature type 1, so it takes the
    # owner to be 512 bytes and finds target, anchor and tags past them. Slices clamp like
    # Uint8Array.subarray; a presence byte past the end reads as absent.
    owner_start = len(_SIGNATURE_TYPE) + _SIGNATURE_BYTES
    owner = item[owner_start : owner_start + _PARSED_OWNER_BYTES]
    ts = owner_start + _PARSED_OWNER_BYTES
    has_target = ts < len(item) and item[ts] == 1
    target = item[ts + 1 : ts + 1 + _TARGET_BYTES] if has_target else b""
    an = ts + (1 + _TARGET_BYTES if has_target else 1)
    has_anchor = an < len(item) and item[an] == 1
    anchor = item[an + 1 : an + 1 + _ANCHOR_BYTES] if has_anchor else b""
    tg = an + (1 + _ANCHOR_BYTES if has_anchor else 1)
    size = int.from_bytes(item[tg + 8 : tg + 16], "little")  # byteArrayToLong; short/empty is fine
    tags = item[tg + 16 : tg + 16 + size]
    data = item[tg + 16 + size :]
    return [b"dataitem", b"1", b"1", owner, target, anchor, tags, data]


def forwarded_deep_hash(message: Message) -> str:
    """The dedupe hash of a forwarded message (``calcDataItemDeepHash``, §A.4).

    Raises `InvalidMessageError` (the reference fails the whole stream) for a Target that is
    not 32 bytes base64url, an Anchor that is not 32 UTF-8 bytes, or tags over 4096 bytes.
    """
    data = message.data
    if data is None or data is UNDEFINED:
        data_bytes = b""
    elif isinstance(data, str):
        data_bytes = node_utf8(data)
    elif isinstance(data, bytes | bytearray):
        data_bytes = bytes(data)
    else:
        raise InvalidMessageError(
            "The first argument must be of type string or an instance of Buffer, ArrayBuffer, "
            "or Array or an Array-like Object."
        )
    target = message.target if isinstance(message.target, str) else ""
    anchor = message.anchor if isinstance(message.anchor, str) else ""
    item = _unsigned_item(data_bytes, list(message.tags), target, anchor)
    return base64.b64encode(deep_hash(_signature_chunks(item))).decode("ascii")


def with_deep_hash(envelope: Envelope) -> Envelope:
    """``maybeMessageId``: attach `forwarded_deep_hash` when ``Forwarded-By`` is truthy."""
    if not js_truthy(envelope.message.forwarded_by):
        return envelope
    return replace(envelope, deep_hash=forwarded_deep_hash(envelope.message))


def assignment_request(envelope: Envelope) -> tuple[str, GatewaySkip, bool]:
    """What to ask the gateway for an assignment: ``(tx id, skip flags, whether to load Data)``.

    ``Exclude: Tags|Signature|Anchor`` set the matching GraphQL ``@skip`` flags (other values are
    ignored); ``Exclude: Data`` skips the ``/raw`` fetch.
    """
    exclude = envelope.exclude or ()
    skip = GatewaySkip(
        skip_tags="Tags" in exclude, skip_signature="Signature" in exclude, skip_anchor="Anchor" in exclude
    )
    return envelope.message.id, skip, "Data" not in exclude


def apply_transaction(envelope: Envelope, meta: TransactionMeta, data: Any = UNDEFINED) -> Envelope:
    """``maybeAoAssignment``: the assignment's message with the on-chain fields (§2.10.2).

    ``data`` is the ``/raw`` text, or `UNDEFINED` when ``Exclude: Data``. The assignment's own
    Epoch, Nonce, Timestamp, Block-Height, Hash-Chain and Cron are kept.
    """
    owner = meta.owner.owner_address
    recipient = meta.recipient
    message = replace(
        envelope.message,
        id=meta.id,
        signature=meta.signature,
        owner=owner,
        from_=map_from(meta.tags, owner),
        target=recipient if js_truthy(recipient) else "",
        tags=meta.tags,
        anchor=meta.anchor,
        data=data,
    )
    return replace(envelope, message=message)


async def hydrate_envelope(envelope: Envelope, loader: TransactionLoader) -> Envelope:
    """All of §2.10 for one envelope: deep hash, assignment hydration, schema check.

    Only assignments touch ``loader``. Raises `InvalidMessageError` (HTTP 500) on a bad message.
    """
    envelope = with_deep_hash(envelope)
    if envelope.is_assignment:
        tx_id, skip, load_data = assignment_request(envelope)
        meta = await loader.load_transaction_meta(tx_id, skip)
        data = await loader.load_transaction_data(tx_id) if load_data else UNDEFINED
        envelope = apply_transaction(envelope, meta, data)
    return validate_envelope(envelope)
