"""The SU's response shapes, parsed into the values of ``base.py``: pure functions, no I/O.

What ``servers/cu/src/effects/ao-su.js`` reads from each answer (``loadProcessWith``,
``loadMessageMetaWith``, ``loadProcessLatestWith``, ``loadTimestampWith``, ``mapNode``) and how
the reference's contracts (``servers/cu/src/domain/dal.js``, ``messageSchema`` in model.js) reject
it; both the current ``{message, assignment}`` shape and the legacy pre-2024 one. A bad shape
raises `ShapeError` naming the JSON path; ``_scheduler.py`` adds the URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._parse import (
    ShapeError,
    as_int,
    as_list,
    as_object,
    as_opt_str,
    as_str,
    first_tag,
    join,
    js_parse_int,
    owner_at,
    plain_int,
    plain_owner,
    plain_tags,
    tag_values,
    tags_at,
)
from .base import Assignment, MessageMeta, ProcessMeta, ScheduledMessage, SchedulerTimestamp, SuMessage

__all__ = ["parse_message_meta", "parse_page", "parse_process", "parse_timestamp"]


def parse_process(body: object, process_id: str) -> ProcessMeta:
    """``loadProcessWith`` + ``loadProcessSchema``: owner/tags required, ``timestamp`` a number ≥ 1."""
    obj = as_object(body, "")
    block_height = js_parse_int(obj.get("block"))
    if block_height is None:
        raise ShapeError("block", f"expected a block height, got {obj.get('block')!r}")
    timestamp = as_int(obj.get("timestamp"), "timestamp")
    if timestamp < 1:
        raise ShapeError("timestamp", f"expected a timestamp >= 1, got {timestamp}")
    data = obj.get("data")
    return ProcessMeta(
        process_id=process_id,
        owner=owner_at(obj, "owner", ""),
        tags=tags_at(obj, "tags", ""),
        block_height=block_height,
        timestamp=timestamp,
        signature=as_opt_str(obj.get("signature"), "signature"),
        anchor=as_opt_str(obj.get("anchor"), "anchor"),
        data=as_opt_str(data, "data"),
    )


def _int_tag(tags: tuple[Any, ...], name: str, path: str) -> int:
    value = first_tag(tags, name)
    number = js_parse_int(value)
    if number is None:
        raise ShapeError(path, f"tag {name!r}: expected an integer, got {value!r}")
    return number


def parse_message_meta(body: object, *, latest: bool) -> MessageMeta:
    """``loadMessageMetaWith``/``loadProcessLatestWith``: current ``{message, assignment}`` or legacy.

    Current: assignment tags ``Process``, ``Timestamp``, ``Nonce`` (``parseInt``). Legacy (no
    ``assignment`` key): ``process_id``, ``timestamp``, ``nonce`` as they are. A message needs both
    numbers (``loadMessageMetaSchema``); ``/latest`` needs the nonce (``evalToNonce``).
    """
    obj = as_object(body, "")
    if "assignment" in obj:
        assignment = obj.get("assignment")
        raw_tags = assignment.get("tags") if isinstance(assignment, dict) else None
        tags = tags_at({"tags": raw_tags}, "tags", "assignment", default_empty=True)
        process_id: object = first_tag(tags, "Process")
        timestamp = js_parse_int(first_tag(tags, "Timestamp"))
        nonce = js_parse_int(first_tag(tags, "Nonce"))
        where = "assignment.tags"
    else:
        process_id = obj.get("process_id")
        raw_ts, raw_nonce = obj.get("timestamp"), obj.get("nonce")
        timestamp = None if raw_ts is None else as_int(raw_ts, "timestamp")
        nonce = None if raw_nonce is None else as_int(raw_nonce, "nonce")
        where = ""
    pid = as_str(process_id, join(where, "Process") if where else "process_id", non_empty=True)
    if nonce is None:
        raise ShapeError(join(where, "Nonce") if where else "nonce", "expected a nonce")
    if latest:
        if nonce < 0:
            raise ShapeError(join(where, "Nonce") if where else "nonce", f"expected a nonce >= 0, got {nonce}")
    elif timestamp is None:
        raise ShapeError(join(where, "Timestamp") if where else "timestamp", "expected a timestamp")
    return MessageMeta(process_id=pid, timestamp=timestamp, nonce=nonce)


def parse_timestamp(body: object) -> SchedulerTimestamp:
    """``loadTimestampWith``: ``{timestamp, block_height}`` strings through ``parseInt``."""
    obj = as_object(body, "")
    timestamp = js_parse_int(obj.get("timestamp"))
    height = js_parse_int(obj.get("block_height"))
    if timestamp is None:
        raise ShapeError("timestamp", f"expected an integer, got {obj.get('timestamp')!r}")
    if height is None:
        raise ShapeError("block_height", f"expected an integer, got {obj.get('block_height')!r}")
    return SchedulerTimestamp(timestamp=timestamp, block_height=height)


def _cursor(edge: Mapping[str, Any], path: str) -> str:
    cursor = edge.get("cursor")
    if cursor is None:
        return ""
    if isinstance(cursor, bool) or not isinstance(cursor, str | int):
        raise ShapeError(join(path, "cursor"), "expected a string")
    return str(cursor)


def _plain_current_node(node: Mapping[str, Any]) -> tuple[SuMessage, Assignment] | None:
    """`_parse_current_node` for a scheduled message whose every field has its plain, valid type
    and whose numbers are plain decimals, without building JSON paths (a third of the CU's own
    per-message CPU went there); None for anything else, which the detailed reader handles.

    Straight-line on purpose: a page has a thousand of these, and each helper call or generator
    here costs the trio thread about a microsecond per message."""
    assignment = node.get("assignment")
    message = node.get("message")
    if type(assignment) is not dict or type(message) is not dict:
        return None
    tags = plain_tags(assignment.get("tags"))
    if tags is None:
        return None
    first: dict[str, str] = {}
    exclude: list[str] = []
    for name, value in tags:
        if name not in first:
            first[name] = value
        if name == "Exclude":
            exclude.append(value)
    assignment_id, raw_owner = assignment.get("id"), assignment.get("owner")
    owner = None if raw_owner is None else plain_owner(raw_owner)
    if (assignment_id is not None and type(assignment_id) is not str) or (raw_owner is not None and owner is None):
        return None
    epoch, nonce = plain_int(first.get("Epoch")), plain_int(first.get("Nonce"))
    timestamp, height = plain_int(first.get("Timestamp")), plain_int(first.get("Block-Height"))
    message_id, message_owner = message.get("id"), plain_owner(message.get("owner"))
    raw_tags = message.get("tags")
    message_tags = () if raw_tags is None else plain_tags(raw_tags)
    data, signature = message.get("data"), message.get("signature")
    anchor, target = message.get("anchor"), message.get("target")
    if (epoch is None or nonce is None or timestamp is None or height is None or not first.get("Process")
            or type(message_id) is not str or not message_id or message_owner is None or message_tags is None
            or (data is not None and type(data) is not str) or (signature is not None and type(signature) is not str)
            or (anchor is not None and type(anchor) is not str) or (target is not None and type(target) is not str)):
        return None
    return SuMessage(
        id=message_id, owner=message_owner, tags=message_tags, data=data, signature=signature, anchor=anchor,
        target=target,
    ), Assignment(
        id=assignment_id, owner=owner, tags=tags, process_id=first["Process"], epoch=epoch, nonce=nonce,
        timestamp=timestamp, block_height=height, hash_chain=first.get("Hash-Chain"),
        message_id=first.get("Message"), exclude=tuple(exclude),
    )


def _parse_current_node(node: Mapping[str, Any], path: str) -> tuple[SuMessage | None, Assignment]:
    return _plain_current_node(node) or _read_current_node(node, path)


def _read_current_node(node: Mapping[str, Any], path: str) -> tuple[SuMessage | None, Assignment]:
    # mapNode (ao-su.js): the assignment's tags carry the sequencing; message null = assignment.
    apath = join(path, "assignment")
    assignment = as_object(node.get("assignment"), apath)
    tags = tags_at(assignment, "tags", apath)
    tpath = join(apath, "tags")
    raw_owner = assignment.get("owner")
    parsed = Assignment(
        id=as_opt_str(assignment.get("id"), join(apath, "id")),
        owner=owner_at(assignment, "owner", apath) if raw_owner is not None else None,
        tags=tags,
        process_id=first_tag(tags, "Process"),
        epoch=_int_tag(tags, "Epoch", tpath),
        nonce=_int_tag(tags, "Nonce", tpath),
        timestamp=_int_tag(tags, "Timestamp", tpath),
        block_height=_int_tag(tags, "Block-Height", tpath),
        hash_chain=first_tag(tags, "Hash-Chain"),
        message_id=first_tag(tags, "Message"),
        exclude=tag_values(tags, "Exclude"),
    )
    mpath = join(path, "message")
    raw_message = node.get("message")
    # isAssignment is `message.id` being nil (ao-su.js), not just `message` being null.
    if raw_message is None or (isinstance(raw_message, dict) and raw_message.get("id") is None):
        if not parsed.message_id:
            raise ShapeError(tpath, "an assignment without a message needs a 'Message' tag")
        return None, parsed
    message = as_object(raw_message, mpath)
    if not parsed.process_id:
        raise ShapeError(tpath, "a scheduled message needs a 'Process' tag")
    return _parse_message(message, mpath, data=message.get("data")), parsed


def _parse_message(
    message: Mapping[str, Any],
    mpath: str,
    *,
    data: object,
    owner_from: Mapping[str, Any] | None = None,
    owner_path: str = "",
) -> SuMessage:
    return SuMessage(
        id=as_str(message.get("id"), join(mpath, "id"), non_empty=True),
        owner=owner_at(owner_from, "owner", owner_path)
        if owner_from is not None
        else owner_at(message, "owner", mpath),
        tags=tags_at(message, "tags", mpath, default_empty=True),
        data=as_opt_str(data, join(mpath, "data")),
        signature=as_opt_str(message.get("signature"), join(mpath, "signature")),
        anchor=as_opt_str(message.get("anchor"), join(mpath, "anchor")),
        target=as_opt_str(message.get("target"), join(mpath, "target")),
    )


def _parse_legacy_node(node: Mapping[str, Any], path: str) -> tuple[SuMessage, Assignment]:
    # The SU shape before aop-1 (removed from the CU in 931dc2c4, "remove legacy su response
    # handling #570"): sequencing fields on the node, owner and data beside the message.
    block_height = js_parse_int(None if node.get("block") is None else str(node.get("block")))
    if block_height is None:
        raise ShapeError(join(path, "block"), f"expected a block height, got {node.get('block')!r}")
    process_id = as_str(node.get("process_id"), join(path, "process_id"), non_empty=True)
    assignment = Assignment(
        id=None,
        owner=None,
        tags=(),
        process_id=process_id,
        epoch=as_int(node.get("epoch"), join(path, "epoch")),
        nonce=as_int(node.get("nonce"), join(path, "nonce")),
        timestamp=as_int(node.get("timestamp"), join(path, "timestamp")),
        block_height=block_height,
        hash_chain=as_opt_str(node.get("hash_chain"), join(path, "hash_chain")),
        message_id=None,
        exclude=(),
    )
    mpath = join(path, "message")
    message = _parse_message(
        as_object(node.get("message"), mpath),
        mpath,
        data=node.get("data"),
        owner_from=node,
        owner_path=path,
    )
    return message, assignment


def parse_page(body: object) -> tuple[tuple[ScheduledMessage, ...], bool]:
    """``{page_info: {has_next_page}, edges: [{cursor, node}]}`` → items and ``has_next_page``.

    Each node in the current shape (``{message, assignment}``, servers/su json.rs) or the legacy
    one (no ``assignment`` key); the reference has accepted both, the legacy one until 2024-04.
    """
    obj = as_object(body, "")
    page_info = as_object(obj.get("page_info"), "page_info")
    has_next = page_info.get("has_next_page")
    if not isinstance(has_next, bool):
        raise ShapeError("page_info.has_next_page", "expected a boolean")
    items: list[ScheduledMessage] = []
    for i, raw_edge in enumerate(as_list(obj.get("edges"), "edges")):
        # the usual edge: no JSON paths built (they only name a field in an error)
        if type(raw_edge) is dict:
            node, cursor = raw_edge.get("node"), raw_edge.get("cursor")
            plain = _plain_current_node(node) if type(node) is dict and type(cursor) is str else None
            if plain is not None:
                items.append(ScheduledMessage(cursor=cursor, message=plain[0], assignment=plain[1]))
                continue
        path = join("edges", i)
        edge = as_object(raw_edge, path)
        npath = join(path, "node")
        node = as_object(edge.get("node"), npath)
        message: SuMessage | None
        if "assignment" in node:
            message, assignment = _parse_current_node(node, npath)
        else:
            message, assignment = _parse_legacy_node(node, npath)
        items.append(ScheduledMessage(cursor=_cursor(edge, path), message=message, assignment=assignment))
    return tuple(items), has_next
