"""The devnet's persistent state: one apsw SQLite file plus a folder of large blobs.

Owns the connection. Runs on the trio thread: every call is one small indexed
query or one short write transaction (devnet scale: thousands of items), and the
trio task that schedules a message never awaits between reading the latest nonce
and writing the next one, which is what makes nonces gap-free (the SU's per-process
lock, servers/su `core/scheduler.rs`). Large data (> `INLINE_DATA_MAX_BYTES`) is
written and read by `_network` through threads; this module only names the files.
Start with `DevnetStore.open`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw

from aocu.model import Tag

#: Data up to this size lives in the SQLite file; larger data in ``blobs/``.
INLINE_DATA_MAX_BYTES = 256 * 1024
#: SQLite file and blob folder names inside the devnet directory.
DB_FILE = "devnet.sqlite"
BLOB_DIR = "blobs"
SCHEMA_VERSION = "1"
#: Ids per ``IN (...)`` list (well under SQLite's 32766 variables).
_IN_CHUNK = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- every item the gateway knows: uploaded, SU-scheduled, published modules, SU records
CREATE TABLE IF NOT EXISTS txs(
    seq INTEGER PRIMARY KEY,            -- ingest order: GraphQL cursors and tie-breaks
    id TEXT NOT NULL UNIQUE,
    signature_type INTEGER NOT NULL,
    signature TEXT NOT NULL,            -- base64url
    owner_key TEXT NOT NULL,            -- base64url
    owner_address TEXT NOT NULL,
    target TEXT NOT NULL,               -- base64url, '' when absent
    anchor BLOB NOT NULL,               -- raw bytes, empty when absent
    tags TEXT NOT NULL,                 -- JSON [{"name","value"}] in item order
    data_size INTEGER NOT NULL,
    data BLOB,                          -- NULL: in blobs/<id[:2]>/<id>
    height INTEGER NOT NULL,
    ingested_at INTEGER NOT NULL,       -- seconds
    bundled_in TEXT
);
CREATE INDEX IF NOT EXISTS txs_owner ON txs(owner_address, height, seq);
CREATE INDEX IF NOT EXISTS txs_height ON txs(height, seq);
CREATE TABLE IF NOT EXISTS tx_tags(
    seq INTEGER NOT NULL, idx INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY(seq, idx)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tx_tags_name_value ON tx_tags(name, value, seq);
-- the SU: processes (nonce 0) and their schedules (nonce >= 1), servers/su schema.rs
CREATE TABLE IF NOT EXISTS processes(
    process_id TEXT PRIMARY KEY, assignment_id TEXT NOT NULL, epoch INTEGER NOT NULL,
    nonce INTEGER NOT NULL, timestamp INTEGER NOT NULL, hash_chain TEXT NOT NULL,
    block TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schedule(
    process_id TEXT NOT NULL, nonce INTEGER NOT NULL, epoch INTEGER NOT NULL,
    timestamp INTEGER NOT NULL, hash_chain TEXT NOT NULL, assignment_id TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL, has_message INTEGER NOT NULL,
    PRIMARY KEY(process_id, nonce));
CREATE INDEX IF NOT EXISTS schedule_ts ON schedule(process_id, timestamp, nonce);
CREATE INDEX IF NOT EXISTS schedule_message ON schedule(message_id, timestamp);
"""

_TX_COLUMNS = ("seq, id, signature_type, signature, owner_key, owner_address, target, anchor, tags, "
               "data_size, data IS NOT NULL, height, ingested_at, bundled_in")


@dataclass(frozen=True, slots=True, kw_only=True)
class TxRecord:
    """One indexed item, without its data."""

    seq: int = 0
    id: str
    signature_type: int
    signature: str
    owner_key: str
    owner_address: str
    target: str
    anchor: bytes
    tags: tuple[Tag, ...]
    data_size: int
    data_inline: bool = True
    height: int
    ingested_at: int
    bundled_in: str | None = None

    def tag(self, name: str) -> str | None:
        return next((t.value for t in self.tags if t.name == name), None)

    def tags_json(self) -> list[dict[str, str]]:
        return [{"name": t.name, "value": t.value} for t in self.tags]


@dataclass(frozen=True, slots=True, kw_only=True)
class Assigned:
    """One schedule slot: the assignment fields of a nonce on a process."""

    process_id: str
    nonce: int
    epoch: int
    timestamp: int
    hash_chain: str
    assignment_id: str
    message_id: str
    has_message: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TxQuery:
    """A GraphQL ``transactions(...)`` filter, already validated."""

    ids: Sequence[str] | None = None
    owners: Sequence[str] | None = None
    recipients: Sequence[str] | None = None
    tags: Sequence[tuple[str, Sequence[str], str, str]] = ()    # (name, values, op EQ|NEQ, match)
    bundled_in: Sequence[str] | None = None
    min_height: int | None = None
    max_height: int | None = None
    descending: bool = True
    after: tuple[int, int] | None = None                            # (height, seq) of the last edge
    limit: int = 10


def _tx_from_row(row: Sequence[Any]) -> TxRecord:
    return TxRecord(seq=row[0], id=row[1], signature_type=row[2], signature=row[3], owner_key=row[4],
                    owner_address=row[5], target=row[6], anchor=bytes(row[7]),
                    tags=tuple(Tag(t["name"], t["value"]) for t in json.loads(row[8])),
                    data_size=row[9], data_inline=bool(row[10]), height=row[11], ingested_at=row[12],
                    bundled_in=row[13])


def _assigned_from_row(row: Sequence[Any]) -> Assigned:
    return Assigned(process_id=row[0], nonce=row[1], epoch=row[2], timestamp=row[3], hash_chain=row[4],
                    assignment_id=row[5], message_id=row[6], has_message=bool(row[7]))


_ASSIGNED_COLUMNS = "process_id, nonce, epoch, timestamp, hash_chain, assignment_id, message_id, has_message"


class DevnetStore:
    """SQLite tables for the gateway index and the SU schedule (see `_SCHEMA`)."""

    def __init__(self, conn: apsw.Connection, directory: Path | None) -> None:
        self._conn = conn
        self.directory = directory

    @classmethod
    def open(cls, directory: Path | None) -> DevnetStore:
        """Open (creating if needed) the store in ``directory``; None keeps it in memory."""
        if directory is None:
            conn = apsw.Connection(":memory:")
        else:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / BLOB_DIR).mkdir(exist_ok=True)
            conn = apsw.Connection(str(directory / DB_FILE))
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.setbusytimeout(5000)
        with conn:
            conn.execute(_SCHEMA)
        store = cls(conn, directory)
        version = store.meta_get("schema_version")
        if version is None:
            store.meta_set("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise RuntimeError(f"devnet store {directory} has schema {version}; "
                               f"this aocu reads {SCHEMA_VERSION}")
        return store

    def close(self) -> None:
        self._conn.close()

    # -- meta ------------------------------------------------------------------------------
    def meta_get(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def meta_set(self, key: str, value: str) -> None:
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def next_counter(self, key: str) -> int:
        """Increment and return a persistent counter."""
        with self._conn:
            value = int(self.meta_get(key) or "0") + 1
            self._conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))
        return value

    # -- gateway index -----------------------------------------------------------------------
    def blob_path(self, tx_id: str) -> Path | None:
        """Where large data of ``tx_id`` lives; None for an in-memory store."""
        if self.directory is None:
            return None
        return self.directory / BLOB_DIR / tx_id[:2] / tx_id

    def stores_inline(self, size: int) -> bool:
        return self.directory is None or size <= INLINE_DATA_MAX_BYTES

    def has_tx(self, tx_id: str) -> bool:
        return self._conn.execute("SELECT 1 FROM txs WHERE id = ?", (tx_id,)).fetchone() is not None

    def add_txs(self, records: Iterable[tuple[TxRecord, bytes | None]]) -> None:
        """Index items in one transaction; ``None`` data means it is already in its blob file."""
        with self._conn:
            for rec, data in records:
                self._insert_tx(rec, data)

    def _insert_tx(self, rec: TxRecord, data: bytes | None) -> int:
        tags_json = json.dumps(rec.tags_json(), ensure_ascii=False, separators=(",", ":"))
        self._conn.execute(
            "INSERT INTO txs(id, signature_type, signature, owner_key, owner_address, target, anchor, tags,"
            " data_size, data, height, ingested_at, bundled_in) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (rec.id, rec.signature_type, rec.signature, rec.owner_key, rec.owner_address, rec.target,
             rec.anchor, tags_json, rec.data_size, data, rec.height, rec.ingested_at, rec.bundled_in))
        seq = self._conn.last_insert_rowid()
        self._conn.executemany("INSERT INTO tx_tags(seq, idx, name, value) VALUES (?,?,?,?)",
                               [(seq, i, t.name, t.value) for i, t in enumerate(rec.tags)])
        return seq

    def get_tx(self, tx_id: str) -> TxRecord | None:
        row = self._conn.execute(f"SELECT {_TX_COLUMNS} FROM txs WHERE id = ?", (tx_id,)).fetchone()
        return None if row is None else _tx_from_row(row)

    def get_txs(self, ids: Sequence[str]) -> dict[str, TxRecord]:
        out: dict[str, TxRecord] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = list(dict.fromkeys(ids[start:start + _IN_CHUNK]))
            marks = ",".join("?" * len(chunk))
            for row in self._conn.execute(f"SELECT {_TX_COLUMNS} FROM txs WHERE id IN ({marks})", chunk):
                out[row[1]] = _tx_from_row(row)
        return out

    def inline_data(self, tx_id: str) -> bytes | None:
        """The item's data if it is stored inline (None if absent or in a blob file)."""
        row = self._conn.execute("SELECT data FROM txs WHERE id = ?", (tx_id,)).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def inline_data_many(self, ids: Sequence[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = list(dict.fromkeys(ids[start:start + _IN_CHUNK]))
            marks = ",".join("?" * len(chunk))
            for tx_id, data in self._conn.execute(
                    f"SELECT id, data FROM txs WHERE id IN ({marks}) AND data IS NOT NULL", chunk):
                out[tx_id] = bytes(data)
        return out

    def query_txs(self, q: TxQuery) -> tuple[list[TxRecord], bool]:
        """One page of a GraphQL transactions query and whether more follow."""
        where: list[str] = []
        params: list[Any] = []

        def any_of(column: str, values: Sequence[str]) -> None:
            where.append(f"{column} IN ({','.join('?' * len(values))})" if values else "0")
            params.extend(values)

        if q.ids is not None:
            any_of("id", q.ids)
        if q.owners is not None:
            any_of("owner_address", q.owners)
        if q.recipients is not None:
            any_of("target", q.recipients)
        if q.bundled_in is not None:
            any_of("bundled_in", q.bundled_in)
        if q.min_height is not None:
            where.append("height >= ?")
            params.append(q.min_height)
        if q.max_height is not None:
            where.append("height <= ?")
            params.append(q.max_height)
        for name, values, op, match in q.tags:
            if match == "WILDCARD":
                cond = " OR ".join("value LIKE ? ESCAPE '\\'" for _ in values) or "0"
                values = [v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
                          for v in values]
            else:
                cond = f"value IN ({','.join('?' * len(values))})" if values else "0"
            negate = "NOT " if op == "NEQ" else ""
            where.append(f"seq {negate}IN (SELECT seq FROM tx_tags WHERE name = ? AND ({cond}))")
            params.extend([name, *values])
        if q.after is not None:
            cmp = "<" if q.descending else ">"
            where.append(f"(height {cmp} ? OR (height = ? AND seq {cmp} ?))")
            params.extend([q.after[0], q.after[0], q.after[1]])
        order = "DESC" if q.descending else "ASC"
        sql = (f"SELECT {_TX_COLUMNS} FROM txs {'WHERE ' + ' AND '.join(where) if where else ''}"
               f" ORDER BY height {order}, seq {order} LIMIT ?")
        rows = list(self._conn.execute(sql, [*params, q.limit + 1]))
        return [_tx_from_row(r) for r in rows[:q.limit]], len(rows) > q.limit

    # -- SU ------------------------------------------------------------------------------------
    def get_process(self, process_id: str) -> Assigned | None:
        row = self._conn.execute(
            "SELECT process_id, nonce, epoch, timestamp, hash_chain, assignment_id, process_id, 1, block"
            " FROM processes WHERE process_id = ?", (process_id,)).fetchone()
        return None if row is None else _assigned_from_row(row)

    def process_block(self, process_id: str) -> str | None:
        row = self._conn.execute("SELECT block FROM processes WHERE process_id = ?", (process_id,)).fetchone()
        return None if row is None else row[0]

    def latest_assigned(self, process_id: str) -> Assigned | None:
        """The newest schedule slot (servers/su `get_latest_message`: by timestamp)."""
        row = self._conn.execute(
            f"SELECT {_ASSIGNED_COLUMNS} FROM schedule WHERE process_id = ?"
            " ORDER BY timestamp DESC, nonce DESC LIMIT 1", (process_id,)).fetchone()
        return None if row is None else _assigned_from_row(row)

    def find_assigned(self, tx_id: str) -> Assigned | None:
        """The oldest slot whose message or assignment id is ``tx_id`` (servers/su `get_message`)."""
        row = self._conn.execute(
            f"SELECT {_ASSIGNED_COLUMNS} FROM schedule WHERE message_id = ? OR assignment_id = ?"
            " ORDER BY timestamp ASC LIMIT 1", (tx_id, tx_id)).fetchone()
        return None if row is None else _assigned_from_row(row)

    def message_scheduled(self, message_id: str, process_id: str) -> bool:
        """Is ``message_id`` already on ``process_id`` as a message (not an assignment)?"""
        row = self._conn.execute(
            "SELECT 1 FROM schedule WHERE message_id = ? AND process_id = ? AND has_message = 1",
            (message_id, process_id)).fetchone()
        return row is not None

    def add_process(self, slot: Assigned, block: str,
                    records: Iterable[tuple[TxRecord, bytes | None]]) -> None:
        with self._conn:
            for rec, data in records:
                if not self.has_tx(rec.id):
                    self._insert_tx(rec, data)
            self._conn.execute(
                "INSERT INTO processes(process_id, assignment_id, epoch, nonce, timestamp, hash_chain, block)"
                " VALUES (?,?,?,?,?,?,?)",
                (slot.process_id, slot.assignment_id, slot.epoch, slot.nonce, slot.timestamp, slot.hash_chain,
                 block))

    def add_assigned(self, slot: Assigned, records: Iterable[tuple[TxRecord, bytes | None]]) -> None:
        with self._conn:
            for rec, data in records:
                if not self.has_tx(rec.id):
                    self._insert_tx(rec, data)
            self._conn.execute(
                f"INSERT INTO schedule({_ASSIGNED_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                (slot.process_id, slot.nonce, slot.epoch, slot.timestamp, slot.hash_chain, slot.assignment_id,
                 slot.message_id, int(slot.has_message)))

    def page_assigned(self, process_id: str, *, from_ts: int | None, to_ts: int | None,
                      from_nonce: int | None, to_nonce: int | None, nonce_mode: bool,
                      limit: int) -> list[Assigned]:
        """Up to ``limit`` slots in timestamp order (servers/su store.rs `get_messages`).

        Timestamp mode: ``from`` exclusive, ``to`` inclusive; nonce mode likewise on nonces.
        """
        where = ["process_id = ?"]
        params: list[Any] = [process_id]
        lo, hi, column = (from_nonce, to_nonce, "nonce") if nonce_mode else (from_ts, to_ts, "timestamp")
        if lo is not None:
            where.append(f"{column} > ?")
            params.append(lo)
        if hi is not None:
            where.append(f"{column} <= ?")
            params.append(hi)
        sql = (f"SELECT {_ASSIGNED_COLUMNS} FROM schedule WHERE {' AND '.join(where)}"
               " ORDER BY timestamp ASC, nonce ASC LIMIT ?")
        return [_assigned_from_row(r) for r in self._conn.execute(sql, [*params, max(0, limit)])]

    def counts(self) -> dict[str, int]:
        def count(table: str) -> int:
            return self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return {"transactions": count("txs"), "processes": count("processes"), "messages": count("schedule")}
