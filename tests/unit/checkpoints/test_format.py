"""Checkpoint tags and the checks of a signed item before it is trusted (reference-cu.md §2.16)."""

from __future__ import annotations

import pytest

from aocu.checkpoints import (
    CheckpointRejected,
    check_item,
    checkpoint_tags,
    point_of,
)
from aocu.model import Tag
from aocu.stores import MemoryPoint

PID = "p" * 43
MOD = "m" * 43
POINT = MemoryPoint(process_id=PID, timestamp=1_700_000_000_123, ordinate="7", module_id=MOD, nonce=7, epoch=0,
                    block_height=1234, assignment_id="a" * 43, hash_chain="h" * 43)


def test_tags_are_the_references_in_its_order() -> None:
    tags = checkpoint_tags(POINT, sha256="ab" * 32, unit_id="unit-1")
    assert [(t.name, t.value) for t in tags] == [
        ("Data-Protocol", "ao"), ("Variant", "ao.TN.1"), ("Type", "Checkpoint"), ("Module", MOD),
        ("Process", PID), ("Nonce", "7"), ("Timestamp", "1700000000123"), ("Block-Height", "1234"),
        ("Content-Type", "application/octet-stream"), ("SHA-256", "ab" * 32), ("Content-Encoding", "gzip"),
        ("Unit-Identifier", "unit-1"), ("Ordinate", "7"), ("Assignment", "a" * 43), ("Hash-Chain", "h" * 43)]


def test_cron_points_use_the_ordinate_as_nonce_and_keep_epoch_and_cron() -> None:
    cron = MemoryPoint(process_id=PID, timestamp=5, ordinate="3", cron="1-10-minutes", module_id=MOD, nonce=None,
                       epoch=2, block_height=None)
    tags = checkpoint_tags(cron, sha256="00", unit_id="u")
    named = {t.name: t.value for t in tags}
    assert named["Nonce"] == "3" and named["Block-Height"] == "undefined"
    assert [t.name for t in tags][-2:] == ["Epoch", "Cron-Interval"] and named["Cron-Interval"] == "1-10-minutes"
    assert "Assignment" not in named and "Hash-Chain" not in named


def test_tags_read_back_as_the_point_they_describe() -> None:
    back = point_of(checkpoint_tags(POINT, sha256="00", unit_id="u"))
    assert back == POINT.__class__(**{**{f: getattr(POINT, f) for f in POINT.__slots__}, "epoch": None})


def test_point_of_refuses_tags_without_integers() -> None:
    tags = checkpoint_tags(POINT, sha256="00", unit_id="u")
    for name in ("Nonce", "Timestamp"):
        broken = [Tag(t.name, "NaN") if t.name == name else t for t in tags]
        with pytest.raises(CheckpointRejected, match=name):
            point_of(broken)
    with pytest.raises(CheckpointRejected, match="Process"):
        point_of([t for t in tags if t.name != "Process"])


def _check(**changes: object) -> None:
    tags = checkpoint_tags(POINT, sha256="00", unit_id="u")
    args: dict[str, object] = dict(item_id="x", expected_id="x", owner_address="owner", trusted={"owner"},
                                   tags=tags, listed_tags=tags, process_id=PID, module_id=MOD)
    args.update(changes)
    check_item(**args)  # type: ignore[arg-type]


def test_item_checks() -> None:
    _check()
    _check(listed_tags=None, module_id=None)
    tags = checkpoint_tags(POINT, sha256="00", unit_id="u")
    cases = [
        (dict(item_id="y"), "id"),
        (dict(owner_address="stranger"), "not a trusted"),
        (dict(listed_tags=[*tags, Tag("Extra", "1")]), "listed other tags"),
        (dict(process_id="q" * 43), "Process"),
        (dict(module_id="n" * 43), "Module"),
        (dict(tags=[t for t in tags if t.name != "SHA-256"], listed_tags=None), "SHA-256"),
        (dict(tags=[Tag("Type", "Message") if t.name == "Type" else t for t in tags], listed_tags=None), "Type"),
    ]
    for changes, reason in cases:
        with pytest.raises(CheckpointRejected, match=reason):
            _check(**changes)
