"""Evaluation keys, `/results` and `/cron` range bounds, and the reference's cursor format (§1.4, §A.9).

Pure functions, any thread. Owns the one definition of the evaluation key that both store
implementations index and compare, so the apsw store and the memory fake order and bound rows
identically. Never touches a database.

The reference keys an evaluation by the string ``"<pid>,<timestamp>,<ordinate>[,<cron>]"`` and pages
with plain string comparisons on it (``id > lower AND id <= upper``, reference-cu.md §1.4). We keep the
same string without its ``"<pid>,"`` prefix (`evaluation_key`) next to a separate process-id column:
comparing the suffixes is the same as comparing the reference's ids within one process, so every bound
the reference accepts selects exactly the rows it would. SQLite's BINARY collation compares UTF-8 bytes
and Python compares code points; both give the same order once lone surrogates are replaced the way
better-sqlite3 does (`sqlite_text`).

Cursor parsing copies what happens to a `from`/`to` query value in the reference: ``atob`` (forgiving
base64, a Latin-1 "binary string"), ``JSON.parse``, then Zod's ``z.coerce.number()`` /
``z.coerce.string()`` / ``z.string()`` for timestamp / ordinate / cron (``findEvaluationsSchema`` in
``servers/cu/src/domain/dal.js``). Values the schemas reject raise `CursorError`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, TypeVar

from aocu import jsjson

from ._errors import CursorError

__all__ = [
    "KEY_MAX",
    "RangeBound",
    "Sort",
    "encode_cursor",
    "evaluation_key",
    "lower_key",
    "parse_cursor",
    "resolve_sort",
    "sqlite_text",
    "stored",
    "upper_key",
]

_T = TypeVar("_T")

KEY_MAX: Final = "\U0010ffff"
"""``COLLATION_SEQUENCE_MAX_CHAR`` (``servers/cu/src/effects/db.js``): the open upper bound."""


class Sort(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


def sqlite_text(s: str) -> str:
    """*s* as SQLite stores it when the reference binds a JS string: surrogate pairs joined, lone
    surrogates replaced by U+FFFD (V8's UTF-8 conversion in better-sqlite3)."""
    if s.isascii():
        return s
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _stored_value(v: Any) -> Any:
    if isinstance(v, str):
        return sqlite_text(v)
    if isinstance(v, tuple):
        items = tuple(_stored_value(x) for x in v)
        if all(a is b for a, b in zip(items, v, strict=True)):
            return v
        return type(v)._make(items) if hasattr(type(v), "_make") else items  # keeps a Tag a Tag
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return stored(v)
    return v


def stored(record: _T) -> _T:
    """*record* (a row dataclass) as it reads back from SQLite: every string through `sqlite_text`.
    Returns *record* itself when nothing changes, which is the usual case."""
    changes = {}
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        value = getattr(record, f.name)
        new = _stored_value(value)
        if new is not value:
            changes[f.name] = new
    return dataclasses.replace(record, **changes) if changes else record  # type: ignore[type-var]


def evaluation_key(timestamp: int | str | None, ordinate: str | None, cron: str | None) -> str:
    """The reference's evaluation id without ``"<pid>,"``: the parts that are not ``None``, joined by
    ``,`` (§A.9)."""
    parts = [str(p) for p in (timestamp, ordinate, cron) if p is not None]
    return sqlite_text(",".join(parts))


@dataclass(frozen=True, slots=True)
class RangeBound:
    """One end of a `/results` or `/cron` range after the reference's Zod parse.

    ``timestamp`` is already the JS string of ``Number(value)`` (``"1700000000000"``, ``"1.5"``,
    ``"Infinity"``); ``None`` fields were absent or null. ``sort`` is the cursor's own ``sort`` when it
    was JS-truthy (a non-``ASC``/``DESC`` value is kept so `resolve_sort` can reject it as Zod does).
    """

    timestamp: str | None = None
    ordinate: str | None = None
    cron: str | None = None
    sort: str | None = None


def lower_key(bound: RangeBound | None) -> str | None:
    """Exclusive lower bound on `evaluation_key` for a `from` bound; ``None`` means no bound.

    The reference's ``"<pid>,<ts>[,<ordinate>][,<cron>]"``. With every part null its id is ``"<pid>"``,
    below every row, so that is no bound either; a bare timestamp ``T`` gives ``"T"``, which is below
    ``"T,<ordinate>"``, so rows at exactly ``T`` are included (§1.4).
    """
    if bound is None:
        return None
    parts = [p for p in (bound.timestamp, bound.ordinate, bound.cron) if p is not None]
    return sqlite_text(",".join(parts)) if parts else None


def upper_key(bound: RangeBound | None) -> str | None:
    """Inclusive upper bound on `evaluation_key` for a `to` bound; ``None`` means no bound.

    The reference's ``"<pid>,<ts>,<ordinate or U+10FFFF>[,<cron>]"`` (an empty ordinate also becomes
    U+10FFFF: ``to.ordinate || COLLATION_SEQUENCE_MAX_CHAR``).
    """
    if bound is None:
        return None
    parts = [p for p in (bound.timestamp, bound.ordinate or KEY_MAX, bound.cron) if p is not None]
    key = sqlite_text(",".join(parts))
    return None if key == KEY_MAX else key


# --- cursors -----------------------------------------------------------------------------------

# The HTML "forgiving-base64 decode" that Node's atob implements.
_ASCII_WHITESPACE: Final = dict.fromkeys(map(ord, "\t\n\f\r "))
_BASE64_ALPHABET: Final = re.compile(r"[A-Za-z0-9+/]*")
# ECMAScript WhiteSpace and LineTerminator, which StringToNumber trims.
_JS_SPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RADIX: Final = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}
_RADIX_DIGITS: Final = {16: re.compile(r"[0-9a-fA-F]+"), 8: re.compile(r"[0-7]+"), 2: re.compile(r"[01]+")}


def _atob(value: str) -> bytes:
    s = value.translate(_ASCII_WHITESPACE)
    if len(s) % 4 == 0:
        if s.endswith("=="):
            s = s[:-2]
        elif s.endswith("="):
            s = s[:-1]
    if len(s) % 4 == 1 or not _BASE64_ALPHABET.fullmatch(s):
        raise ValueError("not base64")
    return base64.b64decode(s + "=" * (-len(s) % 4))


def _string_to_number(s: str) -> float:
    """ECMAScript StringToNumber (what ``Number("...")`` does)."""
    s = s.strip(_JS_SPACE)
    if not s:
        return 0.0
    if s in ("Infinity", "+Infinity"):
        return math.inf
    if s == "-Infinity":
        return -math.inf
    radix = _RADIX.get(s[:2])
    if radix is not None:
        digits = s[2:]
        if _RADIX_DIGITS[radix].fullmatch(digits):
            try:
                return float(int(digits, radix))
            except OverflowError:
                return math.inf
        return math.nan
    if _DECIMAL.fullmatch(s):
        return float(s)
    return math.nan


def _js_string(v: Any) -> str:
    """ECMAScript ToString for a value that came out of ``JSON.parse``."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return v
    if isinstance(v, int | float):
        return _number_string(float(v) if isinstance(v, float) else v)
    if isinstance(v, list):
        return ",".join("" if x is None else _js_string(x) for x in v)
    return "[object Object]"


def _number_string(x: int | float) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
    text = jsjson.stringify(x)
    assert text is not None
    return text


def _coerce_timestamp(v: Any) -> str:
    """``z.coerce.number()`` then ``String()``: what the reference puts into the id bound."""
    if v is True or v is False:
        n: float = 1.0 if v else 0.0
    elif isinstance(v, int | float):
        n = float(v)
    else:
        n = _string_to_number(_js_string(v))
    if math.isnan(n):
        raise CursorError(f"invalid cursor timestamp {v!r}: Expected number, received nan",
                          issue="Expected number, received nan")
    if math.isinf(n):
        return "Infinity" if n > 0 else "-Infinity"
    return _number_string(int(n) if n.is_integer() and abs(n) <= 2**53 else n)


def _truthy(v: Any) -> bool:
    """JS truthiness of a ``JSON.parse`` value."""
    if v is None or v is False:
        return False
    if isinstance(v, str):
        return v != ""
    if isinstance(v, int | float):
        return v != 0 and not math.isnan(v)
    return True


def parse_cursor(value: str | None) -> RangeBound | None:
    """``maybeParseCursor`` plus the Zod parse of the bound (§1.4): ``None`` for an empty value.

    A value that base64-decodes to JSON is a cursor; anything else is a bare timestamp. Raises
    `CursorError` where the reference's schema throws (non-object JSON, a timestamp that is NaN, a
    non-string cron).
    """
    if not value:
        return None
    try:
        criteria = jsjson.parse(_atob(value).decode("latin-1"))
    except (ValueError, binascii.Error, json.JSONDecodeError, RecursionError):
        return RangeBound(timestamp=_coerce_timestamp(value))
    if not isinstance(criteria, dict):
        kind = jsjson.js_type(criteria)
        raise CursorError(f"invalid cursor: Expected object, received {kind}",
                          issue=f"Expected object, received {kind}")
    ts = criteria.get("timestamp")
    ordinate = criteria.get("ordinate")
    cron = criteria.get("cron")
    if cron is not None and not isinstance(cron, str):
        raise CursorError(f"invalid cursor cron {cron!r}: Expected string",
                          issue=f"Expected string, received {jsjson.js_type(cron)}")
    sort = criteria.get("sort")
    return RangeBound(
        timestamp=None if ts is None else _coerce_timestamp(ts),
        ordinate=None if ordinate is None else _js_string(ordinate),
        cron=cron,
        sort=(sort if isinstance(sort, str) else _js_string(sort)) if _truthy(sort) else None,
    )


def resolve_sort(
    after: RangeBound | None, upto: RangeBound | None, requested: str | None, *, override: bool = False
) -> Sort:
    """The sort ``gatherResults`` uses: the ``from`` cursor's, else the ``to`` cursor's, else the
    query's; with *override* (``/cron``'s ``overrideCursorSort``) the query's wins. Zod then requires
    ``ASC`` or ``DESC`` (case-sensitive), defaulting to ``ASC``."""
    cursor_sort = (after.sort if after else None) or (upto.sort if upto else None)
    chosen = (requested or cursor_sort) if override else (cursor_sort or requested)
    if not chosen:
        return Sort.ASC
    try:
        return Sort(chosen)
    except ValueError:
        raise CursorError(f"invalid sort {chosen!r}: Expected 'ASC' | 'DESC'",
                          issue=f"Invalid enum value. Expected 'ASC' | 'DESC', received '{chosen}'") from None


def encode_cursor(timestamp: int, ordinate: str, cron: str | None, sort: Sort) -> str:
    """``evaluationToCursor``: ``btoa(JSON.stringify({timestamp, ordinate, cron, sort}))``.

    ``btoa`` throws on characters above U+00FF (possible only in a cron id); so does this, with
    `CursorError`.
    """
    text = jsjson.stringify({"timestamp": timestamp, "ordinate": ordinate, "cron": cron, "sort": str(sort)})
    assert text is not None
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        raise CursorError(f"cannot encode a cursor for cron {cron!r}: btoa accepts Latin-1 only") from None
    return base64.b64encode(raw).decode("ascii")
