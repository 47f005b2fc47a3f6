"""Cursor format, bound parsing and the `/results` range semantics (reference-cu.md §1.4, §A.9).

The range tests compare both stores against an oracle that is the reference's own SQL on the
reference's own table (``evaluations`` keyed by the string id, ``servers/cu/src/effects/sqlite.js``
and ``findEvaluationsWith`` in ``servers/cu/src/effects/ao-evaluation.js``), run on SQLite.
"""

from __future__ import annotations

import base64
import json
import random

import apsw
import pytest

from aocu.stores import (
    KEY_MAX,
    CursorError,
    RangeBound,
    Sort,
    Stores,
    encode_cursor,
    parse_cursor,
    resolve_sort,
)
from aocu.stores._cursor import lower_key, upper_key

from .conftest import T0, row


def b64(obj: object) -> str:
    return base64.b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode()


def test_cursor_matches_the_reference_vector() -> None:
    vector = "eyJ0aW1lc3RhbXAiOjE3MDAwMDAwMDAwMDAsIm9yZGluYXRlIjoiNSIsImNyb24iOm51bGwsInNvcnQiOiJBU0MifQ=="
    assert encode_cursor(1700000000000, "5", None, Sort.ASC) == vector
    assert parse_cursor(vector) == RangeBound(timestamp="1700000000000", ordinate="5", cron=None, sort="ASC")


def test_cursor_round_trips_latin1_crons_and_refuses_wider_ones() -> None:
    cursor = encode_cursor(T0, "12", "0-é minutes", Sort.DESC)
    assert parse_cursor(cursor) == RangeBound(timestamp=str(T0), ordinate="12", cron="0-é minutes", sort="DESC")
    with pytest.raises(CursorError):
        encode_cursor(T0, "12", "0-€", Sort.ASC)  # btoa throws above U+00FF


def test_cursor_bytes_are_read_as_latin1_like_atob() -> None:
    raw = base64.b64encode('{"timestamp":1,"cron":"é"}'.encode()).decode()
    assert parse_cursor(raw) == RangeBound(timestamp="1", cron="Ã©")


@pytest.mark.parametrize(
    ("value", "timestamp"),
    [
        ("1700000000000", "1700000000000"),  # 13 chars: not valid base64 length
        ("  12 ", "12"),
        ("0x10", "16"),
        ("1e3", "1000"),
        ("-0", "0"),
        ("1.50", "1.5"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("\u00a012\u2028", "12"),
        ("12345678901234567890", "12345678901234567000"),
        (".5", "0.5"),
        ("5.", "5"),
    ],
)
def test_bare_timestamps_are_coerced_like_zod(value: str, timestamp: str) -> None:
    assert parse_cursor(value) == RangeBound(timestamp=timestamp)


@pytest.mark.parametrize("value", ["abc", "1_000", "+0x10", "0x", "1e", "12abc", "--1"])
def test_bare_values_that_are_nan_are_rejected(value: str) -> None:
    with pytest.raises(CursorError):
        parse_cursor(value)


@pytest.mark.parametrize("value", [None, ""])
def test_empty_values_are_no_bound(value: str | None) -> None:
    assert parse_cursor(value) is None


def test_cursor_fields_are_coerced_like_zod() -> None:
    assert parse_cursor(b64({"timestamp": "1700000000000", "ordinate": 5})) == RangeBound(
        timestamp="1700000000000", ordinate="5"
    )
    assert parse_cursor(b64({"timestamp": True, "ordinate": [1, None, "x"]})) == RangeBound(
        timestamp="1", ordinate="1,,x"
    )
    assert parse_cursor(b64({"timestamp": [7], "ordinate": {"a": 1}})) == RangeBound(
        timestamp="7", ordinate="[object Object]"
    )
    assert parse_cursor(b64({"timestamp": 1.0, "ordinate": 1.5e21})) == RangeBound(timestamp="1", ordinate="1.5e+21")
    assert parse_cursor(b64({"timestamp": None, "cron": None, "sort": ""})) == RangeBound()
    assert parse_cursor(b64({})) == RangeBound()
    padded = b64({"timestamp": 30})
    assert padded.endswith("==")
    # atob skips ASCII whitespace and accepts missing padding, not misplaced padding
    assert parse_cursor(" " + padded[:-2] + "\n") == RangeBound(timestamp="30")
    with pytest.raises(CursorError):  # not base64 any more, so a bare timestamp, and NaN
        parse_cursor(padded[:-2] + "=")


@pytest.mark.parametrize(
    "obj", [None, [], [1], 123, "x", {"timestamp": "abc"}, {"timestamp": {}}, {"cron": 5}, {"cron": ["a"]}]
)
def test_cursors_the_reference_schema_rejects(obj: object) -> None:
    with pytest.raises(CursorError):
        parse_cursor(b64(obj))


def test_sort_resolution() -> None:
    asc, desc = RangeBound(sort="ASC"), RangeBound(sort="DESC")
    assert resolve_sort(None, None, None) is Sort.ASC
    assert resolve_sort(None, None, "DESC") is Sort.DESC
    assert resolve_sort(desc, asc, "ASC") is Sort.DESC  # from's sort wins
    assert resolve_sort(None, desc, "ASC") is Sort.DESC  # then to's
    assert resolve_sort(desc, None, "ASC", override=True) is Sort.ASC  # /cron
    assert resolve_sort(RangeBound(), None, "DESC") is Sort.DESC
    for bad in ("asc", "1", "true"):
        with pytest.raises(CursorError):
            resolve_sort(RangeBound(sort=bad), None, "ASC")
    assert parse_cursor(b64({"sort": 1})) == RangeBound(sort="1")
    assert parse_cursor(b64({"sort": 0})) == RangeBound()


def test_bounds_become_key_bounds() -> None:
    assert lower_key(None) is None and upper_key(None) is None
    assert lower_key(RangeBound()) is None and upper_key(RangeBound()) is None
    assert lower_key(RangeBound(timestamp="5")) == "5"
    assert lower_key(RangeBound(timestamp="5", ordinate="3", cron="c")) == "5,3,c"
    assert upper_key(RangeBound(timestamp="5")) == "5," + KEY_MAX
    assert upper_key(RangeBound(timestamp="5", ordinate="")) == "5," + KEY_MAX
    assert upper_key(RangeBound(timestamp="5", ordinate="3", cron="c")) == "5,3,c"
    assert upper_key(RangeBound(ordinate="3")) == "3"
    assert upper_key(RangeBound(cron="c")) == KEY_MAX + ",c"
    assert lower_key(RangeBound(timestamp="5", cron="\udfff")) == "5,\ufffd"


# --- the reference's SQL as the oracle ---------------------------------------------------------


class ReferenceTable:
    """The reference's ``evaluations`` table and ``findEvaluations`` query, verbatim in spirit."""

    def __init__(self) -> None:
        self.db = apsw.Connection(":memory:")
        self.db.execute(
            "CREATE TABLE evaluations (id TEXT PRIMARY KEY, processId TEXT, timestamp INTEGER, ordinate TEXT,"
            " cron TEXT) WITHOUT ROWID"
        )

    def insert(self, pid: str, ts: int, ordinate: str, cron: str | None) -> None:
        rid = ",".join(str(p) for p in (pid, ts, ordinate, cron) if p is not None)
        self.db.execute("INSERT OR IGNORE INTO evaluations VALUES (?,?,?,?,?)", (rid, pid, ts, ordinate, cron))

    def query(
        self,
        pid: str,
        after: RangeBound | None,
        upto: RangeBound | None,
        sort: Sort,
        limit: int,
        only_cron: bool,
    ) -> list[str]:
        def parts(b: RangeBound, ordinate: str | None) -> list[str]:
            return [p for p in (pid, b.timestamp, ordinate, b.cron) if p is not None]

        lower = f"{pid}," if after is None else ",".join(parts(after, after.ordinate))
        upper = f"{pid},{KEY_MAX}" if upto is None else ",".join(parts(upto, upto.ordinate or KEY_MAX))
        sql = (
            "SELECT id FROM evaluations WHERE id > ? AND id <= ?"
            + (" AND cron IS NOT NULL" if only_cron else "")
            + f" ORDER BY timestamp {sort}, ordinate {sort}, cron {sort} LIMIT ?"
        )
        return [rid.removeprefix(pid + ",") for (rid,) in self.db.execute(sql, (lower, upper, limit)).fetchall()]


CRON_ALPHABET = ["0-", "1-", " ", "-", "m", "é", "\U0001f600", "9", "a"]


def _random_rows(rng: random.Random, pid: str, n: int, *, odd_timestamps: bool) -> list[tuple[int, str, str | None]]:
    out = []
    ts = T0
    nonce = 0
    for _ in range(n):
        if rng.random() < 0.7:
            nonce += rng.choice([1, 1, 1, 5, 9])
            ts += rng.choice([0, 0, 1, 1000])
            cron = None
        else:
            ts += rng.choice([0, 1, 60_000])
            cron = "".join(rng.choice(CRON_ALPHABET) for _ in range(rng.randint(1, 4)))
        stamp = rng.choice([7, 42, 123_456, ts]) if odd_timestamps and rng.random() < 0.3 else ts
        out.append((stamp, str(nonce), cron))
    return out


def _random_bound(rng: random.Random, rows: list[tuple[int, str, str | None]]) -> RangeBound | None:
    choice = rng.random()
    if choice < 0.15:
        return None
    ts, ordinate, cron = rng.choice(rows)
    if choice < 0.5:  # a cursor of an existing row
        return RangeBound(timestamp=str(ts), ordinate=ordinate, cron=cron)
    timestamp = rng.choice([str(ts), str(ts + 1), str(ts - 1), "17", "1700000000", "0", "9", "Infinity", None])
    return RangeBound(
        timestamp=timestamp,
        ordinate=rng.choice([None, "", ordinate, str(int(ordinate) + 1), "10", "9"]),
        cron=rng.choice([None, cron, " ", "1-"]),
    )


@pytest.mark.parametrize("odd_timestamps", [False, True])
async def test_results_agree_with_the_reference_sql(stores: Stores, odd_timestamps: bool) -> None:
    rng = random.Random(20260511 + odd_timestamps)
    oracle = ReferenceTable()
    pids = [f"p{i}".ljust(43, "Q") for i in range(3)]
    data = {pid: _random_rows(rng, pid, 60, odd_timestamps=odd_timestamps) for pid in pids}
    for pid, rows in data.items():
        for ts, ordinate, cron in rows:
            oracle.insert(pid, ts, ordinate, cron)
        await stores.evaluations.write_evaluations(
            [row(pid, None if cron else int(o), timestamp=ts, ordinate=o, cron=cron) for ts, o, cron in rows]
        )
    for case in range(400):
        pid = rng.choice(pids)
        after, upto = _random_bound(rng, data[pid]), _random_bound(rng, data[pid])
        sort = rng.choice([Sort.ASC, Sort.DESC])
        only_cron = rng.random() < 0.3
        limit = rng.choice([-1, 0, 1, 3, 10, 1000])
        got = [
            r.key
            for r in await stores.evaluations.read_results(
                pid,
                after=after,
                upto=upto,
                sort=sort,
                limit=-1 if odd_timestamps else limit,
                only_cron=only_cron,
            )
        ]
        want = oracle.query(pid, after, upto, sort, -1 if odd_timestamps else limit, only_cron)
        if odd_timestamps:
            # Mixed digit counts: the same rows, but the reference orders timestamps numerically.
            assert sorted(got) == sorted(want), (case, after, upto, sort, only_cron)
        else:
            assert got == want, (case, after, upto, sort, limit, only_cron)
