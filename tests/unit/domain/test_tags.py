"""aocu.domain tag helpers (utils.js; utils.test.js ``removeTagsByNameMaybeValue``, §A.1 ``parseTags``)."""

from __future__ import annotations

from aocu.domain import find_raw_tag, map_forwarded_by, map_from, parse_tags, remove_tags_by_name
from aocu.jsjson import UNDEFINED

from .builders import tags

TAGS = tags(
    ("Data-Protocol", "ao"),
    ("Variant", "ao.TN.1"),
    ("Type", "Message"),
    ("Type", "Foo"),
    ("SDK", "aoconnect"),
)


def test_remove_tags_by_name() -> None:
    assert remove_tags_by_name(TAGS, "Type") == tags(
        ("Data-Protocol", "ao"), ("Variant", "ao.TN.1"), ("SDK", "aoconnect")
    )


def test_remove_tags_by_name_and_value() -> None:
    assert remove_tags_by_name(TAGS, "Type", "Foo") == tags(
        ("Data-Protocol", "ao"), ("Variant", "ao.TN.1"), ("Type", "Message"), ("SDK", "aoconnect")
    )


def test_parse_tags_folds_repeats_into_lists() -> None:
    assert parse_tags(TAGS) == {
        "Data-Protocol": "ao",
        "Variant": "ao.TN.1",
        "Type": ["Message", "Foo"],
        "SDK": "aoconnect",
    }
    assert parse_tags(None) == {}


def test_find_raw_tag_takes_the_first() -> None:
    assert find_raw_tag("Type", TAGS) == TAGS[2]
    assert find_raw_tag("Nope", TAGS) is None


def test_from_and_forwarded_by() -> None:
    assert map_from(TAGS, "owner") == "owner"
    assert map_forwarded_by(TAGS, "owner") is UNDEFINED
    fwd = tags(("From-Process", "pid"))
    assert (map_from(fwd, "owner"), map_forwarded_by(fwd, "owner")) == ("pid", "owner")
