"""The SQLite schema as ordered migrations, versioned by ``PRAGMA user_version``.

Runs once per open, on the thread that opens the database (a worker thread). Append a migration to
change the schema; never edit a released one. Each migration and its version bump commit together,
so a crash mid-migration leaves the previous version.

Tables mean what the reference's do (reference-cu.md §3.2) with keys chosen for the reads we make:
every table is a rowid table, because WITHOUT ROWID made ~1 KiB rows 3.3x larger and 2.5x slower
to write (stack.md §4), except ``messages``, whose rows are a few ids. Evaluations are identified by
``(process_id, key)`` where ``key`` is the reference's id minus ``"<pid>,"`` (see ``_cursor``), so
the exact-row lookup is one index probe and a `/results` or `/cron` page one range scan in key order.
"""

from __future__ import annotations

from typing import Final

import apsw

from ._errors import StoreError

__all__ = ["MIGRATIONS", "migrate"]

MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: initial schema
    """
    CREATE TABLE store_meta (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    INSERT INTO store_meta (name, value) VALUES ('store_id', lower(hex(randomblob(4))));

    CREATE TABLE processes (
        id TEXT PRIMARY KEY,
        owner_address TEXT NOT NULL,
        owner_key TEXT,
        tags TEXT NOT NULL,               -- JSON [{"name","value"}]
        signature TEXT,
        anchor TEXT,
        block_height INTEGER NOT NULL,
        block_timestamp INTEGER NOT NULL, -- ms
        timestamp INTEGER                 -- ms, SU assignment of the process message
    );

    CREATE TABLE modules (
        id TEXT PRIMARY KEY,
        owner_address TEXT NOT NULL,
        owner_key TEXT,
        tags TEXT NOT NULL
    );

    CREATE TABLE evaluations (
        id INTEGER PRIMARY KEY,
        process_id TEXT NOT NULL,
        key TEXT NOT NULL,                -- "<timestamp>,<ordinate>[,<cron>]"
        timestamp INTEGER NOT NULL,
        ordinate TEXT NOT NULL,
        cron TEXT,
        message_id TEXT,
        deep_hash TEXT,
        nonce INTEGER,
        epoch INTEGER,
        block_height INTEGER,
        evaluated_at INTEGER NOT NULL,
        has_error INTEGER NOT NULL,
        output TEXT NOT NULL
    );
    -- identity, exact lookups (§2.5.1) and /results pages (§1.4)
    CREATE UNIQUE INDEX evaluations_by_key ON evaluations (process_id, key);
    -- /cron pages (§1.5): only cron rows, so a page never walks the scheduled messages between crons
    CREATE INDEX evaluations_cron_by_key ON evaluations (process_id, key) WHERE cron IS NOT NULL;
    -- read by message id; key last so "the lowest key for this message" is the first entry
    CREATE INDEX evaluations_by_message ON evaluations (process_id, message_id, key) WHERE message_id IS NOT NULL;

    CREATE TABLE messages (
        process_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        nonce INTEGER NOT NULL,
        PRIMARY KEY (process_id, message_id)
    ) WITHOUT ROWID;

    CREATE TABLE blocks (
        height INTEGER PRIMARY KEY,
        timestamp INTEGER NOT NULL        -- ms
    );

    CREATE TABLE checkpoint_records (
        id INTEGER PRIMARY KEY,
        process_id TEXT NOT NULL,
        key TEXT NOT NULL,
        timestamp INTEGER NOT NULL,
        ordinate TEXT NOT NULL,
        cron TEXT,
        module_id TEXT,
        nonce INTEGER,
        epoch INTEGER,
        block_height INTEGER,
        assignment_id TEXT,
        hash_chain TEXT,
        checkpoint_id TEXT NOT NULL,
        encoding TEXT
    );
    CREATE UNIQUE INDEX checkpoint_records_by_key ON checkpoint_records (process_id, key);
    CREATE INDEX checkpoint_records_by_time ON checkpoint_records (process_id, timestamp);

    CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,               -- 'drain' | 'checkpoint'
        process_id TEXT NOT NULL,
        key TEXT NOT NULL,
        timestamp INTEGER NOT NULL,
        ordinate TEXT NOT NULL,
        cron TEXT,
        module_id TEXT,
        nonce INTEGER,
        epoch INTEGER,
        block_height INTEGER,
        assignment_id TEXT,
        hash_chain TEXT,
        file TEXT NOT NULL UNIQUE,        -- name inside the kind's directory
        memory_size INTEGER NOT NULL,
        sha256 BLOB NOT NULL,
        gas_used INTEGER NOT NULL,
        eval_time_ms INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX snapshots_newest ON snapshots (process_id, kind, timestamp, key, id);

    CREATE TABLE scheduler_locations (
        address TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        ttl_ms INTEGER NOT NULL,
        cached_at INTEGER NOT NULL
    );

    CREATE TABLE process_schedulers (
        process_id TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        url TEXT NOT NULL,
        ttl_ms INTEGER NOT NULL,
        cached_at INTEGER NOT NULL
    );
    """,
    # 2: what each cached module binary must be; a file that differs is downloaded again
    """
    CREATE TABLE module_binaries (
        module_id TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        sha256 BLOB NOT NULL
    );
    """,
)


def migrate(conn: apsw.Connection) -> None:
    """Bring the database at *conn* to ``len(MIGRATIONS)``, one migration per transaction; refuse a
    database newer than this code. The version is read inside each transaction, so two processes
    opening one new file cannot both apply a migration."""
    target = len(MIGRATIONS)
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            (version,) = conn.execute("PRAGMA user_version").fetchall()[0]
            if version > target:
                raise StoreError(f"database schema version {version} is newer than this aocu understands ({target})")
            if version < target:
                conn.execute(MIGRATIONS[version])
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if version >= target:
            return
