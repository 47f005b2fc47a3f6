"""`ResultFastPath`: ``GET /result`` cache hits answered at the ASGI layer, everything else by Quart.

A repeated ``/result`` is the CU's hottest request (an MU or aoconnect polls it), and its answer
is already bytes in the route's cache (`aocu.http._limits.ResultCache`). Through Quart such a hit
costs a request context, routing, a Response object and the header hooks, several times the
work of the answer itself; under many concurrent clients that per-request cost is what decides
latency (docs/performance.md). This wrapper sits between hypercorn and the Quart app and
answers a hit itself, with the status, headers and body the Quart route would send (the same
helmet/cors headers from `aocu.http._headers`, in the same order; tests/http/test_http_fast.py
compares both paths). It answers only requests whose meaning is unambiguous without Quart's
parsing: ``GET`` (not ``HEAD``), a message id and a single ``process-id`` made only of characters
that URL decoding leaves unchanged (every Arweave id is base64url). Anything else, a cache miss,
a denied process or a Read Unit goes to Quart untouched, so statuses, errors, busy answers and
access lists keep one implementation. Runs on the trio thread; never awaits before deciding.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any, Final

from ._errors import JSON_CONTENT_TYPE
from ._headers import ALLOW_ORIGIN, SECURITY_HEADERS
from ._routes import RESULT_ROUTE, Routes

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    Scope = dict[str, Any]
    Receive = Callable[[], Awaitable[dict[str, Any]]]
    Send = Callable[[dict[str, Any]], Awaitable[None]]
    App = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["ResultFastPath"]

_PREFIX: Final = "/result/"
_PREFIX_LEN: Final = len(_PREFIX)
# Characters that percent-decoding and '+'-decoding leave as they are: for such a path and query
# the fast path sees exactly what werkzeug's routing and query parsing would give the route.
_ID: Final = re.compile(r"[A-Za-z0-9_-]+")
_QUERY_PAIR: Final = re.compile(rb"([A-Za-z0-9._~-]+)=([A-Za-z0-9._~-]*)")
_PROCESS_ID: Final = b"process-id"
# What the route's answer carries after `decorate` (quart lower-cases names): helmet's, cors',
# then the route's Content-Type; Content-Length follows per answer, hypercorn adds Date.
_HEADERS: Final = tuple((name.lower().encode(), value.encode())
                        for name, value in (*SECURITY_HEADERS, ALLOW_ORIGIN, ("Content-Type", JSON_CONTENT_TYPE)))


def _process_id(query: bytes) -> str | None:
    """The single ``process-id`` of a plain query string, else None (Quart parses the rest)."""
    found: bytes | None = None
    for pair in query.split(b"&"):
        match = _QUERY_PAIR.fullmatch(pair)
        if match is None:
            return None
        if match[1] == _PROCESS_ID:
            if found is not None:
                return None         # repeated: the route's validation error, not ours
            found = match[2]
    return found.decode("ascii") if found else None


class ResultFastPath:
    """An ASGI app: cache hits of ``GET /result/:id?process-id`` here, every other request to ``app``."""

    def __init__(self, app: App, routes: Routes) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(_PREFIX):
            started = time.perf_counter()
            hit = self._hit(scope)
            if hit is not None:
                process_id, body = hit
                await send({"type": "http.response.start", "status": 200,
                            "headers": [*_HEADERS, (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body, "more_body": False})
                self.routes.observe("GET", RESULT_ROUTE, 200, started, process_id)
                return
        await self.app(scope, receive, send)

    def _hit(self, scope: Scope) -> tuple[str, bytes] | None:
        message_id = scope["path"][_PREFIX_LEN:]
        if scope.get("root_path") or _ID.fullmatch(message_id) is None:
            return None
        process_id = _process_id(scope["query_string"])
        if process_id is None:
            return None
        body = self.routes.cached_result(message_id, process_id)
        return None if body is None else (process_id, body)
