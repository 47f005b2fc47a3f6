"""The devnet's own endpoints under ``/_devnet`` (on both servers): info, faults,
options, the clock, and publishing modules, spawning processes, sending messages.

Runs in hypercorn's request tasks on the trio thread; never faulted. Not part of
any ao protocol: tests, demos and the ``aocu devnet`` CLI use it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from quart import Blueprint, Response, request

from ._clock import ManualClock
from ._faults import ADMIN_PREFIX, ENDPOINTS, MODES, Fault, FaultError

if TYPE_CHECKING:
    from ._network import Devnet


def make_admin_blueprint(devnet: Devnet) -> Blueprint:
    from ._network import SuError, dumps, parse_tags

    bp = Blueprint("devnet_admin", __name__, url_prefix=ADMIN_PREFIX)

    def reply(obj: Any, status: int = 200) -> Response:
        return Response(dumps(obj), status=status, content_type="application/json")

    async def body_json() -> Any:
        raw = await request.get_data(cache=False)
        try:
            return json.loads(raw or b"{}")
        except ValueError as exc:
            raise SuError(f"invalid JSON body: {exc}") from None

    @bp.get("/info")
    async def info() -> Response:
        urls = devnet.urls
        return reply({
            "su": urls.su if urls else None, "gateway": urls.gateway if urls else None,
            "su_address": devnet.su_address, "height": devnet.height(), "now_ms": devnet.now_ms(),
            "env": urls.cu_env() if urls else {}, "counts": devnet.store.counts(),
            "options": devnet.options.as_json(), "directory": str(devnet.store.directory or ""),
        })

    @bp.get("/faults")
    async def list_faults() -> Response:
        return reply({"faults": devnet.faults.rules(), "modes": sorted(MODES), "endpoints": list(ENDPOINTS)})

    @bp.post("/faults")
    async def add_fault() -> Response:
        try:
            fault = Fault.from_json(await body_json())
        except FaultError as exc:
            return reply({"error": str(exc)}, 400)
        return reply({"id": devnet.faults.add(fault)})

    @bp.delete("/faults")
    async def clear_faults() -> Response:
        devnet.faults.clear()
        return reply({"faults": []})

    @bp.delete("/faults/<int:rule_id>")
    async def remove_fault(rule_id: int) -> Response:
        if not devnet.faults.remove(rule_id):
            return reply({"error": f"no fault {rule_id}"}, 404)
        return reply({"removed": rule_id})

    @bp.get("/options")
    async def get_options() -> Response:
        return reply(devnet.options.as_json())

    @bp.post("/options")
    async def set_options() -> Response:
        try:
            devnet.options.update(await body_json())
        except (ValueError, AttributeError) as exc:
            return reply({"error": str(exc)}, 400)
        return reply(devnet.options.as_json())

    @bp.post("/clock")
    async def clock() -> Response:
        if not isinstance(devnet.clock, ManualClock):
            return reply({"error": "this devnet runs on the system clock, not a manual one"}, 409)
        body = await body_json()
        try:
            if "set" in body:
                devnet.clock.set(int(body["set"]))
            if "advance" in body:
                devnet.clock.advance(int(body["advance"]))
        except (TypeError, ValueError):
            return reply({"error": 'use {"set": <ms>} or {"advance": <ms>}'}, 400)
        return reply({"now_ms": devnet.now_ms(), "height": devnet.height()})

    @bp.post("/modules")
    async def publish_module() -> Response:
        """Body: the wasm binary; query: format, memory-limit, compute-limit, signer, tag=Name:Value..."""
        args = request.args
        tags = []
        for spec in args.getlist("tag"):
            name, sep, value = spec.partition(":")
            if not sep:
                raise SuError(f"tag {spec!r}: use tag=Name:Value")
            tags.append({"name": name, "value": value})
        names = ("memory-limit", "compute-limit", "signer")
        kwargs = {k.replace("-", "_"): args[k] for k in names if k in args}
        if "format" in args:
            kwargs["module_format"] = args["format"]
        module_id = await devnet.publish_module(await request.get_data(cache=False), tags=tags, **kwargs)
        return reply({"id": module_id})

    @bp.post("/processes")
    async def spawn() -> Response:
        """Body: {"module", "tags"?, "data"?, "signer"?, "anchor"?}; the ao process tags are added."""
        body = await body_json()
        if not isinstance(body, dict) or not isinstance(body.get("module"), str):
            raise SuError('spawn needs {"module": "<module id>", ...}')
        pid = await devnet.spawn(body["module"], tags=parse_tags(body.get("tags")),
                                 data=body.get("data") or "", signer=body.get("signer") or "devnet",
                                 anchor=body.get("anchor"))
        return reply({"id": pid})

    @bp.post("/messages")
    async def send() -> Response:
        """Body: {"process", "tags"?, "data"?, "signer"?, "anchor"?}; the ao message tags are added."""
        body = await body_json()
        if not isinstance(body, dict) or not isinstance(body.get("process"), str):
            raise SuError('send needs {"process": "<process id>", ...}')
        mid = await devnet.send(body["process"], tags=parse_tags(body.get("tags")),
                                data=body.get("data") or "", signer=body.get("signer") or "devnet",
                                anchor=body.get("anchor"))
        return reply({"id": mid})

    @bp.post("/assignments")
    async def assign() -> Response:
        """Body: {"process", "message", "exclude"?: [..]}: schedule an existing transaction."""
        body = await body_json()
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("process",
                                                                                   "message")):
            raise SuError('assign needs {"process": ..., "message": ...}')
        return reply(await devnet.assign(body["process"], body["message"], exclude=body.get("exclude") or ()))

    return bp
