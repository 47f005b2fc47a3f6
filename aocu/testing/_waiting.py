"""`wait_until`: poll a condition that no event announces (a fake's counter, a file's effect).

For tests only, on the trio thread. Prefer a ``trio.Event`` where the code under test offers one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import trio

__all__ = ["wait_until"]

POLL_S: Final = 0.005


async def wait_until(predicate: Callable[[], object], *, timeout_s: float = 5.0, poll_s: float = POLL_S) -> None:
    """Return once ``predicate()`` is truthy; raise ``trio.TooSlowError`` after ``timeout_s``."""
    with trio.fail_after(timeout_s):
        for _ in iter(int, 1):          # until the deadline cancels the sleep
            if predicate():
                return
            await trio.sleep(poll_s)
