"""Ports to the upstreams (SU, scheduler discovery, gateway) and the values they return.

The pipeline depends only on these `Protocol`s and frozen dataclasses; ``_scheduler.py``,
``_locator.py`` and ``_gateway.py`` implement them over httpx, and tests substitute in-memory
doubles. Nothing here does I/O. Field meanings follow reference-cu.md §2.2-§2.10 and
upstream.md §1; every timestamp is a Unix epoch in **milliseconds** (gateway block seconds are
converted), heights and nonces are ints, ids are base64url strings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from aocu.model import Tag

T = TypeVar("T")

__all__ = [
    "Assignment",
    "Block",
    "CachedLocation",
    "CheckpointRecord",
    "GatewayClient",
    "LocationKind",
    "MessageMeta",
    "MessagePage",
    "Owner",
    "ProcessMeta",
    "ScheduledMessage",
    "SchedulerClient",
    "SchedulerLocation",
    "SchedulerLocationStore",
    "SchedulerLocator",
    "SchedulerTimestamp",
    "SuMessage",
    "Tag",
    "TransactionMeta",
]


# --- values ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Owner:
    """A signer: its address and its public key (base64url; 512 bytes for Arweave keys)."""

    address: str
    key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessMeta:
    """``GET {su}/processes/{pid}`` (reference-cu.md §2.3, ``loadProcessWith`` in ao-su.js).

    ``process_id`` is the id that was asked for, as in the reference (the body's ``process_id``
    is not used). ``block_height`` is ``parseInt(block)``; ``timestamp`` is the SU's assignment
    timestamp of the process (≥ 1). The process's own nonce is always 0.
    """

    process_id: str
    owner: Owner
    tags: tuple[Tag, ...]
    block_height: int
    timestamp: int
    signature: str | None
    anchor: str | None
    data: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageMeta:
    """Where a message sits: ``GET {su}/{msg}?process-id=`` or ``GET {su}/{pid}/latest``.

    From the assignment tags ``Process``, ``Timestamp``, ``Nonce`` (current format) or the
    body's ``process_id``, ``timestamp``, ``nonce`` (legacy format), reference-cu.md §2.2 step 4.
    For a message both numbers are present; for ``/latest`` the pipeline uses ``nonce`` as
    ``evalToNonce`` and ignores ``timestamp``.
    """

    process_id: str
    timestamp: int | None
    nonce: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerTimestamp:
    """``GET {su}/timestamp?process-id=``: the SU's clock (ms) and current Arweave height."""

    timestamp: int
    block_height: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SuMessage:
    """The signed message of a page edge (``node.message``), as the SU returns it."""

    id: str
    owner: Owner
    tags: tuple[Tag, ...]
    data: str | None
    signature: str | None
    anchor: str | None
    target: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Assignment:
    """The SU's assignment of a page edge (``node.assignment``), its tags parsed.

    ``epoch``, ``nonce``, ``timestamp`` and ``block_height`` are ``parseInt`` of the tags and
    required (the reference's message schema rejects NaN). ``message_id`` is the ``Message``
    tag (set for assignments of on-chain transactions); ``exclude`` the ``Exclude`` tag values in
    order (always a tuple, fixing the reference's single-tag crash, reference-cu.md §8.4 #22).
    ``id`` and ``owner`` are None only for an edge in the legacy (pre-2024) shape.
    """

    id: str | None
    owner: Owner | None
    tags: tuple[Tag, ...]
    process_id: str | None
    epoch: int
    nonce: int
    timestamp: int
    block_height: int
    hash_chain: str | None
    message_id: str | None
    exclude: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledMessage:
    """One edge of an SU page: a sequenced message, or a pure assignment when ``message`` is None.

    ``cursor`` is the edge's cursor (the SU puts the timestamp there); the next page starts after
    the last one. The pipeline maps this to the evaluation envelope (``mapNode``, reference-cu.md
    §2.7).
    """

    cursor: str
    message: SuMessage | None
    assignment: Assignment

    @property
    def is_assignment(self) -> bool:
        """True when the edge assigns an existing transaction to be hydrated (§2.10.2)."""
        return self.message is None

    @property
    def id(self) -> str:
        """The message id: the message's own, or the assignment's ``Message`` tag."""
        if self.message is not None:
            return self.message.id
        assert self.assignment.message_id is not None  # guaranteed by the parser
        return self.assignment.message_id


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagePage:
    """One validated page of ``GET {su}/{pid}?process-id=&from=&to=&limit=``.

    ``from_cursor`` is the ``from`` the page was asked with (None for the first page without a
    start). Items are in order: strictly increasing ``(epoch, nonce)``, non-decreasing timestamps.
    """

    items: tuple[ScheduledMessage, ...]
    has_next_page: bool
    from_cursor: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerLocation:
    """Where a process's SU is: base URL without trailing slashes, the SU's wallet, the TTL."""

    url: str
    address: str
    ttl_ms: int


LocationKind = Literal["process", "owner"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CachedLocation:
    """A stored `SchedulerLocation` and when it expires (wall clock, seconds since the epoch)."""

    location: SchedulerLocation
    expires_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionMeta:
    """Gateway GraphQL ``GetProcesses`` node (reference-cu.md §2.6, §2.10.2).

    ``tags`` is empty, ``signature``/``anchor`` None, when the query skipped them.
    ``recipient`` is the transaction's target ('' when none).
    """

    id: str
    owner: Owner
    tags: tuple[Tag, ...]
    signature: str | None
    anchor: str | None
    recipient: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckpointRecord:
    """One ``GetAoProcessCheckpoints`` edge: a checkpoint data item and its parsed tags.

    Parsed as ``findLatestProcessMemoryWith`` reads them (reference-cu.md §2.5.6 step 6), each
    from the first tag of that name: ``timestamp``/``block_height`` are ``parseInt`` (None for
    NaN), ``epoch``/``nonce`` ``maybeParseInt``, ``ordinate`` the raw ``Nonce`` string.
    """

    id: str
    owner_address: str
    tags: tuple[Tag, ...]
    process_id: str | None
    timestamp: int | None
    nonce: int | None
    ordinate: str | None
    epoch: int | None
    block_height: int | None
    assignment_id: str | None
    hash_chain: str | None
    module_id: str | None
    cron: str | None
    content_encoding: str | None


@dataclass(frozen=True, slots=True)
class Block:
    """An Arweave block: height and timestamp in **ms** (the gateway's seconds × 1000)."""

    height: int
    timestamp: int


# --- ports -------------------------------------------------------------------------------


class SchedulerClient(Protocol):
    """The Scheduler Unit's read API (reference-cu.md §2.2, §2.3, §2.7, §2.8.2).

    ``su_url`` is a located SU base URL without trailing slash. Every method retries transient
    failures and raises `UpstreamError` subclasses; `NotFoundError` when the SU says the
    process or message does not exist.
    """

    async def load_process(self, su_url: str, process_id: str) -> ProcessMeta: ...

    async def load_message_meta(self, su_url: str, process_id: str, message_id: str) -> MessageMeta: ...

    async def load_latest(self, su_url: str, process_id: str) -> MessageMeta: ...

    async def load_timestamp(self, su_url: str, process_id: str) -> SchedulerTimestamp: ...

    def message_pages(
        self,
        su_url: str,
        process_id: str,
        *,
        from_timestamp: int | None = None,
        to_timestamp: int | None = None,
        page_size: int | None = None,
        after_nonce: int | None = None,
        to_nonce: int | None = None,
    ) -> AsyncIterator[MessagePage]:
        """Pages of scheduled messages with ``from_timestamp < timestamp <= to_timestamp``.

        Fetches lazily, one page per ``__anext__``. ``after_nonce`` (the nonce the caller already
        has, e.g. its checkpoint's) lets the first page be checked for continuity too;
        ``to_nonce`` (the target message's) makes a stream that ends short of it an error.
        Raises `UpstreamSequenceError` rather than yield a repeated, reordered or gapped item
        (an exact copy of the item just before is dropped instead: an inclusive ``from``).
        """
        ...

    async def check_redirect(self, su_url: str, process_id: str) -> str:
        """``GET {su}?process-id=`` without following: the redirect target's origin, or ``su_url``."""
        ...


class SchedulerLocator(Protocol):
    """Finds a process's SU (scheduler-utils 0.0.25 ``locate``, reference-cu.md §2.4)."""

    async def locate(self, process_id: str, scheduler_hint: str | None = None) -> SchedulerLocation: ...

    async def forget(self, process_id: str) -> None:
        """Drop the cached location of a process (e.g. after its SU stopped answering)."""
        ...


class SchedulerLocationStore(Protocol):
    """Where the locator keeps locations across calls (and, with a durable store, restarts).

    ``kind`` separates lookups by process id from lookups by SU wallet (``owner``). A store may
    return expired entries; the locator checks ``expires_at`` itself.
    """

    async def get(self, kind: LocationKind, key: str) -> CachedLocation | None: ...

    async def put(self, kind: LocationKind, key: str, entry: CachedLocation) -> None: ...

    async def delete(self, kind: LocationKind, key: str) -> None: ...


class GatewayClient(Protocol):
    """Arweave gateway: GraphQL metadata and ``/raw`` data (reference-cu.md §2.5.6, §2.6, §2.8.2, §2.10)."""

    async def load_transaction_meta(
        self,
        tx_id: str,
        *,
        skip_tags: bool = False,
        skip_signature: bool = False,
        skip_anchor: bool = False,
    ) -> TransactionMeta:
        """``GetProcesses`` on ``GRAPHQL_URL``; `TransactionNotFoundError` when there is no edge."""
        ...

    async def load_transaction_data(self, tx_id: str, *, max_bytes: int | None = None) -> bytes:
        """``GET {ARWEAVE_URL}/raw/{id}`` into memory (process data, assignment data, checkpoints)."""
        ...

    async def consume_transaction_data(
        self,
        tx_id: str,
        consume: Callable[[AsyncIterator[bytes]], Awaitable[T]],
        *,
        max_bytes: int | None = None,
        chunk_bytes: int = 1024 * 1024,
    ) -> T:
        """Stream ``/raw/{id}`` through ``consume``, which starts over on each retried download."""
        ...

    async def download_transaction_data(self, tx_id: str, dest: Path, *, max_bytes: int | None = None) -> int:
        """Stream ``/raw/{id}`` to ``dest`` (written whole or not at all); returns the byte count."""
        ...

    async def query_checkpoints(
        self, process_id: str, owners: Sequence[str], *, limit: int = 50
    ) -> tuple[CheckpointRecord, ...]:
        """``GetAoProcessCheckpoints``, newest first (``GRAPHQL_URL`` twice, then the checkpoint URL)."""
        ...

    async def find_checkpoint(
        self, *, owner: str, process_id: str, timestamp: int, nonce: str, cron: str | None = None
    ) -> CheckpointRecord | None:
        """``GetAoProcessCheckpoint``: an existing checkpoint at exactly this point, if any."""
        ...

    async def load_blocks(self, min_height: int, max_timestamp: int) -> tuple[Block, ...]:
        """``GetBlocks`` pages from ``min_height`` up, until a block is later than ``max_timestamp`` (ms)."""
        ...
