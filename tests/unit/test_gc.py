"""aocu._gc.collector_paused: automatic collection off inside, the previous state after."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from aocu._gc import collector_paused


@pytest.fixture(autouse=True)
def _restore_collector() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_and_back_on_after_even_on_error() -> None:
    gc.enable()
    with pytest.raises(ValueError), collector_paused():
        assert not gc.isenabled()
        raise ValueError("boom")
    assert gc.isenabled()


def test_nested_blocks_leave_it_on_and_a_disabled_collector_stays_off() -> None:
    gc.enable()
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()             # the outer block still pauses
    assert gc.isenabled()
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()                 # someone else's choice, kept
