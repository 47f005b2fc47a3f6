"""aocu.arweave ANS-104 tag serialisation (warp-arbundles 1.0.4 ``serializeTags``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aocu.arweave import MAX_TAG_BYTES, serialize_tags, zigzag_varint


def test_zigzag_varint() -> None:
    assert zigzag_varint(0) == b"\x00"
    assert zigzag_varint(1) == b"\x02"
    assert zigzag_varint(-1) == b"\x01"
    assert zigzag_varint(63) == b"\x7e"
    assert zigzag_varint(64) == b"\x80\x01"
    assert zigzag_varint(300) == b"\xd8\x04"


def test_serializes_avro_array_of_records() -> None:
    got = serialize_tags([("Action", "Eval")])
    assert got == b"\x02" + b"\x0cAction" + b"\x08Eval" + b"\x00"


def test_empty_list_is_a_single_zero() -> None:
    assert serialize_tags([]) == b"\x00"


def test_utf8_strings_use_byte_lengths() -> None:
    got = serialize_tags([("é", "€")])
    assert got == b"\x02" + b"\x04" + "é".encode() + b"\x06" + "€".encode() + b"\x00"


def test_short_strings_write_lone_surrogates_as_wtf8_long_ones_as_replacement() -> None:
    short = serialize_tags([("a\ud800", "v")])
    assert short == b"\x02" + b"\x08a\xed\xa0\x80" + b"\x02v" + b"\x00"
    long_name = "x" * 64 + "\ud800"  # 67 bytes: Buffer.write path
    long = serialize_tags([(long_name, "v")])
    assert long[1:3] == zigzag_varint(67)
    assert long[3 : 3 + 67] == b"x" * 64 + b"\xef\xbf\xbd"


def test_too_many_bytes_raise_arbundles_message() -> None:
    serialize_tags([("n", "v" * 4000)])
    with pytest.raises(ValueError, match=r"^Too many tag bytes \(4110 > 4096\)$"):
        serialize_tags([("n", "v" * 4104)])
    assert MAX_TAG_BYTES == 4096


def test_non_string_values_are_rejected() -> None:
    with pytest.raises(TypeError):
        serialize_tags([("n", 1)])  # type: ignore[list-item]


@given(st.lists(st.tuples(st.text(max_size=20), st.text(max_size=20)), max_size=8))
def test_length_prefixes_match_utf8(tags: list[tuple[str, str]]) -> None:
    out = serialize_tags(tags)
    expected = bytearray()
    if tags:
        expected += zigzag_varint(len(tags))
        for name, value in tags:
            for s in (name, value):
                b = s.encode("utf-8", "surrogatepass")
                expected += zigzag_varint(len(b)) + b
    expected += b"\x00"
    assert out == bytes(expected)
