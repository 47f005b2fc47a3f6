"""`WholeBodyFirst`: an ASGI wrapper that receives a request's whole body before the app runs.

Why: hypercorn 0.18 neither reuses nor closes a keep-alive connection whose response ended
before the request body had fully arrived (a 404 or 429 answered from the headers, with the
body's bytes in a later TCP segment): the client's next request on that connection hangs.
Found side by side with the reference CU (tools/compare_reference.py: a ``POST`` to a GET route,
then any request). Node reads and discards such a body and keeps the connection. Reading the
body first means no response can end before it, so hypercorn recycles the connection as usual.

Only requests that announce a body (``content-length`` other than 0, or ``transfer-encoding``)
are held; at most ``max_bytes`` + one chunk is buffered, after which the app sees the rest as it
arrives (Quart answers 413 above its own limit). Runs on the trio thread.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    Scope = dict[str, Any]
    Message = dict[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    App = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["WholeBodyFirst"]


def _announces_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        lower = name.lower()
        if lower == b"transfer-encoding" or (lower == b"content-length" and value.strip() not in (b"0", b"")):
            return True
    return False


class WholeBodyFirst:
    def __init__(self, app: App, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _announces_body(scope.get("headers") or []):
            await self.app(scope, receive, send)
            return
        held: deque[Message] = deque()
        size = 0
        while True:
            message = await receive()
            held.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                break

        async def replay() -> Message:
            return held.popleft() if held else await receive()

        await self.app(scope, replay, send)
