"""The gateway GraphQL queries the reference CU sends, and one POST of a query.

Pure text plus one async helper on the trio thread. The queries ask for the same fields with the
same filters and variables as the reference (upstream.md §1; ``servers/cu/src/effects/arweave.js``,
``ao-process.js``, ``ao-block.js``; scheduler-utils 0.0.25 ``client/gateway.js``), so any gateway
that serves the reference serves aocu. `post_graphql` does one attempt; callers add retries.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._errors import UpstreamDataError
from ._parse import ShapeError
from ._retry import RetryPolicy, read_json, run_operation, send, shape_error

if TYPE_CHECKING:
    from .config import ClientsConfig

T = TypeVar("T")

__all__ = [
    "GET_AO_PROCESS_CHECKPOINT",
    "GET_AO_PROCESS_CHECKPOINTS",
    "GET_BLOCKS",
    "GET_PROCESSES",
    "GET_SCHEDULER_LOCATION",
    "GET_TRANSACTIONS",
    "get_ao_process_checkpoint_query",
    "post_graphql",
]

# arweave.js loadTransactionMetaWith: metadata of a module, or of an assigned transaction.
GET_PROCESSES = """
query GetProcesses(
  $processIds: [ID!]!, $skipTags: Boolean!, $skipSignature: Boolean!, $skipAnchor: Boolean!
) {
  transactions(ids: $processIds) {
    edges {
      node {
        id
        signature @skip(if: $skipSignature)
        anchor @skip(if: $skipAnchor)
        owner { address key }
        tags @skip(if: $skipTags) { name value }
        recipient
      }
    }
  }
}
"""

# scheduler-utils loadProcessSchedulerWith: the process's tags, for its Scheduler tag.
GET_TRANSACTIONS = """
query GetTransactions($transactionIds: [ID!]!) {
  transactions(ids: $transactionIds) {
    edges { node { tags { name value } } }
  }
}
"""

# scheduler-utils loadSchedulerWith: the newest Scheduler-Location record of an SU wallet.
GET_SCHEDULER_LOCATION = """
query GetSchedulerLocation($owner: String!) {
  transactions(
    owners: [$owner]
    tags: [{ name: "Data-Protocol", values: ["ao"] }, { name: "Type", values: ["Scheduler-Location"] }]
    sort: HEIGHT_DESC
    first: 1
  ) {
    edges { node { tags { name value } } }
  }
}
"""

# ao-process.js findLatestProcessMemoryWith: checkpoints of a process by trusted owners.
GET_AO_PROCESS_CHECKPOINTS = """
query GetAoProcessCheckpoints($owners: [String!]!, $processId: String!, $limit: Int!) {
  transactions(
    tags: [
      { name: "Process", values: [$processId] }
      { name: "Type", values: ["Checkpoint"] }
      { name: "Data-Protocol", values: ["ao"] }
    ]
    owners: $owners
    first: $limit
    sort: HEIGHT_DESC
  ) {
    edges { node { id owner { address } tags { name value } } }
  }
}
"""


def get_ao_process_checkpoint_query(with_cron: bool) -> str:
    """ao-process.js saveCheckpointWith: an existing checkpoint at exactly one evaluation point."""
    cron_var = " $cron: String!" if with_cron else ""
    cron_tag = ' { name: "Cron-Interval", values: [$cron] }' if with_cron else ""
    return f"""
query GetAoProcessCheckpoint(
  $owner: String! $processId: String! $timestamp: String! $nonce: String!{cron_var}
) {{
  transactions(
    tags: [
      {{ name: "Process", values: [$processId] }}
      {{ name: "Nonce", values: [$nonce] }}
      {{ name: "Timestamp", values: [$timestamp] }}{cron_tag}
      {{ name: "Type", values: ["Checkpoint"] }}
      {{ name: "Data-Protocol", values: ["ao"] }}
    ]
    owners: [$owner]
    first: 1
  ) {{
    edges {{ node {{ id owner {{ address }} tags {{ name value }} }} }}
  }}
}}
"""


GET_AO_PROCESS_CHECKPOINT = get_ao_process_checkpoint_query(False)

# ao-block.js loadBlocksMetaWith: block heights and timestamps (seconds), ascending.
GET_BLOCKS = """
query GetBlocks($min: Int!, $limit: Int!) {
  blocks(height: { min: $min }, first: $limit, sort: HEIGHT_ASC) {
    pageInfo { hasNextPage }
    edges { node { timestamp height } }
  }
}
"""


async def post_graphql(
    http: httpx.AsyncClient,
    url: str,
    query: str,
    variables: Mapping[str, Any],
    *,
    upstream: str,
    max_bytes: int,
    phase_timeouts: httpx.Timeout | None = None,
) -> tuple[Any, httpx.Response]:
    """POST ``{query, variables}`` once; returns the response's ``data`` and the response.

    A non-2xx status raises (transient for 408/429/5xx). A 200 carrying GraphQL ``errors`` and no
    ``data`` is the gateway failing to answer (its resolvers timed out, a backend was down), not
    an answer: it raises a transient `UpstreamDataError`.
    """
    async with send(
        http,
        "POST",
        url,
        upstream=upstream,
        json_body={"query": query, "variables": dict(variables)},
        phase_timeouts=phase_timeouts,
    ) as r:
        body = await read_json(r, upstream=upstream, max_bytes=max_bytes)
        if not isinstance(body, dict):
            raise UpstreamDataError.about(r, "malformed GraphQL answer: the body is not an object", upstream=upstream)
        data = body.get("data")
        if data is None and body.get("errors"):
            raise UpstreamDataError.about(r, f"GraphQL errors: {str(body.get('errors'))[:500]}", upstream=upstream,
                                          transient=True)
        return data, r


async def query_graphql(
    http: httpx.AsyncClient,
    config: ClientsConfig,
    url: str,
    query: str,
    variables: Mapping[str, Any],
    parse: Callable[[Any], T],
    *,
    what: str,
    upstream: str,
    policy: RetryPolicy,
    rng: random.Random,
) -> T:
    """One GraphQL operation with retries: `post_graphql`, then ``parse`` the ``data``.

    A ``data`` of the wrong shape is an `UpstreamDataError` naming ``what`` (not retried).
    """

    async def attempt(_: int) -> T:
        data, response = await post_graphql(http, url, query, variables, upstream=upstream,
                                            max_bytes=config.json_max_bytes, phase_timeouts=config.http_timeout())
        try:
            return parse(data)
        except ShapeError as exc:
            raise shape_error(exc, response, upstream=upstream, what=what) from None

    return await run_operation(attempt, policy=policy, timeout_s=config.operation_timeout_s, rng=rng,
                               upstream=upstream, method="POST", url=url)
