"""The locator's cache kept in the CU's stores survives a new locator (a restart)."""

from __future__ import annotations

from aocu.clients import CachedLocation, SchedulerLocation
from aocu.pipeline._adapt import DurableLocations
from aocu.stores import open_memory_stores


async def test_locations_round_trip_and_delete_expires() -> None:
    now = [1_700_000_000_000]
    async with open_memory_stores() as stores:
        cache = DurableLocations(stores, lambda: now[0])
        entry = CachedLocation(location=SchedulerLocation(url="http://su", address="SU", ttl_ms=60_000),
                               expires_at=(now[0] + 60_000) / 1000)
        await cache.put("process", "P", entry)
        await cache.put("owner", "SU", entry)
        again = DurableLocations(stores, lambda: now[0])          # another locator, same stores
        assert await again.get("process", "P") == entry
        assert await again.get("owner", "SU") == entry
        await again.delete("process", "P")
        gone = await again.get("process", "P")
        assert gone is not None and gone.expires_at <= now[0] / 1000
        assert await again.get("process", "nope") is None
