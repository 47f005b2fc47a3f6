"""Per-request state the HTTP layer keeps: the dry-run rate limiter and the ``/result`` cache.

Both are plain objects used only from request handlers on the trio thread (no locks, no tasks):
the limiter sweeps stale entries lazily on use instead of running a timer task, which bounds its
memory the same way the reference's ``setInterval`` does. Times come from ``trio.current_time()``
so tests can drive them with trio's ``autojump_clock``. Never block, never await here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping

import trio

from aocu import jsjson
from aocu.config import RateLimitConfig

__all__ = ["RateLimiter", "ResultCache", "client_ip"]


def client_ip(headers: Mapping[str, str], peer: str | None) -> str:
    """``getClientIp`` (withRateLimits.js): X-Forwarded-For's first entry, X-Real-IP, the socket.

    The headers are trusted blindly, as in the reference (§1.11); put the CU behind a proxy that
    overwrites them when that matters.
    """
    forwarded = headers.get("X-Forwarded-For")
    if forwarded:
        return forwarded.split(",")[0].strip()
    real = headers.get("X-Real-IP")
    if real:
        return real
    return peer or ""


def _now_ms() -> float:
    return trio.current_time() * 1000


class RateLimiter:
    """A sliding window of request times per client (withRateLimits.js, reference-cu.md §1.11)."""

    def __init__(self, config: RateLimitConfig, clock_ms: Callable[[], float] = _now_ms) -> None:
        self.config = config
        self._clock_ms = clock_ms
        self._requests: dict[str, list[float]] = {}
        self._next_sweep_ms: float | None = None

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def is_limited(self, ip: str) -> bool:
        """``limitRequest``: drop times older than the window; limited at ``max_requests``."""
        if not self.enabled:
            return False
        now = self._clock_ms()
        self._sweep(now)
        cutoff = now - self.config.window_ms
        valid = [t for t in self._requests.get(ip, ()) if t > cutoff]
        if valid:
            self._requests[ip] = valid
        else:
            self._requests.pop(ip, None)
        return len(valid) >= self.config.max_requests

    def record(self, ip: str) -> float | None:
        """``recordRequest``: count this request; returns the token `forget` takes."""
        if not self.enabled:
            return None
        now = self._clock_ms()
        self._requests.setdefault(ip, []).append(now)
        return now

    def forget(self, ip: str, token: float | None) -> None:
        """``removeRequest``: un-count one request (its answer came from the dry-run cache)."""
        times = self._requests.get(ip)
        if token is None or not times:
            return
        try:
            times.remove(token)
        except ValueError:
            return
        if not times:
            del self._requests[ip]

    def tracked_clients(self) -> int:
        return len(self._requests)

    def _sweep(self, now: float) -> None:
        # The reference's cleanup timer, run lazily: every RATE_LIMIT_CLEANUP_INTERVAL ms at most.
        if self._next_sweep_ms is None:
            self._next_sweep_ms = now + self.config.cleanup_interval_ms
            return
        if now < self._next_sweep_ms:
            return
        self._next_sweep_ms = now + self.config.cleanup_interval_ms
        cutoff = now - self.config.window_ms
        for ip in list(self._requests):
            valid = [t for t in self._requests[ip] if t > cutoff]
            if valid:
                self._requests[ip] = valid
            else:
                del self._requests[ip]


class ResultCache:
    """``/result`` answers already sent, LRU by total size (withInMemoryCache.js, §1.10).

    Keyed by (process id, message id); the reference keys by message id alone
    (docs/differences.md). An entry's size is ``JSON.stringify(result).length``; the cache holds the
    answer's UTF-8 body bytes, so a hit is sent without serializing or encoding again.
    """

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.size = 0
        self._entries: OrderedDict[tuple[str, str], tuple[bytes, int]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, str]) -> bytes | None:
        body = self.hit(key)
        if body is None:
            self.misses += 1
        return body

    def hit(self, key: tuple[str, str]) -> bytes | None:
        """`get` for a caller that falls back to `get` on a miss (the miss is counted there)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[0]

    def put(self, key: tuple[str, str], text: str) -> None:
        size = jsjson.utf16_length(text)
        if size > self.max_size or size == 0:
            return                      # lru-cache refuses items larger than maxSize
        self.delete(key)
        self._entries[key] = (text.encode(), size)
        self.size += size
        while self.size > self.max_size:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.size -= dropped

    def delete(self, key: tuple[str, str]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.size -= entry[1]

    def __len__(self) -> int:
        return len(self._entries)
