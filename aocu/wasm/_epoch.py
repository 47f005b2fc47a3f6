"""Wall-clock deadlines for wasm calls through wasmtime's epoch interruption.

One daemon thread per process advances the shared engine's epoch every
`TICK_S`, started by the first deadline (a CU without ``deadline_s`` never
wakes it: 100 GIL round trips a second cost about 2% of an evaluation's CPU);
a store whose deadline passes traps with ``TrapCode.INTERRUPT``
(stack.md §3e: about 1.3x on tight loops, measured in tools/bench_wasm.py).
Threads cannot be cancelled, so this is the only way to stop a runaway
unmetered module.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import wasmtime

TICK_S = 0.01
#: A deadline so far away it never fires (epochs are u64; ~2**62 ticks).
_NEVER = 1 << 62

_engines: list[wasmtime.Engine] = []
_lock = threading.Lock()
_ticker: threading.Thread | None = None


def _tick() -> None:
    while True:
        time.sleep(TICK_S)
        for engine in _engines:
            engine.increment_epoch()


def register(engine: wasmtime.Engine) -> None:
    """Advance ``engine``'s epoch from the shared ticker thread (once a deadline needs it)."""
    with _lock:
        if engine not in _engines:
            _engines.append(engine)


def _start_ticker() -> None:
    global _ticker
    with _lock:
        if _ticker is None:
            _ticker = threading.Thread(target=_tick, name="aocu-wasm-epoch", daemon=True)
            _ticker.start()


def no_deadline(store: wasmtime.Store) -> None:
    """New stores start at deadline 0 (trap at once); give them none."""
    store.set_epoch_deadline(_NEVER)


@contextmanager
def deadline(store: wasmtime.Store, seconds: float | None) -> Iterator[None]:
    """Trap wasm running in ``store`` once ``seconds`` of wall clock have passed."""
    if seconds is None:             # the store's deadline is already _NEVER (no_deadline, finally below)
        yield
        return
    if _ticker is None:
        _start_ticker()
    store.set_epoch_deadline(max(1, math.ceil(seconds / TICK_S)) + 1)
    try:
        yield
    finally:
        store.set_epoch_deadline(_NEVER)
