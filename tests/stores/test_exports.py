"""The public surface of aocu.stores: a complete, sorted ``__all__``, and implementations whose
methods match the Protocols they claim (``typing.Protocol`` checks nothing at runtime)."""

from __future__ import annotations

import inspect
import re

import pytest

import aocu.stores
from aocu.stores import _apsw, _apsw_snapshots, _fakes, base


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions
    kind = 0 if re.fullmatch(r"[A-Z0-9_]+", name) else 1 if name[:1].isupper() else 2
    return kind, name


def test_all_is_sorted_and_complete() -> None:
    names = aocu.stores.__all__
    assert names == sorted(names, key=_isort_key)
    assert set(base.__all__) <= set(names)
    for name in names:
        assert getattr(aocu.stores, name) is not None


PORTS = {
    "ProcessStore": ("ApswProcessStore", "MemoryProcessStore"),
    "ModuleStore": ("ApswModuleStore", "MemoryModuleStore"),
    "EvaluationStore": ("ApswEvaluationStore", "MemoryEvaluationStore"),
    "MessageStore": ("ApswMessageStore", "MemoryMessageStore"),
    "BlockStore": ("ApswBlockStore", "MemoryBlockStore"),
    "CheckpointStore": ("ApswCheckpointStore", "MemoryCheckpointStore"),
    "SchedulerLocationStore": ("ApswSchedulerLocationStore", "MemorySchedulerLocationStore"),
}


def _implementation(name: str) -> type:
    for module in (_apsw, _apsw_snapshots, _fakes):
        if hasattr(module, name):
            return getattr(module, name)  # type: ignore[no-any-return]
    raise AssertionError(name)


@pytest.mark.parametrize(("port", "impl"), [(p, i) for p, impls in PORTS.items() for i in impls])
def test_implementations_match_their_protocol(port: str, impl: str) -> None:
    protocol = getattr(base, port)
    cls = _implementation(impl)
    methods = [n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")]
    assert methods
    for name in methods:
        want, got = getattr(protocol, name), getattr(cls, name)
        assert inspect.iscoroutinefunction(want) == inspect.iscoroutinefunction(got), name
        assert str(inspect.signature(want)) == str(inspect.signature(got)), (impl, name)


def test_stores_bundle_has_one_attribute_per_port() -> None:
    fields = base.Stores.__dataclass_fields__
    assert {str(f.type) for f in fields.values()} == set(PORTS)
