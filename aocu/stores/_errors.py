"""The storage layer's exceptions, and the one place apsw's are translated.

Both hang off `aocu.errors`::

    StoreError (aocu.errors)   500  our fault or the disk's: SQLite failed, schema too new
    └── SnapshotError          500  a memory snapshot file is missing, truncated or fails its
        │                           sha256; callers treat it as a miss, as the reference treats
        │                           read errors (§2.5.3)
        └── SnapshotsUnavailable    the snapshot directory is refused (not private; warned once):
                                    no snapshot of that kind is read or written
    InvalidRequestError (aocu.errors)
    └── CursorError            400  (also a ValueError) a `/results` or `/cron` bound that the
                                    reference's Zod schemas reject; the reference answers 500
                                    (§8.1 item 1), aocu 400 like every other Zod rejection

Runs on any thread; `map_apsw_errors` wraps every apsw call so nothing above `aocu.stores`
sees an ``apsw`` type (style.md §6 item 9).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import apsw

from aocu.errors import InvalidRequestError, StoreError

__all__ = ["CursorError", "SnapshotError", "SnapshotsUnavailable", "StoreError", "map_apsw_errors"]


class SnapshotError(StoreError):
    """A memory snapshot could not be read back intact (missing file, bad header, sha256 mismatch)."""


class SnapshotsUnavailable(SnapshotError):
    """A snapshot directory another user could have written is not used (`aocu._safefiles`)."""


class CursorError(InvalidRequestError, ValueError):
    """A `from`/`to`/`sort` value that the reference's Zod schemas reject (the reference: 500).

    ``issue`` is Zod's own message for it (``Expected number, received nan``), which the
    reference's answer quotes (``Invalid Arguments 'from': Expected number, received nan.``).
    """

    def __init__(self, message: str, *, issue: str | None = None) -> None:
        super().__init__(message)
        self.issue = issue


@contextmanager
def map_apsw_errors(what: str) -> Iterator[None]:
    """Translate ``apsw.Error`` raised inside the block into `StoreError` naming *what* failed."""
    try:
        yield
    except apsw.Error as exc:
        raise StoreError(f"{what}: {type(exc).__name__}: {exc}") from exc
