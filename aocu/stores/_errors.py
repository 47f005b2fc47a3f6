"""The storage layer's exceptions, and the one place apsw's are translated.

Tree (until ``aocu/errors.py`` exists and adopts ``StoreError`` under ``AocuError``)::

    StoreError            our fault or the disk's: SQLite failed, schema too new -> HTTP 500
    └── SnapshotError     a memory snapshot file is missing, truncated or fails its sha256;
                          callers treat it as a miss, as the reference treats read errors (§2.5.3)
    CursorError           (a ValueError) a `/results` or `/cron` bound the reference also rejects;
                          the reference answers those with 500 (reference-cu.md §8.1 item 1)

Runs on any thread; `map_apsw_errors` wraps every apsw call so nothing above `aocu.stores`
sees an ``apsw`` type (style.md §6 item 9).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import apsw

__all__ = ["CursorError", "SnapshotError", "StoreError", "map_apsw_errors"]


class StoreError(Exception):
    """The store could not do what was asked (database or filesystem failure)."""


class SnapshotError(StoreError):
    """A memory snapshot could not be read back intact (missing file, bad header, sha256 mismatch)."""


class CursorError(ValueError):
    """A `from`/`to`/`sort` value that the reference's Zod schemas reject (it answers 500)."""


@contextmanager
def map_apsw_errors(what: str) -> Iterator[None]:
    """Translate ``apsw.Error`` raised inside the block into `StoreError` naming *what* failed."""
    try:
        yield
    except apsw.Error as exc:
        raise StoreError(f"{what}: {type(exc).__name__}: {exc}") from exc
