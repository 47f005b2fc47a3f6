"""JS number parsing and JSON shape readers (aocu/clients/_parse.py).

``parseInt`` and ``maybeParseInt`` (servers/cu/src/domain/utils.js) decide how SU tags and
checkpoint tags become numbers; these vectors are what Node gives.
"""

from __future__ import annotations

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
