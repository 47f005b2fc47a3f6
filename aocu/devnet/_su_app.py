"""The SU's HTTP routes (servers/su `main.rs`), as a quart-trio app over a `Devnet`.

Handlers run in hypercorn's request tasks on the trio thread; each parses the
request, calls one `Devnet` method and writes its JSON. Every failure the SU
reports is 400 ``{"error": ...}`` (`err_response`); a missing or malformed query
parameter is actix's plain-text 400 "Query deserialize error: ...". Start with
`make_su_app`.
"""

from __future__ import annotations

import json
from typing import Any

from quart import Response, request
from quart_trio import QuartTrio

from ._admin import make_admin_blueprint
from ._ans104 import DataItemError, parse_data_item
from ._faults import PAGE_MODES
from ._network import Devnet, SuError, dumps
from ._su_read import info_json, latest_json, process_json, read_tx_or_page, timestamp_json

#: servers/su main.rs `PayloadConfig::new(10485760)`.
SU_MAX_BODY_BYTES = 10 * 1024 * 1024
_I32_MAX = 2**31 - 1


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(dumps(obj), status=status, content_type="application/json")


def _query_error(message: str) -> Response:
    # actix-web's QueryPayloadError, rendered by its default error handler
    return Response(f"Query deserialize error: {message}", status=400,
                    content_type="text/plain; charset=utf-8")


def make_su_app(devnet: Devnet) -> QuartTrio:
    app = QuartTrio("aocu.devnet.su")
    app.config["MAX_CONTENT_LENGTH"] = SU_MAX_BODY_BYTES
    app.register_blueprint(make_admin_blueprint(devnet))

    @app.errorhandler(SuError)
    async def su_error(exc: SuError) -> Response:
        return json_response({"error": str(exc)}, 400)

    @app.errorhandler(404)
    async def not_found(_exc: Any) -> Response:
        return Response(b"", status=404)      # actix: an empty 404

    @app.errorhandler(405)
    async def not_allowed(_exc: Any) -> Response:
        return Response(b"", status=404)      # actix routes by method too: no match is a 404

    @app.get("/")
    async def base() -> Response:
        # the redirect check (`?process-id=`) is the same route; a redirect fault answers 307
        return json_response(info_json(devnet))

    @app.get("/health")
    async def health() -> Response:
        return Response(b"", status=200)

    @app.get("/timestamp")
    async def timestamp() -> Response:
        return json_response(timestamp_json(devnet))

    @app.post("/")
    async def write() -> Response:
        args = request.args
        process_id, assign = args.get("process-id"), args.get("assign")
        body = await request.get_data(cache=False)
        if process_id is not None and assign is not None:
            exclude = [v for v in (args.get("exclude") or "").split(",") if v] if "exclude" in args else []
            return json_response(await devnet.assign(process_id, assign, exclude=exclude,
                                                     base_layer="base-layer" in args))
        if process_id is not None or assign is not None:
            raise SuError("If sending assign or process-id, you must send both.")
        if body[:1] == b"{" or request.mimetype == "application/json":
            try:
                item = devnet.item_from_json(json.loads(body))
            except (ValueError, UnicodeDecodeError) as exc:
                raise SuError(f"invalid JSON body: {exc}") from None
        else:
            try:
                item = parse_data_item(body)
            except DataItemError as exc:
                raise SuError(f'error in builder: BuilderError("Byte error: {exc}")') from None
        return json_response(await devnet.write_item(item))

    @app.get("/processes/<process_id>")
    async def read_process(process_id: str) -> Response:
        return json_response(await process_json(devnet, process_id))

    @app.get("/<process_id>/latest")
    async def read_latest(process_id: str) -> Response:
        return json_response(await latest_json(devnet, process_id))

    @app.get("/<tx_id>")
    async def read(tx_id: str) -> Response:
        args = request.args
        if "process-id" not in args:
            return _query_error("missing field `process-id`")
        limit = args.get("limit")
        if limit is not None and not (limit.lstrip("+-").isdigit()
                                      and -_I32_MAX - 1 <= int(limit) <= _I32_MAX):
            return _query_error("invalid digit found in string")
        info = request.scope.get("aocu.devnet") or {}
        page_faults = []
        if info.get("endpoint") == "su.messages":
            page_faults = devnet.faults.take("su.messages", args.get("process-id"), PAGE_MODES)
        params = {k: args[k] for k in ("from", "to", "limit", "from-nonce", "to-nonce") if k in args}
        return json_response(await read_tx_or_page(devnet, tx_id, params=params, page_faults=page_faults))

    return app
