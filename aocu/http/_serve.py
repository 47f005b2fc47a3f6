"""`serve_http`: hypercorn's trio worker serving `make_app` inside the caller's nursery.

The only place a hypercorn ``Config`` is built (style.md §6.10). Runs until cancelled or until
``shutdown_trigger`` returns; then hypercorn stops accepting, gives in-flight requests
``HttpConfig.shutdown_grace_s`` to finish (its ``graceful_timeout``) and returns. Follows the
nursery-start protocol: ``task_status.started(binds)`` once listening, binds like
``["http://127.0.0.1:54321"]``, so ``port = 0`` works without races (stack.md §2). Never call
``app.run()``: it owns its own ``trio.run``. Hypercorn serves the Quart app behind
`aocu.http._fast.ResultFastPath`, which answers ``/result`` cache hits without Quart.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import hypercorn.config
import hypercorn.trio
import trio

from aocu.config import SECONDS, HttpConfig, MiB

from ._app import make_app
from ._fast import ResultFastPath
from ._metrics import ServiceMetrics
from ._whole_body import WholeBodyFirst

if TYPE_CHECKING:
    from aocu.api import ComputeUnitApi

__all__ = ["hypercorn_config", "serve_http"]

# hypercorn's lifespan startup/shutdown: our app's are empty, so this only bounds a hang.
LIFESPAN_TIMEOUT_S: Final = 10 * SECONDS
# A progress event is a few hundred bytes; nothing a client sends us needs more.
WEBSOCKET_MAX_MESSAGE_BYTES: Final = 1 * MiB
# Node's listen() backlog (the reference's): hypercorn's 100 drops the SYNs of a burst of
# connections (200 clients connecting at once), and a dropped SYN costs its client a 1 s retry.
LISTEN_BACKLOG: Final = 511
# Node's HTTP server keeps a connection for any number of requests; hypercorn closes one after
# 1000 by default, which costs a busy client (an MU polling /result) a reconnect every 1000.
KEEP_ALIVE_MAX_REQUESTS: Final = 2**62


def hypercorn_config(config: HttpConfig) -> hypercorn.config.Config:
    h = hypercorn.config.Config()
    host = f"[{config.host}]" if ":" in config.host else config.host
    h.bind = [f"{host}:{config.port}"]
    h.keep_alive_timeout = config.keep_alive_timeout_s
    h.keep_alive_max_requests = KEEP_ALIVE_MAX_REQUESTS
    h.backlog = LISTEN_BACKLOG
    h.graceful_timeout = config.shutdown_grace_s
    h.startup_timeout = LIFESPAN_TIMEOUT_S
    h.shutdown_timeout = LIFESPAN_TIMEOUT_S
    h.websocket_max_message_size = WEBSOCKET_MAX_MESSAGE_BYTES
    h.include_server_header = False     # fastify sends none
    h.accesslog = None
    h.errorlog = logging.getLogger("aocu.http.server")
    return h


async def serve_http(
    api: ComputeUnitApi,
    config: HttpConfig,
    *,
    metrics: ServiceMetrics | None = None,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    fast_path: bool = True,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the CU's HTTP API for ``api`` until cancelled or ``shutdown_trigger`` returns.

    ``fast_path=False`` sends every request through Quart (tests compare the two).
    """
    stopping = trio.Event()
    app = make_app(api, config, metrics=metrics, stopping=stopping)
    served: Any = ResultFastPath(app, app.extensions["aocu.routes"]) if fast_path else app
    served = WholeBodyFirst(served, config.max_body_bytes)

    async def trigger() -> None:
        if shutdown_trigger is None:
            await trio.sleep_forever()
        else:
            await shutdown_trigger()
        stopping.set()      # progress websockets close now instead of at the grace deadline

    await hypercorn.trio.serve(served, hypercorn_config(config), shutdown_trigger=trigger,
                               task_status=task_status, mode="asgi")
