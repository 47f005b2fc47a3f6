"""Shared fakes for the upstream-client tests.

House rules: no network (``httpx.MockTransport`` here; the devnet tests use loopback only),
``autojump_clock`` for anything timed, assertions on what the fake upstream recorded rather than
on mocks. `FakeUpstream` is a route table: each route answers with a queue of responses (the last
one repeats), where an exception instance is raised instead, as a transport failure would be.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest

from aocu.clients import ClientsConfig, RetryPolicy

SU = "http://su.test"
GW = "http://gw.test"
PID = "process-123"

Responder = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeUpstream:
    """``(method, path)`` → queued responders; every request is recorded in ``requests``."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Responder]] = {}
        self.requests: list[httpx.Request] = []

    def route(self, method: str, path: str, *responders: Responder) -> FakeUpstream:
        self.routes[(method, path)] = list(responders)
        return self

    def calls(self, method: str | None = None, path: str | None = None) -> list[httpx.Request]:
        return [
            r for r in self.requests if (method is None or r.method == method) and (path is None or r.url.path == path)
        ]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.routes.get((request.method, request.url.path))
        if not queue:
            return httpx.Response(404, json={"error": f"no route {request.method} {request.url.path}"})
        responder = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(responder, Exception):
            raise responder
        if callable(responder) and not isinstance(responder, httpx.Response):
            return responder(request)
        # A Response can be read once; hand out a copy each time.
        return httpx.Response(responder.status_code, headers=responder.headers, content=responder.content)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport(), follow_redirects=True)


def no_jitter(config: ClientsConfig) -> ClientsConfig:
    """The config with jitter off, so backoff waits are exact (0.5, 1, 2, 4, 8 s)."""
    return config.replace(
        su_retry=RetryPolicy(5, 0.5, jitter=0),
        gateway_retry=RetryPolicy(5, 0.5, jitter=0),
        locator_retry=RetryPolicy(5, 0.3, jitter=0),
        blocks_retry=RetryPolicy(4, 0.3, jitter=0),
    )


@pytest.fixture
def config() -> ClientsConfig:
    return no_jitter(ClientsConfig.from_env({"GATEWAY_URL": GW, "GRAPHQL_URLS": f"{GW}/graphql,{GW}/graphql2"}))


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def rng() -> random.Random:
    return random.Random(1234)


# --- SU response builders (shapes from upstream.md §1 and servers/su json.rs) -------------


def tag_list(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in pairs]


def assignment(
    nonce: int,
    timestamp: int,
    *,
    pid: str = PID,
    epoch: int = 0,
    height: int = 1500000,
    hash_chain: str | None = "hash-chain",
    message: str | None = None,
    exclude: Iterable[str] = (),
    extra: Iterable[tuple[str, str]] = (),
) -> dict[str, Any]:
    pairs = [("Process", pid), ("Epoch", str(epoch)), ("Nonce", str(nonce))]
    if hash_chain is not None:
        pairs.append(("Hash-Chain", hash_chain))
    pairs += [("Block-Height", f"{height:012d}"), ("Timestamp", str(timestamp))]
    if message is not None:
        pairs.append(("Message", message))
    pairs += [("Exclude", e) for e in exclude]
    pairs += list(extra)
    return {
        "id": f"assignment-{nonce}",
        "owner": {"address": "su-address", "key": "su-key"},
        "tags": tag_list(pairs),
        "signature": "su-sig",
        "anchor": None,
        "target": "",
    }


def message(msg_id: str, *, pid: str = PID, data: str | None = "data", tags: Iterable[tuple[str, str]] = ()) -> dict:
    return {
        "id": msg_id,
        "owner": {"address": "owner-address", "key": "owner-key"},
        "data": data,
        "tags": tag_list(tags),
        "signature": f"sig-{msg_id}",
        "anchor": None,
        "target": pid,
    }


def edge(nonce: int, timestamp: int | None = None, *, assigned: str | None = None, **kw: Any) -> dict[str, Any]:
    """A current-format edge; ``assigned`` makes it a pure assignment of that transaction."""
    ts = timestamp if timestamp is not None else 1700000000000 + nonce * 1000
    msg = None if assigned is not None else message(f"message-{nonce}")
    return {
        "cursor": str(ts),
        "node": {"message": msg, "assignment": assignment(nonce, ts, message=assigned, **kw)},
    }


def legacy_edge(nonce: int, timestamp: int | None = None, *, pid: str = PID) -> dict[str, Any]:
    """The SU's node shape before 2024-04 (sequencing fields on the node)."""
    ts = timestamp if timestamp is not None else 1700000000000 + nonce * 1000
    return {
        "cursor": str(ts),
        "node": {
            "message": {
                "id": f"message-{nonce}",
                "signature": f"sig-{nonce}",
                "anchor": None,
                "tags": tag_list([("Foo", "Bar")]),
            },
            "owner": {"address": "owner-address", "key": "owner-key"},
            "data": "legacy-data",
            "process_id": pid,
            "epoch": 0,
            "nonce": nonce,
            "timestamp": ts,
            "block": "000001500000",
            "hash_chain": "hash-chain",
        },
    }


def page(edges: list[dict[str, Any]], has_next: bool = False) -> dict[str, Any]:
    return {"page_info": {"has_next_page": has_next}, "edges": edges}


def json_response(body: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"content-type": "application/json", **headers}
    )
