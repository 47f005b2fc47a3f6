"""aocu.jsjson against Node 20's JSON.stringify / JSON.parse and the ao-loader's stringToUTF8.

The expected values live in tests/fixtures/jsjson_vectors.json, produced by
``node tools/gen_jsjson_vectors.cjs``; these tests do not need node.
"""

from __future__ import annotations

import copy
import json
import math
import pickle
import struct
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aocu import jsjson
from aocu.jsjson import (
    UNDEFINED,
    dumps_bytes,
    parse,
    stringify,
    utf8_like_emscripten,
    utf8_to_string_like_emscripten,
    utf16_length,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "jsjson_vectors.json").read_text(encoding="utf-8")
)


def from_units(units: list[int]) -> str:
    """The canonical Python str of a JS string given as UTF-16 code units."""
    raw = struct.pack(f"<{len(units)}H", *units)
    return raw.decode("utf-16-le", "surrogatepass")


def split_pairs(s: str) -> str:
    """The same JS string with astral characters written as two surrogate code points."""
    return "".join(
        chr(0xD800 + ((ord(c) - 0x10000) >> 10)) + chr(0xDC00 + ((ord(c) - 0x10000) & 0x3FF))
        if ord(c) > 0xFFFF
        else c
        for c in s
    )


def from_bits(hex_bits: str) -> float:
    return struct.unpack(">d", bytes.fromhex(hex_bits))[0]


def from_spec(v: Any) -> Any:
    """The fixture's spec trees: {"$u": 1} stands for undefined."""
    if isinstance(v, list):
        return [from_spec(x) for x in v]
    if isinstance(v, dict):
        if v == {"$u": 1}:
            return UNDEFINED
        return {k: from_spec(x) for k, x in v.items()}
    return v


# --- numbers -----------------------------------------------------------------------


def test_fixture_is_substantial() -> None:
    assert len(VECTORS["numbers"]) > 1000
    assert len(VECTORS["strings"]) > 400


# The big vector groups run as one test each (thousands of parametrized cases
# would cost seconds of pytest overhead); every mismatch is listed on failure.


def test_number_formatting() -> None:
    bad = []
    for bits, expected in VECTORS["numbers"]:
        x = from_bits(bits)
        got = [stringify(x), stringify([x])]
        want = [expected, f"[{expected}]"]
        # An int holding the same integral value prints the same.
        if math.isfinite(x) and x.is_integer():
            got.append(stringify(int(x)))
            want.append(expected)
        if got != want:
            bad.append((bits, repr(x), got, expected))
    assert bad == []


def test_number_text_reparse() -> None:
    bad = []
    for text, expected in VECTORS["numberTexts"]:
        got = [stringify(parse(text))]
        # Integer digits held in a Python int print as JS prints Number(digits).
        if text.lstrip("-").isdigit() and len(text) < 4000:
            got.append(stringify(int(text)))
        if got != [expected] * len(got):
            bad.append((text, got, expected))
    assert bad == []


def test_number_specials() -> None:
    assert stringify(1.0) == "1"
    assert stringify(-0.0) == "0"
    assert stringify(1e21) == "1e+21"
    assert stringify(1e-7) == "1e-7"
    assert stringify(123456789012345680000.0) == "123456789012345680000"
    assert stringify(float("nan")) == "null"
    assert stringify(float("inf")) == "null"
    assert stringify(float("-inf")) == "null"
    assert stringify(12345678901234567890) == "12345678901234567000"
    assert stringify(2**53 + 1) == "9007199254740992"  # rounds half to even, like Number("9007199254740993")
    assert stringify(2**53 + 3) == "9007199254740996"
    assert stringify(-(2**53) - 1) == "-9007199254740992"
    # The overflow boundary: halfway between MAX_VALUE and 2**1024 rounds to Infinity.
    assert stringify(2**1024 - 2**970) == "null"
    assert stringify(2**1024 - 2**970 - 1) == "1.7976931348623157e+308"
    assert stringify(10**5000) == "null"
    assert stringify(-(10**5000)) == "null"


def test_parse_number_types() -> None:
    assert parse("1.0") == 1 and type(parse("1.0")) is int
    assert parse("1e2") == 100 and type(parse("1e2")) is int
    assert type(parse("-0")) is int and type(parse("-0.0")) is int
    assert parse("9007199254740992") == 2**53 and type(parse("9007199254740992")) is int
    assert parse("9007199254740993") == 2**53 and type(parse("9007199254740993")) is int
    assert type(parse("9007199254740994")) is float
    assert parse("1.5") == 1.5
    assert parse("1e400") == math.inf and parse("-1e400") == -math.inf
    assert parse("1" + "0" * 5000) == math.inf
    assert parse("12345678901234567890") == 12345678901234567890.0


# --- strings -------------------------------------------------------------------------


def test_string_escaping() -> None:
    bad = []
    for units, expected in VECTORS["strings"]:
        try:
            _check_string(from_units(units), units, expected)
        except AssertionError as e:
            bad.append((units, expected, str(e)))
    assert bad == []


def _check_string(s: str, units: list[int], expected: str) -> None:
    assert stringify(s) == expected
    assert stringify(split_pairs(s)) == expected
    assert stringify([s]) == f"[{expected}]"
    assert stringify({s: s}) == f"{{{expected}:{expected}}}"
    # Fast (plain) and slow (float present) encoder paths agree.
    assert stringify([s, 0.5]) == f"[{expected},0.5]"
    assert dumps_bytes([s]) == f"[{expected}]".encode()
    assert utf16_length(s) == len(units)
    assert utf16_length(split_pairs(s)) == len(units)
    # Well-formed output: re-parsing gives back the same JS string.
    assert parse(expected) == s


def test_utf8_like_emscripten() -> None:
    bad = []
    for units, expected_hex in VECTORS["emscriptenUtf8"]:
        s = from_units(units)
        got = [utf8_like_emscripten(s).hex(), utf8_like_emscripten(split_pairs(s)).hex()]
        if got != [expected_hex] * 2:
            bad.append((units, got, expected_hex))
    assert bad == []


def test_utf8_to_string_like_emscripten() -> None:
    bad = []
    for hex_bytes, units in VECTORS["emscriptenUtf8ToString"]:
        buf = bytes.fromhex(hex_bytes)
        got = [
            utf8_to_string_like_emscripten(buf),
            utf8_to_string_like_emscripten(bytearray(b"pad" + buf), 3),
        ]
        if got != [from_units(units)] * 2:
            bad.append((hex_bytes, [ascii(g) for g in got], units))
    assert bad == []


def test_utf8_to_string_round_trips_dumps_bytes() -> None:
    msg = {"Data": "h\u00e9llo \U0001f600 \ud800", "n": 1.5}
    assert utf8_to_string_like_emscripten(dumps_bytes(msg) + b"\0") == stringify(msg)


def test_utf8_like_emscripten_swallows_neighbours() -> None:
    # A lone low surrogate followed by "a" becomes U+10061, eating the "a".
    assert utf8_like_emscripten("\udc00a") == "\U00010061".encode()
    # At the end, the missing unit counts as 0.
    assert utf8_like_emscripten("x\ud83d") == b"x" + "\U0001f400".encode()
    # A lone surrogate before an astral character eats its high half; the low
    # half then eats the next unit.
    assert utf8_like_emscripten("\ud800\U0001f600b") == (
        chr(0x10000 + 0x3D).encode() + chr(0x10000 + (0x200 << 10) + 0x62).encode()
    )


# --- objects, arrays, undefined --------------------------------------------------------


@pytest.mark.parametrize("text,expected", VECTORS["parse"], ids=lambda v: str(v)[:30])
def test_parse_then_stringify(text: str, expected: str) -> None:
    value = parse(text)
    assert stringify(value) == expected


@pytest.mark.parametrize("text", VECTORS["parseErrors"], ids=lambda v: repr(v)[:30])
def test_parse_errors(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        parse(text)


@pytest.mark.parametrize("text", ["[1\u0663]", "\u0661", "[\u0661]", "1\u00a0", "\u00a0"])
def test_parse_rejects_non_ascii_digits_and_spaces(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        parse(text)


@pytest.mark.parametrize("spec,expected", VECTORS["undefinedCases"], ids=lambda v: str(v)[:30])
def test_undefined(spec: Any, expected: str | None) -> None:
    assert stringify(from_spec(spec)) == expected


@pytest.mark.parametrize("pairs,expected", VECTORS["keyOrder"], ids=lambda v: str(v)[:30])
def test_key_order(pairs: list[list[Any]], expected: str) -> None:
    d: dict[str, Any] = {}
    for k, v in pairs:
        d[k] = v
    assert stringify(d) == expected
    assert list(parse(expected)) == list(json.loads(expected))


def test_parse_key_order_like_js() -> None:
    assert list(parse('{"b":1,"2":2,"a":3,"1":4,"01":5}')) == ["1", "2", "b", "a", "01"]
    assert parse('{"a":1,"b":2,"a":3}') == {"a": 3, "b": 2}
    assert list(parse('{"a":1,"b":2,"a":3}')) == ["a", "b"]


def test_undefined_sentinel() -> None:
    assert repr(UNDEFINED) == "UNDEFINED"
    assert not UNDEFINED
    assert copy.deepcopy(UNDEFINED) is UNDEFINED
    assert pickle.loads(pickle.dumps(UNDEFINED)) is UNDEFINED
    assert stringify(UNDEFINED) is None
    with pytest.raises(TypeError):
        dumps_bytes(UNDEFINED)


def test_non_str_keys_like_js_property_keys() -> None:
    assert stringify({1: "a", "b": 2, 0: "z"}) == '{"0":"z","1":"a","b":2}'
    assert stringify({1.5: 1, True: 2, None: 3}) == '{"1.5":1,"true":2,"null":3}'
    assert stringify({float("nan"): 1, float("-inf"): 2}) == '{"NaN":1,"-Infinity":2}'
    assert stringify({"1": "first", 1: "second", "x": 0}) == '{"1":"second","x":0}'
    with pytest.raises(TypeError):
        stringify({(1, 2): 3})


def test_other_types() -> None:
    assert stringify((1, "a", None, True, False)) == '[1,"a",null,true,false]'
    assert stringify([]) == "[]" and stringify({}) == "{}" and stringify([[], {}]) == "[[],{}]"
    assert stringify({"a": UNDEFINED}) == "{}"
    for bad in (b"x", {1, 2}, object()):
        with pytest.raises(TypeError):
            stringify(bad)

    class Sub(str):
        pass

    class IntSub(int):
        pass

    assert stringify({"k": Sub("v"), "n": IntSub(2**60)}) == '{"k":"v","n":1152921504606847000}'


def test_typical_message() -> None:
    msg = {
        "Id": "a" * 43,
        "Owner": "b" * 43,
        "Target": "c" * 43,
        "Anchor": "00000000000000000000000000000042",
        "Data": "héllo 😀 \u2028",
        "Tags": [{"name": "Action", "value": "Eval"}, {"name": "Data-Protocol", "value": "ao"}],
        "Timestamp": 1700000000000,
        "Block-Height": 1234567,
        "Forwarded-By": UNDEFINED,
        "Cron": False,
        "Epoch": None,
    }
    out = stringify(msg)
    assert out is not None
    assert '"Forwarded-By"' not in out
    assert dumps_bytes(msg) == out.encode()
    assert out == json.dumps(
        {k: v for k, v in msg.items() if v is not UNDEFINED}, ensure_ascii=False, separators=(",", ":")
    )


# --- properties ------------------------------------------------------------------------

# JSON values as JS would hold them after parse: no -0, integral doubles <= 2**53
# as ints, strings canonical (pairs joined) but possibly with lone surrogates.
_text = st.text(st.characters(blacklist_categories=()), max_size=20).map(
    lambda s: s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer() or abs(f) > 2**53),
    _text,
)
_json = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(_text, children, max_size=5)),
    max_leaves=30,
)


def _is_index(k: str) -> bool:
    return k.isascii() and k.isdigit() and (k == "0" or k[0] != "0") and int(k) <= 2**32 - 2


def _js_pairs(v: Any) -> Any:
    """``v`` with every dict turned into its (key, value) list in JS property order."""
    if isinstance(v, list):
        return [_js_pairs(x) for x in v]
    if isinstance(v, dict):
        keys = sorted((k for k in v if _is_index(k)), key=int) + [k for k in v if not _is_index(k)]
        return [(k, _js_pairs(v[k])) for k in keys]
    return v


@settings(max_examples=300, deadline=None)
@given(_json)
def test_round_trip(value: Any) -> None:
    text = stringify(value)
    assert text is not None
    back = parse(text)
    assert stringify(back) == text
    assert _js_pairs(back) == _js_pairs(value)
    assert dumps_bytes(value) == utf8_like_emscripten(text) == text.encode()
    assert utf16_length(text) == len(text.encode("utf-16-le", "surrogatepass")) // 2


_plain_text = st.text(st.characters(codec="utf-8"), max_size=20).filter(lambda s: s[:1] not in "0123456789")
_plain = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**53), max_value=2**53), _plain_text),
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(_plain_text, children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_plain)
def test_agrees_with_stdlib_where_it_must(value: Any) -> None:
    # No floats, no big ints, no digit-first keys, no surrogates: the stdlib's
    # compact ensure_ascii=False output is already JS's.
    assert stringify(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert parse(stringify(value)) == value  # type: ignore[arg-type]


@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_round_trip(x: float) -> None:
    text = stringify(x)
    assert text is not None
    assert float(text) == x
    back = parse(text)
    assert back == x and stringify(back) == text


@settings(max_examples=300, deadline=None)
@given(st.integers())
def test_int_is_number_of_int(x: int) -> None:
    try:
        f = float(x)
    except OverflowError:
        assert stringify(x) == "null"
        return
    assert stringify(x) == stringify(f)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=0xFFFF), max_size=12))
def test_utf16_units_round_trip(units: list[int]) -> None:
    s = from_units(units)
    assert utf16_length(s) == len(units)
    text = stringify(s)
    assert text is not None
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in text)  # lone surrogates are escaped
    assert parse(text) == s


# Trees with everything that takes the slow path somewhere: UNDEFINED, floats,
# big ints, digit-first keys, non-str keys, lone surrogates.
_awkward_key = st.one_of(_text, st.sampled_from(["0", "1", "10", "01", "4294967294", "4294967295", "-1"]))
_awkward = st.recursive(
    st.one_of(
        _scalars,
        st.just(UNDEFINED),
        st.integers(),
        st.floats(),
        st.sampled_from(["\n" * 3, 'a"b', "x\\y", "\ud800", "\U0001f600", "\x00\x1f"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(_awkward_key, children, max_size=5),
        st.dictionaries(st.integers(min_value=0, max_value=20), children, max_size=3),
    ),
    max_leaves=30,
)


def _without_undefined(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [None if x is UNDEFINED else _without_undefined(x) for x in v]
    if isinstance(v, dict):
        return {k: _without_undefined(x) for k, x in v.items() if x is not UNDEFINED}
    return v


@settings(max_examples=400, deadline=None)
@given(_awkward)
def test_fast_and_slow_paths_agree(value: Any) -> None:
    expected = stringify(value)
    with patch.object(jsjson, "_prepare", lambda v: jsjson._SLOW):
        assert stringify(value) == expected
    with patch.object(jsjson, "_BIG", 2):
        assert stringify(value) == expected
    if value is not UNDEFINED:
        assert stringify(_without_undefined(value)) == expected
        assert dumps_bytes(value) == expected.encode()  # type: ignore[union-attr]
        assert stringify(parse(expected)) == expected  # type: ignore[arg-type]


def test_prepare_copies_only_what_holds_undefined() -> None:
    tags = [{"name": "a", "value": "b"}]
    msg = {"Tags": tags, "Forwarded-By": UNDEFINED, "Data": "x"}
    prepared = jsjson._prepare(msg)
    assert prepared == {"Tags": tags, "Data": "x"} and prepared is not msg
    assert prepared["Tags"] is tags  # type: ignore[index]
    assert jsjson._prepare(tags) is tags
    assert jsjson._prepare([1, UNDEFINED, [UNDEFINED]]) == [1, None, [None]]
    assert msg["Forwarded-By"] is UNDEFINED  # the input is not modified


@pytest.mark.parametrize("size", [10, 200_000])      # below and above the scan limit
def test_parse_without_js_key_order_keeps_text_order_and_js_values(size: int) -> None:
    text = '{"b": 1, "1": [12345678901234567890, 1.0, "%s"], "a": {"2": -0, "x": 1e400}}' % ("y" * size)
    js = parse(text)
    plain = parse(text, js_key_order=False)
    assert list(js) == ["1", "b", "a"] and list(js["a"]) == ["2", "x"]
    assert list(plain) == ["b", "1", "a"] and list(plain["a"]) == ["2", "x"]
    assert plain == js                      # the same values: only the order of keys differs
    assert plain["1"][0] == 1.2345678901234567e19 and type(plain["1"][1]) is int
    with pytest.raises(json.JSONDecodeError):
        parse('{"a": NaN}', js_key_order=False)
