"""Errors raised by the upstream clients (SU, gateway GraphQL, Arweave ``/raw``).

Tree (every class carries ``upstream``, ``method``, ``url``, ``status``, ``body``)::

    UpstreamError                    an upstream call did not give a usable answer
    ├── UpstreamTimeoutError         the whole operation, retries included, ran out of time
    ├── UpstreamConnectionError      connect/read failed at the transport level (after retries)
    ├── UpstreamStatusError          a non-2xx answer (after retries when it was transient)
    ├── NotFoundError                the upstream says the thing does not exist
    │   └── TransactionNotFoundError the gateway has no such transaction (scheduler-utils' name)
    ├── UpstreamDataError            a 2xx answer whose body is not what the reference reads
    │   ├── UpstreamSequenceError    SU pages that repeat, go backwards or do not advance
    │   ├── SchedulerTagNotFoundError       the process has no ``Scheduler`` tag
    │   └── InvalidSchedulerLocationError   a ``Scheduler-Location`` without ``Url``/``Time-To-Live``
    ├── ResponseTooLargeError        a body over the configured size limit
    └── CircuitOpenError             the block-metadata circuit breaker is open

``UpstreamError`` here subclasses the project's ``aocu.errors.UpstreamError`` (so it is an
``AocuError`` answering 500, like the reference's upstream failures) and
``UpstreamTimeoutError`` also ``aocu.errors.UpstreamTimeoutError`` (504).

``str(err)`` says which upstream failed and how (URL, status, a body excerpt): for logs.
``err.reference_text`` is what the reference CU puts in its own error message for the same
failure (``"<status>: <body>"`` like ``strFromFetchError`` in ``servers/cu/src/domain/utils.js``,
or ``"TransactionNotFound: Process <id> was not found on gateway"``); the pipeline prefixes its
context (``"Error Encountered when loading message from Scheduler Unit: " + reference_text``,
reference-cu.md §2.2 step 6) when it turns these into the reference's HTTP answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors as _project

if TYPE_CHECKING:
    from typing import Self

    import httpx

__all__ = [
    "BODY_EXCERPT_CHARS",
    "CircuitOpenError",
    "InvalidSchedulerLocationError",
    "NotFoundError",
    "ResponseTooLargeError",
    "SchedulerTagNotFoundError",
    "TransactionNotFoundError",
    "UpstreamConnectionError",
    "UpstreamDataError",
    "UpstreamError",
    "UpstreamSequenceError",
    "UpstreamStatusError",
    "UpstreamTimeoutError",
]

# How much of an upstream body an error keeps. The reference puts the whole body into its
# message; SU and gateway error bodies are short JSON, so 2 KiB keeps them whole while a
# misrouted HTML page or a huge payload cannot bloat logs and HTTP answers.
BODY_EXCERPT_CHARS = 2048


class UpstreamError(_project.UpstreamError):
    """An upstream (SU, gateway GraphQL, Arweave) call did not give a usable answer.

    ``transient`` marks failures worth retrying (connect errors, timeouts, 408/429/5xx); the
    retry loop in ``_retry.py`` is the only reader of it.
    """

    reference_name: str | None = None

    def __init__(
        self,
        detail: str,
        *,
        upstream: str,
        method: str = "GET",
        url: str = "",
        status: int | None = None,
        body: str | None = None,
        attempts: int = 1,
        transient: bool = False,
    ) -> None:
        self.detail = detail
        self.transient = transient
        # Seconds from a 429/503 ``Retry-After`` header; the retry loop waits at least this long.
        self.retry_after_s: float | None = None
        self.upstream = upstream
        self.method = method
        self.url = url
        self.status = status
        self.body = body
        self.attempts = attempts
        super().__init__(self._render())

    @classmethod
    def about(cls, response: httpx.Response, detail: str, *, upstream: str, **extra: Any) -> Self:
        """The error for ``response``: its request's method and URL, its status."""
        request = response.request
        return cls(detail, upstream=upstream, method=request.method, url=str(request.url),
                   status=response.status_code, **extra)

    def _render(self) -> str:
        where = f"{self.upstream} {self.method} {self.url}".rstrip()
        tries = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
        return f"{where}: {self.detail}{tries}"

    def with_attempts(self, attempts: int) -> UpstreamError:
        """Record how many attempts were made before giving up (re-renders the message)."""
        self.attempts = attempts
        self.message = self._render()
        self.args = (self.message,)
        return self

    @property
    def reference_text(self) -> str:
        """The reference's wording for this failure (``strFromFetchError`` or the named error)."""
        if self.reference_name is not None:
            return f"{self.reference_name}: {self.detail}"
        if self.status is not None:
            return f"{self.status}: {self.body or ''}"
        return self.detail


class UpstreamTimeoutError(UpstreamError, _project.UpstreamTimeoutError):
    """The operation's deadline (``trio.fail_after``) passed, retries included."""


class UpstreamConnectionError(UpstreamError):
    """The transport failed: refused, reset, DNS, a body cut short, an httpx phase timeout."""


class UpstreamStatusError(UpstreamError):
    """The upstream answered with a non-2xx status."""


class NotFoundError(UpstreamError):
    """The upstream says the requested thing does not exist (404, SU 400 "not found", no edge)."""


class TransactionNotFoundError(NotFoundError):
    """The gateway has no such transaction (scheduler-utils ``TransactionNotFoundError``)."""

    reference_name = "TransactionNotFound"


class UpstreamDataError(UpstreamError):
    """A 2xx answer whose body is malformed: bad JSON, a missing field, a wrong type."""


class UpstreamSequenceError(UpstreamDataError):
    """SU pages that repeat an item, go backwards, leave a nonce gap, or stop advancing."""


class SchedulerTagNotFoundError(UpstreamDataError):
    """The process transaction has no ``Scheduler`` tag (scheduler-utils' error)."""

    reference_name = "SchedulerTagNotFound"


class InvalidSchedulerLocationError(UpstreamDataError):
    """A ``Scheduler-Location`` record without a usable ``Url`` or ``Time-To-Live`` tag."""

    reference_name = "InvalidSchedulerLocation"


class ResponseTooLargeError(UpstreamError):
    """A response body exceeded the configured size limit; the download was abandoned."""


class CircuitOpenError(UpstreamError):
    """The circuit breaker around block-metadata queries is open (``servers/cu/src/effects/ao-block.js``)."""
