"""The process record: mapping the SU's ``/processes/<id>`` answer and checking its tags (§2.3).

Pure; no I/O (the SU call and the DB are the caller's). `verify_process_tags` raises the
reference's errors: plain strings in the reference, hence HTTP 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aocu.errors import InvalidProcessError
from aocu.jsjson import UNDEFINED

from ._js import js_parse_int
from ._model import Block, Owner, ProcessMeta, Tags, tags_from_js
from ._tags import eq_or_includes, parse_tags

__all__ = ["process_meta_from_su", "verify_process_tags"]


def verify_process_tags(tags: Tags) -> None:
    """``loadFromSu``'s checks: ``Data-Protocol`` is/includes ``ao``, ``Type`` is/includes
    ``Process``, and a ``Module`` tag exists. Raises `InvalidProcessError` otherwise."""
    parsed = parse_tags(tags)
    if not eq_or_includes("ao", parsed.get("Data-Protocol")):
        raise InvalidProcessError("Tag 'Data-Protocol': value 'ao' was not found on process")
    if not eq_or_includes("Process", parsed.get("Type")):
        raise InvalidProcessError("Tag 'Type': value 'Process' was not found on process")
    if "Module" not in parsed:
        raise InvalidProcessError("Tag 'Module': was not found on process")


def process_meta_from_su(process_id: str, body: Mapping[str, Any]) -> ProcessMeta:
    """The SU's ``GET /processes/<id>`` JSON as a `ProcessMeta` (``loadProcessWith`` in ao-su.js).

    ``block`` is the SU's zero-padded height string (``"000001331218"`` -> 1331218, via
    ``parseInt``), ``timestamp`` the spawn time in ms. Absent signature/anchor/data stay
    `UNDEFINED` (absent from the cold-start message's JSON), JSON nulls stay ``None``.
    """
    owner = body["owner"]
    return ProcessMeta(
        id=process_id,
        owner=Owner(owner["address"], owner["key"]),
        tags=tags_from_js(body.get("tags")),
        block=Block(js_parse_int(body.get("block", UNDEFINED)), body.get("timestamp", UNDEFINED)),
        signature=body.get("signature", UNDEFINED),
        anchor=body.get("anchor", UNDEFINED),
        data=body.get("data", UNDEFINED),
    )
