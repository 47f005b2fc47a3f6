"""Progress websockets: per-process and all-process streams, access lists, slow clients, shutdown."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import pytest
import trio
import trio.testing
from trio_websocket import ConnectionClosed, ConnectionRejected, WebSocketConnection, open_websocket_url

from aocu import jsjson
from aocu.config import HttpConfig
from aocu.http import serve_http
from aocu.pipeline._events import StreamFailed, StreamFinished
from aocu.testing import FakeComputeUnitApi, open_test_server, wait_until


def finished(pid: str, n: int = 1) -> StreamFinished:
    return StreamFinished(process_id=pid, stream_id="s", messages=n, errors=0, elapsed_ms=1.5, at_ms=1.0)


@asynccontextmanager
async def progress(api: FakeComputeUnitApi, path: str, config: HttpConfig | None = None,
                   **options: object) -> AsyncIterator[WebSocketConnection]:
    async with open_test_server(api, config) as url:
        async with open_websocket_url(url.replace("http://", "ws://") + path, **options) as ws:  # type: ignore[arg-type]
            yield ws


async def test_a_process_stream_gets_that_processes_events_as_json(fake: FakeComputeUnitApi) -> None:
    async with progress(fake, "/progress/A") as ws:
        fake.events.publish(finished("B"))
        fake.events.publish(finished("A", 7))
        with trio.fail_after(5):
            message = await ws.get_message()
    assert message == jsjson.stringify(finished("A", 7).to_json())
    assert json.loads(message) == {"type": "stream-finished", "process_id": "A", "stream_id": "s",
                                   "at_ms": 1.0, "messages": 7, "errors": 0, "elapsed_ms": 1.5}


async def test_the_all_process_stream_sees_a_real_evaluation(fake: FakeComputeUnitApi) -> None:
    fake.results["P", "M"] = {"Messages": [], "Assignments": [], "Spawns": [], "Output": ""}
    async with open_test_server(fake) as url:
        async with open_websocket_url(url.replace("http://", "ws://") + "/progress") as ws:
            fake.events.publish(finished("elsewhere"))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(fake.read_result, "P", "M")
                with trio.fail_after(5):
                    kinds = [json.loads(await ws.get_message()) for _ in range(4)]
    assert [(k["type"], k["process_id"]) for k in kinds] == [
        ("stream-finished", "elsewhere"), ("stream-started", "P"), ("message-evaluated", "P"),
        ("stream-finished", "P")]


async def test_a_denied_process_is_refused_before_the_upgrade(fake: FakeComputeUnitApi) -> None:
    async with open_test_server(fake, HttpConfig(restrict_processes=("secret",))) as url:
        with pytest.raises(ConnectionRejected) as rejected:
            async with open_websocket_url(url.replace("http://", "ws://") + "/progress/secret"):
                pass
    assert rejected.value.status_code == 403
    assert json.loads(rejected.value.body or b"") == {"error": "Access denied for process secret"}
    assert fake.events.subscriber_count == 0


async def test_a_subscriber_that_falls_behind_is_dropped_with_1013(fake: FakeComputeUnitApi) -> None:
    async with progress(fake, "/progress/A", HttpConfig(progress_buffer=4)) as ws:
        for n in range(10):                # publish never waits: the fifth event overflows the buffer
            fake.events.publish(finished("A", n))
        assert fake.events.dropped == 1
        received = []
        with pytest.raises(ConnectionClosed) as closed, trio.fail_after(5):
            while True:
                received.append(json.loads(await ws.get_message())["messages"])
    assert closed.value.reason.code == 1013
    assert received == [0], "what was still buffered when the bus dropped us is not sent"
    assert fake.events.subscriber_count == 0


async def test_a_client_that_stops_reading_never_slows_publishing(fake: FakeComputeUnitApi) -> None:
    config = HttpConfig(progress_buffer=8, progress_send_timeout_s=0.2)
    big = "x" * (256 * 1024)
    async with progress(fake, "/progress/A", config, message_queue_size=1):
        with trio.fail_after(10):
            while fake.events.dropped == 0:      # 256 KiB events until TCP buffers fill up
                started = trio.current_time()
                fake.events.publish(StreamFailed(process_id="A", stream_id="s", error=big, status=500))
                assert trio.current_time() - started < 0.05
                await trio.sleep(0.001)
            # the stalled send gives up and the stream ends
            await wait_until(lambda: fake.events.subscriber_count == 0)


async def test_shutdown_closes_progress_streams_with_1001(fake: FakeComputeUnitApi) -> None:
    stop = trio.Event()
    config = HttpConfig(host="127.0.0.1", port=0, shutdown_grace_s=5)
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve_http, fake, config, shutdown_trigger=stop.wait))
        async with open_websocket_url(binds[0].replace("http://", "ws://") + "/progress") as ws:
            stop.set()
            with pytest.raises(ConnectionClosed) as closed, trio.fail_after(3):
                await ws.get_message()
    assert closed.value.reason.code == 1001
