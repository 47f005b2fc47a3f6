"""Frozen domain objects of the evaluation stream, and their exact JS (JSON) shapes.

Pure data; no I/O. Start with `Envelope`: one item of the reference's evaluation stream (a
scheduled message, an assignment, a generated cron, the cold-start process message or a
dry-run message; reference-cu.md §2.7-§2.11), carrying the module `Message` and the `AoGlobal`
env. ``to_js()`` methods give the objects handed to the module, with keys in the reference's
order and `UNDEFINED` where JS has ``undefined`` (aocu.jsjson drops those keys, as
``JSON.stringify`` does).

Three-state fields: a message field is a value, ``None`` (JS ``null``, kept in JSON as ``null``)
or `UNDEFINED` (absent from the JSON). Numbers are ``int`` or ``float`` (NaN where the
reference's ``parseInt`` gives NaN).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from aocu.arweave import address_from
from aocu.jsjson import UNDEFINED
from aocu.model import Tag

__all__ = [
    "MESSAGE_KEYS",
    "AoGlobal",
    "Block",
    "CronInterval",
    "Envelope",
    "GatewaySkip",
    "Message",
    "ModuleMeta",
    "ModuleOptions",
    "Owner",
    "ProcessMeta",
    "Tag",
    "Tags",
    "TransactionMeta",
    "Undefined",
    "tags_from_js",
    "tags_to_js",
]

Undefined: TypeAlias = type(UNDEFINED)  # type: ignore[valid-type]
Number: TypeAlias = int | float


Tags: TypeAlias = tuple[Tag, ...]


def tags_from_js(raw: Iterable[Any] | None) -> Tags:
    """Tags from their JSON form (``[{"name": ..., "value": ...}]``); ``None`` gives ``()``.

    Like the reference's ``rawTagSchema``, extra keys are dropped; a missing or non-string name
    or value raises ``TypeError`` (the caller maps it to its own error).
    """
    if raw is None:
        return ()
    out = []
    for t in raw:
        if isinstance(t, Tag):
            out.append(t)
            continue
        if not isinstance(t, Mapping):
            raise TypeError(f"tag is not an object: {t!r}")
        name, value = t.get("name"), t.get("value")
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"tag name and value must be strings: {t!r}")
        out.append(Tag(name, value))
    return tuple(out)


def tags_to_js(tags: Iterable[Tag]) -> list[dict[str, str]]:
    """``[{"name": ..., "value": ...}]`` in order."""
    return [{"name": t.name, "value": t.value} for t in tags]


@dataclass(frozen=True, slots=True)
class Owner:
    """A signer as the SU and gateway report it: ``address`` and base64url public ``key``."""

    address: str
    key: str

    @property
    def owner_address(self) -> str:
        """The reference's ``addressFrom(owner)`` (Ethereum keys get their ``0x`` address)."""
        return address_from(self.address, self.key)

    def to_js(self) -> dict[str, str]:
        return {"address": self.address, "key": self.key}


@dataclass(frozen=True, slots=True)
class Block:
    """A block position: ``height`` and ``timestamp`` (ms). The right-most cron boundary has no
    height; NaN appears where the reference's ``parseInt`` fails."""

    height: Number | None
    timestamp: Number


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessMeta:
    """The process as ``loadProcessMeta`` leaves it in ctx (reference-cu.md §2.3).

    ``block`` is the spawn block ``{height: parseInt(block), timestamp}``; ``data`` is ``None``
    except right after an SU load (the reference nulls it before saving).
    """

    id: str
    owner: Owner
    tags: Tags
    block: Block
    signature: str | None = None
    anchor: str | None = None
    data: Any = None

    @property
    def owner_address(self) -> str:
        return self.owner.owner_address


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleMeta:
    """The module transaction's metadata (``{id, tags, owner}``, reference-cu.md §2.6)."""

    id: str
    owner: Owner
    tags: Tags

    @property
    def owner_address(self) -> str:
        return self.owner.owner_address


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleOptions:
    """``ctx.moduleOptions``: what the wasm loader is instantiated with (§2.6 table)."""

    format: str
    input_encoding: Any
    output_encoding: Any
    memory_limit: Number
    compute_limit: Number
    extensions: Mapping[str, Tags]
    mode: Any
    admissable_list: tuple[str, ...] | None
    spawn: Mapping[str, Any]
    module: Mapping[str, Any]
    block_height: int = 100


@dataclass(frozen=True, slots=True)
class AoGlobal:
    """The ``env`` the module's ``handle`` receives: ``{Process: {...}, Module: {...}}`` (§2.11)."""

    process_id: str
    process_owner: str
    process_tags: Tags
    module_id: str
    module_owner: str
    module_tags: Tags

    @classmethod
    def of(cls, process: ProcessMeta, module: ModuleMeta) -> AoGlobal:
        return cls(
            process.id, process.owner_address, process.tags, module.id, module.owner_address, module.tags
        )

    def to_js(self) -> dict[str, Any]:
        return {
            "Process": {
                "Id": self.process_id,
                "Owner": self.process_owner,
                "Tags": tags_to_js(self.process_tags),
            },
            "Module": {
                "Id": self.module_id,
                "Owner": self.module_owner,
                "Tags": tags_to_js(self.module_tags),
            },
        }


# The module message's keys, in the order the reference's messageSchema emits them (§2.11).
MESSAGE_KEYS: Final = (
    "Id", "Signature", "Data", "Owner", "Target", "Anchor", "From", "Forwarded-By", "Tags",
    "Epoch", "Nonce", "Timestamp", "Block-Height", "Hash-Chain", "Cron", "Read-Only",
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """The ao message a module sees; Python names for the JS keys of `MESSAGE_KEYS`.

    Every field may be `UNDEFINED` (absent in JSON) until the stream's schema step
    (`aocu.domain.validate_envelope`) has checked it; after that ``owner``, ``target``,
    ``from_``, ``tags``, ``timestamp``, ``block_height``, ``cron`` and ``read_only`` are set.
    Only the dry-run builder puts raw JSON tags (or `UNDEFINED`) in ``tags`` before validating.
    """

    id: Any = UNDEFINED
    signature: Any = UNDEFINED
    data: Any = UNDEFINED
    owner: Any = UNDEFINED
    target: Any = UNDEFINED
    anchor: Any = UNDEFINED
    from_: Any = UNDEFINED
    forwarded_by: Any = UNDEFINED
    tags: Tags = ()
    epoch: Any = UNDEFINED
    nonce: Any = UNDEFINED
    timestamp: Any = UNDEFINED
    block_height: Any = UNDEFINED
    hash_chain: Any = UNDEFINED
    cron: Any = False
    read_only: Any = False

    def to_js(self, *, tags: Iterable[Tag] | None = None) -> dict[str, Any]:
        """The JSON object, keys in `MESSAGE_KEYS` order (``tags`` overrides ``self.tags``)."""
        return {
            "Id": self.id,
            "Signature": self.signature,
            "Data": self.data,
            "Owner": self.owner,
            "Target": self.target,
            "Anchor": self.anchor,
            "From": self.from_,
            "Forwarded-By": self.forwarded_by,
            "Tags": tags_to_js(self.tags if tags is None else tags),
            "Epoch": self.epoch,
            "Nonce": self.nonce,
            "Timestamp": self.timestamp,
            "Block-Height": self.block_height,
            "Hash-Chain": self.hash_chain,
            "Cron": self.cron,
            "Read-Only": self.read_only,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """One item of the evaluation stream (the reference's message envelope, §2.7 ``mapNode``).

    ``ordinate`` orders the stream: a scheduled message's nonce, or for a cron the nonce of the
    scheduled message before it. ``cron`` is the cron id (``"<i>-<interval>"``) of generated
    crons. ``block`` is set on SU messages (the cron merge's boundaries). ``exclude`` lists an
    assignment's ``Exclude`` tag values.
    """

    ordinate: str
    name: str
    message: Message
    ao_global: AoGlobal
    cron: str | None = None
    no_save: bool = False
    deep_hash: str | None = None
    is_assignment: bool = False
    assignment_id: str | None = None
    exclude: tuple[str, ...] | None = None
    block: Block | None = None


@dataclass(frozen=True, slots=True)
class CronInterval:
    """One ``Cron-Interval`` tag and its ``Cron-Tag-*`` tags (reference-cu.md §2.8.1).

    ``interval`` is the raw tag value (untrimmed; part of the cron id), ``unit`` is ``"blocks"``
    or ``"block"`` for block-based crons and ``"seconds"`` otherwise, ``value`` the period in
    blocks or whole seconds: NaN (never fires) when the reference cannot parse it.
    """

    interval: str
    unit: str
    value: Number
    tags: Tags = field(default=())

    @property
    def is_block_based(self) -> bool:
        return self.unit in ("block", "blocks")


@dataclass(frozen=True, slots=True)
class GatewaySkip:
    """The GraphQL ``@skip`` flags of a transaction-meta query (from an assignment's ``Exclude``)."""

    skip_tags: bool = False
    skip_signature: bool = False
    skip_anchor: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionMeta:
    """A gateway transaction node (``GetProcesses`` query, §2.10.2). Skipped fields are `UNDEFINED`."""

    id: str
    owner: Owner
    tags: Tags = ()
    signature: Any = UNDEFINED
    anchor: Any = UNDEFINED
    recipient: Any = UNDEFINED
