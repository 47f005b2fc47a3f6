"""The CU's HTTP routes (reference-cu.md §1): parse, check, call the port, serialize. Nothing else.

`Routes` holds what the handlers share (the `ComputeUnitApi`, the ``/result`` cache, the dry-run
rate limiter, metrics); `register` mounts its methods on a Quart app. Handlers run on the trio
thread, one task per request (quart-trio); a client that disconnects cancels its task, never the
evaluation behind it, which runs in the pipeline's nursery (aocu/api.py). Each handler applies
the reference's wrappers in the reference's order (``servers/cu/src/routes/*.js``): unit mode,
process restriction, metrics, cache, validation, busy threshold. Errors become answers in
`aocu.http._errors` only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

import trio
from quart import Quart, Response, request

from aocu import jsjson
from aocu.config import HttpConfig
from aocu.errors import AocuError, ProcessDeniedError, RateLimitedError

from . import _validate as v
from ._body import BodyError, read_body
from ._errors import JSON_CONTENT_TYPE, error_response, json_response, unwrap_error
from ._limits import RateLimiter, ResultCache, client_ip
from ._metrics import METRICS_CONTENT_TYPE, ServiceMetrics

if TYPE_CHECKING:
    from aocu.api import ComputeUnitApi

__all__ = ["Routes"]

log = logging.getLogger("aocu.http")

# Route labels of the HTTP metrics: the reference's route patterns (req.routeOptions.url).
RESULT_ROUTE: Final = "/result/:messageTxId"
RESULTS_ROUTE: Final = "/results/:processId"
CRON_ROUTE: Final = "/cron/:processId"
STATE_ROUTE: Final = "/state/:processId"
DRY_RUN_ROUTE: Final = "/dry-run"

Handler = Callable[[], Awaitable[Response]]


def _query(name: str) -> v.QueryValue:
    """A query parameter as Fastify gives it: absent None, once a str, repeated a list."""
    values = request.args.getlist(name)
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _template(value: v.QueryValue) -> str:
    """``${value}`` of a raw query value: undefined, the string, or the array joined by ``,``."""
    if value is None:
        return "undefined"
    return v.js_string(value)


def _busy_message(process_id: str, to: object) -> dict[str, str]:
    # result.js / state.js / dryRun.js: `to "${input.messageTxId || input.to || 'latest'}"`.
    return {"message": f'Evaluation of process "{process_id}" to "{to or "latest"}" is in progress.'}


class Routes:
    """The handlers and their shared state; one instance per app."""

    def __init__(self, api: ComputeUnitApi, config: HttpConfig, metrics: ServiceMetrics | None) -> None:
        self.api = api
        self.config = config
        self.metrics = metrics
        self.cache = ResultCache(config.result_cache_max_size)
        self.limiter = RateLimiter(config.rate_limit)
        self._restricted = frozenset(config.restrict_processes)
        self._allowed = frozenset(config.allow_processes)
        self._allowed_owners = frozenset(config.allow_owners)

    def register(self, app: Quart) -> None:
        app.add_url_rule("/", "identity", self.identity, methods=["GET"])
        app.add_url_rule("/result/<message_id>", "result", self.result, methods=["GET"])
        app.add_url_rule("/results/<process_id>", "results", self.results, methods=["GET"])
        app.add_url_rule("/cron/<process_id>", "cron", self.cron, methods=["GET"])
        app.add_url_rule("/state/<process_id>", "state", self.state, methods=["GET"])
        app.add_url_rule("/dry-run", "dry_run", self.dry_run, methods=["POST"])
        if self.config.enable_metrics and self.metrics is not None:
            # metrics.js mounts the route only when ENABLE_METRICS_ENDPOINT is set (§1.8).
            app.add_url_rule("/metrics", "metrics", self.metrics_text, methods=["GET"])

    # --- the reference's wrappers -----------------------------------------------------------------

    def _cu_only(self) -> Response | None:
        # withCuMode.js: a Read Unit answers 404 with the plain text `Not Found`.
        if self.config.unit_mode != "cu":
            return Response("Not Found", status=404, content_type="text/plain; charset=utf-8")
        return None

    def check_process(self, process_id: v.QueryValue) -> None:
        """withProcessRestriction.js: deny list first, then the allow list when non-empty (§1.12)."""
        if isinstance(process_id, str) and process_id in self._restricted:
            raise ProcessDeniedError(f"Access denied for process {process_id}")
        if self._allowed and not (isinstance(process_id, str) and process_id in self._allowed):
            raise ProcessDeniedError(f"Access denied for process {_template(process_id)}")

    def cached_result(self, message_id: str, process_id: str) -> bytes | None:
        """The body `result` would answer from the cache for these (validated) ids, else None.

        For the ASGI fast path (`aocu.http._fast`): None whenever the route would answer anything
        but a cache hit (a Read Unit's 404, a denied process's 403) or must look further (a miss,
        which the route's own lookup then counts).
        """
        if self.config.unit_mode != "cu" or process_id in self._restricted:
            return None
        if self._allowed and process_id not in self._allowed:
            return None
        return self.cache.hit((process_id, message_id))

    async def _check_owner(self, process_id: str) -> None:
        """``ALLOW_OWNERS`` (§1.12), when the port can name a process's owner.

        The reference checks it while loading the process (loadProcessMeta); a port without a
        ``process_owner(process_id)`` method must enforce it itself.
        """
        if not self._allowed_owners:
            return
        lookup: Callable[[str], Awaitable[str | None]] | None = getattr(self.api, "process_owner", None)
        if lookup is None:
            return
        owner = await lookup(process_id)
        if owner is not None and owner not in self._allowed_owners:
            raise ProcessDeniedError(f"Access denied for process owner {owner}")

    async def _metered(self, route: str, process_id: object, handler: Handler) -> Response:
        """withMetrics.js around ``handler``; aocu's errors are answered here so they are counted."""
        started = time.perf_counter()
        try:
            response = await handler()
        except (AocuError, BaseExceptionGroup) as exc:
            error = unwrap_error(exc)
            if error is None:
                self._observe(route, 500, started, process_id)
                raise
            log.info("%s %s answered with an error: %s", request.method, route, error)
            response = error_response(error)
        except Exception:
            self._observe(route, 500, started, process_id)
            raise
        self._observe(route, response.status_code, started, process_id)
        return response

    def _observe(self, route: str, status: int, started: float, process_id: object) -> None:
        self.observe(request.method, route, status, started, process_id)

    def observe(self, method: str, route: str, status: int, started: float, process_id: object) -> None:
        """One answered request for the HTTP metrics; ``started`` is its ``time.perf_counter()``."""
        if self.metrics is not None:
            self.metrics.observe_request(method, route, status, time.perf_counter() - started, process_id)

    async def _busy(self, work: Handler, message: dict[str, str], *, enabled: bool = True) -> Response:
        """``busyIn`` (§1.9): answer 202 after ``BUSY_THRESHOLD``; the evaluation goes on.

        Cancelling ``work`` cancels only this request's wait: the port runs the evaluation in the
        pipeline's nursery (aocu/api.py), which persists the result for a later request.
        """
        threshold_s = self.config.busy_threshold_s
        if not enabled or threshold_s <= 0:
            return await work()
        with trio.move_on_after(threshold_s):
            return await work()
        return json_response(message, 202)

    # --- routes -----------------------------------------------------------------------------------

    async def identity(self) -> Response:
        """``GET /`` (healthcheck.js): the wallet address and the time (§1.1)."""
        return json_response(self.api.identity())

    async def result(self, message_id: str) -> Response:
        """``GET /result/:messageTxId?process-id[&no-busy]`` (result.js, §1.3)."""
        if (denied := self._cu_only()) is not None:
            return denied
        raw_process_id = _query("process-id")
        self.check_process(raw_process_id)

        async def handle() -> Response:
            args = v.result_input(message_id, raw_process_id)
            key = (args.process_id, args.message_id)
            if (cached := self.cache.get(key)) is not None:
                return Response(cached, content_type=JSON_CONTENT_TYPE)

            async def work() -> Response:
                await self._check_owner(args.process_id)
                text = jsjson.stringify(await self.api.read_result(args.process_id, args.message_id)) or ""
                self.cache.put(key, text)       # only a real answer is cached, never the busy one
                return Response(text, content_type=JSON_CONTENT_TYPE)

            # `no-busy` with any non-empty value (the MU sends no-busy=1) waits for the result.
            no_busy = _query("no-busy")
            return await self._busy(work, _busy_message(args.process_id, args.message_id),
                                    enabled=not no_busy)

        return await self._metered(RESULT_ROUTE, raw_process_id, handle)

    async def results(self, process_id: str) -> Response:
        """``GET /results/:processId`` (results.js, §1.4): already-evaluated results, paged."""
        if (denied := self._cu_only()) is not None:
            return denied
        self.check_process(process_id)

        async def handle() -> Response:
            args = v.results_input(process_id, _query("from"), _query("to"), _query("sort"), _query("limit"))
            body = await self.api.read_results(args.process_id, from_=args.from_, to=args.to,
                                               sort=args.sort, limit=args.limit)
            return json_response(body)

        return await self._metered(RESULTS_ROUTE, process_id, handle)

    async def cron(self, process_id: str) -> Response:
        """``GET /cron/:processId`` (cron.js, §1.5): evaluates, then pages cron results."""
        if (denied := self._cu_only()) is not None:
            return denied
        self.check_process(process_id)

        async def handle() -> Response:
            args = v.cron_input(process_id, _query("from"), _query("to"), _query("limit"))
            await self._check_owner(args.process_id)
            body = await self.api.read_cron_results(args.process_id, from_=args.from_, to=args.to,
                                                    sort=args.sort, limit=args.limit)
            return json_response(body)

        return await self._metered(CRON_ROUTE, process_id, handle)

    async def state(self, process_id: str) -> Response:
        """``GET /state/:processId[?to]`` (state.js, §1.6): the raw memory and ``Last-*`` headers."""
        if (denied := self._cu_only()) is not None:
            return denied
        self.check_process(process_id)

        async def handle() -> Response:
            args = v.state_input(process_id, _query("to"))

            async def work() -> Response:
                await self._check_owner(args.process_id)
                body = await self.api.read_state(args.process_id, args.to)
                response = Response(bytes(body.memory), content_type="application/octet-stream")
                # Each header only when truthy, as state.js sets them.
                if body.last_timestamp:
                    response.headers["Last-Timestamp"] = str(body.last_timestamp)
                if body.last_ordinate:
                    response.headers["Last-Ordinate"] = body.last_ordinate
                if body.last_block_height:
                    response.headers["Last-Block-Height"] = str(body.last_block_height)
                # Node writes Content-Length after the headers the route set
                response.headers["Content-Length"] = response.headers.pop("Content-Length")
                return response

            return await self._busy(work, _busy_message(args.process_id, args.to))

        return await self._metered(STATE_ROUTE, process_id, handle)

    async def dry_run(self) -> Response:
        """``POST /dry-run?process-id[&to]`` (dryRun.js, §1.7); persists nothing."""
        try:
            body = await read_body()        # Fastify parses the body before any route code runs
        except BodyError as exc:
            return exc.response
        raw_process_id = _query("process-id")

        async def handle() -> Response:
            # Unlike the GET routes, metrics wrap the restriction here (dryRun.js's compose order).
            self.check_process(raw_process_id)
            ip = client_ip(request.headers, (request.scope.get("client") or ("",))[0])
            if self.limiter.is_limited(ip):
                raise RateLimitedError("Rate limit exceeded")
            args = v.dry_run_input(raw_process_id, _query("to"), request.headers.get("X-Max-Age"), body)
            token = self.limiter.record(ip)     # counted after validation, failures included

            async def work() -> Response:
                await self._check_owner(args.process_id)
                result = await self.api.dry_run(args.process_id, args.message, to=args.to,
                                                max_age_ms=args.max_age_ms)
                if getattr(result, "was_cached", False):
                    self.limiter.forget(ip, token)  # an answer from the dry-run cache is free
                return json_response(result)

            return await self._busy(work, _busy_message(args.process_id, args.to))

        return await self._metered(DRY_RUN_ROUTE, raw_process_id, handle)

    async def metrics_text(self) -> Response:
        """``GET /metrics`` (metrics.js, §1.8): the registry in OpenMetrics text."""
        assert self.metrics is not None
        return Response(self.metrics.exposition(), content_type=METRICS_CONTENT_TYPE)

