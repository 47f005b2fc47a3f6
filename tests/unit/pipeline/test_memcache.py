"""The hot-process cache: byte budget, TTL, checkout, draining."""

from __future__ import annotations

from dataclasses import dataclass

import trio

from aocu.pipeline._memcache import ProcessMemoryCache
from aocu.stores import MemoryPoint, SnapshotsUnavailable, StoreError


@dataclass
class FakeLive:
    memory_size: int
    closed: bool = False

    def close(self) -> None:
        self.closed = True


def pos(pid: str) -> MemoryPoint:
    return MemoryPoint(process_id=pid, timestamp=1, ordinate="1", module_id="m", nonce=1)


async def test_budget_evicts_least_recently_used_to_the_drain(autojump_clock: trio.abc.Clock) -> None:
    drained: list[str] = []
    lives: list[FakeLive] = []

    async def drain(live: FakeLive, position: MemoryPoint) -> None:
        assert not live.closed                          # usable while it is written out
        drained.append(position.process_id)
        lives.append(live)

    cache = ProcessMemoryCache(max_bytes=250, ttl_s=3600, drain=drain)
    async with trio.open_nursery() as nursery:
        await nursery.start(cache.run)
        for pid in "abc":
            cache.checkin(FakeLive(100), pos(pid))       # type: ignore[arg-type]
        assert "a" not in cache and "b" in cache and "c" in cache
        hot = cache.checkout("b")
        assert hot is not None and "b" not in cache
        cache.checkin(hot.live, hot.position)            # b is now most recent
        cache.checkin(FakeLive(100), pos("d"))           # type: ignore[arg-type]
        assert set(cache._entries) == {"b", "d"}
        await trio.sleep(1)
        assert cache.processes_in_files == 2          # the reference's drainedToFile gauge
        cache.checkin(FakeLive(100), pos("a"))         # type: ignore[arg-type]   # hot again
        await trio.sleep(1)
        assert cache.processes_in_files == 2          # a is hot, and b went to its file
        nursery.cancel_scope.cancel()
    assert drained == ["a", "c", "b"]
    assert all(live.closed for live in lives)          # freed at once, not at a cycle collection


async def test_idle_entries_expire_and_oversized_ones_go_straight_to_a_file(
        autojump_clock: trio.abc.Clock) -> None:
    drained: list[str] = []

    async def drain(live: object, position: MemoryPoint) -> None:
        drained.append(position.process_id)

    cache = ProcessMemoryCache(max_bytes=1000, ttl_s=10, drain=drain)
    async with trio.open_nursery() as nursery:
        await nursery.start(cache.run)
        cache.checkin(FakeLive(10), pos("idle"))          # type: ignore[arg-type]
        cache.checkin(FakeLive(5000), pos("huge"))        # type: ignore[arg-type]
        assert "huge" not in cache
        await trio.sleep(5)
        assert "idle" in cache
        await trio.sleep(20)
        assert "idle" not in cache
        nursery.cancel_scope.cancel()
    assert drained == ["huge", "idle"]


async def test_a_drain_the_store_refuses_drops_the_entry_and_the_cache_keeps_running(
        autojump_clock: trio.abc.Clock) -> None:
    attempts: list[str] = []

    async def drain(live: object, position: MemoryPoint) -> None:
        attempts.append(position.process_id)
        if position.process_id == "refused":
            raise SnapshotsUnavailable("not using /tmp/aocu-memory: it is writable by group or others")
        if position.process_id == "disk":
            raise StoreError("writing memory snapshot: No space left on device")

    cache = ProcessMemoryCache(max_bytes=1000, ttl_s=3600, drain=drain)
    lives = [FakeLive(5000) for _ in range(3)]
    async with trio.open_nursery() as nursery:
        await nursery.start(cache.run)
        for live, pid in zip(lives, ["refused", "disk", "ok"], strict=True):
            cache.checkin(live, pos(pid))                 # type: ignore[arg-type]   # too big: straight to a file
        await trio.sleep(1)
        assert cache.drained == 1 and cache.processes_in_files == 1     # only "ok" reached its file
        nursery.cancel_scope.cancel()
    assert attempts == ["refused", "disk", "ok"]
    assert all(live.closed for live in lives)
