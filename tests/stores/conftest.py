"""Store tests: one contract suite for both implementations, plus apsw-only and crash tests.

House rules:
* The ``stores`` fixture is parametrized over ``apsw`` (a real file under ``tmp_path``) and
  ``memory`` (the fakes); a contract test must pass for both and must not reach into either.
* Time comes from ``clock`` (a settable millisecond counter), never the wall clock.
* Every test runs under a ``fail_after`` guard, so a hang fails instead of stalling the suite.
* Ids come from `ids` (unique per test), timestamps are 13-digit ms values like the SU's.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import trio

from aocu.stores import EvaluationRow, MessageRecord, StoreOptions, Stores, open_memory_stores, open_stores

TEST_TIMEOUT_S = 30.0
T0 = 1_700_000_000_000
"""A 13-digit ms timestamp (2023-11-14), like every SU timestamp between 2001 and 2286."""


class Clock:
    def __init__(self, now_ms: int = T0) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


@pytest.fixture
async def _guard() -> AsyncIterator[None]:
    with trio.fail_after(TEST_TIMEOUT_S):
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The guard is a trio fixture, so only trio (async) tests can take it. This hook sees the
    # whole session's items: only this directory's tests can see the fixture.
    here = Path(__file__).parent
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and inspect.iscoroutinefunction(item.function)
            and here in item.path.parents
        ):
            item.fixturenames.append("_guard")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def options(tmp_path: Path) -> StoreOptions:
    return StoreOptions(
        drain_dir=tmp_path / "drain", checkpoint_dir=tmp_path / "checkpoints", module_dir=tmp_path / "modules"
    )


@pytest.fixture(params=["apsw", "memory"])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path, options: StoreOptions, clock: Clock
) -> AsyncIterator[Stores]:
    if request.param == "apsw":
        async with open_stores(tmp_path / "cu.sqlite", options, clock_ms=clock) as s:
            yield s
    else:
        async with open_memory_stores(options, clock_ms=clock) as s:
            yield s


_counter = itertools.count()


@pytest.fixture
def ids() -> Callable[[str], str]:
    """Unique 43-character base64url-looking ids: ``ids("proc")``."""

    def make(prefix: str) -> str:
        return f"{prefix}-{next(_counter):06d}".ljust(43, "x")

    return make


def row(
    process_id: str,
    nonce: int | None,
    *,
    timestamp: int | None = None,
    ordinate: str | None = None,
    cron: str | None = None,
    message_id: str | None = None,
    output: str | None = None,
    has_error: bool = False,
    epoch: int | None = 0,
) -> EvaluationRow:
    """A plausible evaluation row: scheduled message *nonce*, or a cron after ordinate *ordinate*."""
    if cron is None:
        assert nonce is not None
        ordinate = str(nonce) if ordinate is None else ordinate
        message_id = message_id or f"msg-{process_id[:8]}-{nonce}"
    assert ordinate is not None
    ts = T0 + 1000 * (nonce if nonce is not None else int(ordinate)) if timestamp is None else timestamp
    return EvaluationRow(
        process_id=process_id,
        timestamp=ts,
        ordinate=ordinate,
        cron=cron,
        message_id=message_id,
        deep_hash=None,
        nonce=nonce if cron is None else None,
        epoch=epoch if cron is None else None,
        block_height=1000 + ts // 120_000,
        evaluated_at_ms=T0,
        output=output if output is not None else f'{{"Messages":[],"Assignments":[],"Spawns":[],"Output":"{nonce}"}}',
        has_error=has_error,
    )


def message_of(r: EvaluationRow) -> MessageRecord:
    assert r.message_id is not None and r.nonce is not None and r.epoch is not None
    return MessageRecord(process_id=r.process_id, message_id=r.message_id, epoch=r.epoch, nonce=r.nonce)
