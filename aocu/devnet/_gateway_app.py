"""The gateway's HTTP routes (Arweave / ar.io shapes) and the bundler's upload route.

Handlers run in hypercorn's request tasks on the trio thread. What the reference
CU and WeaveDrive call: ``POST /graphql``, ``GET /raw/:id`` (modules, process and
assignment data, checkpoints), ``HEAD|GET /:id`` with ``Range`` (WeaveDrive), and
``POST /tx/arweave`` (the checkpoint uploader, ``UPLOADER_URL``). Also served:
``GET /`` and ``/info`` (network info, which the SU reads for its height),
``/tx/:id``, ``/tx/:id/status``, ``/block/height/:h``. Start with `make_gateway_app`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from quart import Response, request
from quart_trio import QuartTrio

from ._admin import make_admin_blueprint
from ._gateway_graphql import GraphQLError, block_json, execute
from ._ids import b64url_encode
from ._network import Devnet, SuError, dumps
from ._store import TxQuery

_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _json(obj: Any, status: int = 200) -> Response:
    return Response(dumps(obj), status=status, content_type="application/json; charset=utf-8")


def _not_found() -> Response:
    return Response(b"Not Found", status=404, content_type="text/plain; charset=utf-8")


def _byte_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """(start, end inclusive) for a single ``bytes=`` range; None: whole; False: unsatisfiable."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if m is None or (m.group(1) == "" and m.group(2) == ""):
        return None                       # not a form we serve ranges for: the whole body
    if m.group(1) == "":                  # suffix: the last N bytes
        n = int(m.group(2))
        return (max(0, size - n), size - 1) if n and size else False
    start = int(m.group(1))
    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    return (start, end) if start <= end and start < size else False


def make_gateway_app(devnet: Devnet) -> QuartTrio:
    app = QuartTrio("aocu.devnet.gateway")
    app.register_blueprint(make_admin_blueprint(devnet))

    @app.errorhandler(SuError)
    async def bad_request(exc: SuError) -> Response:
        return _json({"error": str(exc)}, 400)

    def network_info() -> dict[str, Any]:
        height = devnet.height()
        return {"network": "arweave.N.1", "version": 5, "release": 69, "height": height,
                "current": devnet.block(height).id, "blocks": height + 1, "peers": 0, "queue_length": 0,
                "node_state_latency": 0}

    @app.get("/")
    async def root() -> Response:
        return _json(network_info())

    @app.get("/info")
    async def info() -> Response:
        return _json(network_info())

    @app.post("/graphql")
    async def graphql() -> Response:
        try:
            body = json.loads(await request.get_data(cache=False) or b"null")
        except ValueError:
            return _json(GraphQLError("POST body must be JSON", "BAD_REQUEST").as_json(), 400)
        try:
            return _json(execute(devnet.graphql_source, body))
        except GraphQLError as exc:
            return _json(exc.as_json(), 400)

    async def data_response(tx_id: str) -> Response:
        rec = devnet.store.get_tx(tx_id) if _ID.match(tx_id) else None
        if rec is None:
            return _not_found()
        content_type = rec.tag("Content-Type") or "application/octet-stream"
        headers = {"Accept-Ranges": "bytes"}
        rng = _byte_range(request.headers.get("Range"), rec.data_size)
        if rng is False:
            headers["Content-Range"] = f"bytes */{rec.data_size}"
            return Response(b"", status=416, headers=headers)
        if request.method == "HEAD":
            response = Response(b"", status=200, headers=headers, content_type=content_type)
            response.content_length = rec.data_size      # after the body: quart would count it
            return response
        data = await devnet.read_data(rec)
        if rng is None:
            return Response(data, status=200, headers=headers, content_type=content_type)
        start, end = rng
        headers["Content-Range"] = f"bytes {start}-{end}/{rec.data_size}"
        return Response(data[start:end + 1], status=206, headers=headers, content_type=content_type)

    @app.route("/raw/<tx_id>", methods=["GET", "HEAD"])
    async def raw(tx_id: str) -> Response:
        return await data_response(tx_id)

    @app.route("/<tx_id>", methods=["GET", "HEAD"])
    async def data(tx_id: str) -> Response:
        return await data_response(tx_id)

    @app.get("/tx/<tx_id>")
    async def tx_header(tx_id: str) -> Response:
        rec = devnet.store.get_tx(tx_id)
        if rec is None:
            return _not_found()
        # an Arweave format-2 transaction header; tag names and values are base64url
        tags = [{"name": b64url_encode(t.name.encode()), "value": b64url_encode(t.value.encode())}
                for t in rec.tags]
        return _json({"format": 2, "id": rec.id, "last_tx": b64url_encode(rec.anchor), "owner": rec.owner_key,
                      "tags": tags,
                      "target": rec.target, "quantity": "0", "data": "", "data_size": str(rec.data_size),
                      "data_root": "", "reward": "0", "signature": rec.signature})

    @app.get("/tx/<tx_id>/status")
    async def tx_status(tx_id: str) -> Response:
        rec = devnet.store.get_tx(tx_id)
        if rec is None:
            return _not_found()
        block = devnet.block(rec.height)
        return _json({"block_height": rec.height, "block_indep_hash": block.id,
                      "number_of_confirmations": max(0, devnet.height() - rec.height)})

    @app.get("/block/height/<int:height>")
    async def block_by_height(height: int) -> Response:
        if height > devnet.height():
            return _not_found()
        b = block_json(devnet.block(height))
        txs, _ = devnet.store.query_txs(TxQuery(min_height=height, max_height=height, descending=False,
                                                limit=10_000))
        return _json({"indep_hash": b["id"], "height": b["height"], "timestamp": b["timestamp"],
                      "previous_block": b["previous"], "txs": [r.id for r in txs]})

    @app.post("/tx")
    async def upload_plain() -> Response:
        return _json(await devnet.upload(await request.get_data(cache=False)))

    @app.post("/tx/<token>")
    async def upload(token: str) -> Response:
        # bundler path (Turbo/Irys): POST {UPLOADER_URL}/tx/arweave with the raw data item
        return _json(await devnet.upload(await request.get_data(cache=False)))

    return app
