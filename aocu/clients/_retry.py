"""One upstream operation: deadline, retries with backoff and jitter, error translation.

Runs on the trio thread (httpx over trio). Every call goes through `run_operation`, which wraps
the whole operation, retries included, in ``trio.fail_after`` and turns ``TooSlowError`` into
`UpstreamTimeoutError`; inside, `retry_loop` retries only failures marked transient (transport
errors, httpx phase timeouts, 408/429/5xx). `send` maps httpx exceptions and statuses to our
types once, at this edge (style.md §6.9), and `read_json` reads a bounded body as JS would.
It never retries a 4xx other than 408/429 or a malformed body: those are answers, not accidents.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import trio

from .. import jsjson
from ._errors import (
    BODY_EXCERPT_CHARS,
    NotFoundError,
    ResponseTooLargeError,
    UpstreamConnectionError,
    UpstreamDataError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from ._parse import ShapeError

__all__ = [
    "JSON_THREAD_THRESHOLD_BYTES",
    "RetryPolicy",
    "is_transient_status",
    "map_httpx_errors",
    "read_capped",
    "read_json",
    "read_prefix",
    "retry_loop",
    "run_operation",
    "send",
    "shape_error",
    "status_error",
]

T = TypeVar("T")

# Bodies above this are decoded on a worker thread so a big SU page (1000 messages with their
# Data inline) does not hold the trio loop for the whole parse (style.md §6.8).
JSON_THREAD_THRESHOLD_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: retry ``max_retries`` times, first after ``initial_delay_s``, doubling.

    The reference's ``backoff(fn, {maxRetries, delay})`` (reference-cu.md §A.10) waits 0.5, 1, 2,
    4, 8 s for (5, 0.5). Each wait here is shortened by up to ``jitter`` (a fraction) at random,
    so many CUs retrying one SU do not arrive in lockstep, and never exceeds ``max_delay_s``.
    A ``Retry-After`` header (seconds) on 429/503 lengthens the wait, up to ``max_delay_s``.
    """

    max_retries: int = 5
    initial_delay_s: float = 0.5
    max_delay_s: float = 30.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.initial_delay_s < 0 or self.max_delay_s < 0:
            raise ValueError("retry settings must not be negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction between 0 and 1")


def is_transient_status(status: int) -> bool:
    """408 Request Timeout, 429 Too Many Requests and every 5xx are worth another try."""
    return status in (408, 429) or 500 <= status <= 599


@dataclass(slots=True)
class _Progress:
    """What the retry loop has seen, for the timeout message."""

    attempts: int = 0
    last_error: UpstreamError | None = field(default=None)


async def run_operation(
    attempt: Callable[[int], Awaitable[T]],
    *,
    policy: RetryPolicy,
    timeout_s: float,
    rng: random.Random,
    upstream: str,
    method: str,
    url: str,
) -> T:
    """Run ``attempt(n)`` (n = 0, 1, ...) until it succeeds, under one deadline for all tries.

    ``method``/``url`` name the operation in a timeout error (an attempt's own errors carry
    the URL it actually used, which may differ, e.g. with GraphQL URL rotation).
    """
    progress = _Progress()
    try:
        with trio.fail_after(timeout_s):
            return await retry_loop(attempt, policy=policy, rng=rng, progress=progress)
    except trio.TooSlowError:
        last = f"; last failure: {progress.last_error}" if progress.last_error is not None else ""
        raise UpstreamTimeoutError(
            f"no answer within {timeout_s:g} s ({progress.attempts} attempts){last}",
            upstream=upstream,
            method=method,
            url=url,
            status=progress.last_error.status if progress.last_error is not None else None,
        ) from None


async def retry_loop(
    attempt: Callable[[int], Awaitable[T]],
    *,
    policy: RetryPolicy,
    rng: random.Random,
    progress: _Progress | None = None,
) -> T:
    """Retry transient `UpstreamError`s with backoff; re-raise the rest, and the last one.

    A retry whose wait would end after the enclosing deadline is not attempted: the last error
    is raised at once (it says more than a timeout would).
    """
    progress = progress if progress is not None else _Progress()
    delay = policy.initial_delay_s
    n = 0
    while True:
        progress.attempts = n + 1
        try:
            return await attempt(n)
        except UpstreamError as exc:
            progress.last_error = exc
            if not exc.transient or n >= policy.max_retries:
                exc.with_attempts(n + 1)
                raise
            wait = delay * (1.0 - policy.jitter * rng.random())
            if exc.retry_after_s is not None:
                wait = max(wait, exc.retry_after_s)
            wait = min(wait, policy.max_delay_s)
            if trio.current_time() + wait >= trio.current_effective_deadline():
                exc.with_attempts(n + 1)
                raise
        await trio.sleep(wait)
        delay = min(delay * 2, policy.max_delay_s)
        n += 1


# --- one HTTP exchange -------------------------------------------------------------------


@contextlib.contextmanager
def map_httpx_errors(upstream: str, method: str, url: str) -> Iterator[None]:
    """Translate httpx's exceptions into ours, most specific first (httpx's own idiom)."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UpstreamConnectionError(
            f"{type(exc).__name__}: {exc or 'timed out'}",
            upstream=upstream,
            method=method,
            url=url,
            transient=True,
        ) from exc
    except httpx.TooManyRedirects as exc:
        raise UpstreamStatusError(f"too many redirects: {exc}", upstream=upstream, method=method, url=url) from exc
    except (httpx.UnsupportedProtocol, httpx.ProxyError, httpx.InvalidURL) as exc:
        raise UpstreamConnectionError(
            f"{type(exc).__name__}: {exc}", upstream=upstream, method=method, url=url
        ) from exc
    except httpx.DecodingError as exc:
        raise UpstreamDataError(f"cannot decode the body ({exc})", upstream=upstream, method=method, url=url) from exc
    except (httpx.TransportError, httpx.StreamError) as exc:
        raise UpstreamConnectionError(
            f"{type(exc).__name__}: {exc or 'connection failed'}",
            upstream=upstream,
            method=method,
            url=url,
            transient=True,
        ) from exc


def _retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare from our upstreams; the backoff schedule applies
    return seconds if seconds >= 0 else None


def status_error(
    response: httpx.Response,
    body: bytes,
    *,
    upstream: str,
    not_found: Callable[[int, str], bool] | None = None,
) -> UpstreamError:
    """The error for a non-2xx ``response`` whose first bytes are ``body``."""
    text = body.decode("utf-8", "replace")
    excerpt = text if len(text) <= BODY_EXCERPT_CHARS else text[:BODY_EXCERPT_CHARS] + "…"
    status = response.status_code
    is_not_found = status == 404 or (not_found is not None and not_found(status, text))
    cls = NotFoundError if is_not_found else UpstreamStatusError
    err = cls.about(response, f"HTTP {status}: {excerpt}" if excerpt else f"HTTP {status}", upstream=upstream,
                    body=excerpt, transient=is_transient_status(status))
    err.retry_after_s = _retry_after_s(response) if status in (429, 503) else None
    return err


async def capped_chunks(
    response: httpx.Response, limit: int, *, upstream: str, chunk_bytes: int | None = None
) -> AsyncIterator[bytes]:
    """The body in pieces, refusing (before or while reading) one over ``limit`` bytes."""
    declared = response.headers.get("content-length")
    request = response.request
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ResponseTooLargeError.about(
            response, f"body of {int(declared)} bytes exceeds the {limit}-byte limit", upstream=upstream)
    size = 0
    with map_httpx_errors(upstream, request.method, str(request.url)):
        async with contextlib.aclosing(response.aiter_bytes(chunk_bytes)) as body:
            async for chunk in body:
                size += len(chunk)
                if size > limit:
                    raise ResponseTooLargeError.about(
                        response, f"body exceeds the {limit}-byte limit", upstream=upstream)
                yield chunk


async def read_capped(response: httpx.Response, limit: int, *, upstream: str) -> bytes:
    """The whole body, refusing (before or while reading) one over ``limit`` bytes."""
    async with contextlib.aclosing(capped_chunks(response, limit, upstream=upstream)) as chunks:
        return b"".join([chunk async for chunk in chunks])


async def read_prefix(response: httpx.Response, limit: int) -> bytes:
    """At most the first ``limit`` bytes of the body (for error excerpts); transport errors end it."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with contextlib.aclosing(response.aiter_bytes()) as body:
            async for chunk in body:
                chunks.append(chunk)
                size += len(chunk)
                if size >= limit:
                    break
    except (httpx.TransportError, httpx.StreamError, httpx.DecodingError):
        pass  # the status is the news; a broken error body only shortens the excerpt
    return b"".join(chunks)[:limit]


@contextlib.asynccontextmanager
async def send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    upstream: str,
    params: Mapping[str, str] | None = None,
    json_body: object = None,
    content: bytes | AsyncIterable[bytes] | None = None,
    headers: Mapping[str, str] | None = None,
    follow_redirects: bool = True,
    ok_statuses: Callable[[int], bool] | None = None,
    not_found: Callable[[int, str], bool] | None = None,
    phase_timeouts: httpx.Timeout | None = None,
) -> AsyncIterator[httpx.Response]:
    """One streamed HTTP exchange; raises our errors for transport failures and bad statuses.

    Yields the response with its body unread (the caller reads it, bounded). A status outside
    ``ok_statuses`` (default: 2xx) raises `UpstreamStatusError`/`NotFoundError` with a body
    excerpt; ``not_found`` lets a client call some non-404 answers "not found" (the SU's 400).
    ``phase_timeouts`` (connect/read/write/pool) overrides the client's for this request; the
    clients always pass their config's, so every call has one whoever built the httpx client.
    """
    request = http.build_request(
        method,
        url,
        params=params,
        json=json_body,
        content=content,
        headers=headers,
        timeout=phase_timeouts if phase_timeouts is not None else httpx.USE_CLIENT_DEFAULT,
    )
    shown = str(request.url)
    with map_httpx_errors(upstream, method, shown):
        response = await http.send(request, stream=True, follow_redirects=follow_redirects)
    try:
        accept = ok_statuses if ok_statuses is not None else (lambda s: 200 <= s <= 299)
        if not accept(response.status_code):
            body = await read_prefix(response, BODY_EXCERPT_CHARS * 4)
            raise status_error(response, body, upstream=upstream, not_found=not_found)
        yield response
    finally:
        await response.aclose()


def _decode_json(body: bytes, js_key_order: bool = True) -> Any:
    # res.json() decodes UTF-8 (replacing bad sequences, dropping a BOM), then JSON.parse.
    text = body.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return jsjson.parse(text, js_key_order=js_key_order)


async def read_json(response: httpx.Response, *, upstream: str, max_bytes: int, js_key_order: bool = True) -> Any:
    """The whole body (at most ``max_bytes``) parsed as JS ``JSON.parse`` would (``js_key_order``:
    see `aocu.jsjson.parse`)."""
    body = await read_capped(response, max_bytes, upstream=upstream)
    try:
        if len(body) > JSON_THREAD_THRESHOLD_BYTES:
            return await trio.to_thread.run_sync(_decode_json, body, js_key_order)
        return _decode_json(body, js_key_order)
    except (json.JSONDecodeError, RecursionError) as exc:
        text = body[:200].decode("utf-8", "replace")
        raise UpstreamDataError.about(response, f"the body is not JSON ({exc}): {text!r}", upstream=upstream,
                                      body=text) from None


def shape_error(exc: ShapeError, response: httpx.Response, *, upstream: str, what: str) -> UpstreamDataError:
    """An `UpstreamDataError` for a body that parsed but has the wrong shape."""
    return UpstreamDataError.about(response, f"malformed {what}: {exc}", upstream=upstream)
