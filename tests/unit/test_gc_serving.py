"""aocu.app.tune_gc_for_serving: what `aocu serve` does to the collector once the CU listens."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from aocu.app import GC_YOUNG_THRESHOLD, tune_gc_for_serving


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_startup_objects_are_frozen_and_young_collections_are_rarer(collector: None) -> None:
    alive_at_start = [object() for _ in range(100)]
    _, middle, old = gc.get_threshold()
    tune_gc_for_serving()
    assert gc.get_freeze_count() >= len(alive_at_start)       # out of every later collection's walk
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, middle, old)
    assert GC_YOUNG_THRESHOLD > 700
