"""Conversions between the clients', stores' and domain's value types.

The upstream clients parse SU and gateway answers into typed values; the domain
rules (ported from the reference) read the SU's raw node shape and their own
frozen types; the stores keep rows. This module is the one place they meet.
Pure functions, no I/O.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aocu import domain
from aocu.arweave import address_from
from aocu.clients import ProcessMeta as SuProcessMeta
from aocu.clients import ScheduledMessage, TransactionMeta
from aocu.jsjson import UNDEFINED
from aocu.stores import ModuleRecord, ProcessRecord


def _tags_js(tags: Any) -> list[dict[str, str]]:
    return [{"name": t.name, "value": t.value} for t in tags]


def _domain_tags(tags: Any) -> domain.Tags:
    return tuple(domain.Tag(t.name, t.value) for t in tags)


def su_node(item: ScheduledMessage) -> dict[str, Any]:
    """The SU edge's ``node`` as the reference's ``mapNode`` reads it."""
    assignment = item.assignment
    node: dict[str, Any] = {
        "message": None,
        "assignment": {
            "id": assignment.id,
            "owner": ({"address": assignment.owner.address, "key": assignment.owner.key}
                      if assignment.owner is not None else None),
            "tags": _tags_js(assignment.tags),
        },
    }
    message = item.message
    if message is not None:
        node["message"] = {
            "id": message.id,
            "owner": {"address": message.owner.address, "key": message.owner.key},
            "tags": _tags_js(message.tags),
            "data": message.data,
            "signature": message.signature,
            "anchor": message.anchor,
            "target": message.target,
        }
    return node


def process_record(meta: SuProcessMeta) -> ProcessRecord:
    return ProcessRecord(
        id=meta.process_id, owner_address=meta.owner.address, owner_key=meta.owner.key, tags=meta.tags,
        signature=meta.signature, anchor=meta.anchor, block_height=meta.block_height,
        block_timestamp=meta.timestamp, timestamp=meta.timestamp,
    )


def domain_process(record: ProcessRecord, data: Any = None) -> domain.ProcessMeta:
    return domain.ProcessMeta(
        id=record.id, owner=domain.Owner(record.owner_address, record.owner_key or ""),
        tags=_domain_tags(record.tags), block=domain.Block(record.block_height, record.block_timestamp),
        signature=record.signature, anchor=record.anchor, data=data,
    )


def module_record(meta: TransactionMeta) -> ModuleRecord:
    return ModuleRecord(id=meta.id, owner_address=meta.owner.address, owner_key=meta.owner.key,
                        tags=meta.tags)


def domain_module(record: ModuleRecord) -> domain.ModuleMeta:
    return domain.ModuleMeta(id=record.id, owner=domain.Owner(record.owner_address, record.owner_key or ""),
                             tags=_domain_tags(record.tags))


def domain_transaction(meta: TransactionMeta, skip: domain.GatewaySkip) -> domain.TransactionMeta:
    return domain.TransactionMeta(
        id=meta.id, owner=domain.Owner(meta.owner.address, meta.owner.key),
        tags=() if skip.skip_tags else _domain_tags(meta.tags),
        signature=UNDEFINED if skip.skip_signature else meta.signature,
        anchor=UNDEFINED if skip.skip_anchor else meta.anchor,
        recipient=meta.recipient,
    )


class GatewayTransactions:
    """The gateway as hydration needs it (`aocu.domain.TransactionLoader`)."""

    def __init__(self, gateway: Any) -> None:
        self._gateway = gateway

    async def load_transaction_meta(self, tx_id: str, skip: domain.GatewaySkip) -> domain.TransactionMeta:
        meta = await self._gateway.load_transaction_meta(
            tx_id, skip_tags=skip.skip_tags, skip_signature=skip.skip_signature, skip_anchor=skip.skip_anchor)
        return domain_transaction(meta, skip)

    async def load_transaction_data(self, tx_id: str) -> str:
        data = await self._gateway.load_transaction_data(tx_id)
        text = data.decode("utf-8", "replace")
        return text[1:] if text.startswith("\ufeff") else text


class DurableLocations:
    """The locator's cache (`aocu.clients.SchedulerLocationStore`) kept in the CU's stores.

    Scheduler locations then survive restarts, as the reference's persisted caches do.
    A deleted entry is written back already expired (the stores keep no tombstones).
    """

    def __init__(self, stores: Any, clock_ms: Any) -> None:
        self._stores = stores
        self._clock_ms = clock_ms

    async def get(self, kind: str, key: str) -> Any:
        from aocu.clients import CachedLocation, SchedulerLocation

        store = self._stores.scheduler_locations
        now = int(self._clock_ms())
        if kind == "process":
            found = await store.read_process_scheduler(key, now_ms=now, allow_stale=True)
        else:
            found = await store.read_scheduler(key, now_ms=now, allow_stale=True)
        if found is None:
            return None
        location = SchedulerLocation(url=found.url, address=found.address, ttl_ms=found.ttl_ms)
        return CachedLocation(location=location, expires_at=(found.cached_at_ms + found.ttl_ms) / 1000)

    async def put(self, kind: str, key: str, entry: Any) -> None:
        from aocu.stores import SchedulerLocation

        location = entry.location
        cached_at = int(entry.expires_at * 1000) - location.ttl_ms
        row = SchedulerLocation(address=location.address, url=location.url, ttl_ms=location.ttl_ms,
                                cached_at_ms=cached_at)
        store = self._stores.scheduler_locations
        if kind == "process":
            await store.write_process_scheduler(key, row)
        else:
            await store.write_scheduler(row)

    async def delete(self, kind: str, key: str) -> None:
        entry = await self.get(kind, key)
        if entry is not None:
            from aocu.clients import CachedLocation
            await self.put(kind, key, CachedLocation(location=entry.location, expires_at=0.0))


#: A stream's messages mostly come from a few signers; decoding each 512-byte key again is wasted.
_address_from = lru_cache(maxsize=1024)(address_from)


def envelope_from_scheduled(item: ScheduledMessage, ao_global: domain.AoGlobal) -> domain.Envelope:
    """`aocu.domain.envelope_from_su_node` for a page item the SU client has already validated.

    The same envelope (tests/unit/pipeline/test_adapt.py checks equality on devnet data) without
    turning the typed item back into JSON and validating every tag a second time, which cost as
    much CPU per message as a small module's ``handle``. Straight-line (one tag scan, no
    keyword dicts): it runs on the trio thread for every message of a stream.
    """
    assignment = item.assignment
    message = item.message
    nonce, timestamp = assignment.nonce, assignment.timestamp
    nonce_text = domain.js_string(nonce)
    hash_chain = assignment.hash_chain if assignment.hash_chain is not None else UNDEFINED
    if message is not None:
        address = _address_from(message.owner.address, message.owner.key)
        tags = message.tags
        from_, forwarded_by = domain.map_sender(tags, address)
        message_id: Any = message.id
        mapped = domain.Message(
            id=message_id, signature=message.signature, data=message.data, owner=address,
            target=UNDEFINED if assignment.process_id is None else assignment.process_id, anchor=message.anchor,
            from_=from_, forwarded_by=forwarded_by,
            tags=tags, epoch=assignment.epoch, nonce=nonce, timestamp=timestamp,
            block_height=assignment.block_height, hash_chain=hash_chain, cron=False)
        kind = "Scheduled"
    else:
        message_id = assignment.message_id if assignment.message_id is not None else UNDEFINED
        mapped = domain.Message(id=message_id, target=UNDEFINED, epoch=assignment.epoch, nonce=nonce,
                                timestamp=timestamp, block_height=assignment.block_height, hash_chain=hash_chain,
                                cron=False)
        kind = "Assigned"
    return domain.Envelope(
        ordinate=nonce_text,
        name=f"{kind} Message {domain.js_string(message_id)} {domain.js_string(timestamp)}:{nonce_text}",
        message=mapped,
        ao_global=ao_global,
        is_assignment=message is None,
        assignment_id=assignment.id,
        exclude=assignment.exclude or None,
        block=domain.Block(assignment.block_height, timestamp),
    )
