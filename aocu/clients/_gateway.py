"""The Arweave gateway client: GraphQL metadata, checkpoints, blocks, and ``/raw`` data.

`HttpGatewayClient` implements `GatewayClient` over one ``httpx.AsyncClient`` on the trio thread;
raw downloads write files through trio's thread-backed file API, never with blocking calls on
the loop. Behaviour follows ``servers/cu/src/effects/arweave.js`` (metadata, ``/raw``),
``ao-process.js`` (checkpoint queries) and ``ao-block.js`` (``GetBlocks`` paging, URL rotation,
circuit breaker); reference-cu.md §2.5.6, §2.6, §2.8.2, §2.10.2. Start with `load_blocks`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import trio

from ._breaker import CircuitBreaker
from ._errors import (
    CircuitOpenError,
    NotFoundError,
    UpstreamDataError,
    UpstreamError,
    UpstreamSequenceError,
    UpstreamTimeoutError,
)
from ._graphql import (
    GET_AO_PROCESS_CHECKPOINTS,
    GET_BLOCKS,
    GET_PROCESSES,
    get_ao_process_checkpoint_query,
    post_graphql,
    query_graphql,
)
from ._parse import (
    ShapeError,
    as_bool,
    as_int,
    as_list,
    as_object,
    as_opt_str,
    as_str,
    first_tag,
    join,
    js_maybe_parse_int,
    js_parse_int,
    owner_at,
    tags_at,
)
from ._retry import capped_chunks, run_operation, send
from .base import Block, CheckpointRecord, TransactionMeta
from .config import ClientsConfig, join_url

__all__ = ["HttpGatewayClient", "parse_checkpoint", "parse_transaction_meta"]

T = TypeVar("T")

GATEWAY = "gateway"
ARWEAVE = "arweave"
# The reference's wording when the breaker refuses a GetBlocks page (ao-block.js fetchAllPages).
BREAKER_OPEN_MESSAGE = "Can not communicate with gateway to retrieve block metadata (breaker is open)"
# Stream downloads in pieces this large: each write is one thread hop (trio.open_file).
DOWNLOAD_CHUNK_BYTES = 1024 * 1024


# --- parsing (pure) ----------------------------------------------------------------------


def _edges(data: object, path: str = "data.transactions.edges") -> Sequence[Any]:
    transactions = as_object(as_object(data, "data").get("transactions"), "data.transactions")
    return as_list(transactions.get("edges"), path)


def _first_node(data: Any, parse_node: Callable[[Any, str], T]) -> T | None:
    """The first ``data.transactions`` edge's node, parsed; None when there is no edge."""
    edges = _edges(data)
    if not edges:
        return None
    return parse_node(as_object(edges[0], "data.transactions.edges[0]").get("node"), "data.transactions.edges[0].node")


def parse_transaction_meta(node: object, path: str) -> TransactionMeta:
    """A ``GetProcesses`` node (``loadTransactionMetaSchema``: owner address and key required)."""
    obj = as_object(node, path)
    return TransactionMeta(
        id=as_str(obj.get("id"), join(path, "id"), non_empty=True),
        owner=owner_at(obj, "owner", path),
        tags=tags_at(obj, "tags", path, default_empty=True),
        signature=as_opt_str(obj.get("signature"), join(path, "signature")),
        anchor=as_opt_str(obj.get("anchor"), join(path, "anchor")),
        recipient=as_opt_str(obj.get("recipient"), join(path, "recipient")),
    )


def parse_checkpoint(node: object, path: str) -> CheckpointRecord:
    """A checkpoint node, its tags read as ``findLatestProcessMemoryWith`` reads them."""
    obj = as_object(node, path)
    owner = as_object(obj.get("owner"), join(path, "owner"))
    tags = tags_at(obj, "tags", path)
    nonce = first_tag(tags, "Nonce")
    return CheckpointRecord(
        id=as_str(obj.get("id"), join(path, "id"), non_empty=True),
        owner_address=as_str(owner.get("address"), join(path, "owner.address")),
        tags=tags,
        process_id=first_tag(tags, "Process"),
        timestamp=js_parse_int(first_tag(tags, "Timestamp")),
        nonce=js_maybe_parse_int(nonce),
        ordinate=nonce,
        epoch=js_maybe_parse_int(first_tag(tags, "Epoch")),
        block_height=js_parse_int(first_tag(tags, "Block-Height")),
        assignment_id=first_tag(tags, "Assignment"),
        hash_chain=first_tag(tags, "Hash-Chain"),
        module_id=first_tag(tags, "Module"),
        cron=first_tag(tags, "Cron-Interval"),
        content_encoding=first_tag(tags, "Content-Encoding"),
    )


def _parse_blocks_page(data: object) -> tuple[list[Block], bool]:
    blocks = as_object(as_object(data, "data").get("blocks"), "data.blocks")
    page_info = as_object(blocks.get("pageInfo"), "data.blocks.pageInfo")
    has_next = as_bool(page_info.get("hasNextPage"), "data.blocks.pageInfo.hasNextPage")
    out: list[Block] = []
    for i, edge in enumerate(as_list(blocks.get("edges"), "data.blocks.edges")):
        path = join("data.blocks.edges", i)
        node = as_object(as_object(edge, path).get("node"), join(path, "node"))
        # Gateway block timestamps are seconds; the CU works in ms (ao-block.js).
        out.append(
            Block(
                as_int(node.get("height"), join(path, "node.height")),
                as_int(node.get("timestamp"), join(path, "node.timestamp")) * 1000,
            )
        )
    return out, has_next


#: ``(query_name, result)`` of each GraphQL query, for the reference's query counter.
QueryCounter = Callable[[str, str], None]


# --- the client --------------------------------------------------------------------------


class HttpGatewayClient:
    """`GatewayClient` over httpx. The caller owns ``http`` (see ``open_gateway_client``)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        config: ClientsConfig,
        *,
        rng: random.Random | None = None,
        breaker: CircuitBreaker | None = None,
        on_query: QueryCounter | None = None,
    ) -> None:
        self.http = http
        self.config = config
        # ``on_query(query_name, "success" | "error")`` where the reference increments its
        # ao_process_total_graphql_queries counter (reference-cu.md §6.1)
        self._on_query = on_query
        self._rng = rng if rng is not None else random.Random()
        self.breaker = breaker if breaker is not None else CircuitBreaker()

    # -- GraphQL --

    def _count(self, query_name: str, result: str) -> None:
        if self._on_query is not None:
            self._on_query(query_name, result)

    async def _query(
        self, url: str, query: str, variables: Mapping[str, Any], what: str, parse: Callable[[Any], T]
    ) -> T:
        return await query_graphql(self.http, self.config, url, query, variables, parse, what=what,
                                   upstream=GATEWAY, policy=self.config.gateway_retry, rng=self._rng)

    async def load_transaction_meta(
        self,
        tx_id: str,
        *,
        skip_tags: bool = False,
        skip_signature: bool = False,
        skip_anchor: bool = False,
    ) -> TransactionMeta:
        # Variables exactly as arweave.js builds them (arweave.test.js checks them).
        variables = {
            "skipTags": skip_tags,
            "skipSignature": skip_signature,
            "skipAnchor": skip_anchor,
            "processIds": [tx_id],
        }
        url = self.config.graphql_url

        def parse(data: Any) -> TransactionMeta | None:
            return _first_node(data, parse_transaction_meta)

        meta = await self._query(url, GET_PROCESSES, variables, "transaction metadata", parse)
        if meta is None:
            # The reference retries this for ~15 s and then fails with this text (okResWithNode,
            # reference-cu.md §8.7 #44); a missing transaction is an answer, so we do not retry.
            self._count("GetTransactionMeta", "error")
            raise NotFoundError(
                f"Gateway returned no transaction for '{tx_id}'", upstream=GATEWAY, method="POST", url=url
            )
        self._count("GetTransactionMeta", "success")
        return meta

    async def query_checkpoints(
        self, process_id: str, owners: Sequence[str], *, limit: int = 50
    ) -> tuple[CheckpointRecord, ...]:
        variables = {"owners": list(owners), "processId": process_id, "limit": limit}

        def parse(data: Any) -> tuple[CheckpointRecord, ...]:
            edges = _edges(data)
            return tuple(
                parse_checkpoint(
                    as_object(edge, join("data.transactions.edges", i)).get("node"),
                    join(join("data.transactions.edges", i), "node"),
                )
                for i, edge in enumerate(edges)
            )

        # queryCheckpointsWith (ao-process.js): GRAPHQL_URL, GRAPHQL_URL again, then
        # CHECKPOINT_GRAPHQL_URL, each attempt with its own backoff; the last error wins.
        urls = (self.config.graphql_url, self.config.graphql_url, self.config.checkpoint_graphql_url)
        for i, url in enumerate(urls):
            try:
                found = await self._query(url, GET_AO_PROCESS_CHECKPOINTS, variables, "checkpoints", parse)
                self._count("GetAoProcessCheckpoints", "success")
                return found
            except UpstreamError:
                if i == len(urls) - 1:
                    raise
        raise AssertionError("unreachable")

    async def find_checkpoint(
        self, *, owner: str, process_id: str, timestamp: int, nonce: str, cron: str | None = None
    ) -> CheckpointRecord | None:
        variables: dict[str, Any] = {
            "owner": owner,
            "processId": process_id,
            "timestamp": str(timestamp),
            "nonce": nonce,
        }
        if cron is not None:
            variables["cron"] = cron

        def parse(data: Any) -> CheckpointRecord | None:
            return _first_node(data, parse_checkpoint)

        query = get_ao_process_checkpoint_query(cron is not None)
        found = await self._query(self.config.graphql_url, query, variables, "checkpoint", parse)
        self._count("GetAoProcessCheckpoints", "success")
        return found

    async def load_blocks(self, min_height: int, max_timestamp: int) -> tuple[Block, ...]:
        """``loadBlocksMetaWith``: pages of ``blocks_page_size`` from ``min_height``; stop at the first
        block whose second exceeds ``floor(max_timestamp / 1000)`` (it and later ones dropped) or
        when there is no next page. Each page goes through the circuit breaker, and each attempt
        of a page to the next URL of ``GRAPHQL_URLS`` (``urls[attempt % len]``).
        """
        urls = self.config.graphql_urls
        timeout_s = self.config.blocks_timeout_s
        try:
            with trio.fail_after(timeout_s):
                return await self._load_blocks(min_height, max_timestamp, urls)
        except trio.TooSlowError:
            raise UpstreamTimeoutError(
                f"block metadata from height {min_height} not loaded within {timeout_s:g} s",
                upstream=GATEWAY,
                method="POST",
                url=urls[0],
            ) from None

    async def _load_blocks(self, min_height: int, max_timestamp: int, urls: Sequence[str]) -> tuple[Block, ...]:
        max_seconds = max_timestamp // 1000
        limit = self.config.blocks_page_size
        blocks: list[Block] = []
        minimum = min_height
        while True:
            page, has_next = await self.breaker.call(
                functools.partial(self._blocks_page, minimum, limit, urls),
                lambda: CircuitOpenError(BREAKER_OPEN_MESSAGE, upstream=GATEWAY, method="POST", url=urls[0]),
            )
            previous = blocks[-1].height if blocks else minimum - 1
            for block in page:
                if block.height <= previous:
                    raise UpstreamSequenceError(
                        f"GetBlocks answered height {block.height} after {previous} (min {minimum})",
                        upstream=GATEWAY,
                        method="POST",
                        url=urls[0],
                    )
                previous = block.height
            past = next((i for i, b in enumerate(page) if b.timestamp // 1000 > max_seconds), None)
            if past is not None:
                blocks.extend(page[:past])
                return tuple(blocks)
            blocks.extend(page)
            if not has_next:
                return tuple(blocks)
            if not page:
                raise UpstreamSequenceError(
                    f"GetBlocks says there is a next page after min {minimum} but gave no blocks",
                    upstream=GATEWAY,
                    method="POST",
                    url=urls[0],
                )
            minimum = page[-1].height + 1

    async def _blocks_page(self, minimum: int, limit: int, urls: Sequence[str]) -> tuple[list[Block], bool]:
        variables = {"min": minimum, "limit": limit}

        async def attempt(n: int) -> tuple[list[Block], bool]:
            url = urls[n % len(urls)]
            try:
                data, response = await post_graphql(
                    self.http,
                    url,
                    GET_BLOCKS,
                    variables,
                    upstream=GATEWAY,
                    max_bytes=self.config.json_max_bytes,
                    phase_timeouts=self.config.http_timeout(),
                )
            except UpstreamError as exc:
                # ao-block.js counts each attempt that got an answer: error unless it was a 2xx
                if exc.status is not None:
                    self._count("GetBlocks", "success" if 200 <= exc.status < 300 else "error")
                raise
            self._count("GetBlocks", "success")
            try:
                return _parse_blocks_page(data)
            except ShapeError as exc:
                raise UpstreamDataError(
                    f"malformed blocks page: {exc}",
                    upstream=GATEWAY,
                    method="POST",
                    url=url,
                    status=response.status_code,
                ) from None

        return await run_operation(
            attempt,
            policy=self.config.blocks_retry,
            timeout_s=self.config.blocks_page_timeout_s,
            rng=self._rng,
            upstream=GATEWAY,
            method="POST",
            url=urls[0],
        )

    # -- /raw --

    def raw_url(self, tx_id: str) -> str:
        """``joinUrl({url: ARWEAVE_URL, path: '/raw/<id>'})``: a query on ARWEAVE_URL is kept."""
        return join_url(self.config.arweave_url, f"/raw/{tx_id}")

    async def load_transaction_data(self, tx_id: str, *, max_bytes: int | None = None) -> bytes:
        """``loadTransactionDataWith`` (backoff 5×500 ms): the whole body, at most ``max_bytes``."""

        async def join(chunks: AsyncIterator[bytes]) -> bytes:
            return b"".join([chunk async for chunk in chunks])

        return await self.consume_transaction_data(tx_id, join, max_bytes=max_bytes, chunk_bytes=None)

    async def consume_transaction_data(
        self,
        tx_id: str,
        consume: Callable[[AsyncIterator[bytes]], Awaitable[T]],
        *,
        max_bytes: int | None = None,
        chunk_bytes: int | None = DOWNLOAD_CHUNK_BYTES,
    ) -> T:
        """Stream ``/raw/{id}`` through ``consume`` (pieces of ``chunk_bytes``, at most ``max_bytes`` in all).

        Backoff 5×500 ms (``loadTransactionDataWith``); a transient failure, even mid-body, calls
        ``consume`` again on a new download, so it must start over each time. Its own errors propagate.
        """
        url = self.raw_url(tx_id)
        limit = max_bytes if max_bytes is not None else self.config.data_max_bytes

        async def attempt(_: int) -> T:
            async with send(
                self.http, "GET", url, upstream=ARWEAVE, phase_timeouts=self.config.http_timeout()
            ) as response:
                chunks = capped_chunks(response, limit, upstream=ARWEAVE, chunk_bytes=chunk_bytes)
                async with contextlib.aclosing(chunks):
                    return await consume(chunks)

        return await run_operation(
            attempt,
            policy=self.config.gateway_retry,
            timeout_s=self.config.download_timeout_s,
            rng=self._rng,
            upstream=ARWEAVE,
            method="GET",
            url=url,
        )

    async def download_transaction_data(self, tx_id: str, dest: Path, *, max_bytes: int | None = None) -> int:
        """Stream ``/raw/{id}`` into ``dest``: a temporary file beside it, renamed when complete.

        The reference streams module binaries without retries (wasm.js ``streamTransactionDataWith``);
        here a transient failure, even mid-body, restarts the download, and a partial file is never
        left at ``dest``. Exceeding ``max_bytes`` raises `ResponseTooLargeError`.
        """
        limit = max_bytes if max_bytes is not None else self.config.download_max_bytes
        dest = Path(dest)
        tmp = trio.Path(dest.parent / f".{dest.name}.{os.getpid()}.{self._rng.getrandbits(32):08x}.part")

        async def write(chunks: AsyncIterator[bytes]) -> int:
            size = 0
            async with await trio.open_file(tmp, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    await out.write(chunk)
            return size

        try:
            size = await self.consume_transaction_data(tx_id, write, max_bytes=limit)
            await tmp.replace(dest)
            return size
        finally:
            with trio.CancelScope(shield=True):
                await tmp.unlink(missing_ok=True)
