"""`ReferenceWorded`: SU client failures carry the reference's sentences (ao-su.js), statuses kept."""

from __future__ import annotations

from typing import Any

import pytest

from aocu.clients import MessagePage, NotFoundError, UpstreamTimeoutError
from aocu.errors import UpstreamError
from aocu.pipeline._su import ReferenceWorded

NOT_FOUND = NotFoundError("not found", upstream="scheduler", url="http://su/m", status=400,
                          body='{"error":"Message or Process not found"}')


class FailingScheduler:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def load_process(self, su: str, pid: str) -> Any:
        raise self.error

    async def load_message_meta(self, su: str, pid: str, mid: str) -> Any:
        raise self.error

    async def load_latest(self, su: str, pid: str) -> Any:
        raise self.error

    async def load_timestamp(self, su: str, pid: str) -> Any:
        raise self.error

    async def check_redirect(self, su: str, pid: str) -> str:
        return "http://other-su"

    def message_pages(self, su: str, pid: str, **kwargs: Any) -> Any:
        assert kwargs["page_size"] == 1 and kwargs["to_nonce"] is None
        error = self.error

        class Pages:
            served = False

            def __aiter__(self) -> Any:
                return self

            async def __anext__(self) -> MessagePage:
                if not self.served:
                    self.served = True
                    return MessagePage(items=(), has_next_page=True, from_cursor=None)
                raise error

        return Pages()


async def test_each_call_is_worded_as_the_reference() -> None:
    su = ReferenceWorded(FailingScheduler(NOT_FOUND))
    body = '400: {"error":"Message or Process not found"}'
    calls = {
        "Error Encountered when loading process from Scheduler Unit": su.load_process("s", "p"),
        "Error Encountered when loading message from Scheduler Unit": su.load_message_meta("s", "p", "m"),
        "Error Encountered when loading latest message from Scheduler Unit": su.load_latest("s", "p"),
        "Error Encountered when loading timestamp for process from Scheduler Unit": su.load_timestamp("s", "p"),
    }
    for context, call in calls.items():
        with pytest.raises(UpstreamError) as caught:
            await call
        assert (str(caught.value), caught.value.http_status) == (f"{context}: {body}", 500)
        assert caught.value.__cause__ is NOT_FOUND
    with pytest.raises(ValueError, match=r"^not ours$"):      # only the clients' errors are reworded
        await ReferenceWorded(FailingScheduler(ValueError("not ours"))).load_latest("s", "p")
    seen = []
    with pytest.raises(UpstreamError, match=r"^Encountered Error fetching scheduled messages from Scheduler Unit: 400"):
        async for page in su.message_pages("s", "p", page_size=1):
            seen.append(page)
    assert len(seen) == 1                      # the first page arrived before the failure
    assert await su.check_redirect("s", "p") == "http://other-su"     # passed through as it is


async def test_aocus_own_deadline_keeps_its_504() -> None:
    su = ReferenceWorded(FailingScheduler(UpstreamTimeoutError("late", upstream="scheduler")))
    with pytest.raises(UpstreamError) as caught:
        await su.load_message_meta("s", "p", "m")
    assert caught.value.http_status == 504
    assert str(caught.value) == "Error Encountered when loading message from Scheduler Unit: late"
