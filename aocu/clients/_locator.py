"""Scheduler discovery: which SU serves a process (scheduler-utils 0.0.25 ``locate``).

`HttpSchedulerLocator` implements `SchedulerLocator` on the trio thread: gateway GraphQL for the
process's ``Scheduler`` tag and that wallet's newest ``Scheduler-Location`` (``Url``,
``Time-To-Live``), then the SU's own redirect check, cached for the TTL in a
`SchedulerLocationStore` (`MemorySchedulerLocationStore` here; durable stores come later).
Concurrent lookups of one process share one flight, like the reference's DataLoader.
reference-cu.md §2.4; scheduler-utils ``src/locate.js``, ``src/client/gateway.js``, ``scheduler.js``.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import trio

from ._errors import (
    InvalidSchedulerLocationError,
    SchedulerTagNotFoundError,
    TransactionNotFoundError,
    UpstreamDataError,
    UpstreamError,
    UpstreamTimeoutError,
)
from ._graphql import GET_SCHEDULER_LOCATION, GET_TRANSACTIONS, query_graphql
from ._parse import as_list, as_object, first_tag, js_number, tags_at
from ._retry import RetryPolicy, read_json, run_operation, send
from ._scheduler import HttpSchedulerClient
from .base import CachedLocation, LocationKind, SchedulerClient, SchedulerLocation, SchedulerLocationStore, Tag
from .config import ClientsConfig

__all__ = ["HttpSchedulerLocator", "MemorySchedulerLocationStore", "trim_slash"]

GATEWAY = "gateway"
ROUTER = "su-router"
# scheduler-utils gives the su-router answer a fixed 48 h TTL (client/gateway.js).
ROUTER_TTL_MS = 48 * 60 * 60 * 1000
# The router is a shortcut in front of the gateway: one try, then fall back.
ROUTER_RETRY = RetryPolicy(max_retries=0)


def trim_slash(url: str) -> str:
    """scheduler-utils ``trimSlash``: trim whitespace, then every trailing ``/``."""
    return url.strip().rstrip("/")


class MemorySchedulerLocationStore:
    """An LRU of locations in memory, ``max_entries`` across both kinds (scheduler-utils: 100)."""

    def __init__(self, max_entries: int = 100) -> None:
        self.max_entries = max_entries
        self.entries: OrderedDict[tuple[LocationKind, str], CachedLocation] = OrderedDict()

    async def get(self, kind: LocationKind, key: str) -> CachedLocation | None:
        entry = self.entries.get((kind, key))
        if entry is not None:
            self.entries.move_to_end((kind, key))
        return entry

    async def put(self, kind: LocationKind, key: str, entry: CachedLocation) -> None:
        self.entries[(kind, key)] = entry
        self.entries.move_to_end((kind, key))
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

    async def delete(self, kind: LocationKind, key: str) -> None:
        self.entries.pop((kind, key), None)


@dataclass(slots=True)
class _Flight:
    done: trio.Event = field(default_factory=trio.Event)
    result: SchedulerLocation | None = None
    error: Exception | None = None


def _first_node_tags(data: Any) -> tuple[Tag, ...] | None:
    """The tags of ``data.transactions.edges[0].node`` (none when absent); None without an edge."""
    transactions = as_object(as_object(data, "data").get("transactions"), "data.transactions")
    edges = as_list(transactions.get("edges"), "data.transactions.edges")
    if not edges:
        return None
    path = "data.transactions.edges[0].node"
    node = as_object(as_object(edges[0], "data.transactions.edges[0]").get("node"), path)
    return tags_at(node, "tags", path, default_empty=True)


class HttpSchedulerLocator:
    """`SchedulerLocator` over the gateway's GraphQL and the SU's redirect check."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        config: ClientsConfig,
        *,
        store: SchedulerLocationStore | None = None,
        scheduler: SchedulerClient | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.http = http
        self.config = config
        self.store: SchedulerLocationStore = (
            store if store is not None else MemorySchedulerLocationStore(config.locator_cache_size)
        )
        self._rng = rng if rng is not None else random.Random()
        self.scheduler: SchedulerClient = (
            scheduler if scheduler is not None else HttpSchedulerClient(http, config, rng=self._rng)
        )
        self._clock = clock
        self._flights: dict[str, _Flight] = {}

    async def _cached(self, kind: LocationKind, key: str) -> SchedulerLocation | None:
        entry = await self.store.get(kind, key)
        if entry is None:
            return None
        if entry.expires_at <= self._clock():
            await self.store.delete(kind, key)
            return None
        return entry.location

    async def _remember(self, kind: LocationKind, key: str, location: SchedulerLocation) -> None:
        # A TTL that is not positive is not cached (lru-cache would read 0 as "forever").
        if location.ttl_ms > 0:
            expires_at = self._clock() + location.ttl_ms / 1000
            await self.store.put(kind, key, CachedLocation(location=location, expires_at=expires_at))

    async def forget(self, process_id: str) -> None:
        await self.store.delete("process", process_id)

    async def locate(self, process_id: str, scheduler_hint: str | None = None) -> SchedulerLocation:
        """scheduler-utils ``locate(process, schedulerHint)`` with ``followRedirects: true``."""
        while True:
            cached = await self._cached("process", process_id)
            if cached is not None:
                return cached
            flight = self._flights.get(process_id)
            if flight is None:
                break
            await flight.done.wait()
            if flight.error is not None:
                raise flight.error
            if flight.result is not None:
                return flight.result
            # The leading task was cancelled: look it up ourselves.
        flight = self._flights[process_id] = _Flight()
        timeout_s = self.config.operation_timeout_s
        try:
            with trio.fail_after(timeout_s):
                flight.result = await self._locate(process_id, scheduler_hint)
            return flight.result
        except trio.TooSlowError:
            flight.error = UpstreamTimeoutError(
                f"could not locate the SU of process {process_id} within {timeout_s:g} s",
                upstream=GATEWAY,
                method="POST",
                url=self.config.graphql_url,
            )
            raise flight.error from None
        except Exception as exc:
            flight.error = exc
            raise
        finally:
            del self._flights[process_id]
            flight.done.set()

    async def _locate(self, process_id: str, hint: str | None) -> SchedulerLocation:
        if hint:
            scheduler = await self._cached("owner", hint)
            if scheduler is None:
                scheduler = await self._load_scheduler(hint)
        else:
            scheduler = await self._load_process_scheduler(process_id)
        url = await self.scheduler.check_redirect(scheduler.url, process_id)
        location = SchedulerLocation(url=trim_slash(url), address=scheduler.address, ttl_ms=scheduler.ttl_ms)
        await self._remember("process", process_id, location)
        return location

    async def _graphql(self, query: str, variables: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
        return await query_graphql(self.http, self.config, self.config.graphql_url, query, variables, parse,
                                   what="answer", upstream=GATEWAY, policy=self.config.locator_retry, rng=self._rng)

    async def _load_process_scheduler(self, process_id: str) -> SchedulerLocation:
        if self.config.su_router_url is not None:
            routed = await self._ask_router(self.config.su_router_url, process_id)
            if routed is not None:
                return routed
        tags = await self._graphql(GET_TRANSACTIONS, {"transactionIds": [process_id]}, _first_node_tags)
        url = self.config.graphql_url
        if tags is None:
            raise TransactionNotFoundError(
                f"Process {process_id} was not found on gateway", upstream=GATEWAY, method="POST", url=url
            )
        # Case-sensitive in 0.0.25 (later versions are not), reference-cu.md §2.4 step 3.
        wallet = first_tag(tags, "Scheduler")
        if not wallet:
            raise SchedulerTagNotFoundError(
                'No "Scheduler" tag found on process', upstream=GATEWAY, method="POST", url=url
            )
        # scheduler-utils always queries here; a live owner entry has the same answer.
        cached = await self._cached("owner", wallet)
        return cached if cached is not None else await self._load_scheduler(wallet)

    async def _load_scheduler(self, wallet: str) -> SchedulerLocation:
        url = self.config.graphql_url
        tags = await self._graphql(GET_SCHEDULER_LOCATION, {"owner": wallet}, _first_node_tags)
        if tags is None:
            raise TransactionNotFoundError(
                f"Could not find 'Scheduler-Location' owner by wallet {wallet}",
                upstream=GATEWAY,
                method="POST",
                url=url,
            )
        su_url, ttl = first_tag(tags, "Url"), first_tag(tags, "Time-To-Live")
        if not su_url:
            raise InvalidSchedulerLocationError(
                'No "Url" tag found on Scheduler-Location', upstream=GATEWAY, method="POST", url=url
            )
        if not ttl:
            raise InvalidSchedulerLocationError(
                'No "Time-To-Live" tag found on Scheduler-Location', upstream=GATEWAY, method="POST", url=url
            )
        # z.coerce.number(): Number("3600000"); NaN fails the contract, so does an infinite TTL here.
        ttl_ms = js_number(ttl)
        if ttl_ms is None or ttl_ms != ttl_ms or ttl_ms in (float("inf"), float("-inf")):
            raise InvalidSchedulerLocationError(
                f'"Time-To-Live" {ttl!r} on Scheduler-Location is not a number',
                upstream=GATEWAY,
                method="POST",
                url=url,
            )
        location = SchedulerLocation(url=su_url, address=wallet, ttl_ms=int(ttl_ms))
        await self._remember("owner", wallet, location)
        return location

    async def _ask_router(self, router: str, process_id: str) -> SchedulerLocation | None:
        """The eager su-router probe: a 2xx ``{address}`` names the SU; anything else falls back.

        scheduler-utils fails the whole lookup when this fetch throws; here the gateway is asked
        instead, since the router is only a shortcut.
        """

        async def attempt(_: int) -> SchedulerLocation | None:
            async with send(
                self.http,
                "GET",
                router,
                upstream=ROUTER,
                phase_timeouts=self.config.http_timeout(),
                params={"process-id": process_id},
                ok_statuses=lambda _: True,
            ) as response:
                if not 200 <= response.status_code <= 299:
                    return None
                body = await read_json(response, upstream=ROUTER, max_bytes=self.config.json_max_bytes)
                address = body.get("address") if isinstance(body, dict) else None
                if not isinstance(address, str) or not address:
                    raise UpstreamDataError(
                        "the su-router answer has no address",
                        upstream=ROUTER,
                        url=str(response.request.url),
                        status=response.status_code,
                    )
                return SchedulerLocation(url=router, address=address, ttl_ms=ROUTER_TTL_MS)

        try:
            result: SchedulerLocation | None = await run_operation(
                attempt,
                policy=ROUTER_RETRY,
                timeout_s=self.config.operation_timeout_s,
                rng=self._rng,
                upstream=ROUTER,
                method="GET",
                url=router,
            )
        except UpstreamError:
            return None
        return result
