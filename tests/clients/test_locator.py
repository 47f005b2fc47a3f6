"""SU discovery (aocu/clients/_locator.py): scheduler-utils 0.0.25 ``locate`` on a fake gateway.

Mirrors scheduler-utils' ``locate.test.js`` and ``client/gateway.test.js`` (reference-cu.md §2.4):
load and cache, serve the cache, follow a redirect, use the hint, use the cached owner; the
errors for a missing process, ``Scheduler`` tag, ``Url`` or ``Time-To-Live``. Adds TTL expiry
on an injected wall clock, single-flight, and the optional su-router probe.
"""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest
import trio

from aocu.clients import (
    ClientsConfig,
    HttpSchedulerLocator,
    InvalidSchedulerLocationError,
    MemorySchedulerLocationStore,
    SchedulerLocation,
    SchedulerTagNotFoundError,
    TransactionNotFoundError,
    UpstreamDataError,
)
from aocu.clients._locator import ROUTER_TTL_MS, trim_slash

from .conftest import GW, PID, FakeUpstream, json_response

SCHEDULER = "scheduler-wallet"
TWO_DAYS_MS = 1000 * 60 * 60 * 48


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def gql(edges: list[dict[str, Any]]) -> httpx.Response:
    return json_response({"data": {"transactions": {"edges": edges}}})


def tags_node(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {"node": {"tags": [{"name": n, "value": v} for n, v in pairs]}}


class Gateway(FakeUpstream):
    """A gateway answering GetTransactions / GetSchedulerLocation, plus SU hosts for the redirect check."""

    def __init__(self) -> None:
        super().__init__()
        self.process_tags: dict[str, list[tuple[str, str]]] = {PID: [("Scheduler", SCHEDULER), ("Type", "Process")]}
        self.locations: dict[str, list[tuple[str, str]]] = {
            SCHEDULER: [("Url", "https://su.test/"), ("Time-To-Live", str(TWO_DAYS_MS))]
        }
        self.queries: list[tuple[str, dict[str, Any]]] = []
        self.su_answer: httpx.Response = json_response({"ok": True})
        self.gate: trio.Event | None = None

    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        if self.gate is not None:
            await self.gate.wait()
        if request.url.host == "router.test":
            return self.handle(request)  # the routes table, recorded
        self.requests.append(request)
        if request.url.host == "gw.test" and request.url.path == "/graphql":
            body = json.loads(request.content)
            query, variables = body["query"], body["variables"]
            name = "GetTransactions" if "GetTransactions" in query else "GetSchedulerLocation"
            self.queries.append((name, variables))
            if name == "GetTransactions":
                tags = self.process_tags.get(variables["transactionIds"][0])
            else:
                tags = self.locations.get(variables["owner"])
            return gql([] if tags is None else [tags_node(*tags)])
        answer = self.su_answer  # an SU's GET /?process-id
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.ahandle), follow_redirects=True)

    def names(self) -> list[str]:
        return [n for n, _ in self.queries]


def make(gw: Gateway, config: ClientsConfig, clock: Clock | None = None, **kw: Any) -> HttpSchedulerLocator:
    return HttpSchedulerLocator(gw.client(), config, clock=clock or Clock(), rng=random.Random(0), **kw)


async def test_locates_through_the_process_scheduler_tag_and_caches(config) -> None:
    gw = Gateway()
    locator = make(gw, config)
    location = await locator.locate(PID)
    assert location == SchedulerLocation(url="https://su.test", address=SCHEDULER, ttl_ms=TWO_DAYS_MS)
    assert gw.queries == [
        ("GetTransactions", {"transactionIds": [PID]}),
        ("GetSchedulerLocation", {"owner": SCHEDULER}),
    ]
    redirect_check = gw.requests[-1]
    assert (redirect_check.url.host, redirect_check.url.raw_path) == ("su.test", b"/?process-id=process-123")
    assert await locator.locate(PID) == location
    assert len(gw.requests) == 3  # served from the cache


async def test_the_cache_expires_after_the_ttl(config) -> None:
    gw, clock = Gateway(), Clock()
    gw.locations[SCHEDULER] = [("Url", "https://su.test"), ("Time-To-Live", "60000")]
    locator = make(gw, config, clock)
    await locator.locate(PID)
    clock.now += 59.9
    await locator.locate(PID)
    assert gw.names() == ["GetTransactions", "GetSchedulerLocation"]
    clock.now += 0.2
    await locator.locate(PID)
    assert gw.names() == ["GetTransactions", "GetSchedulerLocation"] * 2


async def test_a_redirect_is_followed_and_its_origin_cached(config) -> None:
    gw = Gateway()
    gw.su_answer = httpx.Response(307, headers={"location": "https://su-2.test/?process-id=process-123"})
    locator = make(gw, config)
    assert (await locator.locate(PID)).url == "https://su-2.test"
    assert (await locator.locate(PID)).url == "https://su-2.test"
    assert len(gw.requests) == 3


async def test_the_hint_skips_the_process_query(config) -> None:
    gw = Gateway()
    location = await make(gw, config).locate(PID, SCHEDULER)
    assert location.url == "https://su.test" and location.address == SCHEDULER
    assert gw.names() == ["GetSchedulerLocation"]


async def test_the_hint_uses_the_cached_owner(config) -> None:
    gw = Gateway()
    locator = make(gw, config)
    await locator.locate("other-process", SCHEDULER)
    await locator.locate(PID, SCHEDULER)
    assert gw.names() == ["GetSchedulerLocation"]
    assert len(gw.calls("GET")) == 2  # one redirect check per process


async def test_the_store_is_pluggable_and_shared(config) -> None:
    store = MemorySchedulerLocationStore()
    await make(Gateway(), config, store=store).locate(PID)
    gw2 = Gateway()
    assert (await make(gw2, config, store=store).locate(PID)).address == SCHEDULER
    assert gw2.requests == []
    assert {k for k, _ in store.entries} == {"process", "owner"}


async def test_forget_drops_the_process_entry(config) -> None:
    gw = Gateway()
    locator = make(gw, config)
    await locator.locate(PID)
    await locator.forget(PID)
    await locator.locate(PID)
    # The owner's entry survives; the process → owner link does not, so the process is queried again.
    assert gw.names() == ["GetTransactions", "GetSchedulerLocation", "GetTransactions"]


async def test_memory_store_is_an_lru(config) -> None:
    store = MemorySchedulerLocationStore(max_entries=2)
    gw = Gateway()
    gw.process_tags = {f"p{i}": [("Scheduler", SCHEDULER)] for i in range(3)}
    locator = make(gw, config, store=store)
    for pid in ("p0", "p1", "p2"):
        await locator.locate(pid)
    assert len(store.entries) == 2


async def test_missing_process_is_transaction_not_found(config) -> None:
    gw = Gateway()
    with pytest.raises(TransactionNotFoundError) as info:
        await make(gw, config).locate("unknown")
    assert info.value.reference_text == "TransactionNotFound: Process unknown was not found on gateway"


async def test_missing_scheduler_tag(config) -> None:
    gw = Gateway()
    gw.process_tags[PID] = [("Type", "Process"), ("scheduler", "lowercase-does-not-count")]
    with pytest.raises(SchedulerTagNotFoundError) as info:
        await make(gw, config).locate(PID)
    assert info.value.reference_text == 'SchedulerTagNotFound: No "Scheduler" tag found on process'


async def test_missing_scheduler_location(config) -> None:
    gw = Gateway()
    gw.locations = {}
    with pytest.raises(TransactionNotFoundError, match="Could not find 'Scheduler-Location' owner by wallet"):
        await make(gw, config).locate(PID)


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ([("Time-To-Live", "1000")], 'No "Url" tag found on Scheduler-Location'),
        ([("Url", "https://su.test")], 'No "Time-To-Live" tag found on Scheduler-Location'),
        ([("Url", "https://su.test"), ("Time-To-Live", "soon")], "\"Time-To-Live\" 'soon'"),
    ],
)
async def test_invalid_scheduler_location(config, tags, message) -> None:
    gw = Gateway()
    gw.locations[SCHEDULER] = tags
    with pytest.raises(InvalidSchedulerLocationError, match=message):
        await make(gw, config).locate(PID)


async def test_a_zero_ttl_is_not_cached(config) -> None:
    gw = Gateway()
    gw.locations[SCHEDULER] = [("Url", "https://su.test"), ("Time-To-Live", "0")]
    locator = make(gw, config)
    await locator.locate(PID)
    await locator.locate(PID)
    assert gw.names().count("GetTransactions") == 2


async def test_graphql_failures_are_retried_like_scheduler_utils(config, autojump_clock) -> None:
    gw = Gateway()
    calls = 0
    original = gw.ahandle

    async def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        if request.url.path == "/graphql" and calls < 2:
            calls += 1
            return (
                json_response({"errors": [{"message": "timeout"}], "data": None})
                if calls == 1
                else json_response({}, 503)
            )
        return await original(request)

    locator = HttpSchedulerLocator(httpx.AsyncClient(transport=httpx.MockTransport(flaky)), config, clock=Clock())
    start = trio.current_time()
    assert (await locator.locate(PID)).address == SCHEDULER
    assert trio.current_time() - start == pytest.approx(0.3 + 0.6)


async def test_malformed_graphql_answer_is_a_data_error(config) -> None:
    up = FakeUpstream().route("POST", "/graphql", json_response({"data": {"transactions": {"edges": [{"node": 3}]}}}))
    locator = HttpSchedulerLocator(up.client(), config, clock=Clock())
    with pytest.raises(UpstreamDataError, match=r"edges\[0\].node: expected an object"):
        await locator.locate(PID)


async def test_concurrent_lookups_share_one_flight(config) -> None:
    gw = Gateway()
    gw.gate = trio.Event()
    locator = make(gw, config)
    results: list[SchedulerLocation] = []

    async def one() -> None:
        results.append(await locator.locate(PID))

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(one)
        await trio.testing.wait_all_tasks_blocked()
        gw.gate.set()
    assert len(results) == 5 and len(set(results)) == 1
    assert gw.names() == ["GetTransactions", "GetSchedulerLocation"]


async def test_concurrent_lookups_share_the_error(config) -> None:
    gw = Gateway()
    gw.gate = trio.Event()
    errors: list[BaseException] = []
    locator = make(gw, config)

    async def one() -> None:
        try:
            await locator.locate("unknown")
        except TransactionNotFoundError as exc:
            errors.append(exc)

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(one)
        await trio.testing.wait_all_tasks_blocked()
        gw.gate.set()
    assert len(errors) == 3
    assert gw.names() == ["GetTransactions"]


async def test_router_probe_is_off_by_default(config) -> None:
    gw = Gateway()
    await make(gw, config).locate(PID)
    assert all(r.url.host in ("gw.test", "su.test") for r in gw.requests)


async def test_router_probe_answers_first_when_configured(config) -> None:
    gw = Gateway()
    gw.route("GET", "/", json_response({"address": "router-su"}))
    routed = config.replace(su_router_url="http://router.test")
    location = await make(gw, routed).locate(PID)
    assert location == SchedulerLocation(url="http://router.test", address="router-su", ttl_ms=ROUTER_TTL_MS)
    assert gw.queries == []
    assert gw.requests[0].url.host == "router.test"
    assert gw.requests[0].url.raw_path == b"/?process-id=process-123"


async def test_router_probe_falls_back_to_the_gateway(config) -> None:
    gw = Gateway()
    gw.route("GET", "/", json_response({"error": "unknown"}, 404))
    location = await make(gw, config.replace(su_router_url="http://router.test")).locate(PID)
    assert location.address == SCHEDULER
    assert gw.names() == ["GetTransactions", "GetSchedulerLocation"]


def test_trim_slash() -> None:
    assert trim_slash(" https://su.test/// ") == "https://su.test"
    assert trim_slash("https://su.test") == "https://su.test"


def test_gateway_url_is_the_graphql_url() -> None:
    assert ClientsConfig.from_env({"GATEWAY_URL": GW}).graphql_url == f"{GW}/graphql"
