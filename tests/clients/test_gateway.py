"""The gateway client (aocu/clients/_gateway.py) on a MockTransport gateway.

Mirrors ``arweave.test.js`` (reference-cu.md §7.16: GetProcesses variables, ``/raw`` URLs with a
query on ARWEAVE_URL) and ``ao-block.test.js`` (§7.11: paging, five attempts rotating through
GRAPHQL_URLS, the circuit breaker's open/close/volume/error-rate behaviour), plus the checkpoint
query strategy of ``ao-process.js`` (§7.14: default gateway twice, then the checkpoint gateway).
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from aocu.clients import (
    Block,
    CircuitBreaker,
    CircuitOpenError,
    ClientsConfig,
    HttpGatewayClient,
    NotFoundError,
    Owner,
    ResponseTooLargeError,
    RetryPolicy,
    Tag,
    UpstreamConnectionError,
    UpstreamDataError,
    UpstreamSequenceError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from aocu.clients._gateway import BREAKER_OPEN_MESSAGE

from .conftest import GW, PID, FakeUpstream, json_response


def make(up: FakeUpstream, config: ClientsConfig, **kw: Any) -> HttpGatewayClient:
    return HttpGatewayClient(up.client(), config, rng=random.Random(0), **kw)


def body_of(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content)


def tx_edges(*nodes: dict[str, Any]) -> httpx.Response:
    return json_response({"data": {"transactions": {"edges": [{"node": n} for n in nodes]}}})


MODULE_NODE = {
    "id": "module-123",
    "signature": "sig",
    "anchor": None,
    "owner": {"address": "owner-address", "key": "owner-key"},
    "tags": [{"name": "Module-Format", "value": "wasm32-unknown-emscripten"}],
    "recipient": "",
}


# --- transaction metadata ---------------------------------------------------------------


async def test_load_transaction_meta_sends_the_reference_variables(config, upstream) -> None:
    upstream.route("POST", "/graphql", tx_edges(MODULE_NODE))
    meta = await make(upstream, config).load_transaction_meta("module-123")
    request = upstream.requests[0]
    assert str(request.url) == f"{GW}/graphql"
    assert request.headers["content-type"] == "application/json"
    body = body_of(request)
    assert body["variables"] == {
        "processIds": ["module-123"],
        "skipTags": False,
        "skipAnchor": False,
        "skipSignature": False,
    }
    assert "query GetProcesses" in body["query"] and "@skip(if: $skipTags)" in body["query"]
    assert meta.id == "module-123" and meta.owner == Owner("owner-address", "owner-key")
    assert meta.tags == (Tag("Module-Format", "wasm32-unknown-emscripten"),)
    assert (meta.signature, meta.anchor, meta.recipient) == ("sig", None, "")


async def test_load_transaction_meta_skips_fields(config, upstream) -> None:
    node = {k: v for k, v in MODULE_NODE.items() if k not in ("signature", "tags")}
    upstream.route("POST", "/graphql", tx_edges(node))
    meta = await make(upstream, config).load_transaction_meta("module-123", skip_signature=True, skip_tags=True)
    assert body_of(upstream.requests[0])["variables"]["skipSignature"] is True
    assert meta.signature is None and meta.tags == ()


async def test_load_transaction_meta_not_found(config, upstream) -> None:
    upstream.route("POST", "/graphql", tx_edges())
    with pytest.raises(NotFoundError) as info:
        await make(upstream, config).load_transaction_meta("nope")
    assert info.value.reference_text == "Gateway returned no transaction for 'nope'"
    assert len(upstream.requests) == 1


async def test_load_transaction_meta_needs_the_owner_key(config, upstream) -> None:
    upstream.route("POST", "/graphql", tx_edges({**MODULE_NODE, "owner": {"address": "a"}}))
    with pytest.raises(UpstreamDataError, match=r"edges\[0\].node.owner.key: expected a string"):
        await make(upstream, config).load_transaction_meta("module-123")


async def test_graphql_errors_without_data_are_retried(config, upstream, autojump_clock) -> None:
    upstream.route(
        "POST",
        "/graphql",
        json_response({"errors": [{"message": "resolver timeout"}]}),
        tx_edges(MODULE_NODE),
    )
    assert (await make(upstream, config).load_transaction_meta("module-123")).id == "module-123"
    assert len(upstream.requests) == 2


# --- checkpoints --------------------------------------------------------------------------


def checkpoint_node(nonce: str, **tags: str) -> dict[str, Any]:
    pairs = {
        "Process": PID,
        "Nonce": nonce,
        "Timestamp": "1700000000000",
        "Epoch": "0",
        "Block-Height": "000001500000",
        "Module": "module-123",
        "Assignment": "assignment-1",
        "Hash-Chain": "hc",
        "Content-Encoding": "gzip",
        "Type": "Checkpoint",
        **tags,
    }
    return {
        "id": f"checkpoint-{nonce}",
        "owner": {"address": "cu-wallet"},
        "tags": [{"name": k, "value": v} for k, v in pairs.items()],
    }


async def test_query_checkpoints_parses_tags(config, upstream) -> None:
    upstream.route("POST", "/graphql", tx_edges(checkpoint_node("12"), checkpoint_node("undefined", Epoch="x")))
    first, second = await make(upstream, config).query_checkpoints(PID, ["cu-wallet"])
    assert body_of(upstream.requests[0])["variables"] == {
        "owners": ["cu-wallet"],
        "processId": PID,
        "limit": 50,
    }
    assert (first.id, first.owner_address, first.process_id) == ("checkpoint-12", "cu-wallet", PID)
    assert (first.nonce, first.ordinate, first.epoch, first.timestamp, first.block_height) == (
        12,
        "12",
        0,
        1700000000000,
        1500000,
    )
    assert (first.module_id, first.assignment_id, first.hash_chain, first.content_encoding, first.cron) == (
        "module-123",
        "assignment-1",
        "hc",
        "gzip",
        None,
    )
    assert (second.nonce, second.ordinate, second.epoch) == (None, "undefined", None)


async def test_query_checkpoints_falls_back_to_the_checkpoint_gateway(upstream, autojump_clock) -> None:
    config = ClientsConfig.from_env({"GATEWAY_URL": GW, "CHECKPOINT_GRAPHQL_URL": "http://ckpt.test/graphql"})
    upstream.route("POST", "/graphql", json_response({"error": "bad"}, 400))
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if request.url.host == "ckpt.test":
            return tx_edges(checkpoint_node("3"))
        return upstream.handle(request)

    client = HttpGatewayClient(httpx.AsyncClient(transport=httpx.MockTransport(handler)), config)
    (record,) = await client.query_checkpoints(PID, ["a", "b"])
    assert record.nonce == 3
    assert seen == ["gw.test", "gw.test", "ckpt.test"]


async def test_query_checkpoints_raises_the_last_error(config, upstream) -> None:
    upstream.route("POST", "/graphql", json_response({"error": "bad"}, 400))
    with pytest.raises(UpstreamStatusError, match="HTTP 400"):
        await make(upstream, config).query_checkpoints(PID, ["a"])
    assert len(upstream.requests) == 3


async def test_find_checkpoint(config, upstream) -> None:
    upstream.route("POST", "/graphql", tx_edges(checkpoint_node("7", **{"Cron-Interval": "0-1-minute"})), tx_edges())
    client = make(upstream, config)
    found = await client.find_checkpoint(
        owner="w", process_id=PID, timestamp=1700000000000, nonce="7", cron="0-1-minute"
    )
    assert found is not None and found.cron == "0-1-minute"
    body = body_of(upstream.requests[0])
    assert body["variables"] == {
        "owner": "w",
        "processId": PID,
        "timestamp": "1700000000000",
        "nonce": "7",
        "cron": "0-1-minute",
    }
    assert '"Cron-Interval"' in body["query"]
    assert await client.find_checkpoint(owner="w", process_id=PID, timestamp=1, nonce="1") is None
    assert '"Cron-Interval"' not in body_of(upstream.requests[1])["query"]


# --- blocks -------------------------------------------------------------------------------

BASE_HEIGHT = 1276343
BASE_SECONDS = 1696627369


def blocks_handler(total: int, *, fail: set[int] | None = None) -> tuple[list[httpx.Request], Any]:
    """A chain of ``total`` blocks from BASE_HEIGHT, 120 s apart; requests numbered in ``fail`` get a 502."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if fail is not None and len(requests) - 1 in fail:
            return json_response({}, 502)
        variables = body_of(request)["variables"]
        start, limit = variables["min"], variables["limit"]
        heights = [h for h in range(start, start + limit) if h < BASE_HEIGHT + total]
        edges = [{"node": {"height": h, "timestamp": BASE_SECONDS + (h - BASE_HEIGHT) * 120}} for h in heights]
        more = bool(heights) and heights[-1] < BASE_HEIGHT + total - 1
        return json_response({"data": {"blocks": {"pageInfo": {"hasNextPage": more}, "edges": edges}}})

    return requests, handler


def blocks_client(config: ClientsConfig, handler: Any, **kw: Any) -> HttpGatewayClient:
    return HttpGatewayClient(httpx.AsyncClient(transport=httpx.MockTransport(handler)), config, **kw)


async def test_load_blocks_pages_until_the_max_timestamp(config) -> None:
    requests, handler = blocks_handler(200)
    client = blocks_client(config.replace(blocks_page_size=17), handler)
    max_ts = (BASE_SECONDS + 50 * 120) * 1000 + 999  # block 50's second, ms rounded down
    blocks = await client.load_blocks(BASE_HEIGHT, max_ts)
    assert len(blocks) == 51 and len({b.height for b in blocks}) == 51
    assert blocks[0] == Block(BASE_HEIGHT, BASE_SECONDS * 1000)
    assert [body_of(r)["variables"]["min"] for r in requests] == [BASE_HEIGHT + 17 * i for i in range(4)]
    assert all(body_of(r)["variables"]["limit"] == 17 for r in requests)
    assert "query GetBlocks" in body_of(requests[0])["query"]


async def test_load_blocks_stops_without_a_next_page(config) -> None:
    _, handler = blocks_handler(10)
    blocks = await blocks_client(config, handler).load_blocks(BASE_HEIGHT + 3, 10**15)
    assert [b.height for b in blocks] == list(range(BASE_HEIGHT + 3, BASE_HEIGHT + 10))


async def test_load_blocks_tries_five_times_rotating_urls(config, autojump_clock) -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(str(request.url))
        raise httpx.ConnectError("Fetch error!")

    with pytest.raises(UpstreamConnectionError, match="Fetch error!") as info:
        await blocks_client(config, handler).load_blocks(BASE_HEIGHT, 1696633559000)
    assert info.value.attempts == 5
    assert hosts == [f"{GW}/graphql", f"{GW}/graphql2"] * 2 + [f"{GW}/graphql"]


async def test_load_blocks_refuses_heights_that_go_back(config) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        edges = [{"node": {"height": h, "timestamp": 1}} for h in (5, 4)]
        return json_response({"data": {"blocks": {"pageInfo": {"hasNextPage": False}, "edges": edges}}})

    with pytest.raises(UpstreamSequenceError, match="height 4 after 5"):
        await blocks_client(config, handler).load_blocks(1, 10**15)


async def test_load_blocks_refuses_an_empty_page_claiming_more(config) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return json_response({"data": {"blocks": {"pageInfo": {"hasNextPage": True}, "edges": []}}})

    with pytest.raises(UpstreamSequenceError, match="gave no blocks"):
        await blocks_client(config, handler).load_blocks(1, 10**15)


async def test_the_breaker_opens_on_failure_and_closes_after_the_reset(config, autojump_clock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Fetch error!")

    client = blocks_client(config, handler, breaker=CircuitBreaker(volume_threshold=0, reset_s=1.0))
    with pytest.raises(UpstreamConnectionError, match="Fetch error!"):
        await client.load_blocks(BASE_HEIGHT, 1696633559000)
    with pytest.raises(CircuitOpenError) as info:
        await client.load_blocks(BASE_HEIGHT, 1696633559000)
    assert info.value.reference_text == BREAKER_OPEN_MESSAGE
    await trio.sleep(1.5)
    with pytest.raises(UpstreamConnectionError, match="Fetch error!"):
        await client.load_blocks(BASE_HEIGHT, 1696633559000)


async def test_a_successful_trial_closes_the_breaker(config, autojump_clock) -> None:
    failing = True
    _, good = blocks_handler(3)

    def handler(request: httpx.Request) -> httpx.Response:
        if failing:
            raise httpx.ConnectError("Fetch error!")
        return good(request)

    breaker = CircuitBreaker(volume_threshold=0, reset_s=1.0)
    client = blocks_client(config, handler, breaker=breaker)
    with pytest.raises(UpstreamConnectionError):
        await client.load_blocks(BASE_HEIGHT, 10**15)
    assert breaker.state == "open"
    await trio.sleep(1.5)
    failing = False
    assert len(await client.load_blocks(BASE_HEIGHT, 10**15)) == 3
    assert breaker.state == "closed"


async def test_the_breaker_stays_closed_below_the_volume_threshold(config, autojump_clock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Fetch error!")

    client = blocks_client(config, handler, breaker=CircuitBreaker(volume_threshold=20, reset_s=1.0))
    for _ in range(4):
        with pytest.raises(UpstreamConnectionError, match="Fetch error!"):
            await client.load_blocks(BASE_HEIGHT, 1696633559000)


async def test_the_breaker_stays_closed_below_the_error_rate(config, autojump_clock) -> None:
    # ao-block.test.js: every 8 calls, 3 succeed and 5 fail: each failing page uses 5 attempts,
    # so 8 loads give 6 successes and 2 errors, and 25 % errors never open the breaker.
    count = -1
    edges = [{"node": {"height": h, "timestamp": 1696632214 + h}} for h in range(1276377, 1276383)]

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal count
        count += 1
        if count % 8 >= 3:
            return json_response({}, 500)
        return json_response({"data": {"blocks": {"pageInfo": {"hasNextPage": False}, "edges": edges}}})

    client = blocks_client(config.replace(blocks_page_size=5), handler)
    outcomes = []
    for _ in range(8):
        try:
            await client.load_blocks(BASE_HEIGHT, 1696633559000)
            outcomes.append("ok")
        except UpstreamStatusError:
            outcomes.append("error")
    assert outcomes.count("ok") == 6 and outcomes.count("error") == 2


# --- /raw ---------------------------------------------------------------------------------


async def test_load_transaction_data(config, upstream, autojump_clock) -> None:
    upstream.route("GET", f"/raw/{PID}", json_response({}, 502), httpx.Response(200, content=b"process data"))
    assert await make(upstream, config).load_transaction_data(PID) == b"process data"
    assert str(upstream.requests[-1].url) == f"{GW}/raw/{PID}"


async def test_a_query_on_arweave_url_stays_after_the_path(config, upstream) -> None:
    upstream.route("GET", f"/raw/{PID}", httpx.Response(200, content=b"x"))
    client = make(upstream, config.replace(arweave_url=f"{GW}?foo=bar"))
    await client.load_transaction_data(PID)
    assert str(upstream.requests[0].url) == f"{GW}/raw/{PID}?foo=bar"


async def test_load_transaction_data_is_bounded(config, upstream) -> None:
    upstream.route("GET", "/raw/big", httpx.Response(200, content=b"x" * 2000))
    with pytest.raises(ResponseTooLargeError, match="exceeds the 1000-byte limit"):
        await make(upstream, config).load_transaction_data("big", max_bytes=1000)


def names(folder: Path) -> list[str]:
    """The files in ``folder`` (sync: tiny test directories)."""
    return sorted(p.name for p in folder.iterdir())


class Chunks(httpx.AsyncByteStream):
    """A body in pieces, optionally failing after ``fail_after`` pieces like a reset connection."""

    def __init__(self, chunks: list[bytes], fail_after: int | None = None) -> None:
        self.chunks = chunks
        self.fail_after = fail_after

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i, chunk in enumerate(self.chunks):
            if self.fail_after is not None and i == self.fail_after:
                raise httpx.ReadError("connection reset by peer")
            yield chunk


async def test_download_streams_to_the_file(config, tmp_path: Path) -> None:
    payload = [bytes([i]) * 100_000 for i in range(20)]
    client = HttpGatewayClient(
        httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, stream=Chunks(payload)))),
        config,
    )
    dest = tmp_path / "module.wasm"
    assert await client.download_transaction_data("module-123", dest) == 2_000_000
    assert dest.read_bytes() == b"".join(payload)
    assert names(tmp_path) == ["module.wasm"]


# File writes go through worker threads (trio.open_file), which the autojump clock would race:
# these use real time with short retry delays instead.
FAST = RetryPolicy(max_retries=5, initial_delay_s=0.001, jitter=0)


async def test_download_restarts_after_a_mid_body_reset(config, tmp_path: Path) -> None:
    payload = [b"a" * 1000, b"b" * 1000, b"c" * 1000]
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, stream=Chunks(payload, fail_after=2 if calls == 1 else None))

    client = HttpGatewayClient(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)), config.replace(gateway_retry=FAST)
    )
    dest = tmp_path / "m.wasm"
    assert await client.download_transaction_data("m", dest) == 3000
    assert dest.read_bytes() == b"".join(payload) and calls == 2


async def test_download_leaves_nothing_behind_on_failure(config, tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Chunks([b"a" * 1000, b"b"], fail_after=1))

    client = HttpGatewayClient(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)), config.replace(gateway_retry=FAST)
    )
    with pytest.raises(UpstreamConnectionError, match="connection reset by peer"):
        await client.download_transaction_data("m", tmp_path / "m.wasm")
    assert names(tmp_path) == []


async def test_download_is_bounded_by_declared_and_actual_size(config, tmp_path: Path) -> None:
    declared = FakeUpstream().route("GET", "/raw/m", httpx.Response(200, content=b"x" * 5000))
    with pytest.raises(ResponseTooLargeError, match="body of 5000 bytes exceeds the 4096-byte limit"):
        await make(declared, config).download_transaction_data("m", tmp_path / "m", max_bytes=4096)

    streamed = HttpGatewayClient(
        httpx.AsyncClient(
            transport=httpx.MockTransport(lambda r: httpx.Response(200, stream=Chunks([b"x" * 3000, b"y" * 3000])))
        ),
        config,
    )
    with pytest.raises(ResponseTooLargeError, match="body exceeds the 4096-byte limit"):
        await streamed.download_transaction_data("m", tmp_path / "m", max_bytes=4096)
    assert names(tmp_path) == []


async def test_download_errors_name_the_upstream(config, upstream, tmp_path: Path) -> None:
    upstream.route("GET", "/raw/m", httpx.Response(404, text="Not Found"))
    with pytest.raises(NotFoundError) as info:
        await make(upstream, config).download_transaction_data("m", tmp_path / "m")
    assert str(info.value) == f"arweave GET {GW}/raw/m: HTTP 404: Not Found"


async def test_a_hung_blocks_page_times_out_like_the_breaker(config, autojump_clock) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await trio.sleep_forever()
        raise AssertionError

    breaker = CircuitBreaker(volume_threshold=0)
    client = HttpGatewayClient(httpx.AsyncClient(transport=httpx.MockTransport(hang)), config, breaker=breaker)
    start = trio.current_time()
    with pytest.raises(UpstreamTimeoutError, match="no answer within 10 s"):
        await client.load_blocks(BASE_HEIGHT, 10**15)
    assert trio.current_time() - start == pytest.approx(10.0)
    assert breaker.state == "open"  # a timeout counts as a failure, as in opossum


async def test_graphql_queries_are_counted_where_the_reference_counts_them(config, upstream, autojump_clock) -> None:
    counted: list[tuple[str, str]] = []
    upstream.route("POST", "/graphql", tx_edges(MODULE_NODE), tx_edges(), tx_edges(), tx_edges())
    client = make(upstream, config, on_query=lambda name, result: counted.append((name, result)))
    await client.load_transaction_meta("module-123")
    with pytest.raises(NotFoundError):
        await client.load_transaction_meta("nope")
    await client.query_checkpoints(PID, ["w"])
    await client.find_checkpoint(owner="w", process_id=PID, timestamp=1, nonce="1")
    assert counted == [("GetTransactionMeta", "success"), ("GetTransactionMeta", "error"),
                       ("GetAoProcessCheckpoints", "success"), ("GetAoProcessCheckpoints", "success")]
    counted.clear()
    _, handler = blocks_handler(10, fail={0})          # a 502 then the page: each answer counted
    blocks = blocks_client(config, handler, on_query=lambda name, result: counted.append((name, result)))
    await blocks.load_blocks(BASE_HEIGHT, 10**15)
    assert counted == [("GetBlocks", "error"), ("GetBlocks", "success")]
