"""The hot-process cache: live instances bounded by bytes and idle time.

Owned by the pipeline (trio thread). An entry is a `LiveProcess` plus the point
it has evaluated to. Streams *check an entry out* while they evaluate it and
check it back in when done, so an instance in use is never evicted, drained
or seen twice. The budget counts each live instance's memory size
(``PROCESS_MEMORY_CACHE_MAX_SIZE``); entries idle longer than the TTL
(``PROCESS_MEMORY_CACHE_TTL``) or pushed out by the budget are handed to a
drain callback (which snapshots and writes a compressed file, off the trio
thread) instead of being lost (reference-cu.md §5.5).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import trio

from aocu.stores import MemoryPoint, SnapshotsUnavailable, StoreError

from ._live import LiveProcess

log = logging.getLogger("aocu.pipeline")


@dataclass(slots=True)
class Hot:
    """A live process, the point its memory stands at, and the eager-checkpoint counters."""

    live: LiveProcess
    position: MemoryPoint
    last_used: float
    size: int = 0                  # memory bytes when checked in (what the budget counts)
    gas_used: int = 0              # accumulated since the last checkpoint (§2.15)
    eval_time_ms: float = 0.0


Drain = Callable[[LiveProcess, MemoryPoint], Awaitable[None]]


class ProcessMemoryCache:
    def __init__(self, max_bytes: int, ttl_s: float, drain: Drain | None = None,
                 clock: Callable[[], float] = trio.current_time) -> None:
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self._drain = drain
        self._clock = clock
        self._entries: OrderedDict[str, Hot] = OrderedDict()
        #: the entries checked out, each with the event set when it comes back (or is discarded)
        self._returned: dict[str, trio.Event] = {}
        self._bytes = 0
        self._in_files: set[str] = set()      # drained and not hot since (the reference's drainedToFile)
        self._draining_send, self._draining_recv = trio.open_memory_channel[tuple[LiveProcess, MemoryPoint]](64)
        self.drained = 0

    # -- accounting -------------------------------------------------------------------
    @property
    def size_bytes(self) -> int:
        return self._bytes

    def process_ids(self) -> list[str]:
        """The processes hot right now (least recently used first)."""
        return list(self._entries)

    @property
    def processes_in_files(self) -> int:
        """Processes whose memory was drained to a file and that have not been hot since."""
        return len(self._in_files)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, process_id: str) -> bool:
        return process_id in self._entries

    def peek(self, process_id: str) -> MemoryPoint | None:
        hot = self._entries.get(process_id)
        return hot.position if hot is not None else None

    def usage(self) -> dict[str, Any]:
        return {"size": len(self._entries), "calculatedSize": self._bytes,
                "processes": [{"process": pid, "size": hot.size}
                              for pid, hot in self._entries.items()]}

    # -- checkout/checkin ---------------------------------------------------------------
    def checkout(self, process_id: str) -> Hot | None:
        """Take a process's hot entry for exclusive use (None on a miss)."""
        hot = self._pop(process_id)
        if hot is not None:
            self._returned[process_id] = trio.Event()
        return hot

    async def checkout_waiting(self, process_id: str) -> Hot | None:
        """`checkout`, after waiting for the entry to come back if someone has it out (a dry-run
        or ``/state`` copying its memory, a checkpoint): a miss then would start the process
        again from an older state, and its check-in would replace the newer one."""
        while (hot := self.checkout(process_id)) is None and process_id in self._returned:
            await self._returned[process_id].wait()
        return hot

    def _pop(self, process_id: str) -> Hot | None:
        hot = self._entries.pop(process_id, None)
        if hot is not None:
            self._bytes -= hot.size
        return hot

    def checkin(self, live: LiveProcess, position: MemoryPoint, *, gas_used: int = 0,
                eval_time_ms: float = 0.0) -> None:
        """Put a live process back (or in for the first time) as the most recently used."""
        pid = position.process_id
        self._set_returned(pid)
        self._in_files.discard(pid)
        size = live.memory_size
        if size > self.max_bytes:
            self._queue_drain(live, position)       # never fits: straight to its file
            return
        replaced = self._pop(pid)
        if replaced is not None and replaced.live is not live:
            replaced.live.close()                   # nobody has an entry of the cache out
        self._entries[pid] = Hot(live, position, self._clock(), size, gas_used, eval_time_ms)
        self._bytes += size
        self._evict_over_budget()

    def discard(self, process_id: str) -> None:
        self._pop(process_id)
        self._set_returned(process_id)

    def _set_returned(self, process_id: str) -> None:
        returned = self._returned.pop(process_id, None)
        if returned is not None:
            returned.set()

    # -- eviction ------------------------------------------------------------------------
    def _evict_over_budget(self) -> None:
        while self._entries and self._bytes > self.max_bytes:
            hot = self._pop(next(iter(self._entries)))
            assert hot is not None
            self._queue_drain(hot.live, hot.position)

    def expire_idle(self) -> int:
        """Drain entries idle for longer than the TTL; returns how many."""
        deadline = self._clock() - self.ttl_s
        stale = [pid for pid, hot in self._entries.items() if hot.last_used <= deadline]
        for pid in stale:
            hot = self._pop(pid)
            assert hot is not None
            self._queue_drain(hot.live, hot.position)
        return len(stale)

    def _queue_drain(self, live: LiveProcess, position: MemoryPoint) -> None:
        if self._drain is None:
            live.close()
            return
        try:
            self._draining_send.send_nowait((live, position))
        except trio.WouldBlock:
            live.close()  # the drainer is saturated: the entry is dropped (it can be replayed)

    async def run(self, *, sweep_every_s: float | None = None,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Drain evicted entries and sweep idle ones until cancelled."""
        period = sweep_every_s if sweep_every_s is not None else max(min(self.ttl_s / 10, 60.0), 0.05)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._drainer)
            task_status.started()
            while True:
                await trio.sleep(period)
                self.expire_idle()

    async def _drainer(self) -> None:
        async for live, position in self._draining_recv:
            if self._drain is not None:
                try:
                    await self._drain(live, position)
                except StoreError as exc:
                    # lost like an entry the saturated drainer drops: the process is replayed. An
                    # unusable directory has been warned about once already
                    (log.debug if isinstance(exc, SnapshotsUnavailable) else log.warning)(
                        "process %s not drained to a file: %s", position.process_id, exc)
                    continue
                finally:
                    live.close()        # its memory is freed now, not at the next cycle collection
                self.drained += 1
                if position.process_id not in self._entries:
                    self._in_files.add(position.process_id)
