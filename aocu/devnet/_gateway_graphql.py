"""The gateway's GraphQL: the Arweave schema subset ao uses, validated and executed.

Runs on the trio thread inside the ``POST /graphql`` handler (queries are indexed
store reads of at most `MAX_PAGE_SIZE` rows). The schema follows arweave.net /
ar.io (``transactions``, ``transaction``, ``blocks``, ``block``), which is what the
reference CU queries: GetTransactions / GetSchedulerLocation (scheduler-utils
`client/gateway.js`), GetProcesses (`effects/arweave.js`), GetAoProcessCheckpoints
(`effects/ao-process.js`), GetBlocks (`effects/ao-block.js`), and WeaveDrive's
attestation queries. Unknown fields or arguments are validation errors, so a
client query that would fail on a real gateway fails here too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ._clock import Block
from ._graphql import (
    Document,
    Field,
    FragmentSpread,
    GraphQLSyntaxError,
    InlineFragment,
    Operation,
    parse,
    substitute,
)
from ._ids import b64url_decode, b64url_encode
from ._store import TxQuery, TxRecord

#: ``first`` default and cap (arweave.net answers at most 100 per page).
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100

_SCALARS = {"ID", "String", "Int", "Boolean"}
#: type -> field -> type ("[T]" for lists)
SCHEMA: dict[str, dict[str, str]] = {
    "Query": {"transactions": "TransactionConnection", "transaction": "Transaction",
              "blocks": "BlockConnection", "block": "Block"},
    "TransactionConnection": {"pageInfo": "PageInfo", "edges": "[TransactionEdge]"},
    "TransactionEdge": {"cursor": "String", "node": "Transaction"},
    "Transaction": {"id": "ID", "anchor": "String", "signature": "String", "recipient": "String",
                    "owner": "Owner", "fee": "Amount", "quantity": "Amount", "data": "MetaData",
                    "tags": "[Tag]", "block": "Block", "parent": "Parent", "bundledIn": "Bundle",
                    "ingested_at": "Int"},
    "Owner": {"address": "String", "key": "String"},
    "Amount": {"winston": "String", "ar": "String"},
    "MetaData": {"size": "String", "type": "String"},
    "Tag": {"name": "String", "value": "String"},
    "Block": {"id": "ID", "timestamp": "Int", "height": "Int", "previous": "ID"},
    "Parent": {"id": "ID"},
    "Bundle": {"id": "ID"},
    "PageInfo": {"hasNextPage": "Boolean"},
    "BlockConnection": {"pageInfo": "PageInfo", "edges": "[BlockEdge]"},
    "BlockEdge": {"cursor": "String", "node": "Block"},
}
ROOT_ARGUMENTS: dict[str, set[str]] = {
    "transactions": {"ids", "owners", "recipients", "tags", "bundledIn", "block", "first", "after", "sort"},
    "transaction": {"id"},
    "blocks": {"height", "first", "after", "sort"},
    "block": {"id", "height"},
}
TX_SORTS = {"HEIGHT_DESC": True, "HEIGHT_ASC": False, "INGESTED_AT_DESC": True, "INGESTED_AT_ASC": False}


class GraphQLError(Exception):
    """A request error: ``code`` is the Apollo-style extension code; answered with 400."""

    def __init__(self, message: str, code: str = "GRAPHQL_VALIDATION_FAILED") -> None:
        super().__init__(message)
        self.code = code

    def as_json(self) -> dict[str, Any]:
        return {"errors": [{"message": str(self), "extensions": {"code": self.code}}]}


class GraphQLSource:
    """What the executor reads: the store page query, the chain, and node builders."""

    def __init__(self, *, query_txs: Callable[[TxQuery], tuple[list[TxRecord], bool]],
                 get_tx: Callable[[str], TxRecord | None], block: Callable[[int], Block],
                 current_height: Callable[[], int]) -> None:
        self.query_txs = query_txs
        self.get_tx = get_tx
        self.block = block
        self.current_height = current_height


def block_json(b: Block) -> dict[str, Any]:
    return {"id": b.id, "timestamp": b.timestamp, "height": b.height, "previous": b.previous}


def tx_json(rec: TxRecord, block: Block | None) -> dict[str, Any]:
    zero = {"winston": "0", "ar": "0.000000000000"}
    parent = {"id": rec.bundled_in} if rec.bundled_in else None
    return {
        "id": rec.id,
        "anchor": b64url_encode(rec.anchor) if rec.anchor else "",
        "signature": rec.signature,
        "recipient": rec.target,
        "owner": {"address": rec.owner_address, "key": rec.owner_key},
        "fee": zero, "quantity": dict(zero),
        "data": {"size": str(rec.data_size), "type": rec.tag("Content-Type")},
        "tags": rec.tags_json(),
        "block": None if block is None else block_json(block),
        "parent": parent, "bundledIn": parent,
        "ingested_at": rec.ingested_at,
    }


def _cursor(*parts: int) -> str:
    return b64url_encode(json.dumps(list(parts)).encode())


def _uncursor(text: Any, n: int) -> list[int]:
    try:
        parts = json.loads(b64url_decode(str(text)))
        if isinstance(parts, list) and len(parts) == n and all(isinstance(p, int) for p in parts):
            return parts
    except ValueError:
        pass
    raise GraphQLError(f"invalid cursor {text!r}", "BAD_USER_INPUT")


def _strings(value: Any, what: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GraphQLError(f"{what} must be a list of strings", "BAD_USER_INPUT")
    return value


def _first(value: Any) -> int:
    if value is None:
        return DEFAULT_PAGE_SIZE
    if isinstance(value, bool) or not isinstance(value, int):
        raise GraphQLError(f"first must be an Int, got {value!r}", "BAD_USER_INPUT")
    return max(0, min(value, MAX_PAGE_SIZE))


def _range(value: Any, what: str) -> tuple[int | None, int | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict) or set(value) - {"min", "max"}:
        raise GraphQLError(f"{what} must be {{min, max}}", "BAD_USER_INPUT")
    return value.get("min"), value.get("max")


def resolve_transactions(src: GraphQLSource, args: dict[str, Any]) -> dict[str, Any]:
    tags = []
    for t in args.get("tags") or []:
        if not isinstance(t, dict) or "name" not in t or "values" not in t:
            raise GraphQLError("tags filters are {name, values[, op, match]}", "BAD_USER_INPUT")
        op, match = t.get("op", "EQ"), t.get("match", "EXACT")
        if op not in ("EQ", "NEQ") or match not in ("EXACT", "WILDCARD"):
            raise GraphQLError(f"unsupported tag filter op {op} / match {match}", "BAD_USER_INPUT")
        tags.append((str(t["name"]), _strings(t["values"], "tag values") or [], op, match))
    sort = args.get("sort") or "HEIGHT_DESC"
    if sort not in TX_SORTS:
        raise GraphQLError(f"unknown sort {sort}", "BAD_USER_INPUT")
    lo, hi = _range(args.get("block"), "block")
    after = args.get("after")
    q = TxQuery(ids=_strings(args.get("ids"), "ids"), owners=_strings(args.get("owners"), "owners"),
                recipients=_strings(args.get("recipients"), "recipients"), tags=tags,
                bundled_in=_strings(args.get("bundledIn"), "bundledIn"), min_height=lo, max_height=hi,
                descending=TX_SORTS[sort], after=tuple(_uncursor(after, 2)) if after else None,
                limit=_first(args.get("first")))
    records, more = src.query_txs(q)
    return {"pageInfo": {"hasNextPage": more},
            "edges": [{"cursor": _cursor(r.height, r.seq), "node": tx_json(r, src.block(r.height))}
                      for r in records]}


def resolve_blocks(src: GraphQLSource, args: dict[str, Any]) -> dict[str, Any]:
    lo, hi = _range(args.get("height"), "height")
    top = src.current_height()
    lo = 0 if lo is None else max(0, lo)
    hi = top if hi is None else min(hi, top)
    sort = args.get("sort") or "HEIGHT_DESC"
    if sort not in ("HEIGHT_DESC", "HEIGHT_ASC"):
        raise GraphQLError(f"unknown sort {sort}", "BAD_USER_INPUT")
    first = _first(args.get("first"))
    if args.get("after"):
        (last,) = _uncursor(args["after"], 1)
        if sort == "HEIGHT_DESC":
            hi = min(hi, last - 1)
        else:
            lo = max(lo, last + 1)
    heights = range(hi, lo - 1, -1) if sort == "HEIGHT_DESC" else range(lo, hi + 1)
    page = heights[:first]
    return {"pageInfo": {"hasNextPage": len(heights) > first},
            "edges": [{"cursor": _cursor(h), "node": block_json(src.block(h))} for h in page]}


def resolve_root(src: GraphQLSource, name: str, args: dict[str, Any]) -> Any:
    if name == "transactions":
        return resolve_transactions(src, args)
    if name == "blocks":
        return resolve_blocks(src, args)
    if name == "transaction":
        rec = src.get_tx(str(args.get("id")))
        return None if rec is None else tx_json(rec, src.block(rec.height))
    # block(id | height)
    if args.get("height") is not None:
        h = args["height"]
        return block_json(src.block(h)) if isinstance(h, int) and 0 <= h <= src.current_height() else None
    return None


# -- validation and execution ---------------------------------------------------------------

def _directives_allow(directives: list[tuple[str, dict[str, Any]]], variables: dict[str, Any]) -> bool:
    for name, args in directives:
        cond = substitute(args.get("if"), variables)
        if name == "skip" and cond is True:
            return False
        if name == "include" and cond is not True:
            return False
    return True


def _collect(selections: list[Any], type_name: str, doc: Document, variables: dict[str, Any],
             out: dict[str, list[Field]], seen: set[str]) -> dict[str, list[Field]]:
    """CollectFields (spec §6.3.2): response key -> fields, in document order."""
    for sel in selections:
        if not _directives_allow(sel.directives, variables):
            continue
        if isinstance(sel, Field):
            out.setdefault(sel.key, []).append(sel)
        elif isinstance(sel, FragmentSpread):
            frag = doc.fragments.get(sel.name)
            if frag is None:
                raise GraphQLError(f'Unknown fragment "{sel.name}".')
            if sel.name in seen or frag.type_condition != type_name:
                continue
            _collect(frag.selections, type_name, doc, variables, out, seen | {sel.name})
        elif isinstance(sel, InlineFragment):
            if sel.type_condition in (None, type_name):
                _collect(sel.selections, type_name, doc, variables, out, seen)
    return out


def _validate(selections: list[Any], type_name: str, doc: Document, variables: dict[str, Any],
              root: bool = False) -> None:
    for key, group in _collect(selections, type_name, doc, variables, {}, set()).items():
        for fld in group:
            if fld.name == "__typename":
                continue
            ftype = SCHEMA[type_name].get(fld.name)
            if ftype is None:
                raise GraphQLError(f'Cannot query field "{fld.name}" on type "{type_name}".')
            allowed = ROOT_ARGUMENTS.get(fld.name, set()) if root else set()
            for arg in fld.arguments:
                if arg not in allowed:
                    raise GraphQLError(f'Unknown argument "{arg}" on field "{type_name}.{fld.name}".')
            inner = ftype.strip("[]")
            if inner in _SCALARS:
                if fld.selections is not None:
                    raise GraphQLError(f'Field "{key}" must not have a selection since type "{ftype}" '
                                       "has no subfields.")
            elif fld.selections is None:
                raise GraphQLError(f'Field "{key}" of type "{ftype}" must have a selection of subfields.')
            else:
                _validate(fld.selections, inner, doc, variables)


def _complete(value: Any, ftype: str, fields: list[Field], doc: Document, variables: dict[str, Any]) -> Any:
    if value is None:
        return None
    if ftype.startswith("["):
        return [_complete(v, ftype[1:-1], fields, doc, variables) for v in value]
    if ftype in _SCALARS:
        return value
    merged = [sel for f in fields for sel in (f.selections or [])]
    return _select(value, ftype, merged, doc, variables)


def _select(obj: dict[str, Any], type_name: str, selections: list[Any], doc: Document,
            variables: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, group in _collect(selections, type_name, doc, variables, {}, set()).items():
        name = group[0].name
        if name == "__typename":
            out[key] = type_name
            continue
        out[key] = _complete(obj.get(name), SCHEMA[type_name][name], group, doc, variables)
    return out


def _coerce_variables(op: Operation, given: Any) -> dict[str, Any]:
    given = given or {}
    if not isinstance(given, dict):
        raise GraphQLError("variables must be a JSON object", "BAD_USER_INPUT")
    values: dict[str, Any] = {}
    for vdef in op.variables:
        if vdef.name in given and given[vdef.name] is not None:
            values[vdef.name] = given[vdef.name]
        elif vdef.has_default:
            values[vdef.name] = vdef.default
        elif vdef.type.endswith("!"):
            raise GraphQLError(f'Variable "${vdef.name}" of required type "{vdef.type}" was not provided.',
                               "BAD_USER_INPUT")
    return values


def execute(src: GraphQLSource, body: Any) -> dict[str, Any]:
    """Run one GraphQL request body ``{query, variables?, operationName?}``."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise GraphQLError("POST body must be JSON with a string 'query'", "BAD_REQUEST")
    try:
        doc = parse(body["query"])
    except GraphQLSyntaxError as exc:
        raise GraphQLError(str(exc), "GRAPHQL_PARSE_FAILED") from None
    name = body.get("operationName")
    ops = [o for o in doc.operations if name is None or o.name == name]
    if len(ops) != 1:
        raise GraphQLError("Must provide operation name if query contains multiple operations."
                           if name is None else f'Unknown operation named "{name}".')
    op = ops[0]
    if op.kind != "query":
        raise GraphQLError(f"the devnet gateway answers queries only, not {op.kind}s")
    variables = _coerce_variables(op, body.get("variables"))
    _validate(op.selections, "Query", doc, variables, root=True)
    data: dict[str, Any] = {}
    for key, group in _collect(op.selections, "Query", doc, variables, {}, set()).items():
        fld = group[0]
        if fld.name == "__typename":
            data[key] = "Query"
            continue
        args = {k: substitute(v, variables) for k, v in fld.arguments.items()}
        value = resolve_root(src, fld.name, args)
        data[key] = _complete(value, SCHEMA["Query"][fld.name], group, doc, variables)
    return {"data": data}
