"""The headers every answer carries: helmet 8's defaults and the ``cors`` package's, in their order.

Pure; runs on the trio thread from the app's ``after_request`` and ``before_request`` hooks. The
reference mounts ``helmet()`` then ``cors()`` as Express middleware in front of every route
(reference-cu.md §1.0), so these headers come first, then ``Access-Control-Allow-Origin``, then the
route's own (``Content-Type``, ``Content-Length``; upstream.md §2 records the order). A preflight
(any ``OPTIONS`` request) is answered here with 204 and never reaches a route.
"""

from __future__ import annotations

from typing import Final

from quart import Response

__all__ = ["SECURITY_HEADERS", "decorate", "preflight_response"]

#: helmet 8.0.0 defaults (X-Powered-By is removed, which fastify never sets anyway).
SECURITY_HEADERS: Final = (
    ("Content-Security-Policy",
     "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';"
     "frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';"
     "script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Origin-Agent-Cluster", "?1"),
    ("Referrer-Policy", "no-referrer"),
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-DNS-Prefetch-Control", "off"),
    ("X-Download-Options", "noopen"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("X-Permitted-Cross-Domain-Policies", "none"),
    ("X-XSS-Protection", "0"),
)
ALLOW_ORIGIN: Final = ("Access-Control-Allow-Origin", "*")
# cors 2.8.5 defaults: methods 'GET,HEAD,PUT,PATCH,POST,DELETE', request headers reflected.
ALLOW_METHODS: Final = ("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")


def decorate(response: Response) -> Response:
    """Put the security and CORS headers in front of the route's own headers."""
    own = list(response.headers.items())
    response.headers.clear()
    for name, value in SECURITY_HEADERS:
        response.headers.add(name, value)
    response.headers.add(*ALLOW_ORIGIN)
    for name, value in own:
        if name.lower() not in _OURS:
            response.headers.add(name, value)
    return response


_OURS: Final = frozenset(name.lower() for name, _ in (*SECURITY_HEADERS, ALLOW_ORIGIN))


def preflight_response(request_headers: str | None) -> Response:
    """cors's preflight: 204, no body, the allowed methods, requested headers echoed."""
    response = Response(b"", status=204)
    response.headers.clear()
    response.headers.add(*ALLOW_METHODS)
    if request_headers:
        response.headers.add("Access-Control-Allow-Headers", request_headers)
    response.headers.add("Vary", "Access-Control-Request-Headers")
    response.headers.add("Content-Length", "0")
    return response
