"""Live progress over websockets: ``/progress/<pid>`` (one process) and ``/progress`` (all).

aocu's addition (the reference has no websocket). One task per connection (quart-trio's), on the
trio thread. The connection subscribes to the port's `EventBus` and sends each event as the JSON
text of ``event.to_json()``. The bus never waits for a subscriber: one that falls
``progress_buffer`` events behind is dropped, and this handler then closes the socket with 1013
("try again later"); a send that cannot finish within ``progress_send_timeout_s`` (a client that
stopped reading) ends the connection too. Evaluation is never slowed by a websocket.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import trio
from quart import Quart, Response, websocket

from aocu import jsjson
from aocu.config import HttpConfig
from aocu.errors import ProcessDeniedError

from ._errors import error_response
from ._routes import Routes

if TYPE_CHECKING:
    from aocu.api import ComputeUnitApi

__all__ = ["Progress"]

log = logging.getLogger("aocu.http.progress")

CLOSE_GOING_AWAY: Final = 1001      # the server is shutting down
CLOSE_TRY_AGAIN: Final = 1013       # this subscriber fell behind and was dropped
CLOSE_TIMEOUT_S: Final = 1.0        # a close frame to a stalled client is not worth waiting for


class Progress:
    def __init__(self, api: ComputeUnitApi, config: HttpConfig, routes: Routes,
                 stopping: trio.Event) -> None:
        self.api = api
        self.config = config
        self.routes = routes
        self.stopping = stopping

    def register(self, app: Quart) -> None:
        app.add_url_rule("/progress/<process_id>", "progress", self.one, websocket=True)
        app.add_url_rule("/progress", "progress_all", self.all, websocket=True)

    async def one(self, process_id: str) -> Response | None:
        try:
            self.routes.check_process(process_id)   # same deny/allow lists as the routes (§1.12)
        except ProcessDeniedError as exc:
            return error_response(exc)                 # an HTTP 403 instead of the upgrade
        await self._stream(process_id)
        return None

    async def all(self) -> None:
        await self._stream(None)

    async def _stream(self, process_id: str | None) -> None:
        code, reason = CLOSE_GOING_AWAY, "server shutting down"
        async with self.api.events.subscribe(process_id, buffer=self.config.progress_buffer) as events:
            # Subscribed before the handshake completes: a client sees every event published
            # after its connect returns.
            await websocket.accept()
            async with trio.open_nursery() as nursery:
                async def close_on_stop() -> None:
                    await self.stopping.wait()
                    nursery.cancel_scope.cancel(reason="server shutting down")

                nursery.start_soon(close_on_stop)
                outcome = await self._pump(events)
                if outcome is not None:
                    code, reason = outcome
                nursery.cancel_scope.cancel(reason="progress stream ended")
        if code == 0:
            return              # stalled: hypercorn drops the connection when we return
        with trio.move_on_after(CLOSE_TIMEOUT_S):
            await websocket.close(code, reason)

    async def _pump(self, events: trio.MemoryReceiveChannel) -> tuple[int, str] | None:
        """Send events until the bus drops us (returns the close code) or we are cancelled."""
        async for event in events:
            text = jsjson.stringify(event.to_json()) or "null"
            with trio.move_on_after(self.config.progress_send_timeout_s) as scope:
                await websocket.send(text)
            if scope.cancelled_caught:
                log.info("progress client stopped reading; disconnecting")
                return 0, "stalled"
            if events.statistics().open_send_channels == 0:
                break       # dropped by the bus: what is still buffered is stale, do not drain it
        log.info("progress subscriber fell behind and was dropped")
        return CLOSE_TRY_AGAIN, "subscriber fell behind; events were dropped"
