"""JavaScript value semantics the reference's domain rules depend on.

Pure; no I/O. The reference parses tags with ``parseInt``, ``String.prototype.trim``, the ``ms``
(2.1.3) and ``bytes`` (3.1.2) npm packages, and builds names with template literals; getting a
cron interval, a memory limit or a message name exactly right needs their exact behaviour,
including the odd corners (``parseInt("0x10") == 16``, ``ms("1 ")`` is 1 ms, NaN everywhere).

JS numbers are modelled as Python ``int`` (integral values) or ``float`` (NaN, infinities,
fractions). `UNDEFINED` (from aocu.jsjson) is JS ``undefined``, ``None`` is ``null``.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from aocu import jsjson
from aocu.jsjson import UNDEFINED

__all__ = [
    "NAN",
    "bytes_parse",
    "is_nan",
    "js_parse_int",
    "js_string",
    "js_to_number",
    "js_trim",
    "js_truthy",
    "ms_parse",
]

NAN: Final = math.nan
_MAX_SAFE: Final = 2**53

# ECMAScript WhiteSpace + LineTerminator (String.prototype.trim, parseInt's leading skip).
# Differs from str.isspace(): JS trims U+FEFF but not U+001C..U+001F or U+0085.
_JS_SPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DIGITS36: Final = "0123456789abcdefghijklmnopqrstuvwxyz"

# ms 2.1.3 `parse`: ASCII-only \d and case folding (JS /i without the u flag), `$` = end of input.
_MS_RE: Final = re.compile(
    r"(-?(?:[0-9]+)?\.?[0-9]+) *"
    r"(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w"
    r"|years?|yrs?|y)?",
    re.IGNORECASE | re.ASCII,
)
_MS_MAX_LENGTH: Final = 100  # ms ignores strings longer than 100 code units
_MS_S: Final = 1000
_MS_M: Final = _MS_S * 60
_MS_H: Final = _MS_M * 60
_MS_D: Final = _MS_H * 24
_MS_W: Final = _MS_D * 7
_MS_Y: Final = _MS_D * 365.25
_MS_UNITS: Final[dict[str, float]] = {
    **dict.fromkeys(("years", "year", "yrs", "yr", "y"), _MS_Y),
    **dict.fromkeys(("weeks", "week", "w"), _MS_W),
    **dict.fromkeys(("days", "day", "d"), _MS_D),
    **dict.fromkeys(("hours", "hour", "hrs", "hr", "h"), _MS_H),
    **dict.fromkeys(("minutes", "minute", "mins", "min", "m"), _MS_M),
    **dict.fromkeys(("seconds", "second", "secs", "sec", "s"), _MS_S),
    **dict.fromkeys(("milliseconds", "millisecond", "msecs", "msec", "ms"), 1),
}

# bytes 3.1.2 `parse`.
_BYTES_RE: Final = re.compile(r"((-|\+)?([0-9]+(?:\.[0-9]+)?)) *(kb|mb|gb|tb|pb)", re.IGNORECASE | re.ASCII)
_BYTES_UNITS: Final[dict[str, int]] = {
    "b": 1,
    "kb": 1 << 10,
    "mb": 1 << 20,
    "gb": 1 << 30,
    "tb": 1024**4,
    "pb": 1024**5,
}


def is_nan(x: object) -> bool:
    """``Number.isNaN(x)``."""
    return isinstance(x, float) and math.isnan(x)


def _number(x: float) -> int | float:
    # Integral doubles become ints so they print and compare like JS numbers do.
    if math.isfinite(x) and x == int(x):
        return int(x)
    return x


def js_string(value: Any) -> str:
    """``String(value)`` / a template literal's ``${value}`` for the values domain code sees."""
    if isinstance(value, str):
        return value
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) <= _MAX_SAFE:
            return str(value)
        return jsjson.stringify(value) or "null"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return jsjson.stringify(value) or "0"
    if isinstance(value, list | tuple):
        # Array.prototype.join(','): null and undefined become empty strings.
        return ",".join("" if v is None or v is UNDEFINED else js_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    raise TypeError(f"no JS string for {type(value).__name__}")


def js_truthy(value: Any) -> bool:
    """JS truthiness (``!!value``)."""
    if value is UNDEFINED or value is None or value is False:
        return False
    if isinstance(value, str):
        return value != ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    return True


def js_to_number(value: Any) -> int | float:
    """``Number(value)`` (what ``z.coerce.number()`` does first)."""
    if value is UNDEFINED:
        return NAN
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        s = js_trim(value)
        if s == "":
            return 0
        low = s.lower()
        if len(s) > 2 and low[0] == "0" and low[1] in "xob":
            base = {"x": 16, "o": 8, "b": 2}[low[1]]
            digits = low[2:]
            if not digits.isascii() or any(c not in _DIGITS36[:base] for c in digits):
                return NAN
            return _number(float(int(digits, base))) if int(digits, base) > _MAX_SAFE else int(digits, base)
        if s in ("Infinity", "+Infinity"):
            return math.inf
        if s == "-Infinity":
            return -math.inf
        if not re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", s):
            return NAN
        return _number(float(s))
    if isinstance(value, list | tuple):
        return js_to_number(js_string(value))
    return NAN


def js_trim(s: str) -> str:
    """``String.prototype.trim``."""
    return s.strip(_JS_SPACE)


def js_parse_int(value: Any, radix: int = 0) -> int | float:
    """``parseInt(value, radix)``: an int, or ``float('nan')``.

    Leading JS whitespace and a sign are skipped, ``0x``/``0X`` selects base 16 when no radix
    (or 16) is given, then the longest run of digits counts. Beyond 2**53 the result is the
    nearest double, as in V8.
    """
    s = (value if isinstance(value, str) else js_string(value)).lstrip(_JS_SPACE)
    sign = 1
    if s[:1] in ("-", "+"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    strip_prefix = True
    if radix:
        if radix < 2 or radix > 36:
            return NAN
        strip_prefix = radix == 16
    else:
        radix = 10
    if strip_prefix and s[:2] in ("0x", "0X"):
        s = s[2:]
        radix = 16
    allowed = _DIGITS36[:radix]
    end = 0
    while end < len(s) and s[end].isascii() and s[end].lower() in allowed:
        end += 1
    if end == 0:
        return NAN
    n = int(s[:end], radix)
    if n > _MAX_SAFE:
        return _number(sign * float(n))
    return sign * n


def ms_parse(s: str) -> int | float:
    """The ``ms`` package (2.1.3) on a non-empty string: milliseconds, or NaN if unparsable.

    (``ms`` returns ``undefined`` where this returns NaN; every caller turns it into NaN.)
    """
    if len(s.encode("utf-16-le", "surrogatepass")) // 2 > _MS_MAX_LENGTH:
        return NAN
    match = _MS_RE.fullmatch(s)
    if not match:
        return NAN
    n = float(match.group(1))
    unit = (match.group(2) or "ms").lower()
    return _number(n * _MS_UNITS[unit])


def bytes_parse(value: str) -> int | float | None:
    """``bytes.parse`` (3.1.2) on a string: a byte count, or ``None`` (JS ``null``).

    A float only when the product overflows to infinity.
    """
    match = _BYTES_RE.fullmatch(value)
    if match:
        x = float(match.group(1))
        unit = match.group(4).lower()
    else:
        parsed = js_parse_int(value, 10)
        if is_nan(parsed):
            return None
        x = float(parsed)
        unit = "b"
    product = _BYTES_UNITS[unit] * x
    if not math.isfinite(product):
        return product
    return math.floor(product)
