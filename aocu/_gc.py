"""The garbage collector's pauses around bulk building of acyclic data.

Decoding an SU page (a thousand messages, ~70k dicts and strings) and reading it into typed
values allocate tens of thousands of objects that all stay alive until the page is done. Each
young collection triggered meanwhile walks them again, and the older generations walk them once
more when they are promoted: 10-30% of the decode's and the page read's CPU (docs/performance.md).
None of these objects can form a reference cycle, so the collector has nothing to find in them;
`collector_paused` defers automatic collections until the block ends (nothing is skipped: the
allocation counts stay, and the next allocation after it may collect).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collection inside the block (for code that builds only acyclic objects).

    It turns the collector back on only if it was on when the block started: a collector
    someone else disabled (a test, an embedding application) stays disabled, and blocks in
    other threads or nested ones leave it on in the end; a block whose neighbour ended first
    just pauses less.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
