"""Request validation with the reference's Zod schemas and messages, one function per route.

Pure functions on the trio thread; no I/O. Each ``*_input`` function mirrors an ``inputSchema`` in
``servers/cu/src/routes/*.js`` (Zod 3.24): the same coercions (``z.coerce.number()`` is JS
``Number()``, ``z.coerce.string()`` is ``String()``), the same issue order, and the text the
reference's ``errFrom`` makes of the issues (``'<key>': <message>.`` joined by `` | ``,
reference-cu.md §1.0). Failures raise `InvalidRequestError` (400, where the reference says 500).
A query value is ``None`` when absent, a ``str`` once, a ``list`` when repeated (Fastify's parser).
Validation never calls the port and never raises anything but `InvalidRequestError`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from aocu import jsjson

from ._errors import InvalidRequestError

if TYPE_CHECKING:
    from aocu.api import SortOrder

QueryValue = str | list[str] | None

# results.js: `.max(Number.MAX_SAFE_INTEGER - 10)` (so `limit + 1` cannot overflow).
RESULTS_LIMIT_MAX: Final = 2**53 - 1 - 10
RESULTS_DEFAULT_LIMIT: Final = 25
CRON_DEFAULT_LIMIT: Final = 500
# cron.js: "The absolute max page size is 1000".
CRON_LIMIT_CAP: Final = 1000

_JS_SPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RADIX: Final = {"x": (16, "0123456789abcdef"), "o": (8, "01234567"), "b": (2, "01")}


class _Issues:
    """Zod issues in schema order; `raise_if_any` renders them as ``errFrom`` does."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"'{key}': {message}.")

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidRequestError(" | ".join(self.items))


js_type = jsjson.js_type          # Zod's getParsedType, shared with the stores' cursor checks


def js_string(value: Any) -> str:
    """``String(value)`` for query values: a repeated parameter joins with ``,``."""
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def js_number(value: Any) -> float:
    """``Number(value)`` for what a query, header or JSON body can hold; NaN when JS gives NaN."""
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:          # an int beyond the double range is Infinity in JS
            return math.inf if value > 0 else -math.inf
    if isinstance(value, list):
        # Number([]) is 0, Number(["5"]) is 5, Number([1, 2]) is NaN (via the joined string).
        if len(value) > 1:
            return math.nan
        if not value:
            return 0.0
        item = value[0]
        if isinstance(item, dict | list):
            return js_number(item) if isinstance(item, list) else math.nan
        return 0.0 if item is None else js_number(str(item).lower() if isinstance(item, bool) else item)
    if not isinstance(value, str):
        return math.nan
    text = value.strip(_JS_SPACE)
    if text == "":
        return 0.0
    if text in ("Infinity", "+Infinity"):
        return math.inf
    if text == "-Infinity":
        return -math.inf
    if len(text) > 2 and text[0] == "0" and text[1] in "xXoObB":
        base, digits = _RADIX[text[1].lower()]
        rest = text[2:].lower()
        return float(int(rest, base)) if rest and all(c in digits for c in rest) else math.nan
    if _DECIMAL.fullmatch(text):
        return float(text)
    return math.nan


def _required_string(issues: _Issues, key: str, value: Any, empty_message: str) -> str | None:
    # z.string().min(1, empty_message)
    if value is None:
        issues.add(key, "Required")
        return None
    if not isinstance(value, str):
        issues.add(key, f"Expected string, received {js_type(value)}")
        return None
    if value == "":
        issues.add(key, empty_message)
        return None
    return value


def _coerced_number(issues: _Issues, key: str, value: Any) -> float | None:
    # z.coerce.number(): Number(value), and NaN is "Expected number, received nan".
    number = js_number(value)
    if math.isnan(number):
        issues.add(key, "Expected number, received nan")
        return None
    return number


def _integer(issues: _Issues, key: str, number: float | None) -> int | None:
    """aocu's extra rule for page sizes and timestamps: whole numbers only (docs/differences.md)."""
    if number is None:
        return None
    if math.isinf(number):
        return None
    if number != int(number):
        issues.add(key, "Expected integer, received float")
        return None
    return int(number)


# --- routes ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResultInput:
    message_id: str
    process_id: str


def result_input(message_id: str, process_id: QueryValue) -> ResultInput:
    """``GET /result/:messageTxId?process-id`` (result.js)."""
    issues = _Issues()
    message = _required_string(issues, "messageTxId", message_id, "a message tx id is required")
    process = _required_string(issues, "processId", process_id, "a process-id query parameter is required")
    issues.raise_if_any()
    assert message is not None and process is not None
    return ResultInput(message, process)


@dataclass(frozen=True, slots=True)
class PageInput:
    process_id: str
    from_: str | None
    to: str | None
    sort: SortOrder
    limit: int


def _bound(value: QueryValue) -> str | None:
    # z.coerce.string().optional(), then maybeParseCursor maps falsy (empty) values to undefined.
    if value is None:
        return None
    text = js_string(value)
    return text or None


def results_input(process_id: str, from_: QueryValue, to: QueryValue, sort: QueryValue,
                  limit: QueryValue) -> PageInput:
    """``GET /results/:processId`` (results.js): sort ASC|DESC, limit default 25."""
    issues = _Issues()
    process = _required_string(issues, "processId", process_id, "an ao process id is required")
    order: SortOrder = "ASC"
    if sort is not None:
        if sort in ("ASC", "DESC"):
            order = sort  # type: ignore[assignment]
        elif isinstance(sort, str):
            issues.add("sort", f"Invalid enum value. Expected 'ASC' | 'DESC', received '{sort}'")
        else:
            issues.add("sort", f"Expected 'ASC' | 'DESC', received {js_type(sort)}")
    count = RESULTS_DEFAULT_LIMIT
    if limit is not None:
        number = _coerced_number(issues, "limit", limit)
        if number is not None and number > RESULTS_LIMIT_MAX:
            issues.add("limit", f"Number must be less than or equal to {RESULTS_LIMIT_MAX}")
        elif number is not None and number < 0:
            issues.add("limit", "Number must be greater than or equal to 0")
        else:
            count = _integer(issues, "limit", number) or 0
    issues.raise_if_any()
    assert process is not None
    return PageInput(process, _bound(from_), _bound(to), order, count)


def cron_input(process_id: str, from_: QueryValue, to: QueryValue, limit: QueryValue) -> PageInput:
    """``GET /cron/:processId`` (cron.js): always ASC, limit default 500 and capped at 1000."""
    issues = _Issues()
    process = _required_string(issues, "processId", process_id, "an ao process id is required")
    count = CRON_DEFAULT_LIMIT
    if limit is not None:
        number = _coerced_number(issues, "limit", limit)
        if number is not None and number < 0:
            issues.add("limit", "Number must be greater than or equal to 0")
        elif number is not None:
            count = CRON_LIMIT_CAP if math.isinf(number) else _integer(issues, "limit", number) or 0
    issues.raise_if_any()
    assert process is not None
    return PageInput(process, _bound(from_), _bound(to), "ASC", min(count, CRON_LIMIT_CAP))


@dataclass(frozen=True, slots=True)
class StateInput:
    process_id: str
    to: int | None


def state_input(process_id: str, to: QueryValue) -> StateInput:
    """``GET /state/:processId[?to]`` (state.js): ``to`` a number of ms, 0/empty = latest."""
    issues = _Issues()
    process = _required_string(issues, "processId", process_id, "an ao process id is required")
    timestamp: int | None = None
    if to is not None:
        number = _coerced_number(issues, "to", to)
        if number is not None and math.isinf(number):
            issues.add("to", "Expected integer, received float")
        else:
            timestamp = _integer(issues, "to", number)
    issues.raise_if_any()
    assert process is not None
    # `input.to || 'latest'`: the reference's readState treats a 0 bound as no bound.
    return StateInput(process, timestamp or None)


@dataclass(frozen=True, slots=True)
class DryRunInput:
    process_id: str
    to: str | None
    max_age_ms: int | None
    message: dict[str, Any]


# dryRun.js's message schema, in its key order: (key, kind). Unknown keys pass through after these.
_DRY_RUN_FIELDS: Final = (
    ("Id", "string"), ("Signature", "string"), ("Owner", "string"), ("Target", "string"),
    ("Data", "any"), ("Tags", "tags"), ("Anchor", "string"), ("Timestamp", "number"),
    ("Block-Height", "number"),
)
_JS_SAFE: Final = 2**53


def _js_number_value(number: float) -> int | float:
    # Integral doubles print like ints in JSON.stringify; keep them ints so stringify agrees.
    return int(number) if math.isfinite(number) and number == int(number) else number


def _dry_run_message(issues: _Issues, body: Any) -> dict[str, Any] | None:
    if body is None:
        issues.add("dryRun", "Required")
        return None
    if not isinstance(body, dict):
        issues.add("dryRun", f"Expected object, received {js_type(body)}")
        return None
    out: dict[str, Any] = {}
    for key, kind in _DRY_RUN_FIELDS:
        if key not in body:
            continue
        value = body[key]
        if value is None or kind == "any":        # .nullish() lets null through untouched
            out[key] = value
        elif kind == "string":
            if isinstance(value, str):
                out[key] = value
            else:
                issues.add(key, f"Expected string, received {js_type(value)}")
        elif kind == "number":
            number = _coerced_number(issues, key, value)
            if number is not None:
                out[key] = _js_number_value(number)
        else:
            tags = _tags(issues, value)
            if tags is not None:
                out[key] = tags
    for key, value in body.items():             # .passthrough(); Zod never copies __proto__
        if key not in out and key != "__proto__" and all(key != k for k, _ in _DRY_RUN_FIELDS):
            out[key] = value
    return out


def _tags(issues: _Issues, value: Any) -> list[dict[str, str]] | None:
    # z.array(z.object({name: z.string(), value: z.string()})): unknown tag keys are stripped.
    if not isinstance(value, list):
        issues.add("Tags", f"Expected array, received {js_type(value)}")
        return None
    tags: list[dict[str, str]] = []
    ok = True
    for tag in value:
        if not isinstance(tag, dict):
            issues.add("Tags", f"Expected object, received {js_type(tag)}")
            ok = False
            continue
        for part in ("name", "value"):
            item = tag.get(part)
            if item is None and part not in tag:
                issues.add("Tags", "Required")
                ok = False
            elif not isinstance(item, str):
                issues.add("Tags", f"Expected string, received {js_type(item)}")
                ok = False
        if ok:
            tags.append({"name": tag["name"], "value": tag["value"]})
    return tags if ok else None


def dry_run_input(process_id: QueryValue, to: QueryValue, max_age: str | None, body: Any) -> DryRunInput:
    """``POST /dry-run?process-id[&to]`` with ``X-Max-Age`` and the message body (dryRun.js)."""
    issues = _Issues()
    process = _required_string(issues, "processId", process_id, "a process-id query parameter is required")
    message_id: str | None = None
    if to is not None:
        message_id = _required_string(issues, "messageTxId", to, "to must be a transaction id")
    age: int | None = None
    if max_age is not None:
        number = _coerced_number(issues, "maxProcessAge", max_age)
        if number is not None:
            age = int(max(-_JS_SAFE, min(_JS_SAFE, number)))
    message = _dry_run_message(issues, body)
    issues.raise_if_any()
    assert process is not None and message is not None
    return DryRunInput(process, message_id, age, message)
