"""aocu.domain process record (reference-cu.md §2.3; loadProcessMeta.test.js, ao-su.test.js)."""

from __future__ import annotations

import pytest

from aocu.domain import Block, Owner, process_meta_from_su, verify_process_tags
from aocu.errors import InvalidProcessError
from aocu.jsjson import UNDEFINED

from .builders import tags


def test_valid_process_tags() -> None:
    verify_process_tags(tags(("Data-Protocol", "ao"), ("Type", "Process"), ("Module", "m")))
    # Repeated names: an array that includes the value is fine.
    verify_process_tags(tags(("Data-Protocol", "x"), ("Data-Protocol", "ao"), ("Type", "Process"), ("Module", "")))


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ((("Data-Protocol", "ao"), ("Type", "Process")), "Tag 'Module': was not found on process"),
        (
            (("Data-Protocol", "aos"), ("Type", "Process"), ("Module", "m")),
            "Tag 'Data-Protocol': value 'ao' was not found on process",
        ),
        (
            (("Data-Protocol", "ao"), ("Type", "Message"), ("Module", "m")),
            "Tag 'Type': value 'Process' was not found on process",
        ),
    ],
)
def test_invalid_process_tags(pairs: tuple, message: str) -> None:
    with pytest.raises(InvalidProcessError) as info:
        verify_process_tags(tags(*pairs))
    assert str(info.value) == message and info.value.http_status == 500


def test_process_meta_from_su() -> None:
    # ao-su.test.js loadProcess mapping
    body = {
        "process_id": "ignored",
        "block": "000000001",
        "owner": {"address": "owner-123", "key": "key-123"},
        "tags": [{"name": "Module", "value": "m"}],
        "timestamp": 1700000000000,
        "data": "some data",
        "anchor": None,
        "signature": "sig-123",
    }
    meta = process_meta_from_su("process-123", body)
    assert meta.id == "process-123"
    assert meta.owner == Owner("owner-123", "key-123") and meta.owner_address == "owner-123"
    assert meta.block == Block(1, 1700000000000)
    assert (meta.signature, meta.anchor, meta.data) == ("sig-123", None, "some data")
    assert meta.tags == tags(("Module", "m"))
    bare = process_meta_from_su("p", {"block": "1", "owner": {"address": "a", "key": "k"}, "tags": [], "timestamp": 5})
    assert (bare.signature, bare.anchor, bare.data) == (UNDEFINED, UNDEFINED, UNDEFINED)
