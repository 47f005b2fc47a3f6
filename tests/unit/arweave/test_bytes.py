"""aocu.arweave byte conversions: Node ``Buffer`` semantics (base64/base64url decode, UTF-8)."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from aocu.arweave import base64url_encode, node_base64_decode, node_utf8, wtf8


@given(st.binary(max_size=100))
def test_base64url_round_trips(data: bytes) -> None:
    enc = base64url_encode(data)
    assert "=" not in enc and "+" not in enc and "/" not in enc
    assert node_base64_decode(enc) == data


@given(st.binary(max_size=100))
def test_decode_accepts_standard_alphabet_with_padding(data: bytes) -> None:
    assert node_base64_decode(base64.b64encode(data).decode()) == data


def test_decode_is_lenient_like_node() -> None:
    # Characters outside both alphabets are skipped; '=' stops decoding.
    assert node_base64_decode("QU JD") == b"ABC"
    assert node_base64_decode("QUJD!!") == b"ABC"
    assert node_base64_decode("QQ==QUJD") == b"A"
    # A lone trailing character cannot make a byte.
    assert node_base64_decode("QUJDR") == b"ABC"
    assert node_base64_decode("") == b""
    assert node_base64_decode("Q") == b""
    # Low bits of the last character are ignored (forgiving-base64).
    assert node_base64_decode("QR") == b"A"


def test_node_utf8_replaces_lone_surrogates() -> None:
    assert node_utf8("héllo") == "héllo".encode()
    assert node_utf8("a\ud800b") == b"a\xef\xbf\xbdb"
    # A surrogate pair written as two code points is the astral character.
    assert node_utf8("\ud83d\ude00") == "\U0001f600".encode()


def test_wtf8_keeps_lone_surrogates() -> None:
    assert wtf8("a\ud800b") == b"a\xed\xa0\x80b"
    assert wtf8("\udc00") == b"\xed\xb0\x80"
    assert wtf8("\ud83d\ude00") == "\U0001f600".encode()
