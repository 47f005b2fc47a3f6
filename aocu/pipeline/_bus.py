"""An in-process publish/subscribe bus for progress events.

Owned by the pipeline's nursery; publishers are pipeline stages on the trio
thread, subscribers are websockets, tracers and tests. Publishing never blocks:
each subscriber has a bounded buffer, and a subscriber that falls behind is
dropped (its channel closed) rather than slowing evaluation (issue 4, item 2).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import trio

from ._events import Event

#: Events a subscriber may have unread before it is dropped.
DEFAULT_SUBSCRIBER_BUFFER = 1024


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[trio.MemorySendChannel[Event], str | None] = {}
        self._listeners: list[Callable[[Event], None]] = []
        self.dropped = 0
        self.published = 0

    def listen(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback(event)`` synchronously for every event, before any subscriber sees it.

        For the pipeline's own bookkeeping (stream progress, metrics), which must never miss an
        event the way a slow subscriber may; ``callback`` runs on the trio thread and must be quick.
        Per-message stage timings are the exception: the runner builds them only when
        `subscribed` says someone watches the process (they cost the trio thread a few µs each).
        """
        self._listeners.append(callback)

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every listener and interested subscriber, without waiting."""
        self.published += 1
        for callback in self._listeners:
            callback(event)
        for send, process_id in list(self._subscribers.items()):
            if process_id is not None and process_id != event.process_id:
                continue
            try:
                send.send_nowait(event)
            except trio.WouldBlock:
                self._drop(send)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.pop(send, None)

    def subscribed(self, process_id: str) -> bool:
        """Whether some subscriber receives this process's events (itself or every process's)."""
        for watched in self._subscribers.values():
            if watched is None or watched == process_id:
                return True
        return False

    def _drop(self, send: trio.MemorySendChannel[Event]) -> None:
        self._subscribers.pop(send, None)
        self.dropped += 1
        send.close()

    @asynccontextmanager
    async def subscribe(
        self, process_id: str | None = None, *, buffer: int = DEFAULT_SUBSCRIBER_BUFFER,
    ) -> AsyncIterator[trio.MemoryReceiveChannel[Event]]:
        """Events for one process (or all, with None) until the block exits.

        The channel ends (iteration stops) if this subscriber is dropped for
        falling ``buffer`` events behind.
        """
        send, receive = trio.open_memory_channel[Event](buffer)
        self._subscribers[send] = process_id
        try:
            async with receive:
                yield receive
        finally:
            self._subscribers.pop(send, None)
            send.close()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
