"""Shared builders for the aocu.domain tests (pure data in the SU's and reference's shapes).

House rules: build inputs with these helpers, assert on returned values or on the fakes'
recorded state, never on mock calls.
"""

from __future__ import annotations

from typing import Any

from aocu.domain import AoGlobal, Block, ModuleMeta, Owner, ProcessMeta, Tag

PID = "process-123"
OWNER = Owner("owner-123", "key-123")
MODULE = ModuleMeta(id="module-123", owner=Owner("m-owner-123", "key-123"), tags=(Tag("Module-Format", "x"),))


def tags(*pairs: tuple[str, str]) -> tuple[Tag, ...]:
    return tuple(Tag(n, v) for n, v in pairs)


def make_process(**kw: Any) -> ProcessMeta:
    fields: dict[str, Any] = {
        "id": PID,
        "owner": OWNER,
        "tags": tags(("Data-Protocol", "ao"), ("Type", "Process"), ("Module", MODULE.id)),
        "block": Block(1_500_000, 1_700_000_000_000),
        "signature": "sig-p",
        "anchor": None,
    }
    fields.update(kw)
    return ProcessMeta(**fields)


def make_ao_global(process: ProcessMeta | None = None) -> AoGlobal:
    return AoGlobal.of(process or make_process(), MODULE)


def su_node(
    *,
    nonce: int = 3,
    timestamp: int = 1_700_000_003_000,
    height: str = "000001500000",
    hash_chain: str | None = "hash-123",
    message: dict[str, Any] | None = None,
    assignment_id: str = "assignment-123",
    extra_tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """An SU edge node in the real SU's shape (upstream.md §1)."""
    atags = [
        {"name": "Process", "value": PID},
        {"name": "Epoch", "value": "0"},
        {"name": "Nonce", "value": str(nonce)},
        {"name": "Block-Height", "value": height},
        {"name": "Timestamp", "value": str(timestamp)},
    ]
    if hash_chain is not None:
        atags.append({"name": "Hash-Chain", "value": hash_chain})
    atags += extra_tags or []
    return {
        "message": message,
        "assignment": {"id": assignment_id, "owner": {"address": "su-123", "key": "su-123"}, "tags": atags},
    }


def su_message(msg_id: str = "message-123", **kw: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": msg_id,
        "owner": {"address": "owner-123", "key": "key-123"},
        "data": "data-123",
        "tags": [{"name": "Foo", "value": "Bar"}],
        "signature": "sig-123",
        "anchor": "00000000123",
        "target": PID,
    }
    fields.update(kw)
    return fields
