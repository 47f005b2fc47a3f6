"""The devnet itself: an SU's schedule and a gateway's index over one store.

`Devnet` owns the store, the clock, the SU wallet, the fault table and the runtime
options. Its methods run on the trio thread (the HTTP handlers and the Python API
call them); large data goes to and from blob files through `trio.to_thread`.
Scheduling never awaits between reading a process's latest slot and writing the
next one, so nonces are gap-free without a lock. Start with `Devnet.write_item`
(the SU's ``POST /``); the read side is in `_su_read`.

What the SU does (servers/su `core/flows.rs` `write_item`, `core/scheduler.rs`,
`core/builder.rs` `gen_assignment`) and the devnet reproduces: each item gets an
assignment data item signed by the SU wallet with tags Process, Epoch (always 0),
Nonce (0 for the process itself, then +1), Hash-Chain (see `_ids.next_hash_chain`),
Block-Height (12-digit padded), Timestamp (ms), Data-Protocol ao, Type Assignment,
Variant ao.TN.1, Message (for messages and assignments) and one Exclude per value.
Deliberate differences: a message to an unknown process is refused (the SU would
start a new nonce sequence for it); timestamps strictly increase per process (the
SU's `SystemTime::now` can repeat one, which the CU's timestamp cursors would
skip, upstream.md §1); the SU's ``POST /`` verifies no signatures (the bundler's
upload route does); pushed messages are not deduplicated by deep hash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import trio

from ._ans104 import DataItem, DataItemError, Tag, build_data_item, parse_data_item, signature_accepted
from ._clock import Block, Chain, Clock, pad_height
from ._config import DevnetConfig, DevnetUrls
from ._faults import FaultTable
from ._gateway_graphql import GraphQLSource
from ._ids import FakeWallet, b64url_decode, b64url_encode, hash_chain_seed, next_hash_chain
from ._store import Assigned, DevnetStore, TxQuery, TxRecord

#: The signer of items posted as JSON or published through the API without one.
DEFAULT_SIGNER = "devnet"
#: Module tag defaults (the reference CU's limits, config.js: 1 GiB, 9e12).
DEFAULT_MODULE_FORMAT = "wasm32-unknown-emscripten2"
DEFAULT_MEMORY_LIMIT = "1-gb"
DEFAULT_COMPUTE_LIMIT = "9000000000000"
MESSAGE_FORMATS = ("current", "legacy")


class SuError(Exception):
    """An SU request that fails; answered 400 ``{"error": <message>}`` like servers/su `err_response`."""


@dataclass(slots=True)
class SuOptions:
    """Runtime switches (admin ``/_devnet/options``).

    ``message_format``: shape of ``GET /:messageId`` and ``GET /:pid/latest``;
    ``page_format``: shape of each page edge's node. ``legacy`` is the SU's shape
    before aop-1 (servers/su json.rs at 7d9206c0^: message, block, owner,
    process_id, data, epoch, nonce, timestamp, hash_chain), which the reference CU
    still reads for message metadata (``legacyMeta`` in `effects/ao-su.js`) but not
    in pages. That shape has no assignments, so an assignment of an existing
    transaction (``message: null``) always comes in the current shape.
    """

    message_format: str = "current"
    page_format: str = "current"

    def update(self, changes: Mapping[str, Any]) -> None:
        for key, value in changes.items():
            if key not in ("message_format", "page_format"):
                raise ValueError(f"unknown option {key!r}")
            if value not in MESSAGE_FORMATS:
                raise ValueError(f"{key} must be one of {MESSAGE_FORMATS}")
            setattr(self, key, value)

    def as_json(self) -> dict[str, str]:
        return {"message_format": self.message_format, "page_format": self.page_format}


def dumps(obj: Any) -> bytes:
    """JSON as serde_json writes it: compact, UTF-8, key order kept."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_tags(value: Any) -> list[Tag]:
    """``[{name, value}]`` or ``{name: value}`` (or ``[[name, value]]``) as tags."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        value = [{"name": k, "value": v} for k, v in value.items()]
    tags = []
    for t in value:
        if isinstance(t, Tag):
            tags.append(t)
        elif isinstance(t, Mapping) and isinstance(t.get("name"), str) and isinstance(t.get("value"), str):
            tags.append(Tag(t["name"], t["value"]))
        elif isinstance(t, (list, tuple)) and len(t) == 2 and all(isinstance(x, str) for x in t):
            tags.append(Tag(t[0], t[1]))
        else:
            raise SuError(f"bad tag {t!r}: tags are [{{\"name\": ..., \"value\": ...}}]")
    return tags


def _with_defaults(tags: Sequence[Tag], defaults: Sequence[Tag]) -> list[Tag]:
    """The caller's tags, then each default whose name they did not give (aoconnect order)."""
    given = {t.name for t in tags}
    return [*tags, *(d for d in defaults if d.name not in given)]


class Devnet:
    """A local ao network: SU, gateway, uploader. Use `open_devnet` to run one."""

    def __init__(self, store: DevnetStore, *, clock: Clock, chain: Chain, su_wallet: FakeWallet,
                 scheduler_ttl_ms: int) -> None:
        self.store = store
        self.clock = clock
        self.chain = chain
        self.su_wallet = su_wallet
        self.scheduler_ttl_ms = scheduler_ttl_ms
        self.faults = FaultTable()
        self.options = SuOptions()
        self.urls: DevnetUrls | None = None
        self.stopped = trio.Event()
        self.graphql_source = GraphQLSource(query_txs=store.query_txs, get_tx=store.get_tx,
                                            block=chain.block, current_height=self.height)

    @classmethod
    def open(cls, config: DevnetConfig, *, clock: Clock) -> Devnet:
        """Open the store in ``config.directory`` (creating a new chain if it is new)."""
        store = DevnetStore.open(config.directory)
        if store.meta_get("genesis_ms") is None:
            store.meta_set("genesis_ms", str(clock.now_ms()))
            store.meta_set("base_height", str(config.base_height))
            store.meta_set("block_interval_ms", str(round(config.block_interval_s * 1000)))
            store.meta_set("su_wallet", config.su_wallet)
        chain = Chain(int(store.meta_get("genesis_ms")), int(store.meta_get("base_height")),
                      int(store.meta_get("block_interval_ms")))
        return cls(store, clock=clock, chain=chain, su_wallet=FakeWallet.named(store.meta_get("su_wallet")),
                   scheduler_ttl_ms=config.scheduler_ttl_ms)

    def close(self) -> None:
        self.store.close()

    def stop(self) -> None:
        """Ask `serve_devnet` to shut the servers down gracefully."""
        self.stopped.set()

    # -- time and chain ----------------------------------------------------------------------
    def now_ms(self) -> int:
        return self.clock.now_ms()

    def height(self) -> int:
        return self.chain.height_at(self.now_ms())

    def block(self, height: int) -> Block:
        return self.chain.block(height)

    @property
    def su_address(self) -> str:
        return self.su_wallet.address

    # -- gateway: indexing and data ----------------------------------------------------------
    def _record(self, item: DataItem, *, height: int, now_ms: int) -> TxRecord:
        return TxRecord(id=item.id, signature_type=item.signature_type,
                        signature=b64url_encode(item.signature),
                        owner_key=b64url_encode(item.owner), owner_address=item.owner_address,
                        target=b64url_encode(item.target), anchor=item.anchor, tags=item.tags, data_size=len(item.data),
                        data_inline=self.store.stores_inline(len(item.data)), height=height,
                        ingested_at=now_ms // 1000)

    async def _prepare(self, items: Sequence[DataItem], *, height: int,
                       now_ms: int) -> list[tuple[TxRecord, bytes | None]]:
        """Index rows for ``items``, writing large data to blob files first (threads)."""
        out = []
        for item in items:
            rec = self._record(item, height=height, now_ms=now_ms)
            if rec.data_inline:
                out.append((rec, item.data))
            else:
                path = self.store.blob_path(item.id)
                await trio.to_thread.run_sync(_write_blob, path, item.data)
                out.append((rec, None))
        return out

    async def read_data(self, rec: TxRecord) -> bytes:
        if rec.data_inline:
            return self.store.inline_data(rec.id) or b""
        return await trio.to_thread.run_sync(self.store.blob_path(rec.id).read_bytes)

    async def upload(self, raw: bytes) -> dict[str, Any]:
        """The bundler's ``POST /tx/<token>``: index one binary data item (idempotent).

        Like a real bundler it checks the signature (`signature_accepted`: real type-1
        signatures must verify; the devnet's own fake ones must match their item), off the
        trio thread since a large item's deep hash takes a while.
        """
        try:
            item = parse_data_item(raw)
        except DataItemError as exc:
            raise SuError(f"invalid data item: {exc}") from None
        if not await trio.to_thread.run_sync(signature_accepted, item):
            raise SuError("invalid data item: the signature does not verify")
        now = self.now_ms()
        if not self.store.has_tx(item.id):
            self.store.add_txs(await self._prepare([item], height=self.height(), now_ms=now))
        height = self.store.get_tx(item.id).height
        # a Turbo-style receipt; the reference CU reads only `id` (effects/ao-process.js)
        return {"id": item.id, "timestamp": now, "owner": item.owner_address, "winc": "0",
                "version": "0.2.0", "deadlineHeight": height + 200,
                "dataCaches": ["devnet"], "fastFinalityIndexes": ["devnet"]}

    async def publish_data_item(self, item: DataItem) -> str:
        """Put a data item straight into the gateway index (a mined L1 item)."""
        if not self.store.has_tx(item.id):
            self.store.add_txs(await self._prepare([item], height=self.height(), now_ms=self.now_ms()))
        return item.id

    def _salt(self) -> bytes:
        return str(self.store.next_counter("item_salt")).encode()

    async def publish_scheduler_location(self, url: str) -> str | None:
        """Publish the SU's Scheduler-Location record unless the newest one already says ``url``."""
        latest, _ = self.store.query_txs(TxQuery(owners=[self.su_address], limit=1, tags=[
            ("Data-Protocol", ["ao"], "EQ", "EXACT"), ("Type", ["Scheduler-Location"], "EQ", "EXACT")]))
        ttl = str(self.scheduler_ttl_ms)
        if latest and latest[0].tag("Url") == url and latest[0].tag("Time-To-Live") == ttl:
            return None
        tags = [Tag("Data-Protocol", "ao"), Tag("Variant", "ao.TN.1"), Tag("Type", "Scheduler-Location"),
                Tag("Url", url), Tag("Time-To-Live", str(self.scheduler_ttl_ms))]
        return await self.publish_data_item(build_data_item(self.su_wallet, tags=tags, salt=self._salt()))

    # -- convenience API: modules, processes, messages ---------------------------------------
    async def publish_module(self, binary: bytes, *, module_format: str = DEFAULT_MODULE_FORMAT,
                             memory_limit: str = DEFAULT_MEMORY_LIMIT,
                             compute_limit: str = DEFAULT_COMPUTE_LIMIT, tags: Any = None,
                             signer: str = DEFAULT_SIGNER) -> str:
        """Publish a module binary with ao's module tags; returns its id."""
        defaults = [Tag("Data-Protocol", "ao"), Tag("Variant", "ao.TN.1"), Tag("Type", "Module"),
                    Tag("Module-Format", module_format), Tag("Input-Encoding", "JSON-1"),
                    Tag("Output-Encoding", "JSON-1"), Tag("Memory-Limit", memory_limit),
                    Tag("Compute-Limit", compute_limit), Tag("Content-Type", "application/wasm")]
        item = build_data_item(FakeWallet.named(signer), data=binary, salt=self._salt(),
                               tags=_with_defaults(parse_tags(tags), defaults))
        return await self.publish_data_item(item)

    async def spawn(self, module: str, *, tags: Any = None, data: str | bytes = "",
                    signer: str = DEFAULT_SIGNER, anchor: str | None = None) -> str:
        """Spawn a process of ``module`` on this SU; returns the process id."""
        defaults = [Tag("Data-Protocol", "ao"), Tag("Variant", "ao.TN.1"), Tag("Type", "Process"),
                    Tag("Scheduler", self.su_address), Tag("Module", module)]
        item = self.item(tags=_with_defaults(parse_tags(tags), defaults), data=data, signer=signer,
                         anchor=anchor)
        return (await self.write_item(item))["id"]

    async def send(self, process: str, *, tags: Any = None, data: str | bytes = "",
                   signer: str = DEFAULT_SIGNER, anchor: str | None = None) -> str:
        """Schedule a message to ``process``; returns the message id."""
        defaults = [Tag("Data-Protocol", "ao"), Tag("Variant", "ao.TN.1"), Tag("Type", "Message")]
        item = self.item(tags=_with_defaults(parse_tags(tags), defaults), data=data, signer=signer,
                         anchor=anchor, target=process)
        return (await self.write_item(item))["id"]

    def item(self, *, tags: Sequence[Tag], data: str | bytes = "", signer: str = DEFAULT_SIGNER,
             anchor: str | None = None, target: str | None = None) -> DataItem:
        """A fake-signed data item with a fresh salt (distinct ids for equal content)."""
        try:
            target_raw = b64url_decode(target) if target else b""
        except ValueError:
            target_raw = b""
        if target and len(target_raw) != 32:
            raise SuError(f"target {target!r} is not a 43-character base64url id")
        anchor_raw = anchor.encode("utf-8") if anchor else b""
        if anchor and len(anchor_raw) != 32:
            raise SuError("an anchor is 32 bytes (ao clients use 32 random characters)")
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        return build_data_item(FakeWallet.named(signer), data=payload, tags=tuple(tags), target=target_raw,
                               anchor=anchor_raw, salt=self._salt())

    def item_from_json(self, body: Any) -> DataItem:
        """The devnet's JSON form of ``POST /``: tags, data | data_base64, target, anchor, signer."""
        if not isinstance(body, Mapping):
            raise SuError("the body must be a JSON object or a binary ANS-104 data item")
        unknown = set(body) - {"tags", "data", "data_base64", "target", "anchor", "signer"}
        if unknown:
            raise SuError(f"unknown fields {sorted(unknown)}")
        data: str | bytes = body.get("data") or ""
        if body.get("data_base64") is not None:
            data = b64url_decode(body["data_base64"].replace("+", "-").replace("/", "_").rstrip("="))
        if not isinstance(data, (str, bytes)):
            raise SuError("data must be a string (or use data_base64)")
        return self.item(tags=parse_tags(body.get("tags")), data=data,
                         signer=body.get("signer") or DEFAULT_SIGNER, anchor=body.get("anchor"),
                         target=body.get("target"))

    # -- SU: writing -------------------------------------------------------------------------
    def _next_slot(self, process_id: str, now_ms: int) -> tuple[int, int, str, int]:
        """(epoch, nonce, hash chain, timestamp) of the next slot (servers/su scheduler.rs `increment`)."""
        prev = self.store.latest_assigned(process_id) or self.store.get_process(process_id)
        if prev is None:
            raise SuError(f"Process {process_id} not found on this SU")
        hash_chain = next_hash_chain(prev.hash_chain, prev.assignment_id)
        return prev.epoch, prev.nonce + 1, hash_chain, max(now_ms, prev.timestamp + 1)

    def _assignment(self, *, process_id: str, epoch: int, nonce: int, hash_chain: str, height: int,
                    timestamp: int, message_id: str | None, exclude: Sequence[str] = ()) -> DataItem:
        tags = [Tag("Process", process_id), Tag("Epoch", str(epoch)), Tag("Nonce", str(nonce)),
                Tag("Hash-Chain", hash_chain), Tag("Block-Height", pad_height(height)),
                Tag("Timestamp", str(timestamp)), Tag("Data-Protocol", "ao"), Tag("Type", "Assignment"),
                Tag("Variant", "ao.TN.1")]
        if message_id is not None:
            tags.append(Tag("Message", message_id))
        tags.extend(Tag("Exclude", v) for v in exclude)
        return build_data_item(self.su_wallet, tags=tags)

    async def write_item(self, item: DataItem) -> dict[str, Any]:
        """The SU's ``POST /`` for a process or message data item; ``{"id", "timestamp"}``."""
        tags = item.tags
        type_tag = next((t for t in tags if t.name in ("Type", "type")), None)
        if type_tag is None:
            raise SuError("Type tag not present")
        if type_tag.value not in ("Process", "Message"):
            raise SuError("Unsupported Type tag value")
        if not any(t.name in ("Data-Protocol", "data-protocol") for t in tags):
            raise SuError("Data-Protocol tag not present")
        bad = next((t for t in tags if t.name.endswith("+link") or t.value.endswith("+link")), None)
        if bad is not None:
            raise SuError(f"Tag {bad.name} cannot contain +link")
        if type_tag.value == "Process":
            return await self._write_process(item)
        return await self._write_message(item)

    async def _write_process(self, item: DataItem) -> dict[str, Any]:
        names = {t.name for t in item.tags}
        if "Module" not in names or "Scheduler" not in names:
            raise SuError("Required Module and Scheduler tags for Process type not present")
        on_boot = item.tag("On-Boot")
        if on_boot is not None and on_boot != "Data" and not self.store.has_tx(on_boot):
            raise SuError("Invalid tx id for On-Boot tag")
        if self.store.get_process(item.id) is not None:
            raise SuError('MessageExists("Message already exists")')
        rows = await self._prepare([item], height=self.height(), now_ms=self.now_ms())
        # no awaits from here: the slot read and write are one step
        now, height = self.now_ms(), self.height()
        if self.store.get_process(item.id) is not None:
            raise SuError('MessageExists("Message already exists")')
        hash_chain = hash_chain_seed(item.id)
        assignment = self._assignment(process_id=item.id, epoch=0, nonce=0, hash_chain=hash_chain,
                                      height=height, timestamp=now, message_id=None)
        slot = Assigned(process_id=item.id, nonce=0, epoch=0, timestamp=now, hash_chain=hash_chain,
                        assignment_id=assignment.id, message_id=item.id, has_message=True)
        rows.append((self._record(assignment, height=height, now_ms=now), b""))
        self.store.add_process(slot, pad_height(height), rows)
        return {"id": item.id, "timestamp": now}

    async def _write_message(self, item: DataItem) -> dict[str, Any]:
        target = b64url_encode(item.target)
        if not target or self.store.get_process(target) is None:
            raise SuError(f"Process {target} not found on this SU")
        if self.store.message_scheduled(item.id, target):
            raise SuError('MessageExists("Message already exists")')
        rows = await self._prepare([item], height=self.height(), now_ms=self.now_ms())
        # no awaits from here: the slot read and write are one step
        if self.store.message_scheduled(item.id, target):
            raise SuError('MessageExists("Message already exists")')
        now, height = self.now_ms(), self.height()
        epoch, nonce, hash_chain, timestamp = self._next_slot(target, now)
        assignment = self._assignment(process_id=target, epoch=epoch, nonce=nonce, hash_chain=hash_chain,
                                      height=height, timestamp=timestamp, message_id=item.id)
        slot = Assigned(process_id=target, nonce=nonce, epoch=epoch, timestamp=timestamp,
                        hash_chain=hash_chain, assignment_id=assignment.id, message_id=item.id,
                        has_message=True)
        rows.append((self._record(assignment, height=height, now_ms=now), b""))
        self.store.add_assigned(slot, rows)
        return {"id": item.id, "timestamp": now}

    async def assign(self, process_id: str, tx_id: str, *, exclude: Sequence[str] = (),
                     base_layer: bool = False) -> dict[str, Any]:
        """The SU's ``POST /?process-id=&assign=``: schedule an existing transaction.

        servers/su flows.rs: the id must be 43 characters and known to the gateway
        (``gql_tx``); the assignment carries ``Message`` and one ``Exclude`` per value.
        """
        if len(tx_id) != 43:
            raise SuError("error in builder: BuilderError(\"assign param must be 43 characters\")")
        if not base_layer and not self.store.has_tx(tx_id):
            raise SuError("Transaction not found")
        now, height = self.now_ms(), self.height()
        epoch, nonce, hash_chain, timestamp = self._next_slot(process_id, now)
        assignment = self._assignment(process_id=process_id, epoch=epoch, nonce=nonce, hash_chain=hash_chain,
                                      height=height, timestamp=timestamp, message_id=tx_id, exclude=exclude)
        slot = Assigned(process_id=process_id, nonce=nonce, epoch=epoch, timestamp=timestamp,
                        hash_chain=hash_chain, assignment_id=assignment.id, message_id=tx_id,
                        has_message=False)
        self.store.add_assigned(slot, [(self._record(assignment, height=height, now_ms=now), b"")])
        return {"id": assignment.id, "timestamp": now}


def _write_blob(path: Any, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a thread; blobs are content-addressed by id)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
