"""aocu.domain._js: the JS semantics behind the reference's tag parsing (parseInt, trim, ms, bytes)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from aocu.domain._js import bytes_parse, is_nan, js_parse_int, js_string, js_to_number, js_trim, ms_parse
from aocu.jsjson import UNDEFINED


def test_parse_int_like_js() -> None:
    assert js_parse_int("12") == 12
    assert js_parse_int("000001331218") == 1331218  # SU block heights are zero-padded
    assert js_parse_int("  -12abc") == -12
    assert js_parse_int("+7") == 7
    assert js_parse_int("0x10") == 16
    assert js_parse_int("1e3") == 1
    assert js_parse_int("9e12") == 9  # §8.8 #45: Compute-Limit 9e12 is 9
    assert js_parse_int("12.9") == 12
    assert js_parse_int(["1000", "2000"]) == 1000  # String(array) = "1000,2000"
    for nan in ("", "abc", "-", "0x", UNDEFINED, None, "undefined"):
        assert is_nan(js_parse_int(nan)), nan
    assert js_parse_int("99999999999999999999") == 100000000000000000000  # nearest double
    assert js_parse_int("10", 16) == 16
    assert is_nan(js_parse_int("10", 1))


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_parse_int_round_trips_safe_integers(n: int) -> None:
    assert js_parse_int(str(n)) == n


def test_trim_uses_js_whitespace() -> None:
    assert js_trim(" \t\ufeff x \u00a0\u2028") == "x"
    assert js_trim("\x1cx\x85") == "\x1cx\x85"  # Python whitespace JS keeps


def test_string_like_template_literals() -> None:
    assert js_string(23) == "23"
    assert js_string(math.nan) == "NaN"
    assert js_string(UNDEFINED) == "undefined"
    assert js_string(None) == "null"
    assert js_string(1.5) == "1.5"
    assert js_string(["a", None, 1]) == "a,,1"


def test_to_number_like_number() -> None:
    assert js_to_number("12") == 12
    assert js_to_number(" 12 ") == 12
    assert js_to_number("") == 0
    assert js_to_number(None) == 0
    assert js_to_number(True) == 1
    assert js_to_number("0x1f") == 31
    assert js_to_number("1e3") == 1000
    assert is_nan(js_to_number(UNDEFINED))
    assert is_nan(js_to_number("1_000"))
    assert is_nan(js_to_number("12px"))


def test_ms_like_the_ms_package() -> None:
    assert ms_parse("10 minutes") == 600_000
    assert ms_parse("1 Hour") == 3_600_000
    assert ms_parse("1 day") == 86_400_000
    assert ms_parse("1 year") == 31_557_600_000
    assert ms_parse("90 seconds") == 90_000
    assert ms_parse("1.5 h") == 5_400_000
    assert ms_parse(".5 s") == 500
    assert ms_parse("500 Milliseconds") == 500
    assert ms_parse("1 ") == 1  # a bare number is milliseconds
    for nan in ("1 hour ", "10 months", "1 ſ", "x", "1 h\n", "1" * 101):
        assert is_nan(ms_parse(nan)), nan


def test_bytes_like_the_bytes_package() -> None:
    assert bytes_parse("1gb") == 1073741824
    assert bytes_parse("15kb") == 15360
    assert bytes_parse("11kb") == 11264
    assert bytes_parse("512mb") == 536870912
    assert bytes_parse("1.5 MB") == 1572864
    assert bytes_parse("1pb") == 1024**5
    assert bytes_parse("100") == 100
    assert bytes_parse("100b") == 100  # no match, parseInt
    assert bytes_parse("abc") is None
