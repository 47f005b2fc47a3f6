"""Fault injection: a table of rules and the ASGI middleware that applies them.

Owns nothing long-lived; runs in the hypercorn request tasks on the trio thread.
Transport faults (latency, status, reset, hang, truncate, redirect) are applied by
`FaultMiddleware` before or around the wrapped app; page faults (short, duplicate,
reorder) by the SU's message-page handler through `FaultTable.take`. Rules match an
endpoint name (glob, e.g. ``su.messages``, ``gw.*``) and optionally a process id, and
can skip the first ``after`` matches and fire ``times`` times. The admin endpoints
(``/_devnet/...``) are never faulted.
"""

from __future__ import annotations

import fnmatch
import json
import socket
import struct
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import trio

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Modes applied at the HTTP transport level, by the middleware.
TRANSPORT_MODES = frozenset({"latency", "status", "reset", "hang", "truncate", "redirect"})
#: Modes applied to SU message pages (``su.messages``), by the page handler.
PAGE_MODES = frozenset({"short_page", "duplicate_page", "reorder_page"})
MODES = TRANSPORT_MODES | PAGE_MODES

#: Every endpoint name a rule can match (see `classify_su` / `classify_gateway`).
ENDPOINTS = (
    "su.info", "su.write", "su.timestamp", "su.health", "su.process", "su.latest", "su.messages",
    "su.message", "gw.graphql", "gw.raw", "gw.data", "gw.tx", "gw.block", "gw.info", "gw.upload",
)
ADMIN_PREFIX = "/_devnet"


class FaultError(ValueError):
    """A fault rule is malformed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """One rule. ``times=None`` fires forever; ``after`` skips that many matches first.

    Modes:
      latency         sleep ``latency_s`` before answering (combines with other rules)
      status          answer ``status`` with an SU-style ``{"error": ...}`` body
      reset           close the TCP connection with a RST before any response
      hang            never answer; the request ends when the client gives up
      truncate        send the headers and half the body, then close the connection
      redirect        answer 307 with ``Location: <location><original path and query>``
      short_page      SU pages: only the first half of the edges, ``has_next_page: true``
      duplicate_page  SU pages: ``from`` treated as inclusive (the previous page's last
                      edge comes again) and, on a first page, the first edge twice
      reorder_page    SU pages: the edges in reverse order
    """

    mode: str
    endpoint: str = "*"
    process_id: str | None = None
    latency_s: float = 0.0
    status: int = 500
    location: str | None = None
    times: int | None = None
    after: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise FaultError(f"unknown fault mode {self.mode!r}; one of {sorted(MODES)}")
        if self.mode == "redirect" and not self.location:
            raise FaultError("a redirect fault needs a location (the other SU's base URL)")
        if self.mode == "status" and not 100 <= self.status <= 599:
            raise FaultError(f"bad status {self.status}")
        if not any(fnmatch.fnmatchcase(e, self.endpoint) for e in ENDPOINTS):
            raise FaultError(f"endpoint {self.endpoint!r} matches none of {list(ENDPOINTS)}")
        if (self.times is not None and self.times < 0) or self.after < 0 or self.latency_s < 0:
            raise FaultError("times, after and latency_s must not be negative")

    @classmethod
    def from_json(cls, obj: Any) -> Fault:
        if not isinstance(obj, dict):
            raise FaultError("a fault is a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = set(obj) - known
        if unknown:
            raise FaultError(f"unknown fault fields {sorted(unknown)}; known: {sorted(known)}")
        try:
            return cls(**obj)
        except TypeError as exc:
            raise FaultError(str(exc)) from None


@dataclass(slots=True)
class _Rule:
    id: int
    fault: Fault
    seen: int = 0
    fired: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, **asdict(self.fault), "seen": self.seen, "fired": self.fired}


@dataclass(slots=True)
class FaultTable:
    """The live rules. Used from the trio thread only (request tasks and tests)."""

    _rules: list[_Rule] = field(default_factory=list)
    _next_id: int = 1

    def add(self, fault: Fault) -> int:
        rule = _Rule(self._next_id, fault)
        self._next_id += 1
        self._rules.append(rule)
        return rule.id

    def remove(self, rule_id: int) -> bool:
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) != before

    def clear(self) -> None:
        self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        """The rules with their match counters, as JSON objects."""
        return [r.as_json() for r in self._rules]

    def take(self, endpoint: str, process_id: str | None, modes: frozenset[str]) -> list[Fault]:
        """The rules (with mode in ``modes``) that fire for this request, counting them."""
        out = []
        for rule in self._rules:
            f = rule.fault
            if f.mode not in modes or not fnmatch.fnmatchcase(endpoint, f.endpoint):
                continue
            if f.process_id is not None and f.process_id != process_id:
                continue
            rule.seen += 1
            if rule.seen <= f.after or (f.times is not None and rule.fired >= f.times):
                continue
            rule.fired += 1
            out.append(f)
        return out


# -- Classifying requests ---------------------------------------------------------------------

def _query_param(scope: Scope, name: str) -> str | None:
    from urllib.parse import parse_qs
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else None


def classify_su(scope: Scope, is_process: Callable[[str], bool]) -> tuple[str, str | None]:
    """(endpoint name, process id) of an SU request (routes of servers/su main.rs)."""
    method, path = scope["method"], scope["path"]
    parts = [p for p in path.split("/") if p]
    pid = _query_param(scope, "process-id")
    if not parts:
        return ("su.write" if method == "POST" else "su.info"), pid
    if parts == ["timestamp"]:
        return "su.timestamp", pid
    if parts == ["health"]:
        return "su.health", pid
    if len(parts) == 2 and parts[0] == "processes":
        return "su.process", parts[1]
    if len(parts) == 2 and parts[1] == "latest":
        return "su.latest", parts[0]
    if len(parts) == 1:
        return ("su.messages" if is_process(parts[0]) else "su.message"), pid
    return "su.other", pid


def classify_gateway(scope: Scope) -> tuple[str, str | None]:
    """(endpoint name, None) of a gateway request."""
    parts = [p for p in scope["path"].split("/") if p]
    if not parts or parts == ["info"]:
        return "gw.info", None
    head = parts[0]
    if head == "graphql":
        return "gw.graphql", None
    if head == "raw":
        return "gw.raw", None
    if head == "tx" and scope["method"] == "POST":
        return "gw.upload", None
    if head == "tx":
        return "gw.tx", None
    if head == "block":
        return "gw.block", None
    if len(parts) == 1:
        return "gw.data", None
    return "gw.other", None


# -- The middleware -------------------------------------------------------------------------

def _error_body(message: str) -> bytes:
    return json.dumps({"error": message}, separators=(",", ":")).encode()


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] = ()) -> None:
    base = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [*base, *headers]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _connection_socket() -> Any:
    """The trio socket of the connection this request task serves, or None.

    hypercorn hands the app no handle to its connection. Its request tasks run in a
    nursery inside the connection's task, which trio's ``serve_listeners`` started as
    ``_run_handler(stream, handler)``; so walking up the task tree (trio.lowlevel
    ``parent_nursery.parent_task``) finds that task, and its frame the stream.
    """
    task: trio.lowlevel.Task | None = trio.lowlevel.current_task()
    while task is not None:
        frame = getattr(task.coro, "cr_frame", None)
        stream = frame.f_locals.get("stream") if frame is not None else None
        if isinstance(stream, trio.SocketStream):
            return stream.socket
        nursery = task.parent_nursery
        task = nursery.parent_task if nursery is not None else None
    return None


def _reset_connection() -> bool:
    """Abort this request's connection with a TCP RST (SO_LINGER 0, then close)."""
    sock = _connection_socket()
    if sock is None:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()
    return True


def _shield_last_body(send: Send) -> Send:
    """Send the response's last body message shielded from cancellation.

    While hypercorn handles that message it recycles the connection and restarts its
    keep-alive idle watcher (``TCPServer._idle_timeout``) from the sending task.
    quart-trio cancels that task as soon as the request reports ``http.disconnect``,
    which the recycling itself delivers, so the watcher's ``nursery.start`` is
    cancelled: idle connections then never time out and a shutdown waits the full
    ``graceful_timeout`` for them (measured: hypercorn 0.18, quart-trio 0.12).
    """
    async def shielded(message: Message) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            with trio.CancelScope(shield=True):
                await send(message)
        else:
            await send(message)
    return shielded


class FaultMiddleware:
    """ASGI wrapper applying the transport faults of ``table`` to ``app``'s requests."""

    def __init__(self, app: ASGIApp, table: FaultTable,
                 classify: Callable[[Scope], tuple[str, str | None]]) -> None:
        self._app = app
        self._table = table
        self._classify = classify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if scope["path"].startswith(ADMIN_PREFIX):
            await self._app(scope, receive, _shield_last_body(send))
            return
        endpoint, process_id = self._classify(scope)
        scope["aocu.devnet"] = {"endpoint": endpoint, "process_id": process_id}
        faults = self._table.take(endpoint, process_id, TRANSPORT_MODES)
        for f in faults:
            if f.mode == "latency":
                await trio.sleep(f.latency_s)
        action = next((f for f in faults if f.mode != "latency"), None)
        if action is None:
            await self._app(scope, receive, _shield_last_body(send))
        elif action.mode == "status":
            message = f"devnet fault: injected {action.status} on {endpoint}"
            await _respond(send, action.status, _error_body(message))
        elif action.mode == "redirect":
            path = scope.get("raw_path") or scope["path"].encode()
            target = action.location.rstrip("/") + path.decode("latin-1")
            if scope.get("query_string"):
                target += "?" + scope["query_string"].decode("latin-1")
            await send({"type": "http.response.start", "status": 307,
                        "headers": [(b"location", target.encode("latin-1")), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif action.mode == "reset":
            if _reset_connection():
                await _wait_for_disconnect(receive)
            else:           # no socket to reset (not served by hypercorn): the closest thing
                await self._truncated(scope, receive, send)
        elif action.mode == "hang":
            await _wait_for_disconnect(receive)
        elif action.mode == "truncate":
            await self._truncated(scope, receive, send)

    async def _truncated(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, then send its headers and half its body, and stop (the server closes)."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self._app(scope, receive, capture)
        if start is None:
            return
        body = b"".join(chunks)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body[:len(body) // 2], "more_body": True})
