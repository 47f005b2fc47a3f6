"""A circuit breaker with opossum's semantics, on trio's clock (for ``GetBlocks`` pages).

Plain state on the trio thread; no I/O of its own. ``servers/cu/src/effects/ao-block.js`` wraps
each block-metadata page fetch in an opossum breaker (timeout 10 s, 50 % errors, 15 s reset,
volume 15); ``_gateway.py`` uses this one the same way (reference-cu.md §2.8.2, §7.11).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio

from ._errors import UpstreamError

__all__ = ["CircuitBreaker"]

T = TypeVar("T")


class CircuitBreaker:
    """opossum's breaker as ao-block.js configures it, on trio's clock.

    Counts calls and failures over a rolling ``window_s``; once at least ``volume_threshold``
    calls were made and more than ``error_percentage`` of them failed, the breaker opens and
    refuses calls for ``reset_s``; then one trial call is let through (half-open) whose outcome
    closes or re-opens it. Defaults: opossum's 10 s window; ao-block.js's 50 %, 15 s, 15 calls.
    """

    def __init__(
        self,
        *,
        error_percentage: float = 50.0,
        reset_s: float = 15.0,
        volume_threshold: int = 15,
        window_s: float = 10.0,
    ) -> None:
        self.error_percentage = error_percentage
        self.reset_s = reset_s
        self.volume_threshold = volume_threshold
        self.window_s = window_s
        self._events: deque[tuple[float, bool]] = deque()  # (time, failed)
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half-open" if trio.current_time() >= self._opened_at + self.reset_s else "open"

    def _record(self, failed: bool) -> None:
        now = trio.current_time()
        self._events.append((now, failed))
        while self._events and self._events[0][0] <= now - self.window_s:
            self._events.popleft()

    async def call(self, fn: Callable[[], Awaitable[T]], on_open: Callable[[], UpstreamError]) -> T:
        state = self.state
        if state == "open" or (state == "half-open" and self._trial_running):
            raise on_open()
        trial = state == "half-open"
        self._trial_running = trial
        try:
            result = await fn()
        except UpstreamError:
            self._record(True)
            if trial:
                self._opened_at = trio.current_time()
            else:
                calls = len(self._events)
                failures = sum(1 for _, failed in self._events if failed)
                if calls >= self.volume_threshold and failures * 100 / calls > self.error_percentage:
                    self._opened_at = trio.current_time()
            raise
        finally:
            if trial:
                self._trial_running = False
        self._record(False)
        if trial:
            self._opened_at = None
            self._events.clear()
        return result
