"""The Scheduler Unit client: process record, message meta, latest, timestamp, message pages.

`HttpSchedulerClient` implements `SchedulerClient` over one shared ``httpx.AsyncClient`` (any SU
URL) on the trio thread. Calls and parameters follow ``servers/cu/src/effects/ao-su.js``
(reference-cu.md §2.2, §2.3, §2.7, §2.8.2; the SU's routes in servers/su/src/main.rs); the
response shapes are parsed in ``_su_format.py``.
It never yields an SU item it cannot vouch for: pages are checked for repeats, reordering and
nonce gaps (`_PageChecker`). Start with `HttpSchedulerClient.message_pages`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ._errors import UpstreamSequenceError
from ._parse import ShapeError
from ._retry import read_json, run_operation, send, shape_error
from ._su_format import parse_message_meta, parse_page, parse_process, parse_timestamp
from .base import MessageMeta, MessagePage, ProcessMeta, ScheduledMessage, SchedulerTimestamp
from .config import ClientsConfig

__all__ = ["HttpSchedulerClient"]

UPSTREAM = "scheduler"
# The SU answers every failure with 400 {"error": "..."} (err_response in servers/su/src/main.rs);
# these texts (store.rs, flows.rs), bare or wrapped as `NotFound("...")`, mean the process or
# message does not exist. "Column family 'process' not found" (a database fault) does not match.
_SU_NOT_FOUND = re.compile(r"\b(?:message or process|message|process|transaction) not found", re.I)
# scheduler-utils checkForRedirect: these statuses carry the SU's real location.
REDIRECT_STATUSES = (301, 302, 307, 308)


def _su_not_found(status: int, body: str) -> bool:
    return status == 400 and _SU_NOT_FOUND.search(body) is not None


# --- sequence checks ---------------------------------------------------------------------


class _PageChecker:
    """Refuses pages that would make the stream wrong: repeats, reordering, gaps, no progress.

    The reference trusts the SU (``fetchAllPages`` in ao-su.js); a proxy or a faulty SU that
    repeats or drops a page would silently change the evaluated state. Nonces within an epoch
    are consecutive by the SU's own invariant (servers/su/src/domain/core/scheduler.rs).
    """

    def __init__(
        self,
        *,
        from_timestamp: int | None,
        to_timestamp: int | None,
        after_nonce: int | None,
        to_nonce: int | None,
        contiguous: bool,
    ) -> None:
        self.from_timestamp = from_timestamp
        self.to_timestamp = to_timestamp
        self.to_nonce = to_nonce
        self.contiguous = contiguous
        self.last: tuple[int, int] | None = None  # (epoch, nonce) of the last item yielded
        self.last_nonce = after_nonce  # for the first item: the caller's starting nonce
        self.last_timestamp: int | None = None
        self.last_item: ScheduledMessage | None = None

    def check(
        self, items: tuple[ScheduledMessage, ...], has_next: bool, from_cursor: str | None
    ) -> tuple[tuple[ScheduledMessage, ...], str | None]:
        """Validate one page; returns its items to yield and the next ``from`` cursor (None at the end).

        Raises ValueError. An exact copy of the item just before it is dropped: that is what an
        SU (or a cache in front of one) treating ``from`` as inclusive sends, and the stream stays
        the same without it. The checker's state moves on only when the whole page passes.
        """
        last, last_nonce, last_timestamp = self.last, self.last_nonce, self.last_timestamp
        last_item = self.last_item
        kept: list[ScheduledMessage] = []
        for index, item in enumerate(items):
            a = item.assignment
            where = f"item {index} (nonce {a.nonce}, timestamp {a.timestamp})"
            key = (a.epoch, a.nonce)
            if last_item is not None and item.assignment == last_item.assignment and item.message == last_item.message:
                continue
            if last is not None and key <= last:
                raise ValueError(f"{where} repeats or goes back: the previous item had epoch/nonce {last}")
            if last_nonce is not None and (last is None or last[0] == a.epoch):
                if a.nonce <= last_nonce:
                    raise ValueError(f"{where} is not after nonce {last_nonce}")
                if self.contiguous and a.nonce != last_nonce + 1:
                    same_ms = index == 0 and last_timestamp == a.timestamp
                    hint = (
                        "; the boundary messages share a timestamp, which the SU's exclusive `from` skips "
                        "(reference-cu.md §8.2 #14)"
                        if same_ms
                        else ""
                    )
                    raise ValueError(f"{where} leaves a nonce gap after nonce {last_nonce}{hint}")
            if last_timestamp is not None and a.timestamp < last_timestamp:
                raise ValueError(f"{where} is earlier than the previous item ({last_timestamp})")
            if self.from_timestamp is not None and a.timestamp <= self.from_timestamp:
                raise ValueError(f"{where} is not after from={self.from_timestamp}")
            if self.to_timestamp is not None and a.timestamp > self.to_timestamp:
                raise ValueError(f"{where} is after to={self.to_timestamp}")
            last, last_nonce, last_timestamp, last_item = key, a.nonce, a.timestamp, item
            kept.append(item)
        cursor: str | None = None
        if not has_next:
            if self.to_nonce is not None and (last_nonce is None or last_nonce < self.to_nonce):
                raise ValueError(f"the stream ended at nonce {last_nonce}, before nonce {self.to_nonce}")
        else:
            if not items:
                raise ValueError("has_next_page is true but the page is empty: paging would not advance")
            cursor = items[-1].cursor
            if not cursor:
                raise ValueError("has_next_page is true but the last edge has no cursor")
            if cursor == from_cursor:
                raise ValueError(f"the next cursor {cursor!r} equals this page's `from`: paging would not advance")
        self.last, self.last_nonce, self.last_timestamp = last, last_nonce, last_timestamp
        self.last_item = last_item
        return tuple(kept), cursor


class _MessagePages:
    """Async iterator of validated pages; one SU request per ``__anext__`` (lazy, back-pressured)."""

    def __init__(
        self,
        client: HttpSchedulerClient,
        su_url: str,
        process_id: str,
        *,
        from_timestamp: int | None,
        to_timestamp: int | None,
        page_size: int,
        checker: _PageChecker,
    ) -> None:
        self._client = client
        self._su_url = su_url
        self._process_id = process_id
        self._to = to_timestamp
        self._page_size = page_size
        self._checker = checker
        self._from: str | None = None if from_timestamp is None else str(from_timestamp)
        self._done = False

    def __aiter__(self) -> _MessagePages:
        return self

    async def __anext__(self) -> MessagePage:
        if self._done:
            raise StopAsyncIteration
        # URLSearchParams order in ao-su.js: process-id, from, to, limit (nil ones dropped).
        params = {"process-id": self._process_id}
        if self._from is not None:
            params["from"] = self._from
        if self._to is not None:
            params["to"] = str(self._to)
        params["limit"] = str(self._page_size)
        url = f"{self._su_url}/{self._process_id}"
        from_cursor = self._from
        self._done = True  # a failed page ends the iteration; the caller restarts from its state

        async def attempt(_: int) -> tuple[tuple[ScheduledMessage, ...], bool, str | None]:
            async with send(
                self._client.http,
                "GET",
                url,
                upstream=UPSTREAM,
                phase_timeouts=self._client.config.http_timeout(),
                params=params,
                not_found=_su_not_found,
            ) as response:
                # a page's objects are only looked up, never listed: text key order will do
                body = await read_json(response, upstream=UPSTREAM, max_bytes=self._client.config.json_max_bytes,
                                       js_key_order=False)
                try:
                    items, has_next = parse_page(body)
                except ShapeError as exc:
                    raise shape_error(exc, response, upstream=UPSTREAM, what="SU page") from None
                try:
                    items, next_cursor = self._checker.check(items, has_next, from_cursor)
                except ValueError as exc:
                    raise UpstreamSequenceError(
                        f"bad page sequence: {exc}",
                        upstream=UPSTREAM,
                        method="GET",
                        url=str(response.request.url),
                        status=response.status_code,
                    ) from None
                return items, has_next, next_cursor

        items, has_next, next_cursor = await self._client._run(attempt, url)
        self._from = next_cursor
        self._done = next_cursor is None
        return MessagePage(items=items, has_next_page=has_next, from_cursor=from_cursor)


# --- the client --------------------------------------------------------------------------


class HttpSchedulerClient:
    """`SchedulerClient` over httpx. The caller owns ``http`` (see ``open_scheduler_client``)."""

    def __init__(self, http: httpx.AsyncClient, config: ClientsConfig, *, rng: random.Random | None = None) -> None:
        self.http = http
        self.config = config
        self._rng = rng if rng is not None else random.Random()

    async def _run(self, attempt: Any, url: str) -> Any:
        return await run_operation(
            attempt,
            policy=self.config.su_retry,
            timeout_s=self.config.operation_timeout_s,
            rng=self._rng,
            upstream=UPSTREAM,
            method="GET",
            url=url,
        )

    async def _get_parsed(self, url: str, params: Mapping[str, str] | None, what: str, parse: Any) -> Any:
        async def attempt(_: int) -> Any:
            async with send(
                self.http,
                "GET",
                url,
                upstream=UPSTREAM,
                phase_timeouts=self.config.http_timeout(),
                params=params,
                not_found=_su_not_found,
            ) as response:
                body = await read_json(response, upstream=UPSTREAM, max_bytes=self.config.json_max_bytes)
                try:
                    return parse(body)
                except ShapeError as exc:
                    raise shape_error(exc, response, upstream=UPSTREAM, what=what) from None

        return await self._run(attempt, url)

    async def load_process(self, su_url: str, process_id: str) -> ProcessMeta:
        result: ProcessMeta = await self._get_parsed(
            f"{su_url}/processes/{process_id}", None, "process", lambda body: parse_process(body, process_id)
        )
        return result

    async def load_message_meta(self, su_url: str, process_id: str, message_id: str) -> MessageMeta:
        result: MessageMeta = await self._get_parsed(
            f"{su_url}/{message_id}",
            {"process-id": process_id},
            "message meta",
            lambda body: parse_message_meta(body, latest=False),
        )
        return result

    async def load_latest(self, su_url: str, process_id: str) -> MessageMeta:
        result: MessageMeta = await self._get_parsed(
            f"{su_url}/{process_id}/latest",
            None,
            "latest message",
            lambda body: parse_message_meta(body, latest=True),
        )
        return result

    async def load_timestamp(self, su_url: str, process_id: str) -> SchedulerTimestamp:
        result: SchedulerTimestamp = await self._get_parsed(
            f"{su_url}/timestamp", {"process-id": process_id}, "timestamp", parse_timestamp
        )
        return result

    def message_pages(
        self,
        su_url: str,
        process_id: str,
        *,
        from_timestamp: int | None = None,
        to_timestamp: int | None = None,
        page_size: int | None = None,
        after_nonce: int | None = None,
        to_nonce: int | None = None,
    ) -> _MessagePages:
        """See `SchedulerClient.message_pages`. ``to_nonce``: fail if the stream ends before it."""
        checker = _PageChecker(
            from_timestamp=from_timestamp,
            to_timestamp=to_timestamp,
            after_nonce=after_nonce,
            to_nonce=to_nonce,
            contiguous=self.config.require_contiguous_nonces,
        )
        return _MessagePages(
            self,
            su_url,
            process_id,
            from_timestamp=from_timestamp,
            to_timestamp=to_timestamp,
            page_size=page_size or self.config.load_messages_page_size,
            checker=checker,
        )

    async def check_redirect(self, su_url: str, process_id: str) -> str:
        """scheduler-utils ``checkForRedirect``: ``GET {url}?process-id=`` with ``redirect: manual``.

        301/302/307/308 → the ``Location``'s origin (a relative ``Location`` is resolved against
        the request, where ``new URL()`` would throw); any other status, errors included →
        ``su_url`` unchanged, as there. Only transport failures raise (after retries).
        """

        async def attempt(_: int) -> str:
            async with send(
                self.http,
                "GET",
                su_url,
                upstream=UPSTREAM,
                phase_timeouts=self.config.http_timeout(),
                params={"process-id": process_id},
                follow_redirects=False,
                ok_statuses=lambda _: True,
            ) as response:
                if response.status_code not in REDIRECT_STATUSES:
                    return su_url
                location = response.headers.get("location")
                if not location:
                    return su_url
                target = urlsplit(urljoin(str(response.request.url), location))
                return f"{target.scheme}://{target.netloc}"

        result: str = await self._run(attempt, su_url)
        return result
