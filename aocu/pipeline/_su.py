"""The SU as the pipeline calls it: the client's failures in the reference's words.

The reference wraps each failed SU call in an ``Error`` naming the call (``ao-su.js``), and its
error handler answers 500 with that text: ``"Error Encountered when loading message from
Scheduler Unit: 400: {\"error\":\"Message or Process not found\"}"`` (reference-cu.md §2.2 step 6,
upstream.md §2). `ReferenceWorded` wraps an `aocu.clients.SchedulerClient` so every caller in
the pipeline gets those messages; the client's own ``reference_text`` is the ``<status>: <body>``
part, and the status aocu answers (``http_status``: 500, or 504 for aocu's own deadline) is kept.
Runs on the trio thread; no I/O of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from aocu.clients import UpstreamError as ClientUpstreamError
from aocu.errors import UpstreamError

__all__ = ["ReferenceWorded"]

T = TypeVar("T")

LOAD_PROCESS = "Error Encountered when loading process from Scheduler Unit"
LOAD_MESSAGE = "Error Encountered when loading message from Scheduler Unit"
LOAD_LATEST = "Error Encountered when loading latest message from Scheduler Unit"
LOAD_TIMESTAMP = "Error Encountered when loading timestamp for process from Scheduler Unit"
LOAD_MESSAGES = "Encountered Error fetching scheduled messages from Scheduler Unit"


def reworded(context: str, exc: ClientUpstreamError) -> UpstreamError:
    return UpstreamError(f"{context}: {exc.reference_text}", http_status=exc.http_status)


async def _call(context: str, call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except ClientUpstreamError as exc:
        raise reworded(context, exc) from exc


class _Pages:
    """``message_pages``' iterator with its failures reworded."""

    def __init__(self, pages: Any) -> None:
        self._pages = pages

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self._pages.__anext__()
        except ClientUpstreamError as exc:
            raise reworded(LOAD_MESSAGES, exc) from exc


class ReferenceWorded:
    """A `SchedulerClient` whose failures carry the reference's messages; anything else passes through."""

    def __init__(self, scheduler: Any) -> None:
        self.inner = scheduler

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def load_process(self, su_url: str, process_id: str) -> Any:
        return await _call(LOAD_PROCESS, lambda: self.inner.load_process(su_url, process_id))

    async def load_message_meta(self, su_url: str, process_id: str, message_id: str) -> Any:
        return await _call(LOAD_MESSAGE, lambda: self.inner.load_message_meta(su_url, process_id, message_id))

    async def load_latest(self, su_url: str, process_id: str) -> Any:
        return await _call(LOAD_LATEST, lambda: self.inner.load_latest(su_url, process_id))

    async def load_timestamp(self, su_url: str, process_id: str) -> Any:
        return await _call(LOAD_TIMESTAMP, lambda: self.inner.load_timestamp(su_url, process_id))

    def message_pages(self, su_url: str, process_id: str, **kwargs: Any) -> _Pages:
        return _Pages(self.inner.message_pages(su_url, process_id, **kwargs).__aiter__())
