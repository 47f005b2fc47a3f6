"""The fetch stage reads SU pages one ahead (aocu.pipeline._runner.read_pages_ahead).

While the stream works through a page, the next one is already being requested; a third is
not requested until the stream takes the second, so at most two pages are held.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import trio
import trio.testing

from aocu.clients import MessagePage
from aocu.pipeline._runner import read_pages_ahead


class Pages:
    """Three empty pages; records how many were asked for."""

    def __init__(self) -> None:
        self.requested = 0

    async def __aiter__(self) -> AsyncIterator[MessagePage]:
        for n in range(3):
            self.requested += 1
            await trio.sleep(1)                     # the SU's round trip
            yield MessagePage(items=(), has_next_page=n < 2, from_cursor=str(n))


async def test_the_next_page_is_requested_while_this_one_is_worked_on(
        autojump_clock: trio.testing.MockClock) -> None:
    pages = Pages()
    async with trio.open_nursery() as nursery:
        send, recv = trio.open_memory_channel[tuple[MessagePage, float, float]](0)
        nursery.start_soon(read_pages_ahead, pages, send, lambda: trio.current_time() * 1000)
        async with recv:
            first, started, done = await recv.receive()
            assert first.from_cursor == "0" and done - started == 1000
            await trio.testing.wait_all_tasks_blocked()
            assert pages.requested == 2             # the second is on its way ...
            await trio.sleep(5)                     # ... and waits while the first is worked on
            assert pages.requested == 2             # no third page held
            second, started, done = await recv.receive()
            assert second.from_cursor == "1" and done <= trio.current_time() * 1000 - 4000   # it was ready
            assert [page.from_cursor async for page, _, _ in recv] == ["2"]
