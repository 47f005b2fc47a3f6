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
from typing import TypeVar

from aocu.clients import MessageMeta, MessagePage, ProcessMeta, SchedulerClient, SchedulerTimestamp
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

    def __init__(self, pages: AsyncIterator[MessagePage]) -> None:
        self._pages = pages

    def __aiter__(self) -> AsyncIterator[MessagePage]:
        return self

    async def __anext__(self) -> MessagePage:
        try:
            return await self._pages.__anext__()
        except ClientUpstreamError as exc:
            raise reworded(LOAD_MESSAGES, exc) from exc


class ReferenceWorded:
    """A `SchedulerClient` whose failures carry the reference's messages."""

    def __init__(self, scheduler: SchedulerClient) -> None:
        self.inner = scheduler

    async def load_process(self, su_url: str, process_id: str) -> ProcessMeta:
        return await _call(LOAD_PROCESS, lambda: self.inner.load_process(su_url, process_id))

    async def load_message_meta(self, su_url: str, process_id: str, message_id: str) -> MessageMeta:
        return await _call(LOAD_MESSAGE, lambda: self.inner.load_message_meta(su_url, process_id, message_id))

    async def load_latest(self, su_url: str, process_id: str) -> MessageMeta:
        return await _call(LOAD_LATEST, lambda: self.inner.load_latest(su_url, process_id))

    async def load_timestamp(self, su_url: str, process_id: str) -> SchedulerTimestamp:
        return await _call(LOAD_TIMESTAMP, lambda: self.inner.load_timestamp(su_url, process_id))

    def message_pages(self, su_url: str, process_id: str, *, from_timestamp: int | None = None,
                      to_timestamp: int | None = None, page_size: int | None = None,
                      after_nonce: int | None = None, to_nonce: int | None = None) -> _Pages:
        return _Pages(self.inner.message_pages(
            su_url, process_id, from_timestamp=from_timestamp, to_timestamp=to_timestamp, page_size=page_size,
            after_nonce=after_nonce, to_nonce=to_nonce).__aiter__())

    async def check_redirect(self, su_url: str, process_id: str) -> str:
        return await self.inner.check_redirect(su_url, process_id)   # the locator's call, not the pipeline's
