"""The aocu error tree: every error aocu raises on purpose, with the HTTP status it answers with.

Pure definitions: no I/O, no imports from the rest of aocu. ``str(exc)`` is the message the
reference CU puts in its ``{"error": "<message>"}`` body (reference-cu.md §1.0, §1.13), so raise
these with the reference's exact text. ``http_status`` is a class attribute; an instance may
override it (``UpstreamError(msg, http_status=404)`` for the reference's "upstream status" case).
The HTTP layer maps an error to a status through ``type(exc).__mro__`` (style.md §6.9) or reads
``exc.http_status``; both agree because every class below sets its own. Start with the tree::

    AocuError                          500  base class
    ├── ProcessNotFoundError           404
    ├── ProcessDeniedError             403  restrict/allow lists, owner allow list (§1.12)
    ├── InvalidRequestError            400  input the reference's schemas reject (it answers 500)
    ├── InvalidProcessError            500  process tags the reference rejects (§2.3, §2.8.1)
    ├── InvalidMessageError            500  the reference's message schema or deep hash fails (§2.10)
    ├── ModuleError                    500  module failures the reference answers with 500
    │   ├── InvalidModuleError         422  Input-/Output-Encoding, Module-Format, Extension (§2.6)
    │   └── ModuleLimitError           413  Memory-Limit / Compute-Limit missing or too big (§2.6)
    ├── UpstreamError                  500  SU / gateway failure after retries (§2.2 step 6)
    │   ├── UpstreamTimeoutError       504  aocu's own deadline (the reference has none)
    │   └── HashChainMismatchError     422  "HashChain invalid on message <id>" (§2.7)
    ├── TooEarlyError                  425  older than the earliest cached start point (§2.5.8)
    ├── BusyError                      503  nonce limit while hydrating (§2.17.3)
    ├── RateLimitedError               429  dry-run rate limit / queue full (§1.11)
    └── StoreError                     500  the local database failed

Statuses follow the reference wherever it has one (so SU failures are 500, not 502: the reference
answers them with 500); otherwise the caller's fault is 4xx and ours 500 (style.md §6.9).
"""

from __future__ import annotations

__all__ = [
    "AocuError",
    "BusyError",
    "HashChainMismatchError",
    "InvalidMessageError",
    "InvalidModuleError",
    "InvalidProcessError",
    "InvalidRequestError",
    "ModuleError",
    "ModuleLimitError",
    "ProcessDeniedError",
    "ProcessNotFoundError",
    "RateLimitedError",
    "StoreError",
    "TooEarlyError",
    "UpstreamError",
    "UpstreamTimeoutError",
]


class AocuError(Exception):
    """Base class of every error aocu raises on purpose; answers 500 unless a subclass says more."""

    http_status: int = 500

    def __init__(self, message: str = "", *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if http_status is not None:
            self.http_status = http_status


class ProcessNotFoundError(AocuError):
    """The process (or the message asked about) does not exist upstream."""

    http_status = 404


class ProcessDeniedError(AocuError):
    """This CU does not serve the process: a restrict/allow list or the owner allow list."""

    http_status = 403


class InvalidProcessError(AocuError):
    """The process's own tags are unusable (no ``Module``, bad ``Cron-Interval``...).

    The reference rejects these with plain errors, hence 500 (reference-cu.md §2.3, §2.8.1).
    """


class InvalidMessageError(AocuError):
    """A message fails the reference's message schema or its deep hash (§2.10); fails the stream."""


class ModuleError(AocuError):
    """The module cannot be used; the base answers 500 like the reference's TypeErrors (§8.8)."""


class InvalidModuleError(ModuleError):
    """Unsupported or missing ``Input-Encoding``, ``Output-Encoding``, ``Module-Format``, extension."""

    http_status = 422


class ModuleLimitError(ModuleError):
    """``Memory-Limit`` or ``Compute-Limit`` is missing, not positive or above this CU's maximum."""

    http_status = 413


class UpstreamError(AocuError):
    """The SU or the gateway failed (after the reference's retries)."""


class UpstreamTimeoutError(UpstreamError):
    """An upstream call ran past aocu's deadline."""

    http_status = 504


class HashChainMismatchError(UpstreamError):
    """The SU sent a message whose ``Hash-Chain`` does not follow from the previous one (§2.7)."""

    http_status = 422


class TooEarlyError(AocuError):
    """The message is older than the earliest state this CU can start from (§2.5.8)."""

    http_status = 425


class BusyError(AocuError):
    """Try again later: the process is hydrating too far behind (§2.17.3)."""

    http_status = 503


class RateLimitedError(AocuError):
    """The caller exceeded a rate limit, or the dry-run queue is full (§1.11)."""

    http_status = 429


class StoreError(AocuError):
    """The local database failed."""


class InvalidRequestError(AocuError):
    """A request the reference's Zod schemas reject; its text is the reference's message.

    The reference answers these 500 (Zod errors carry no status, §8.1 item 1); aocu answers 400,
    the caller's fault (docs/differences.md).
    """

    http_status = 400
