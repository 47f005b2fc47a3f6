"""`make_app`: the Quart app over a `ComputeUnitApi` (a factory; there is no module-level app).

Builds the app, mounts the routes (`aocu.http._routes`) and progress websockets
(`aocu.http._progress`), and registers the hooks every answer goes through: the CORS preflight,
the helmet/cors headers, and the error handlers (all bodies come from `aocu.http._errors`). Runs
on the trio thread. The app starts no background task of its own (quart-trio's ``app.nursery``
stays empty, stack.md §2 gotcha 3); evaluation lives in the pipeline's nursery.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import trio
from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing.exceptions import WebsocketMismatch

from aocu.config import SECONDS, HttpConfig
from aocu.errors import AocuError

from ._errors import body_too_large, error_response, fastify_error, not_found
from ._headers import decorate, preflight_response
from ._metrics import ServiceMetrics
from ._progress import Progress
from ._routes import Routes

if TYPE_CHECKING:
    from aocu.api import ComputeUnitApi

__all__ = ["make_app"]

log = logging.getLogger("aocu.http")

# Quart times the *sending* of a response with RESPONSE_TIMEOUT (quart-trio's asgi.py), not the
# handler: a /state of 1 GiB to a slow client needs minutes, a stuck one must not live forever.
RESPONSE_SEND_TIMEOUT_S: Final = 15 * 60 * SECONDS
# Receiving a body of at most MAX_CONTENT_LENGTH (1 MiB) must not take longer than this.
BODY_TIMEOUT_S: Final = 60 * SECONDS


def _request_url() -> str:
    """The URL as sent (path and query, undecoded): what Fastify's 404 message shows."""
    raw = request.scope.get("raw_path") or request.path.encode()
    query = request.scope.get("query_string") or b""
    url = raw.decode("latin-1")
    return f"{url}?{query.decode('latin-1')}" if query else url


def make_app(api: ComputeUnitApi, config: HttpConfig, *, metrics: ServiceMetrics | None = None,
             stopping: trio.Event | None = None) -> QuartTrio:
    """The CU's HTTP app over ``api``.

    ``metrics`` is shared with the pipeline when the composition root has one; with
    ``config.enable_metrics`` and none given, the app makes its own. ``stopping`` is set when the
    server begins a graceful shutdown (progress websockets then close with 1001).
    """
    app = QuartTrio("aocu")
    app.config.update(
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        RESPONSE_TIMEOUT=RESPONSE_SEND_TIMEOUT_S,
        BODY_TIMEOUT=BODY_TIMEOUT_S,
        PROVIDE_AUTOMATIC_OPTIONS=False,
    )
    if metrics is None and config.enable_metrics:
        metrics = ServiceMetrics()
    routes = Routes(api, config, metrics)
    routes.register(app)
    Progress(api, config, routes, stopping if stopping is not None else trio.Event()).register(app)
    app.extensions["aocu.routes"] = routes     # tests and tools reach the cache and limiter here

    @app.before_request
    async def answer_preflight() -> Response | None:
        # cors(): every OPTIONS request is a preflight, answered before routing (§1.0).
        if request.method == "OPTIONS":
            return preflight_response(request.headers.get("Access-Control-Request-Headers"))
        return None

    @app.after_request
    async def add_headers(response: Response) -> Response:
        return decorate(response)

    @app.after_websocket
    async def add_websocket_headers(response: Response | None) -> Response | None:
        return decorate(response) if response is not None else None

    @app.errorhandler(AocuError)
    async def answer_error(exc: AocuError) -> Response:
        log.info("%s %s answered with an error: %s", request.method, request.path, exc)
        return error_response(exc)

    @app.errorhandler(NotFound)
    @app.errorhandler(MethodNotAllowed)
    async def answer_not_found(_: HTTPException) -> Response:
        # Fastify answers a wrong method on a known path with the same 404 (upstream.md §2).
        return not_found(request.method, _request_url())

    @app.errorhandler(RequestEntityTooLarge)
    async def answer_too_large(_: HTTPException) -> Response:
        return body_too_large()

    @app.errorhandler(WebsocketMismatch)
    async def answer_not_websocket(_: HTTPException) -> Response:
        return fastify_error(426, "Upgrade Required", "this route serves websockets only")

    @app.errorhandler(HTTPException)
    async def answer_http(exc: HTTPException) -> Response:
        code = exc.code or 500
        return fastify_error(code, exc.name, exc.description or exc.name)

    @app.errorhandler(Exception)
    async def answer_bug(exc: Exception) -> Response:
        log.error("unhandled error in %s %s", request.method, request.path, exc_info=exc)
        return error_response(exc)

    return app
