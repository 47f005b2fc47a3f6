"""Running a devnet: both servers under hypercorn inside the caller's nursery.

`serve_devnet` owns the store (opened on entry, closed on exit) and one nursery
holding the SU and gateway servers; everything runs on the trio thread of the
caller. It reports the live `Devnet` through ``task_status.started`` once both
servers accept connections and the Scheduler-Location record names the SU's URL,
then runs until cancelled or until `Devnet.stop` is called (graceful: hypercorn
drains for ``graceful_timeout_s``). `open_devnet` wraps it for tests and tools.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from ._clock import Clock, SystemClock
from ._config import DevnetConfig, DevnetUrls
from ._faults import FaultMiddleware, classify_gateway, classify_su
from ._gateway_app import make_gateway_app
from ._network import Devnet
from ._su_app import make_su_app


def _hypercorn_config(host: str, port: int, config: DevnetConfig) -> HypercornConfig:
    hc = HypercornConfig()
    hc.bind = [f"{host}:{port}"]
    hc.accesslog = None
    hc.errorlog = logging.getLogger("aocu.devnet.http")
    hc.graceful_timeout = config.graceful_timeout_s
    hc.include_server_header = False
    return hc


async def serve_devnet(config: DevnetConfig, *, clock: Clock | None = None,
                       task_status: trio.TaskStatus[Devnet] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve a devnet until cancelled or stopped; ``task_status.started(devnet)`` when ready."""
    devnet = Devnet.open(config, clock=clock or SystemClock())
    stop = devnet.stopped
    try:
        su_app = make_su_app(devnet)
        gateway_app = make_gateway_app(devnet)
        gateway_app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
        def is_process(tx_id: str) -> bool:
            return devnet.store.get_process(tx_id) is not None

        su_asgi = FaultMiddleware(su_app, devnet.faults, lambda scope: classify_su(scope, is_process))
        gateway_asgi = FaultMiddleware(gateway_app, devnet.faults, classify_gateway)
        async with trio.open_nursery() as nursery:
            su_hc = _hypercorn_config(config.host, config.su_port, config)
            gw_hc = _hypercorn_config(config.host, config.gateway_port, config)
            su_binds = await nursery.start(partial(serve, su_asgi, su_hc, shutdown_trigger=stop.wait))
            gw_binds = await nursery.start(partial(serve, gateway_asgi, gw_hc, shutdown_trigger=stop.wait))
            devnet.urls = DevnetUrls(su=su_binds[0], gateway=gw_binds[0])
            await devnet.publish_scheduler_location(devnet.urls.su)
            task_status.started(devnet)
    finally:
        devnet.close()


@asynccontextmanager
async def open_devnet(config: DevnetConfig | None = None, *,
                      clock: Clock | None = None) -> AsyncIterator[Devnet]:
    """Run a devnet for the duration of the block (loopback, ephemeral ports by default).

    Yields the live `Devnet` (``.urls``, ``.faults``, ``.options``, publish/spawn/send).
    On exit the servers shut down gracefully and the store is closed.
    """
    async with trio.open_nursery() as nursery:
        devnet: Devnet = await nursery.start(lambda task_status: serve_devnet(
            config or DevnetConfig(), clock=clock, task_status=task_status))
        try:
            yield devnet
        finally:
            devnet.stop()
