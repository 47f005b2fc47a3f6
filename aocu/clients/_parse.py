"""Validated reading of upstream JSON: typed getters that name the path of a bad field.

Pure functions on the trio thread; nothing here does I/O. A shape problem raises
`_ShapeError` with a JSON path (``edges[3].node.assignment.tags``); the client that made the
request turns it into `UpstreamDataError` with its URL (see ``_retry.parse_json_body``). Also the
JavaScript number parsers the reference applies to SU and gateway strings (``parseInt``,
``maybeParseInt`` in ``servers/cu/src/domain/utils.js``), so values parse exactly as there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from .base import Owner, Tag

# Tag((name, value)) without the named tuple's Python-level __new__ (what Tag._make does)
_new_tag = partial(tuple.__new__, Tag)

__all__ = [
    "ShapeError",
    "as_bool",
    "as_int",
    "as_list",
    "as_object",
    "as_opt_str",
    "as_str",
    "first_tag",
    "join",
    "js_maybe_parse_int",
    "js_number",
    "js_parse_int",
    "owner_at",
    "parse_tags",
    "plain_int",
    "plain_owner",
    "plain_tags",
    "tag_values",
    "tags_at",
]


class ShapeError(ValueError):
    """A JSON value does not have the shape the reference reads; ``path`` says where."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path or '<body>'}: {problem}")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def as_object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ShapeError(path, f"expected an object, got {_kind(value)}")
    return value


def as_list(value: object, path: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise ShapeError(path, f"expected a list, got {_kind(value)}")
    return value


def as_bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise ShapeError(path, f"expected a boolean, got {_kind(value)}")
    return value


def as_str(value: object, path: str, *, non_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ShapeError(path, f"expected a string, got {_kind(value)}")
    if non_empty and not value:
        raise ShapeError(path, "expected a non-empty string")
    return value


def as_opt_str(value: object, path: str) -> str | None:
    """A nullish string (zod ``z.string().nullish()``): missing and null both give None."""
    return None if value is None else as_str(value, path)


def as_int(value: object, path: str) -> int:
    """A JSON number that is an integer (zod ``z.number()`` on a field the CU treats as int)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ShapeError(path, f"expected a number, got {_kind(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ShapeError(path, f"expected an integer, got {value!r}")
        return int(value)
    return value


def join(path: str, key: str | int) -> str:
    """``a.b`` / ``a[3]``: the JSON path of a child, for error messages."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def owner_at(obj: Mapping[str, Any], key: str, path: str) -> Owner:
    """``{address, key}`` as the reference's ``ownerSchema`` (both strings, both required)."""
    where = join(path, key)
    raw = as_object(obj.get(key), where)
    return Owner(
        address=as_str(raw.get("address"), join(where, "address")),
        key=as_str(raw.get("key"), join(where, "key")),
    )


def tags_at(obj: Mapping[str, Any], key: str, path: str, *, default_empty: bool = False) -> tuple[Tag, ...]:
    """``[{name, value}]`` with string names and values (``rawTagSchema``)."""
    raw = obj.get(key)
    if raw is None and default_empty:
        return ()
    fast = plain_tags(raw)
    if fast is not None:
        return fast
    items = as_list(raw, join(path, key))
    tags: list[Tag] = []
    for i, item in enumerate(items):
        where = join(join(path, key), i)
        tag = as_object(item, where)
        tags.append(Tag(as_str(tag.get("name"), join(where, "name")), as_str(tag.get("value"), join(where, "value"))))
    return tuple(tags)


def plain_tags(raw: object) -> tuple[Tag, ...] | None:
    """Tags in the common, valid shape, checked without building a JSON path per tag (a page has
    thousands); None for anything else, which the detailed readers then reject or accept."""
    if type(raw) is not list:
        return None
    out = []
    for t in raw:   # one pass, no generator frames: a page of 300 messages has ~4000 tags
        if type(t) is not dict:
            return None
        name, value = t.get("name"), t.get("value")
        if type(name) is not str or type(value) is not str:
            return None
        out.append(_new_tag((name, value)))
    return tuple(out)


def plain_owner(raw: object) -> Owner | None:
    """``{address, key}`` with both strings, else None (see `owner_at` for the error)."""
    if type(raw) is dict:
        address, key = raw.get("address"), raw.get("key")
        if type(address) is str and type(key) is str:
            return Owner(address=address, key=key)
    return None


def plain_int(value: str | None) -> int | None:
    """``parseInt`` of a plain decimal string (the SU's numbers); None for anything else, which
    `js_parse_int` then reads the JS way (``"10s"``, hex, whitespace, signs)."""
    if value is not None and len(value) <= 18 and value.isascii() and value.isdigit():
        return int(value)
    return None


def parse_tags(tags: Sequence[Tag]) -> dict[str, str | list[str]]:
    """``parseTags``: repeated names become lists, in order (reference-cu.md §A.1)."""
    out: dict[str, str | list[str]] = {}
    for tag in tags:
        if tag.name in out:
            prev = out[tag.name]
            out[tag.name] = [*prev, tag.value] if isinstance(prev, list) else [prev, tag.value]
        else:
            out[tag.name] = tag.value
    return out


def tag_values(tags: Sequence[Tag], name: str) -> tuple[str, ...]:
    return tuple(t.value for t in tags if t.name == name)


def first_tag(tags: Sequence[Tag], name: str) -> str | None:
    """The first value of a tag (``tags.find(t => t.name === name)?.value``)."""
    return next((t.value for t in tags if t.name == name), None)


# --- JavaScript number parsing -----------------------------------------------------------

# ECMAScript StrWhiteSpaceChar: WhiteSpace and LineTerminator code points, which parseInt and
# Number() skip at the ends of a string.
_JS_WS = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_INT_PREFIX = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def js_parse_int(value: object) -> int | None:
    """JavaScript ``parseInt(value)`` for the values the reference feeds it; None is NaN.

    ``"000001500000"`` → 1500000, ``"10s"`` → 10, ``"0x1A"`` → 26, ``"abc"``/``undefined`` →
    NaN. Numbers go through their string form, as in JS (so ``1e21`` → 1).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        text = repr(value) if abs(value) >= 1e21 else str(int(value))
    elif isinstance(value, str):
        text = value
    else:
        return None
    m = _INT_PREFIX.match(text.lstrip(_JS_WS))
    if m is None:
        return None
    sign, digits = m.groups()
    number = int(digits, 16) if digits[:2] in ("0x", "0X") else int(digits)
    return -number if sign == "-" else number


def js_number(value: str) -> float | None:
    """JavaScript ``Number(string)`` restricted to decimal and hex literals; None is NaN."""
    text = value.strip(_JS_WS)
    if text == "":
        return 0.0
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
        return float(int(text, 16))
    if text in ("Infinity", "+Infinity"):
        return math.inf
    if text == "-Infinity":
        return -math.inf
    if _DECIMAL.fullmatch(text):
        return float(text)
    return None


def js_maybe_parse_int(value: str | None) -> int | None:
    """``maybeParseInt`` (servers/cu/src/domain/utils.js): ``'undefined'``/NaN/empty → None."""
    if value is None or value == "undefined":
        return None
    if js_number(value) is None:
        return None
    if value == "":
        return None
    return js_parse_int(value)
