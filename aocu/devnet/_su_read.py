"""The SU's read side: the JSON of processes, messages and pages (servers/su `json.rs`).

Functions of a `Devnet`, run by the SU app's handlers on the trio thread; data in
blob files is read through threads (`Devnet.read_data`). Shapes and key orders are
serde's for the SU's structs (ProcessInner, Message, MessageInner, AssignmentInner,
PaginatedMessages, Edge); ``json!`` objects (``GET /``, ``/timestamp``) have sorted
keys because the SU's serde_json has no ``preserve_order``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._clock import pad_height
from ._faults import Fault
from ._network import Devnet, SuError
from ._store import Assigned, TxRecord

#: The SU's page size when no ``limit`` is given (servers/su store.rs `get_messages`).
DEFAULT_SU_PAGE_SIZE = 100


def _utf8_or_none(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _anchor_text(anchor: bytes) -> str | None:
    """servers/su bytes.rs `anchor()`: the raw bytes as UTF-8, else ""; "" becomes null."""
    return _utf8_or_none(anchor) or None


def _owner(rec: TxRecord) -> dict[str, str]:
    return {"address": rec.owner_address, "key": rec.owner_key}


def info_json(devnet: Devnet) -> dict[str, Any]:
    """``GET /``: flows.rs `health` (serde_json's json! sorts keys)."""
    return {"address": devnet.su_address, "timestamp": str(devnet.now_ms())}


def timestamp_json(devnet: Devnet) -> dict[str, Any]:
    """``GET /timestamp``: flows.rs `timestamp`."""
    return {"block_height": pad_height(devnet.height()), "timestamp": str(devnet.now_ms())}


async def _data_many(devnet: Devnet, records: Sequence[TxRecord]) -> dict[str, bytes]:
    inline = devnet.store.inline_data_many([r.id for r in records if r.data_inline and r.data_size])
    for r in records:
        if not r.data_inline:
            inline[r.id] = await devnet.read_data(r)
    return inline


async def process_json(devnet: Devnet, process_id: str) -> dict[str, Any]:
    """``GET /processes/:pid``: the ProcessInner (servers/su json.rs `Process::from_bundle`)."""
    slot = devnet.store.get_process(process_id)
    if slot is None:
        raise SuError('NotFound("Process not found")')
    rec = devnet.store.get_tx(process_id)
    data = (await _data_many(devnet, [rec])).get(rec.id, b"")
    return {"process_id": rec.id, "block": devnet.store.process_block(process_id), "owner": _owner(rec),
            "tags": rec.tags_json(), "timestamp": slot.timestamp, "data": _utf8_or_none(data),
            "anchor": _anchor_text(rec.anchor), "signature": rec.signature, "target": rec.target or None}


async def _nodes(devnet: Devnet, slots: Sequence[Assigned], *, legacy: bool) -> list[dict[str, Any]]:
    """``{message, assignment}`` per slot (json.rs `Message::from_bundle` / `from_process`)."""
    ids = [s.assignment_id for s in slots] + [s.message_id for s in slots if s.has_message]
    records = devnet.store.get_txs(ids)
    data = await _data_many(devnet, [records[s.message_id] for s in slots if s.has_message])
    nodes = []
    for s in slots:
        a = records[s.assignment_id]
        assignment = {"id": a.id, "owner": _owner(a), "tags": a.tags_json(), "signature": a.signature,
                      "anchor": _anchor_text(a.anchor), "target": a.target}
        if not s.has_message:
            nodes.append({"message": None, "assignment": assignment})
            continue
        m = records[s.message_id]
        raw = data.get(m.id, b"")
        is_process = s.nonce == 0 and s.message_id == s.process_id
        if legacy:
            nodes.append({
                "message": {"id": m.id, "tags": m.tags_json(), "signature": m.signature,
                            "anchor": _anchor_text(m.anchor)},
                "block": a.tag("Block-Height"), "owner": _owner(m), "process_id": s.process_id,
                "data": raw.decode("utf-8", "replace"), "epoch": s.epoch, "nonce": s.nonce,
                "timestamp": s.timestamp, "hash_chain": s.hash_chain})
            continue
        message = {"id": m.id, "owner": _owner(m),
                   # a process's data only if it is UTF-8 (data_if_string); messages lossily
                   "data": _utf8_or_none(raw) if is_process else raw.decode("utf-8", "replace"),
                   "tags": m.tags_json(), "signature": m.signature, "anchor": _anchor_text(m.anchor),
                   "target": (m.target or None) if is_process else m.target}
        nodes.append({"message": message, "assignment": assignment})
    return nodes


async def latest_json(devnet: Devnet, process_id: str) -> dict[str, Any]:
    """``GET /:pid/latest``: the newest scheduled message (not the process itself)."""
    slot = devnet.store.latest_assigned(process_id)
    if slot is None:
        raise SuError("Latest message not available")
    return (await _nodes(devnet, [slot], legacy=devnet.options.message_format == "legacy"))[0]


async def read_tx_or_page(devnet: Devnet, tx_id: str, *, params: Mapping[str, str],
                          page_faults: Sequence[Fault] = ()) -> dict[str, Any]:
    """``GET /:id``: one message by message or assignment id, else a page of a process.

    servers/su flows.rs `read_message_data`: a message is answered when it carries
    one, or when ``id`` is the assignment id of an assignment; otherwise a process
    id gets a page; anything else is "Message or Process not found".
    """
    slot = devnet.store.find_assigned(tx_id)
    if slot is not None and (slot.has_message or (slot.message_id != slot.process_id
                                                  and slot.assignment_id == tx_id)):
        return (await _nodes(devnet, [slot], legacy=devnet.options.message_format == "legacy"))[0]
    if devnet.store.get_process(tx_id) is not None:
        return await page_json(devnet, tx_id, params=params, page_faults=page_faults)
    raise SuError("Message or Process not found")


async def page_json(devnet: Devnet, process_id: str, *, params: Mapping[str, str],
                    page_faults: Sequence[Fault] = ()) -> dict[str, Any]:
    """One page of a process's schedule (servers/su store.rs `get_messages`).

    Timestamp mode (``from``/``to``): ``from`` exclusive, ``to`` inclusive, cursor =
    timestamp. Nonce mode (``from-nonce``/``to-nonce``): likewise on nonces, cursor =
    nonce. The process itself is the first edge of a first page (no ``from``, or
    ``from-nonce`` absent or -1) and takes one of the ``limit`` places.
    """
    def integer(name: str) -> int | None:
        value = params.get(name)
        if value is None:
            return None
        try:
            return int(value, 10)
        except ValueError:
            raise SuError(f'IntError("invalid digit found in string: {name}={value}")') from None

    from_ts, to_ts = integer("from"), integer("to")
    from_nonce, to_nonce = integer("from-nonce"), integer("to-nonce")
    limit = integer("limit")
    limit = DEFAULT_SU_PAGE_SIZE if limit is None else max(1, limit)
    nonce_mode = "from-nonce" in params or "to-nonce" in params
    if nonce_mode:
        include_process = from_nonce is None or from_nonce == -1
    else:
        include_process = "from" not in params
    room = limit - 1 if include_process else limit
    slots = devnet.store.page_assigned(process_id, from_ts=from_ts, to_ts=to_ts, from_nonce=from_nonce,
                                     to_nonce=to_nonce, nonce_mode=nonce_mode, limit=room + 1)
    has_next = len(slots) > room
    slots = slots[:room]
    if include_process:
        slots.insert(0, devnet.store.get_process(process_id))
    modes = {f.mode for f in page_faults}
    if "duplicate_page" in modes and slots:
        again = None
        if not include_process and not nonce_mode and from_ts is not None:
            again = next(iter(devnet.store.page_assigned(process_id, from_ts=from_ts - 1, to_ts=from_ts,
                                                       from_nonce=None, to_nonce=None, nonce_mode=False,
                                                       limit=1)), None)
        slots.insert(0, again or slots[0])
    if "short_page" in modes and len(slots) >= 2:
        slots, has_next = slots[:(len(slots) + 1) // 2], True
    if "reorder_page" in modes:
        slots.reverse()
    nodes = await _nodes(devnet, slots, legacy=devnet.options.page_format == "legacy")
    edges = [{"node": node, "cursor": str(s.nonce if nonce_mode else s.timestamp)}
             for s, node in zip(slots, nodes, strict=True)]
    return {"page_info": {"has_next_page": has_next}, "edges": edges}
