"""The one place errors become HTTP answers: the status table and the reference's error bodies.

Runs on the trio thread inside request handlers; pure functions, no I/O. `status_for` maps an
`aocu.errors.AocuError` through its class's ``__mro__`` (style.md §6.9), falling back to the
instance's ``http_status``; `error_response` builds the reference's ``{"error": "<message>"}``
(``withErrorHandler.js``, reference-cu.md §1.0). The Fastify-shaped bodies (unknown route, body too
large, bad JSON, unsupported media type) are here too, so the HTTP layer never invents a body
anywhere else. Never put a status number in a route.
"""

from __future__ import annotations

from typing import Any, Final

from quart import Response

from aocu import jsjson
from aocu.errors import AocuError, InvalidRequestError, ProcessDeniedError, RateLimitedError

__all__ = [
    "HTTP_STATUS",
    "InvalidRequestError",
    "error_response",
    "fastify_error",
    "json_response",
    "status_for",
    "unwrap_error",
]

JSON_CONTENT_TYPE: Final = "application/json; charset=utf-8"



#: AocuError class -> status. The reference's statuses where it has one (§1.13); a class not
#: listed answers its own ``http_status`` (every aocu.errors class sets one), else 500.
HTTP_STATUS: Final[dict[type[BaseException], int]] = {
    InvalidRequestError: 400,
    ProcessDeniedError: 403,
    RateLimitedError: 429,
}


def status_for(exc: BaseException) -> int:
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    status = getattr(exc, "http_status", None)
    return status if isinstance(status, int) and 400 <= status <= 599 else 500


def unwrap_error(exc: BaseException) -> AocuError | None:
    """The `AocuError` to answer with: ``exc`` itself, or the first one of a group made only of them.

    A port that runs work in a nursery may raise a group; quart-trio unwraps groups the same way
    for registered handlers. A group holding anything else (a bug, a Cancelled) is not ours to
    answer and is re-raised by the caller.
    """
    if isinstance(exc, AocuError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        matched, rest = exc.split(AocuError)
        if matched is not None and rest is None:
            leaf: BaseException = matched
            while isinstance(leaf, BaseExceptionGroup):
                leaf = leaf.exceptions[0]
            return leaf if isinstance(leaf, AocuError) else None
    return None


def message_for(exc: BaseException) -> str:
    """``errFrom(err).message || 'Internal Server Error'``: the text clients see.

    Only aocu's own errors carry a message worth showing; anything else is a bug of ours, whose
    text (a KeyError's ``'x'``) would mean nothing to a client, and is logged instead.
    """
    if isinstance(exc, AocuError):
        # an upstream client's error that reached us unwrapped: the reference's wording of it
        # (``TransactionNotFound: Process <id> was not found on gateway``), not our log line
        reference_text = getattr(exc, "reference_text", None)
        text = reference_text if isinstance(reference_text, str) else exc.message or str(exc)
        return text or "Internal Server Error"
    return "Internal Server Error"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON body serialized as JavaScript's ``JSON.stringify`` (key order kept, §0)."""
    text = jsjson.stringify(body)
    return Response(text if text is not None else "", status=status, headers=headers,
                    content_type=JSON_CONTENT_TYPE)


def error_response(exc: BaseException) -> Response:
    return json_response({"error": message_for(exc)}, status_for(exc))


def fastify_error(status: int, error: str, message: str, *, code: str | None = None) -> Response:
    """Fastify's own error JSON for what it rejects before a route runs (§1.0, upstream.md §2)."""
    body: dict[str, Any] = {"statusCode": status}
    if code is not None:
        body["code"] = code
    body["error"] = error
    body["message"] = message
    return json_response(body, status)


def not_found(method: str, url: str) -> Response:
    # Fastify's default 404 handler: `Route ${method}:${url} not found`, url with its query.
    return json_response(
        {"message": f"Route {method}:{url} not found", "error": "Not Found", "statusCode": 404}, 404)


def body_too_large() -> Response:
    response = fastify_error(413, "Payload Too Large", "Request body is too large",
                             code="FST_ERR_CTP_BODY_TOO_LARGE")
    response.headers["Connection"] = "close"
    return response
