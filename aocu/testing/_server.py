"""Serving an app on loopback for tests and tools: in this trio run, or in a thread of its own.

`open_test_server` starts `aocu.http.serve_http` on ``127.0.0.1`` port 0 in a nursery it owns and
yields the base URL (`open_test_client` an httpx client on it); leaving the block cancels the
server. `serve_in_thread` runs the same in a
separate thread with its own ``trio.run`` (for synchronous clients, such as Hypothesis tests with
``httpx.Client``); the port object is then confined to that thread. Loopback only, never 0.0.0.0.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import httpx
import trio

from aocu.config import SECONDS, HttpConfig
from aocu.http import ServiceMetrics, serve_http

if TYPE_CHECKING:
    from aocu.api import ComputeUnitApi

__all__ = ["open_test_client", "open_test_server", "serve_in_thread"]

LOOPBACK: Final = "127.0.0.1"
# A test client's timeout: generous, since a fake may hold an answer on purpose.
CLIENT_TIMEOUT_S: Final = 20 * SECONDS
THREAD_START_TIMEOUT_S: Final = 10 * SECONDS


def _loopback(config: HttpConfig | None) -> HttpConfig:
    return dataclasses.replace(config or HttpConfig(), host=LOOPBACK, port=0)


@asynccontextmanager
async def open_test_server(api: ComputeUnitApi, config: HttpConfig | None = None, *,
                           metrics: ServiceMetrics | None = None, fast_path: bool = True) -> AsyncIterator[str]:
    """Serve ``api`` on 127.0.0.1 (a free port) until the block exits; yields ``http://127.0.0.1:<port>``."""
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(partial(serve_http, api, _loopback(config), metrics=metrics,
                                                       fast_path=fast_path))
        yield binds[0]
        nursery.cancel_scope.cancel(reason="test server closed")


@asynccontextmanager
async def open_test_client(api: ComputeUnitApi, config: HttpConfig | None = None, *,
                           metrics: ServiceMetrics | None = None,
                           fast_path: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """An ``httpx.AsyncClient`` whose base URL is a fresh `open_test_server` for ``api``."""
    async with open_test_server(api, config, metrics=metrics, fast_path=fast_path) as url, \
            httpx.AsyncClient(base_url=url, timeout=CLIENT_TIMEOUT_S) as client:
        yield client


@contextmanager
def serve_in_thread(api_factory: Callable[[], AbstractAsyncContextManager[Any]],
                    config: HttpConfig | None = None) -> Iterator[str]:
    """Run ``api_factory()`` and the server in a thread with its own trio loop; yields the base URL."""
    handoff: queue.Queue[tuple[str, trio.lowlevel.TrioToken, trio.CancelScope] | BaseException] = queue.Queue()

    async def main() -> None:
        with trio.CancelScope() as scope:
            async with api_factory() as api, open_test_server(api, config) as url:
                handoff.put((url, trio.lowlevel.current_trio_token(), scope))
                await trio.sleep_forever()

    def run() -> None:
        try:
            trio.run(main)
        except BaseException as exc:  # reported to the caller below
            handoff.put(exc)

    thread = threading.Thread(target=run, name="aocu-test-server", daemon=True)
    thread.start()
    started = handoff.get(timeout=THREAD_START_TIMEOUT_S)
    if isinstance(started, BaseException):
        raise RuntimeError("the test server failed to start") from started
    url, token, scope = started
    try:
        yield url
    finally:
        try:
            token.run_sync_soon(scope.cancel)
        except trio.RunFinishedError:
            pass                        # the server's loop has already ended
        thread.join(THREAD_START_TIMEOUT_S)
