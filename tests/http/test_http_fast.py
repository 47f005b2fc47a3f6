"""The ``/result`` fast path (aocu/http/_fast.py) answers exactly as the Quart route would.

Every case asks the same request twice over one app: once through Quart alone, once through
`ResultFastPath` in front of it (one `Routes`, so one cache), and compares status, headers in
order and body; a counting wrapper tells which requests the fast path answered itself. The last
test does the same over real sockets, with and without the fast path in `serve_http`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import trio

from aocu.config import HttpConfig
from aocu.http import ServiceMetrics, make_app
from aocu.http._fast import ResultFastPath
from aocu.http._routes import Routes
from aocu.testing import FakeComputeUnitApi, open_test_client

PID = "process-" + "p" * 35
MID = "message-" + "m" * 35
RESULT = {"Messages": [{"Target": "x", "Tags": []}], "Spawns": [], "Output": {"data": "h\u00e9llo"}, "GasUsed": 7}

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


@dataclass
class Counting:
    """An ASGI app that counts the requests it is given, then lets Quart answer them."""

    app: Any
    calls: list[str] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls.append(scope["path"])
        await self.app(scope, receive, send)


@dataclass
class Paths:
    quart: Any
    fast: ResultFastPath
    inner: Counting
    routes: Routes


@asynccontextmanager
async def both_paths(fake: FakeComputeUnitApi, config: HttpConfig | None = None, *,
                     metrics: ServiceMetrics | None = None) -> AsyncIterator[Paths]:
    app = make_app(fake, config or HttpConfig(), metrics=metrics)
    routes: Routes = app.extensions["aocu.routes"]
    inner = Counting(app)
    async with app.test_app():          # Quart's startup; requests then go through its ASGI callable
        yield Paths(app, ResultFastPath(inner, routes), inner, routes)


async def ask(app: Any, path: str, query: bytes = b"", method: str = "GET") -> Answer:
    """One request through an ASGI app: (status, headers in order, body)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
             "root_path": "", "headers": [(b"host", b"cu.test"), (b"user-agent", b"test")],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 6363), "extensions": {}}
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with trio.fail_after(10):
        await app(scope, receive, send)
    start = sent[0]
    assert start["type"] == "http.response.start"
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert sent[-1]["type"] == "http.response.body" and not sent[-1].get("more_body", False)
    return start["status"], [(bytes(n), bytes(v)) for n, v in start["headers"]], body


async def same_answer(paths: Paths, path: str, query: bytes = b"", method: str = "GET") -> tuple[Answer, bool]:
    """Quart's answer, after checking the fast path gives the same; and whether the fast path served it."""
    through_quart = await ask(paths.quart, path, query, method)
    before = len(paths.inner.calls)
    through_fast = await ask(paths.fast, path, query, method)
    assert through_fast == through_quart
    return through_quart, len(paths.inner.calls) == before


async def test_a_hit_is_answered_by_the_fast_path_exactly_as_quart(fake: FakeComputeUnitApi) -> None:
    fake.results[PID, MID] = RESULT
    async with both_paths(fake) as paths:
        first = await ask(paths.quart, f"/result/{MID}", f"process-id={PID}".encode())     # a miss: evaluates
        (status, headers, body), served = await same_answer(paths, f"/result/{MID}", f"process-id={PID}".encode())
        # extra parameters the route ignores (no-busy only matters on a miss) still hit
        _, with_extras = await same_answer(paths, f"/result/{MID}", f"no-busy=1&process-id={PID}&x=".encode())
    assert served and with_extras
    assert (status, headers, body) == first, "the cached answer is the computed one"
    assert status == 200 and body.decode() == ('{"Messages":[{"Target":"x","Tags":[]}],"Spawns":[],'
                                               '"Output":{"data":"h\u00e9llo"},"GasUsed":7}')
    names = [name for name, _ in headers]
    assert names[0] == b"content-security-policy" and names[-3:] == [b"access-control-allow-origin",
                                                                     b"content-type", b"content-length"]
    assert dict(headers)[b"content-length"] == str(len(body)).encode()
    assert len(fake.calls_to("read_result")) == 1


@pytest.mark.parametrize(("path", "query", "method"), [
    (f"/result/{MID}", b"", "GET"),                                   # no process-id: 400
    (f"/result/{MID}", b"process-id=", "GET"),                        # empty: 400
    (f"/result/{MID}", f"process-id={PID}&process-id={PID}".encode(), "GET"),  # repeated: 400
    (f"/result/{MID}", f"process-id={PID}".encode(), "HEAD"),         # HEAD: headers only, Quart's
    (f"/result/{MID}/", f"process-id={PID}".encode(), "GET"),         # not the route: 404
    ("/result/", f"process-id={PID}".encode(), "GET"),                # no message id: 404
    (f"/result/{MID}", f"process-id={PID}&a=b+c".encode(), "GET"),    # decoding needed: Quart parses
    (f"/result/{MID}", f"process-id={PID[:-1]}%{ord(PID[-1]):02X}".encode(), "GET"),  # encoded: same id
    (f"/result/{MID}", f"process-id={PID};x=y".encode(), "GET"),
    (f"/result/{MID}", f"process-id=other-{PID}".encode(), "GET"),     # a miss: unknown process
    ("/results/" + PID, b"", "GET"),                                  # another route
])
async def test_everything_else_goes_to_quart_unchanged(fake: FakeComputeUnitApi, path: str, query: bytes,
                                                       method: str) -> None:
    fake.results[PID, MID] = RESULT
    async with both_paths(fake) as paths:
        await ask(paths.quart, f"/result/{MID}", f"process-id={PID}".encode())     # cached
        (status, _, body), served = await same_answer(paths, path, query, method)
    assert not served
    # never a crash; a process the fake does not know gets the reference's 500 (TransactionNotFound)
    assert status != 500 or body.startswith(b'{"error":"TransactionNotFound: ')


async def test_a_miss_then_a_hit_answer_the_same(fake: FakeComputeUnitApi) -> None:
    fake.results[PID, MID] = RESULT
    async with both_paths(fake) as paths:
        miss = await ask(paths.fast, f"/result/{MID}", f"process-id={PID}".encode())
        hit = await ask(paths.fast, f"/result/{MID}", f"process-id={PID}".encode())
    assert miss == hit and miss[0] == 200
    assert paths.inner.calls == [f"/result/{MID}"], "only the miss reached Quart"


async def test_errors_are_never_cached_or_served_fast(fake: FakeComputeUnitApi) -> None:
    async with both_paths(fake) as paths:
        (status, _, body), served = await same_answer(paths, f"/result/{MID}", f"process-id={PID}".encode())
        _, again = await same_answer(paths, f"/result/{MID}", f"process-id={PID}".encode())
    assert (status, served, again) == (500, False, False)
    assert b"TransactionNotFound" in body


@pytest.mark.parametrize("config", [
    HttpConfig(restrict_processes=(PID,)),
    HttpConfig(allow_processes=("someone-else",)),
    HttpConfig(unit_mode="ru"),
], ids=["restricted", "not-allowed", "read-unit"])
async def test_a_cached_answer_is_not_served_where_the_route_would_refuse(
        fake: FakeComputeUnitApi, config: HttpConfig) -> None:
    async with both_paths(fake, config) as paths:
        # As if cached before the lists changed: the fast path must still defer to the route's checks.
        paths.routes.cache.put((PID, MID), '{"cached":true}')
        (status, _, body), served = await same_answer(paths, f"/result/{MID}", f"process-id={PID}".encode())
    assert not served
    assert (status, body) in ((403, f'{{"error":"Access denied for process {PID}"}}'.encode()),
                              (404, b"Not Found"))


async def test_an_allowed_process_is_served_fast(fake: FakeComputeUnitApi) -> None:
    fake.results[PID, MID] = RESULT
    async with both_paths(fake, HttpConfig(allow_processes=(PID,), restrict_processes=("other",))) as paths:
        await ask(paths.quart, f"/result/{MID}", f"process-id={PID}".encode())
        (status, _, _), served = await same_answer(paths, f"/result/{MID}", f"process-id={PID}".encode())
    assert (status, served) == (200, True)


async def test_fast_hits_are_counted_in_the_metrics_as_quarts(fake: FakeComputeUnitApi) -> None:
    fake.results[PID, MID] = RESULT
    metrics = ServiceMetrics()
    async with both_paths(fake, HttpConfig(enable_metrics=True), metrics=metrics) as paths:
        for app in (paths.quart, paths.fast, paths.fast):
            await ask(app, f"/result/{MID}", f"process-id={PID}".encode())
        _, _, text = await ask(paths.quart, "/metrics")
    assert paths.routes.cache.hits == 2 and paths.routes.cache.misses == 1
    route = 'method="GET",route="/result/:messageTxId",status="200",statusGroup="2xx"'
    assert f"ao_cu_http_request_duration_seconds_count{{{route}}} 3.0" in text.decode()
    assert f"ao_cu_http_request_summary_seconds_count{{{route}}} 3.0" in text.decode()
    assert f'# {{process_id="{PID}"}}' in text.decode()


async def test_over_sockets_both_servers_send_the_same_bytes(fake: FakeComputeUnitApi) -> None:
    fake.results[PID, MID] = RESULT
    answers = []
    for fast_path in (True, False):
        async with open_test_client(fake, fast_path=fast_path) as http:
            for _ in range(3):          # a miss, then hits
                response = await http.get(f"/result/{MID}", params={"process-id": PID})
                headers = [(n, v) for n, v in response.headers.raw if n.lower() != b"date"]
                answers.append((response.status_code, headers, response.content))
    assert all(answer == answers[0] for answer in answers)
    status, headers, _ = answers[0]
    assert status == 200 and [name for name, _ in headers][-2:] == [b"content-type", b"content-length"]
