"""JS number parsing and JSON shape readers (aocu/clients/_parse.py).

``parseInt`` and ``maybeParseInt`` (servers/cu/src/domain/utils.js) decide how SU tags and
checkpoint tags become numbers; these vectors are what Node gives.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from aocu.clients import Tag
from aocu.clients._parse import ShapeError, as_int, js_maybe_parse_int, js_parse_int, parse_tags, tags_at


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("000001500000", 1500000),
        ("23", 23),
        ("  42", 42),
        ("\u00a0\ufeff7", 7),
        ("-5", -5),
        ("+5", 5),
        ("10s", 10),
        ("1.9", 1),
        ("1e3", 1),
        ("0x1A", 26),
        ("0X1a", 26),
        ("0x", 0),
        ("", None),
        ("abc", None),
        ("-", None),
        (None, None),
        (True, None),
        (12, 12),
        (12.7, 12),
        (1e21, 1),
        (float("nan"), None),
        ("12345678901234567890", 12345678901234567890),
    ],
)
def test_js_parse_int(value: object, expected: int | None) -> None:
    assert js_parse_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        ("0", 0),
        ("undefined", None),
        ("", None),
        (None, None),
        ("12abc", None),
        (" 7 ", 7),
        ("1.5", 1),
        ("0x10", 16),
        ("NaN", None),
    ],
)
def test_js_maybe_parse_int(value: str | None, expected: int | None) -> None:
    assert js_maybe_parse_int(value) == expected


def test_parse_tags_collects_repeats() -> None:
    tags = (Tag("A", "1"), Tag("B", "2"), Tag("A", "3"), Tag("A", "4"))
    assert parse_tags(tags) == {"A": ["1", "3", "4"], "B": "2"}


def test_shape_errors_name_the_path() -> None:
    with pytest.raises(ShapeError, match=r"node.tags\[1\].value: expected a string, got a number"):
        tags_at({"tags": [{"name": "a", "value": "b"}, {"name": "c", "value": 1}]}, "tags", "node")
    with pytest.raises(ShapeError, match=r"n: expected an integer, got 1\.5"):
        as_int(1.5, "n")
    with pytest.raises(ShapeError, match="n: expected a number, got a boolean"):
        as_int(True, "n")
    assert tags_at({}, "tags", "x", default_empty=True) == ()


def _node(**changes: object) -> dict[str, object]:
    tags = [{"name": "Process", "value": "P"}, {"name": "Epoch", "value": "0"}, {"name": "Nonce", "value": "7"},
            {"name": "Timestamp", "value": "000001700000000000"}, {"name": "Block-Height", "value": "1500000"},
            {"name": "Hash-Chain", "value": "H"}, {"name": "Exclude", "value": "Data"},
            {"name": "Exclude", "value": "Tags"}, {"name": "Nonce", "value": "9"}]
    node: dict[str, object] = {
        "assignment": {"id": "A", "owner": {"address": "x", "key": "k"}, "tags": tags},
        "message": {"id": "M", "owner": {"address": "y", "key": "k2"}, "tags": [{"name": "Action", "value": "Eval"}],
                    "data": "d", "signature": "s", "anchor": None, "target": "P"},
    }
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        obj: Any = node
        for key in parents:
            obj = obj[key]
        obj[leaf] = value
    return node


@pytest.mark.parametrize("changes", [
    {}, {"assignment__owner": None}, {"assignment__id": None}, {"message__tags": None}, {"message__data": None},
    {"assignment__tags": [{"name": "Process", "value": "P"}, {"name": "Epoch", "value": "0x1"},
                          {"name": "Nonce", "value": " 7"}, {"name": "Timestamp", "value": "10s"},
                          {"name": "Block-Height", "value": "+3"}]},           # JS-only number forms
    {"assignment__tags": [{"name": "Process", "value": "P"}, {"name": "Epoch", "value": "0"},
                          {"name": "Nonce", "value": "\u0663"}, {"name": "Timestamp", "value": "1"},
                          {"name": "Block-Height", "value": "1"}]},            # a non-ASCII digit is NaN
    {"message__id": None}, {"message": None}, {"message__owner": {"address": "y"}}, {"message__anchor": 3},
    {"assignment__tags": "no"}, {"message__tags": [{"name": "a"}]}, {"assignment__owner": {"key": 1}},
])
def test_plain_current_node_reads_as_the_detailed_reader(changes: dict[str, object]) -> None:
    from aocu.clients._su_format import _parse_current_node, _plain_current_node, _read_current_node

    node = _node(**changes)
    try:
        detailed: object = _read_current_node(node, "node")
    except ShapeError as exc:
        detailed = exc
    plain = _plain_current_node(node)
    if plain is not None:                        # the fast reader only takes what it reads identically
        assert plain == detailed
    if isinstance(detailed, ShapeError):
        with pytest.raises(ShapeError, match=re.escape(str(detailed))):
            _parse_current_node(node, "node")
    else:
        assert _parse_current_node(node, "node") == detailed


def test_plain_current_node_takes_the_common_shape() -> None:
    from aocu.clients._su_format import _plain_current_node

    plain = _plain_current_node(_node())
    assert plain is not None
    assert plain[1].nonce == 7 and plain[1].timestamp == 1700000000000 and plain[1].exclude == ("Data", "Tags")
