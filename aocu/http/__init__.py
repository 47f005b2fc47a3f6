"""aocu.http: the reference CU's HTTP API over the `aocu.api.ComputeUnitApi` port.

Layout: ``_app.py`` builds the Quart app (`make_app`) and its hooks; ``_routes.py`` the routes;
``_progress.py`` the progress websockets; ``_validate.py`` the reference's input schemas;
``_body.py`` Fastify's body parsing; ``_limits.py`` the rate limiter and ``/result`` cache;
``_fast.py`` the ASGI fast path serving ``/result`` cache hits in front of Quart;
``_metrics.py`` the Prometheus families; ``_headers.py`` helmet/cors; ``_errors.py`` the only
status table; ``_serve.py`` `serve_http` (hypercorn inside the caller's nursery). Imports neither
apsw nor wasmtime. Start with `serve_http`.

    async with trio.open_nursery() as nursery:
        binds = await nursery.start(serve_http, api, config.http)
"""

from ._app import make_app as make_app
from ._errors import HTTP_STATUS as HTTP_STATUS
from ._errors import InvalidRequestError as InvalidRequestError
from ._errors import status_for as status_for
from ._metrics import METRICS_CONTENT_TYPE as METRICS_CONTENT_TYPE
from ._metrics import ServiceMetrics as ServiceMetrics
from ._serve import hypercorn_config as hypercorn_config
from ._serve import serve_http as serve_http

__all__ = [
    "HTTP_STATUS",
    "METRICS_CONTENT_TYPE",
    "InvalidRequestError",
    "ServiceMetrics",
    "hypercorn_config",
    "make_app",
    "serve_http",
    "status_for",
]
