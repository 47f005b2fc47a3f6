"""Building the stream's envelopes and the exact message/env a module receives (§2.7, §2.9-§2.11).

Pure; no I/O. Start with `envelope_from_su_node` (the reference's ``mapNode``), then
`validate_envelope` (its ``messageSchema.parse``, the last hydration step, §2.10.3) and
`module_message_js` (``removeInvalidTags``: what ``handle`` finally gets, §2.11). The other
builders make the cold-start process message (§2.9) and the dry-run message (§2.18).

JSON shapes: `Message.to_js` and `AoGlobal.to_js` (in ``_model``) emit the keys in the order the
reference's Zod schema leaves them, so ``aocu.jsjson.stringify`` gives the reference's bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

from aocu.arweave import address_from
from aocu.errors import InvalidMessageError
from aocu.jsjson import UNDEFINED

from ._js import is_nan, js_parse_int, js_string, js_to_number, js_truthy
from ._model import AoGlobal, Block, Envelope, Message, ProcessMeta, Tag, Tags
from ._tags import map_from, map_sender, parse_tags, remove_tags_by_name

__all__ = [
    "dry_run_message",
    "envelope_from_su_node",
    "module_message_js",
    "needs_process_message",
    "process_message",
    "validate_envelope",
]

# Tags the evaluation step strips from every message before the module sees it (§2.11).
_INVALID_TAG_NAMES: Final = ("From", "Owner")


def _get(obj: Any, key: str) -> Any:
    """Ramda ``path([key])``: the value, ``None`` for JSON null, `UNDEFINED` when absent."""
    if isinstance(obj, Mapping):
        return obj.get(key, UNDEFINED)
    return UNDEFINED


def _is_nil(v: Any) -> bool:
    return v is None or v is UNDEFINED


# --- Zod-like validation (messageSchema) ---------------------------------------------------


def _zod_type(v: Any) -> str:
    if v is UNDEFINED:
        return "undefined"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "nan" if is_nan(v) else "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list | tuple):
        return "array"
    if isinstance(v, Mapping):
        return "object"
    return "unknown"


class _Issues:
    """Collects Zod issues and renders them like the reference's ``errFrom`` (§1.0)."""

    def __init__(self) -> None:
        self.items: list[tuple[tuple[Any, ...], str]] = []

    def type_error(self, path: tuple[Any, ...], expected: str, got: Any) -> None:
        received = _zod_type(got)
        self.items.append(
            (path, "Required" if received == "undefined" else f"Expected {expected}, received {received}")
        )

    def string(self, path: tuple[Any, ...], v: Any, *, nullish: bool = False, min_length: int = 0) -> None:
        if nullish and _is_nil(v):
            return
        if not isinstance(v, str):
            self.type_error(path, "string", v)
        elif len(v) < min_length:
            self.items.append((path, f"String must contain at least {min_length} character(s)"))

    def number(self, path: tuple[Any, ...], v: Any, *, nullish: bool = False) -> None:
        if nullish and _is_nil(v):
            return
        if not isinstance(v, int | float) or isinstance(v, bool) or is_nan(v):
            self.type_error(path, "number", v)

    def boolean(self, path: tuple[Any, ...], v: Any) -> None:
        if not isinstance(v, bool):
            self.type_error(path, "boolean", v)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        parts = []
        for path, msg in self.items:
            # errFrom: `path[1] || path[0]` names the issue.
            key = path[1] if len(path) > 1 and js_truthy(path[1]) else path[0]
            parts.append(f"'{key}': {msg}.")
        raise InvalidMessageError(" | ".join(parts))


def _tags_from_raw(raw: Any, path: tuple[Any, ...], issues: _Issues) -> Tags:
    """``z.array(rawTagSchema)`` on JSON tags: `Tag` tuples, issues for anything else."""
    if isinstance(raw, tuple) and all(isinstance(t, Tag) for t in raw):
        return raw
    if not isinstance(raw, list | tuple):
        issues.type_error(path, "array", raw)
        return ()
    out = []
    for i, t in enumerate(raw):
        if isinstance(t, Tag):
            out.append(t)
            continue
        if not isinstance(t, Mapping):
            issues.type_error((*path, i), "object", t)
            continue
        name, value = t.get("name", UNDEFINED), t.get("value", UNDEFINED)
        issues.string((*path, i, "name"), name)
        issues.string((*path, i, "value"), value)
        if isinstance(name, str) and isinstance(value, str):
            out.append(Tag(name, value))
    return tuple(out)


def _nil_or_str(v: Any) -> bool:
    return v is None or v is UNDEFINED or type(v) is str


def _nil_or_int(v: Any) -> bool:
    return v is None or v is UNDEFINED or type(v) is int


def _plainly_valid(envelope: Envelope) -> bool:
    """True when `validate_envelope` would neither report, coerce nor default anything: every
    field already has its plain type (what the SU pages give); else the detailed check runs."""
    m, g = envelope.message, envelope.ao_global
    return (_nil_or_str(envelope.deep_hash) and _nil_or_str(envelope.cron) and type(envelope.name) is str
            and _nil_or_str(envelope.assignment_id) and _nil_or_str(m.id) and _nil_or_str(m.signature)
            and type(m.owner) is str and m.owner != "" and type(m.target) is str and _nil_or_str(m.anchor)
            and type(m.from_) is str and m.from_ != "" and _nil_or_str(m.forwarded_by)
            and type(m.tags) is tuple and all(type(t) is Tag for t in m.tags)
            and _nil_or_int(m.epoch) and _nil_or_int(m.nonce) and type(m.timestamp) is int
            and type(m.block_height) is int and _nil_or_str(m.hash_chain) and type(m.cron) is bool
            and type(m.read_only) is bool and type(g.process_id) is str and type(g.process_owner) is str
            and type(g.module_id) is str and type(g.module_owner) is str)


def validate_envelope(envelope: Envelope) -> Envelope:
    """``messageSchema.parse``: check the envelope, coerce, default (§2.10.3).

    ``Timestamp`` and ``Block-Height`` are coerced with ``Number()``, ``Read-Only`` defaults to
    false. Raises `InvalidMessageError` with the reference's rendering of the Zod issues, e.g.
    ``'Owner': String must contain at least 1 character(s).`` (HTTP 500).
    """
    if _plainly_valid(envelope):
        return envelope                  # nothing to report, coerce or default
    issues = _Issues()
    issues.string(("deepHash",), envelope.deep_hash, nullish=True)
    issues.string(("cron",), envelope.cron, nullish=True)
    issues.string(("name",), envelope.name)
    issues.string(("assignmentId",), envelope.assignment_id, nullish=True)
    m = envelope.message
    p = "message"
    issues.string((p, "Id"), m.id, nullish=True)
    issues.string((p, "Signature"), m.signature, nullish=True)
    issues.string((p, "Owner"), m.owner, min_length=1)
    issues.string((p, "Target"), m.target)
    issues.string((p, "Anchor"), m.anchor, nullish=True)
    issues.string((p, "From"), m.from_, min_length=1)
    issues.string((p, "Forwarded-By"), m.forwarded_by, nullish=True)
    tags = _tags_from_raw(m.tags, (p, "Tags"), issues)
    issues.number((p, "Epoch"), m.epoch, nullish=True)
    issues.number((p, "Nonce"), m.nonce, nullish=True)
    timestamp = js_to_number(m.timestamp)
    issues.number((p, "Timestamp"), timestamp)
    block_height = js_to_number(m.block_height)
    issues.number((p, "Block-Height"), block_height)
    issues.string((p, "Hash-Chain"), m.hash_chain, nullish=True)
    issues.boolean((p, "Cron"), m.cron)
    read_only = False if m.read_only is UNDEFINED else m.read_only
    issues.boolean((p, "Read-Only"), read_only)
    g = envelope.ao_global
    for part, pid, owner in (
        ("Process", g.process_id, g.process_owner),
        ("Module", g.module_id, g.module_owner),
    ):
        issues.string(("AoGlobal", part, "Id"), pid)
        issues.string(("AoGlobal", part, "Owner"), owner)
    issues.raise_if_any()
    message = replace(m, tags=tags, timestamp=timestamp, block_height=block_height, read_only=read_only)
    return replace(envelope, message=message)


# --- builders ------------------------------------------------------------------------------


def envelope_from_su_node(node: Mapping[str, Any], ao_global: AoGlobal) -> Envelope:
    """``mapNode``: one SU edge's ``node`` (``{message, assignment}``) as a stream envelope (§2.7).

    ``node["message"]`` null means a pure assignment of an on-chain transaction: ``Id`` is the
    assignment's ``Message`` tag, ``Target`` stays undefined and `aocu.domain.hydrate_envelope`
    fills the rest. Numbers come from the assignment tags through ``parseInt`` (NaN if absent).
    A single ``Exclude`` tag is taken as a one-item list (the reference crashes on it, §8.4 #22).
    """
    issues = _Issues()
    assignment = node.get("assignment") or {}
    raw_atags = _get(assignment, "tags")  # parseTags(undefined) is {}: every number NaN
    atags = parse_tags(() if _is_nil(raw_atags) else _tags_from_raw(raw_atags, ("assignment", "tags"), issues))
    nonce = js_parse_int(atags.get("Nonce", UNDEFINED))
    timestamp = js_parse_int(atags.get("Timestamp", UNDEFINED))
    block_height = js_parse_int(atags.get("Block-Height", UNDEFINED))
    assigned_id = atags.get("Message", UNDEFINED)
    exclude_tag = atags.get("Exclude")
    exclude = (
        None
        if exclude_tag is None
        else (exclude_tag,)
        if isinstance(exclude_tag, str)
        else tuple(exclude_tag)
    )

    raw = node.get("message")
    is_assignment = _is_nil(_get(raw, "id"))
    fields: dict[str, Any] = {}
    if not _is_nil(raw):
        owner = _get(raw, "owner")
        if not (isinstance(_get(owner, "address"), str) and isinstance(_get(owner, "key"), str)):
            # The reference's addressFrom({address, key}) throws a TypeError: the stream fails.
            raise InvalidMessageError(f"Invalid owner on message {js_string(_get(raw, 'id'))}")
        address = address_from(owner["address"], owner["key"])
        raw_tags = _get(raw, "tags")
        tags = () if _is_nil(raw_tags) else _tags_from_raw(raw_tags, ("message", "tags"), issues)
        from_, forwarded_by = map_sender(tags, address)
        fields = {
            "id": _get(raw, "id"),
            "signature": _get(raw, "signature"),
            "data": _get(raw, "data"),
            "owner": address,
            "anchor": _get(raw, "anchor"),
            "from_": from_,
            "forwarded_by": forwarded_by,
            "tags": tags,
        }
    issues.raise_if_any()
    message_id = assigned_id if is_assignment else fields["id"]
    fields.update(
        id=message_id,
        target=UNDEFINED if is_assignment else atags.get("Process", UNDEFINED),
        epoch=js_parse_int(atags.get("Epoch", UNDEFINED)),
        nonce=nonce,
        timestamp=timestamp,
        block_height=block_height,
        hash_chain=atags.get("Hash-Chain", UNDEFINED),
        cron=False,
    )
    message = Message(**fields)
    kind = "Assigned" if is_assignment else "Scheduled"
    return Envelope(
        ordinate=js_string(nonce),
        name=f"{kind} Message {js_string(message_id)} {js_string(timestamp)}:{js_string(nonce)}",
        message=message,
        ao_global=ao_global,
        is_assignment=is_assignment,
        assignment_id=_get(assignment, "id"),
        exclude=exclude,
        block=Block(block_height, timestamp),
    )


def needs_process_message(first: Envelope | None) -> bool:
    """``maybePrependProcessMessage`` on a cold start: prepend the process message (§2.9)?

    Yes when the stream is empty, its first message is a cron, or that message's ``Type`` tag is
    not exactly ``Process`` (a repeated ``Type`` tag counts as not ``Process``).
    """
    if first is None:
        return True
    return parse_tags(first.message.tags).get("Type") != "Process" or js_truthy(first.message.cron)


def process_message(process: ProcessMeta, data: Any, ao_global: AoGlobal) -> Envelope:
    """The synthesised cold-start message of a pre-aop-6 process (§2.9); ``data`` is the
    ``/raw/<pid>`` text."""
    owner = process.owner_address
    return Envelope(
        no_save=True,
        ordinate="0",
        name=f"Process Message {process.id}",
        message=Message(
            id=process.id,
            signature=process.signature,
            data=data,
            owner=owner,
            target=process.id,
            anchor=process.anchor,
            from_=map_from(process.tags, owner),
            tags=process.tags,
            timestamp=process.block.timestamp,
            block_height=process.block.height,
            cron=False,
        ),
        ao_global=ao_global,
    )


_DRY_RUN_FIELDS: Final = {
    "Id": "id",
    "Signature": "signature",
    "Data": "data",
    "Owner": "owner",
    "Target": "target",
    "Anchor": "anchor",
    "Forwarded-By": "forwarded_by",
    "Tags": "tags",
    "Epoch": "epoch",
    "Nonce": "nonce",
    "Timestamp": "timestamp",
    "Block-Height": "block_height",
    "Hash-Chain": "hash_chain",
    "Cron": "cron",
}


def dry_run_message(
    body: Mapping[str, Any],
    *,
    process_id: str,
    ordinate: Any,
    from_timestamp: Any,
    from_block_height: Any,
    ao_global: AoGlobal,
) -> Envelope:
    """The dry-run envelope (``dryRun.js``), already validated (§2.18).

    ``body`` is the request body as the route's schema left it (``Timestamp``/``Block-Height``
    coerced to numbers when given). Its fields override the defaults ``Timestamp = from``,
    ``Block-Height = fromBlockHeight``, ``Cron = false``, ``Target = process id``; ``From`` is
    forced to the body's ``From-Process`` tag or ``Owner``, ``Read-Only`` to true.
    """
    fields: dict[str, Any] = {
        "timestamp": from_timestamp,
        "block_height": from_block_height,
        "cron": False,
        "target": process_id,
    }
    for key, attr in _DRY_RUN_FIELDS.items():
        if key in body:
            fields[attr] = body[key]
    # Raw JSON tags until validate_envelope checks them (a missing Tags fails there: Required).
    fields["tags"] = body.get("Tags", UNDEFINED)
    owner = body.get("Owner", UNDEFINED)
    raw_tags = fields["tags"] if isinstance(fields["tags"], list | tuple) else ()
    from_tag = next((t for t in raw_tags if isinstance(t, Mapping) and t.get("name") == "From-Process"), None)
    fields["from_"] = (
        from_tag["value"] if from_tag is not None and js_truthy(from_tag.get("value")) else owner
    )
    fields["read_only"] = True
    envelope = Envelope(
        no_save=True,
        ordinate=js_string(ordinate),
        name="Dry Run Message",
        message=Message(**fields),
        ao_global=ao_global,
    )
    return validate_envelope(envelope)


def module_message_js(message: Message) -> dict[str, Any]:
    """The ``message`` object handed to the module: `Message.to_js` minus ``From``/``Owner`` tags."""
    tags = message.tags
    for tag in tags:        # most messages have neither: no copies then
        if tag.name in _INVALID_TAG_NAMES:
            for name in _INVALID_TAG_NAMES:
                tags = remove_tags_by_name(tags, name)
            break
    return message.to_js(tags=tags)
