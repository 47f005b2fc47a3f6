"""The devnet's clock and its block chain (heights and block timestamps).

Any thread; no I/O. Blocks are not stored: block ``h`` is timestamped
``genesis + (h - base_height) * interval`` (seconds, as Arweave reports them), and
the current height is the last block whose time has come. The genesis time and
base height live in the store so a restarted devnet keeps its chain.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from ._ids import block_id

SECONDS = 1.0
MS_PER_S = 1000


class Clock(Protocol):
    """Milliseconds since the epoch, as the SU reads them (`SystemTime::now`)."""

    def now_ms(self) -> int: ...


class SystemClock:
    """Wall-clock time."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that only moves when told to (tests, reproducible demos)."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now_ms = start_ms

    def now_ms(self) -> int:
        return self._now_ms

    def set(self, now_ms: int) -> None:
        self._now_ms = int(now_ms)

    def advance(self, delta_ms: int) -> int:
        self._now_ms += int(delta_ms)
        return self._now_ms


@dataclass(frozen=True, slots=True)
class Block:
    height: int
    timestamp: int          # seconds

    @property
    def id(self) -> str:
        return block_id(self.height)

    @property
    def previous(self) -> str:
        return block_id(self.height - 1) if self.height > 0 else ""


@dataclass(frozen=True, slots=True)
class Chain:
    """Block ``base_height`` was mined at ``genesis_ms``, one every ``interval_ms`` since."""

    genesis_ms: int
    base_height: int
    interval_ms: int

    def height_at(self, now_ms: int) -> int:
        return max(0, self.base_height + (now_ms - self.genesis_ms) // self.interval_ms)

    def block(self, height: int) -> Block:
        ms = self.genesis_ms + (height - self.base_height) * self.interval_ms
        return Block(height, max(0, ms // MS_PER_S))


def pad_height(height: int) -> str:
    """Heights as the SU writes them: 12 digits, zero-padded (servers/su gateway.rs)."""
    return f"{height:0>12}"
