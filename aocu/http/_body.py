"""Request bodies as Fastify parses them before a route runs (reference-cu.md §1.0).

Runs on the trio thread; awaits only the request body, which Quart bounds by
``MAX_CONTENT_LENGTH`` (1 MiB, as Fastify's ``bodyLimit``). Only ``application/json`` (parsed
like ``JSON.parse`` by `aocu.jsjson`, with secure-json-parse's prototype-poisoning refusal) and
``text/plain`` (a string) are accepted; anything else is 415. Failures raise `BodyError` carrying
the Fastify-shaped answer, which the route returns before doing anything else. Never buffers more
than ``MAX_CONTENT_LENGTH`` bytes (Quart refuses the rest).
"""

from __future__ import annotations

import json
from typing import Any, Final

from quart import Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from aocu import jsjson

from ._errors import body_too_large, fastify_error

__all__ = ["NO_BODY", "BodyError", "read_body"]

NO_BODY: Final[Any] = None
"""What a POST without a body parses to (Fastify's ``undefined`` body: Zod says "Required")."""


class BodyError(Exception):
    """The body cannot be parsed; ``response`` is what Fastify answers (400, 413 or 415)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _bad_request(message: str, code: str | None = None) -> BodyError:
    return BodyError(fastify_error(400, "Bad Request", message, code=code))


def _poisoned(value: Any) -> bool:
    """secure-json-parse's default refusal: a ``__proto__`` key, or ``constructor.prototype``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__proto__" in item:
                return True
            ctor = item.get("constructor")
            if isinstance(ctor, dict) and "prototype" in ctor:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


async def read_body() -> Any:
    """The parsed body, `NO_BODY` when there is none; raises `BodyError`."""
    content_type = request.headers.get("Content-Type")
    has_body = bool(request.content_length) or "Transfer-Encoding" in request.headers
    if content_type is None and not has_body:
        return NO_BODY
    try:
        data = await request.get_data(as_text=False)
    except RequestEntityTooLarge:
        raise BodyError(body_too_large()) from None
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    if essence == "text/plain":
        return data.decode("utf-8", "replace")
    if essence != "application/json":
        raise BodyError(fastify_error(415, "Unsupported Media Type",
                                      f"Unsupported Media Type: {content_type or ''}",
                                      code="FST_ERR_CTP_INVALID_MEDIA_TYPE"))
    if not data:
        raise _bad_request("Body cannot be empty when content-type is set to 'application/json'",
                           "FST_ERR_CTP_EMPTY_JSON_BODY")
    text = data.decode("utf-8", "replace")
    try:
        value = jsjson.parse(text)
    except json.JSONDecodeError as exc:
        raise _bad_request(exc.msg + f" in JSON at position {exc.pos}") from None
    except RecursionError:
        raise _bad_request("Maximum nesting depth exceeded") from None
    if isinstance(value, dict | list) and _poisoned(value):
        raise _bad_request("Object contains forbidden prototype property")
    return value
