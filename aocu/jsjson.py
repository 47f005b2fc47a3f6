"""JSON exactly as JavaScript (Node 20) writes and reads it.

This module owns every byte of JSON that crosses between aocu and ao process
modules or clients. The reference CU hands ``JSON.stringify(msg)`` to the
module through Emscripten's ``stringToUTF8``, so the bytes in wasm memory (and
therefore results and memory hashes) depend on JS's exact number formatting,
key order, ``undefined`` handling and string escaping; Python's ``json`` alone
differs in all four.

Public API:

``stringify(value) -> str | None``
    ``JSON.stringify(value)`` without indentation.
``dumps_bytes(value) -> bytes``
    The UTF-8 bytes the loader writes into wasm memory for ``stringify(value)``.
``parse(text) -> Any``
    ``JSON.parse(text)``, with numbers mapped so that re-stringifying is exact.
``utf8_like_emscripten(s) -> bytes``
    Emscripten's ``stringToUTF8`` as shipped in ``@permaweb/ao-loader`` 0.0.49.
``utf8_to_string_like_emscripten(buf, offset=0) -> str``
    Emscripten's ``UTF8ToString``, how the loader reads strings back from wasm.
``utf16_length(s) -> int``
    The JS ``.length`` of ``s`` (UTF-16 code units).
``UNDEFINED``
    Stands for JS ``undefined``.

How Python values map to JS values:

* ``str`` is the JS string of its UTF-16 encoding, surrogate code points
  standing for themselves. So ``"\\ud83d\\ude00"`` (two code points) and
  ``"\\U0001f600"`` are the same JS string, and a lone surrogate is a lone
  surrogate. Every function here treats them that way.
* ``int`` is the JS Number nearest to it (``Number(x)``): ints with
  ``|x| <= 2**53`` are exact; larger ones are rounded to a double (half to
  even, like JS parsing the digits) and printed as JS prints that double, e.g.
  ``12345678901234567890 -> 12345678901234567000``. Ints too large for a double
  become ``null`` (JS: ``Infinity``). A Python int in a message came from JSON,
  where the reference only ever had a double.
* ``float`` is a double; NaN and infinities become ``null``; ``-0.0`` is ``0``.
* ``dict`` is a plain object. Keys are ordered the JS way: array-index keys
  (``"0"`` .. ``"4294967294"`` in canonical form) first in ascending numeric
  order, then the others in insertion order. Non-``str`` keys are converted
  like a JS property key (``1 -> "1"``, ``1.5 -> "1.5"``, ``True -> "true"``,
  ``None -> "null"``); if two keys convert to the same string, the later value
  wins at the earlier position, as repeated assignment does in JS.
* ``list`` and ``tuple`` are arrays. ``bool`` and ``None`` are what they look like.
* `UNDEFINED`: dropped as an object value, ``null`` as an array item, and a
  top-level ``stringify(UNDEFINED)`` returns ``None`` (JS returns undefined).

Anything else raises ``TypeError``. Cycles are not detected (JS throws a
TypeError; here the recursion limit does), because nothing aocu serializes can
contain one and checking costs time on every message.
"""

from __future__ import annotations

import json
import re
from json.encoder import c_encode_basestring as _c_encode_str  # type: ignore[attr-defined]
from json.encoder import c_make_encoder as _c_make_encoder  # type: ignore[attr-defined]
from typing import Any, Final

__all__ = [
    "UNDEFINED",
    "dumps_bytes",
    "js_type",
    "parse",
    "stringify",
    "utf8_like_emscripten",
    "utf8_to_string_like_emscripten",
    "utf16_length",
]


class _Undefined:
    """Type of `UNDEFINED`; a singleton, falsy like JS ``undefined``."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        # Pickling/copying must give back the singleton, or `is UNDEFINED` fails.
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()

# Every integer with |x| <= 2**53 is a double, and JS prints such a double as
# exactly the integer's digits (shortest round-trip digits padded with zeros
# can only be the exact integer when the spacing of doubles is <= 1).
_MAX_EXACT: Final = 2**53
# JS array indices are canonical decimal strings of 0 .. 2**32 - 2; only those
# keys are ordered numerically (V8 agrees: "4294967295" keeps insertion order).
_MAX_INDEX: Final = 2**32 - 2
_DIGITS: Final = frozenset("0123456789")
_INDEX_RE: Final = re.compile(r"0|[1-9][0-9]{0,9}")
_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")
_INF: Final = float("inf")

# The C encoder (CPython's _json accelerator; aocu targets CPython only),
# without the circular-reference markers (see the docstring).
# c_encode_basestring is the ensure_ascii=False escaper: it escapes exactly
# what JS escapes (" \\ \b \f \n \r \t, other C0 controls as lowercase \u00xx)
# and writes everything else raw; its only difference from JS is that it
# writes surrogate code points raw, which `_fix_surrogates` repairs.
_c_encode: Final = _c_make_encoder(None, None, _c_encode_str, None, ":", ",", False, False, True)


# --- numbers -------------------------------------------------------------------


def _number(x: float) -> str:
    """Number.prototype.toString for a double, except NaN/±Infinity -> ``null`` (as JSON does)."""
    if x != x or x == _INF or x == -_INF:
        return "null"
    if -_MAX_EXACT <= x <= _MAX_EXACT and x.is_integer():
        return str(int(x))  # also turns -0.0 into "0", as JS does
    # repr() gives the shortest digits that round-trip, choosing the closest
    # when several do: the same digits ECMA-262 Number::toString requires.
    # Only the layout differs ("1e-07", "1e+16", "123.0"), so re-lay it out.
    r = repr(x)
    sign = ""
    if r[0] == "-":
        sign = "-"
        r = r[1:]
    mant, _, exp = r.partition("e")
    whole, _, frac = mant.partition(".")
    digits = whole + frac
    point = len(whole) + (int(exp) if exp else 0)  # value = 0.digits * 10**point
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k = len(digits)
    n = point  # ECMA-262 names: value = digits * 10**(n - k)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return sign + head + ("e+" if e >= 0 else "e-") + str(abs(e))


def _int(x: int) -> str:
    """A Python int as JS prints ``Number(x)``."""
    if -_MAX_EXACT <= x <= _MAX_EXACT:
        return str(x)
    try:
        f = float(x)  # correctly rounded, half to even, like JS's StringToNumber
    except OverflowError:
        return "null"  # Number(x) is ±Infinity
    return _number(f)


def _key(k: object) -> str:
    """A non-str dict key as JS's ToPropertyKey would spell it."""
    if k is True:
        return "true"
    if k is False:
        return "false"
    if k is None:
        return "null"
    if isinstance(k, int):
        s = _int(k)
        return s if s != "null" else ("Infinity" if k > 0 else "-Infinity")
    if isinstance(k, float):
        if k != k:
            return "NaN"
        if k in (_INF, -_INF):
            return "Infinity" if k > 0 else "-Infinity"
        return _number(k)
    raise TypeError(f"JSON object keys must be str (or int/float/bool/None), not {type(k).__name__}")


# --- strings ---------------------------------------------------------------------


def _canonical(s: str) -> str:
    """``s`` with adjacent high+low surrogate code points joined into one code point."""
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _escape_surrogate(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def _fix_surrogates(out: str) -> str:
    """Make the C encoder's output well-formed the way Node 20 is.

    Surrogate code points can only occur inside string literals, and escaping
    is context-free, so the whole output can be repaired at once: pairs become
    the one character they encode (JS writes valid pairs raw), and lone
    surrogates become lowercase ``\\udxxx`` escapes (well-formed JSON.stringify).
    """
    return _SURROGATE_RE.sub(_escape_surrogate, _canonical(out))


# --- stringify -------------------------------------------------------------------


# Strings longer than this skip the C escaper when they need no escaping: it
# runs at ~4 ns/char, while 34 memchr-speed `in` scans cost ~0.7 ns/char.
_BIG: Final = 16384
# Checked in this order: the likeliest ones first, since any hit ends the scan.
_ESCAPED: Final = ('"', "\\", "\n", "\r", "\t", *(chr(c) for c in range(32) if c not in (9, 10, 13)))


# Keys already seen to be exact str not starting with a digit (the C encoder keeps their order, as
# JS does): messages repeat the same few dozen keys, and a set probe is cheaper than the checks.
# A str subclass equal to one of them passes too; the C encoder writes it as the same text.
_PLAIN_KEYS: Final[set[str]] = set()
_PLAIN_KEYS_MAX: Final = 4096


class _Slow:
    """`_prepare`'s answer when only `_encode`'s own walk writes a subtree right."""


_SLOW: Final = _Slow()


def _prepare(v: object) -> object:
    """``v``, or a copy of it, that the C encoder writes exactly as JS (surrogates aside); else `_SLOW`.

    The C encoder is right for exact str/bool/None/list/tuple/dict and ints
    that are exact doubles. UNDEFINED is common (the CU's ``Forwarded-By``),
    so it is handled by copying the containers that hold it (dropped from
    dicts, ``None`` in lists). Floats (Python's repr layout differs), bigger
    ints, keys that are not str or start with a digit (JS may reorder them),
    big strings (`_encode_str` is faster) and anything else give `_SLOW`.
    Messages are small trees of strings, so this single walk costs about as
    much as the C encoding itself.
    """
    t = type(v)
    if t is dict:
        copy = False
        changed: dict[str, object] | None = None
        plain_keys = _PLAIN_KEYS
        for k, x in v.items():  # type: ignore[attr-defined]
            if k not in plain_keys:
                if type(k) is not str or k[:1] in _DIGITS:
                    return _SLOW
                if len(plain_keys) < _PLAIN_KEYS_MAX:
                    plain_keys.add(k)
            tx = type(x)
            if tx is str:
                if len(x) > _BIG:
                    return _SLOW
            elif tx is int:
                if not -_MAX_EXACT <= x <= _MAX_EXACT:
                    return _SLOW
            elif tx is dict or tx is list or tx is tuple:
                y = _prepare(x)
                if y is not x:
                    if y is _SLOW:
                        return _SLOW
                    if changed is None:
                        changed = {}
                    changed[k] = y
                    copy = True
            elif x is UNDEFINED:
                copy = True
            elif tx is not bool and x is not None:
                return _SLOW
        if not copy:
            return v
        if changed is None:
            return {k: x for k, x in v.items() if x is not UNDEFINED}  # type: ignore[attr-defined]
        return {k: changed.get(k, x) for k, x in v.items() if x is not UNDEFINED}  # type: ignore[attr-defined]
    if t is list or t is tuple:
        out: list[object] | None = None
        for i, x in enumerate(v):  # type: ignore[call-overload]
            tx = type(x)
            if tx is str:
                if len(x) > _BIG:
                    return _SLOW
                continue
            if tx is int:
                if not -_MAX_EXACT <= x <= _MAX_EXACT:
                    return _SLOW
                continue
            if tx is dict or tx is list or tx is tuple:
                y = _prepare(x)
                if y is x:
                    continue
                if y is _SLOW:
                    return _SLOW
            elif x is UNDEFINED:
                y = None
            elif tx is bool or x is None:
                continue
            else:
                return _SLOW
            if out is None:
                out = list(v)  # type: ignore[call-overload]
            out[i] = y
        return v if out is None else out
    if t is str:
        return v if len(v) <= _BIG else _SLOW  # type: ignore[arg-type]
    if t is int:
        return v if -_MAX_EXACT <= v <= _MAX_EXACT else _SLOW  # type: ignore[operator]
    if t is bool or v is None:
        return v
    return _SLOW


def _is_index(k: str) -> bool:
    return _INDEX_RE.fullmatch(k) is not None and int(k) <= _MAX_INDEX


def _object_items(d: dict[Any, Any]) -> list[tuple[str, Any]]:
    """The (key, value) pairs of ``d`` in JS own-property order, UNDEFINED values kept."""
    if not all(type(k) is str for k in d):
        conv: dict[str, Any] = {}
        for k, x in d.items():
            conv[k if isinstance(k, str) else _key(k)] = x
        d = conv
    indices = [k for k in d if k[:1] in _DIGITS and _is_index(k)]
    if not indices:
        return list(d.items())
    indices.sort(key=int)
    rest = [k for k in d if not (k[:1] in _DIGITS and _is_index(k))]
    return [(k, d[k]) for k in indices] + [(k, d[k]) for k in rest]


def _encode_str(s: str, parts: list[str]) -> None:
    if len(s) > _BIG:
        for c in _ESCAPED:
            if c in s:
                break
        else:
            parts += ('"', s, '"')  # nothing to escape; ''.join copies it once
            return
    parts.append(_c_encode_str(s))


def _encode(v: object, parts: list[str]) -> None:
    """Append the JS serialization of ``v`` (not UNDEFINED) to ``parts``.

    Subtrees the C encoder gets right (`_prepare`) are handed to it whole; the
    rest is walked here. Surrogates in strings are fixed later, on the joined
    output (see `_fix_surrogates`).
    """
    if isinstance(v, str):
        _encode_str(v, parts)
    elif v is None:
        parts.append("null")
    elif v is True:
        parts.append("true")
    elif v is False:
        parts.append("false")
    elif isinstance(v, int):
        parts.append(_int(v))
    elif isinstance(v, float):
        parts.append(_number(v))
    elif isinstance(v, dict):
        prepared = _prepare(v)
        if prepared is not _SLOW:
            parts += _c_encode(prepared, 0)
            return
        parts.append("{")
        first = True
        for k, x in _object_items(v):
            if x is UNDEFINED:
                continue  # JS drops properties whose value is undefined
            if first:
                first = False
            else:
                parts.append(",")
            parts.append(_c_encode_str(k))
            parts.append(":")
            _encode(x, parts)
        parts.append("}")
    elif isinstance(v, (list, tuple)):
        prepared = _prepare(v)
        if prepared is not _SLOW:
            parts += _c_encode(prepared, 0)
            return
        parts.append("[")
        for i, x in enumerate(v):
            if i:
                parts.append(",")
            if x is UNDEFINED:
                parts.append("null")  # JS writes undefined array items as null
            else:
                _encode(x, parts)
        parts.append("]")
    else:
        raise TypeError(f"Object of type {type(v).__name__} is not JSON serializable the JS way")


def _stringify_raw(value: object) -> str:
    """JSON text of ``value`` (not UNDEFINED), possibly with surrogate code points still raw."""
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts)


def stringify(value: object) -> str | None:
    """``JSON.stringify(value)`` (no indentation); ``None`` for a top-level `UNDEFINED`."""
    if value is UNDEFINED:
        return None
    out = _stringify_raw(value)
    if not out.isascii() and _SURROGATE_RE.search(out) is not None:
        out = _fix_surrogates(out)
    return out


def dumps_bytes(value: object) -> bytes:
    """The bytes the loader writes into wasm memory for ``JSON.stringify(value)``.

    Well-formed JSON.stringify escapes every lone surrogate, so its output is
    valid UTF-16 and Emscripten's ``stringToUTF8`` writes plain UTF-8 for it.
    Raises ``TypeError`` for a top-level `UNDEFINED` (there is no text).
    """
    if value is UNDEFINED:
        raise TypeError("JSON.stringify(undefined) has no text to encode")
    out = _stringify_raw(value)
    try:
        # Cheaper than searching for surrogates first: encode fails on them.
        return out.encode("utf-8")
    except UnicodeEncodeError:
        return _fix_surrogates(out).encode("utf-8")


# --- parse ---------------------------------------------------------------------------


def _parse_int(s: str) -> int | float:
    # Up to 15 characters the integer is below 2**53, so exact; longer ones are
    # rounded to a double like JS (float() is correctly rounded at any length,
    # and int() would refuse > 4300 digits).
    if len(s) <= 15:
        return int(s)
    f = float(s)
    return int(f) if -_MAX_EXACT <= f <= _MAX_EXACT else f


def _parse_float(s: str) -> int | float:
    f = float(s)  # correctly rounded; overflows to ±inf and underflows to ±0 like JS
    if -_MAX_EXACT <= f <= _MAX_EXACT and f.is_integer():
        return int(f)  # "1.0" and "1e2" are the integers 1 and 100 in JS
    return f


class _JSConstant(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _reject_constant(name: str) -> Any:
    # Python accepts NaN/Infinity/-Infinity; JSON.parse does not.
    raise _JSConstant(name)


def _js_object(d: dict[str, Any]) -> dict[str, Any]:
    # The C decoder already gives JS's duplicate-key behaviour (last value, at
    # the first position); JS additionally lists array-index keys first.
    for k in d:
        if k[:1] in _DIGITS:
            return dict(_object_items(d))
    return d


_decoder: Final = json.JSONDecoder(
    object_hook=_js_object,
    parse_float=_parse_float,
    parse_int=_parse_int,
    parse_constant=_reject_constant,
)
# Without the per-object Python hook: for texts where no string (so no key)
# starts with a digit, which ten substring scans establish.
_decoder_no_hook: Final = json.JSONDecoder(
    parse_float=_parse_float,
    parse_int=_parse_int,
    parse_constant=_reject_constant,
)
_DIGIT_QUOTES: Final = tuple(f'"{d}' for d in "0123456789")
_SCAN_MAX: Final = 65536


def parse(text: str, *, js_key_order: bool = True) -> Any:
    """``JSON.parse(text)``; raises ``json.JSONDecodeError`` where JS throws a SyntaxError.

    Objects become dicts in JS property order (``js_key_order=False``: in text order, a third
    cheaper on big texts, for callers that only look keys up and never list or re-serialize
    an object). A number becomes an ``int`` when
    its double is integral with ``|x| <= 2**53`` (the int is that double
    exactly), otherwise a ``float`` (possibly ±inf: ``1e400`` is Infinity in
    JS). So ``-0`` reads as ``0``, ``1.0`` and ``1e2`` as ints, and
    ``12345678901234567890`` as the float JS gets; `stringify` writes all of
    them back exactly as JS would. ``\\udxxx`` escapes of lone surrogates give
    lone surrogate code points, which `stringify` escapes again.
    """
    decoder = _decoder if js_key_order else _decoder_no_hook
    # Big texts (a large Data string) have few objects per byte: there the
    # hook is cheaper than the scans.
    if decoder is _decoder and len(text) <= _SCAN_MAX:
        for q in _DIGIT_QUOTES:
            if q in text:
                break
        else:
            decoder = _decoder_no_hook
    try:
        return decoder.decode(text)
    except _JSConstant as e:
        pos = max(text.find(e.name), 0)
        raise json.JSONDecodeError(f"Unexpected token {e.name[0]!r}", text, pos) from None


def js_type(value: object) -> str:
    """Zod's ``getParsedType`` name of a parsed JSON value, as in "Expected string, received <type>"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


# --- Emscripten string helpers -------------------------------------------------------


def utf16_length(s: str) -> int:
    """The JS ``.length`` of ``s``: its number of UTF-16 code units."""
    if s.isascii():
        return len(s)
    return len(s.encode("utf-16-le", "surrogatepass")) >> 1


def utf8_like_emscripten(s: str) -> bytes:
    """The bytes ``stringToUTF8(s, ptr, lengthBytesUTF8(s) + 1)`` writes, without the NUL.

    The ao-loader 0.0.49 glue (every format) reads a code unit ``u`` and, if it
    is ANY surrogate, unconditionally swallows the next unit ``u1`` and writes
    the 4-byte sequence of ``0x10000 + ((u & 0x3ff) << 10) | (u1 & 0x3ff)``
    (past the end, ``u1`` is NaN, i.e. 0). For valid UTF-16 that is plain
    UTF-8; a lone surrogate instead eats its neighbour. It is not U+FFFD
    (TextEncoder) nor a 3-byte ``ED xx xx`` (newer Emscripten's codePointAt).
    """
    try:
        return s.encode("utf-8")  # valid UTF-16: identical, and fast
    except UnicodeEncodeError:
        pass
    s = _canonical(s)  # now the only surrogate code points are lone units
    n = len(s)
    out = bytearray()
    pos = 0
    while True:
        m = _SURROGATE_RE.search(s, pos)
        if m is None:
            out += s[pos:].encode("utf-8")
            return bytes(out)
        i = m.start()
        out += s[pos:i].encode("utf-8")
        u = ord(s[i])
        j = i + 1
        while True:
            if j >= n:
                out += chr(0x10000 + ((u & 0x3FF) << 10)).encode("utf-8")
                pos = n
                break
            c = ord(s[j])
            if c < 0x10000:  # one unit (possibly another lone surrogate): swallowed whole
                out += chr(0x10000 + ((u & 0x3FF) << 10) + (c & 0x3FF)).encode("utf-8")
                pos = j + 1
                break
            # An astral character is two units: the high one is swallowed, and
            # its low half is now a surrogate unit that swallows what follows.
            c -= 0x10000
            out += chr(0x10000 + ((u & 0x3FF) << 10) + (c >> 10)).encode("utf-8")
            u = 0xDC00 + (c & 0x3FF)
            j += 1


def utf8_to_string_like_emscripten(buf: bytes | bytearray, offset: int = 0) -> str:
    """What the glue's ``UTF8ToString(ptr)`` returns for memory ``buf`` at ``offset``.

    It stops at the first NUL. More than 16 bytes go through
    ``TextDecoder('utf8')``: invalid sequences become U+FFFD exactly as
    Python's ``errors="replace"`` does (checked against Node), and a leading
    BOM is dropped. Up to 16 bytes are decoded by hand without any validation:
    lead bytes pick a length, continuation bits are taken blindly (even the
    NUL and up to two bytes after it), so e.g. ``ED A0 80`` gives a lone
    surrogate. Pass memory beyond the string for those bytes; missing bytes
    read as 0 (JS: ``undefined & 63``).
    """
    end = buf.find(0, offset)
    if end < 0:
        end = len(buf)
    if end - offset > 16:
        data = bytes(buf[offset:end])
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]  # TextDecoder's default ignoreBOM=false strips one BOM
        return data.decode("utf-8", "replace")
    n = len(buf)

    def at(i: int) -> int:
        return buf[i] if i < n else 0

    units: list[int] = []
    i = offset
    while i < end:
        u0 = buf[i]
        i += 1
        if not u0 & 0x80:
            units.append(u0)
            continue
        u1 = at(i) & 63
        i += 1
        if u0 & 0xE0 == 0xC0:
            units.append((u0 & 31) << 6 | u1)
            continue
        u2 = at(i) & 63
        i += 1
        if u0 & 0xF0 == 0xE0:
            u0 = (u0 & 15) << 12 | u1 << 6 | u2
        else:
            u0 = (u0 & 7) << 18 | u1 << 12 | u2 << 6 | at(i) & 63
            i += 1
        if u0 < 0x10000:
            units.append(u0)
        else:
            ch = u0 - 0x10000
            # String.fromCharCode keeps the low 16 bits of each argument.
            units.append((0xD800 | ch >> 10) & 0xFFFF)
            units.append(0xDC00 | ch & 0x3FF)
    return b"".join(u.to_bytes(2, "little") for u in units).decode("utf-16-le", "surrogatepass")
