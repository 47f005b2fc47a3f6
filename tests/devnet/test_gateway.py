"""The devnet gateway over real HTTP: the reference CU's literal GraphQL queries, data, uploads."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

from aocu.arweave import ArweaveSigner, sign_data_item
from aocu.devnet import FakeWallet, Tag, build_data_item, serialize_data_item

from .conftest import START_MS, spawn_with_messages, tags_of

TEST_JWK = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "ans104" / "test_jwk.json").read_text())

# scheduler-utils 0.0.29 src/client/scheduler.js (0.0.25, the CU's pin, has no tags filter)
GET_TRANSACTIONS = """
    query GetTransactions ($transactionIds: [ID!]!) {
      transactions(
        ids: $transactionIds
        tags: [
          { name: "Data-Protocol", values: ["ao"] }
        ]
      ) {
        edges {
          node {
            tags {
              name
              value
            }
          }
        }
      }
    }
"""
GET_TRANSACTIONS_0_0_25 = """
    query GetTransactions ($transactionIds: [ID!]!) {
      transactions(ids: $transactionIds) { edges { node { tags { name value } } } }
    }
"""
GET_SCHEDULER_LOCATION = """
    query GetSchedulerLocation ($owner: String!) {
      transactions (
        owners: [$owner]
        tags: [
          { name: "Data-Protocol", values: ["ao"] },
          { name: "Type", values: ["Scheduler-Location"] }
        ]
        # Only need the most recent Scheduler-Location
        sort: HEIGHT_DESC
        first: 1
      ) {
        edges {
          node {
            tags {
              name
              value
            }
          }
        }
      }
    }
"""
# servers/cu/src/effects/arweave.js loadTransactionMetaWith
GET_PROCESSES = """
    query GetProcesses (
      $processIds: [ID!]!
      $skipTags: Boolean!
      $skipSignature: Boolean!
      $skipAnchor: Boolean!
    ) {
      transactions(ids: $processIds) {
        edges {
          node {
            id
            signature @skip (if: $skipSignature)
            anchor @skip (if: $skipAnchor)
            owner {
              address
              key
            }
            tags @skip (if: $skipTags) {
              name
              value
            }
            recipient
          }
        }
      }
    }"""
# servers/cu/src/effects/ao-process.js
GET_AO_PROCESS_CHECKPOINTS = """
    query GetAoProcessCheckpoints(
      $owners: [String!]!
      $processId: String!
      $limit: Int!
    ) {
      transactions(
        tags: [
          { name: "Process", values: [$processId] }
          { name: "Type", values: ["Checkpoint"] }
          { name: "Data-Protocol", values: ["ao"] }
        ],
        owners: $owners,
        first: $limit,
        sort: HEIGHT_DESC
      ) {
        edges {
          node {
            id
            owner {
              address
            }
            tags {
              name
              value
            }
          }
        }
      }
    }
  """


def get_ao_process_checkpoint(with_cron: bool) -> str:
    """saveCheckpointWith's existence check (servers/cu/src/effects/ao-process.js)."""
    return f"""
    query GetAoProcessCheckpoint(
      $owner: String!
      $processId: String!
      $timestamp: String!
      $nonce: String!
      {'$cron: String!' if with_cron else ''}
    ) {{
      transactions(
        tags: [
          {{ name: "Process", values: [$processId] }}
          {{ name: "Nonce", values: [$nonce] }}
          {{ name: "Timestamp", values: [$timestamp] }}
          {'{ name: "Cron-Interval", values: [$cron] }' if with_cron else ''}
          {{ name: "Type", values: ["Checkpoint"] }}
          {{ name: "Data-Protocol", values: ["ao"] }}
        ],
        owners: [$owner]
        first: 1
      ) {{
        edges {{
          node {{
            id
            owner {{
              address
            }}
            tags {{
              name
              value
            }}
          }}
        }}
      }}
    }}
  """


# servers/cu/src/effects/ao-block.js
GET_BLOCKS = """
      query GetBlocks($min: Int!, $limit: Int!) {
        blocks(
          height: { min: $min },
          first: $limit,
          sort: HEIGHT_ASC
        ) {
          pageInfo {
            hasNextPage
          }
          edges {
            node {
              timestamp
              height
            }
          }
        }
      }
    """
# scheduler-utils src/client/gateway.js loadProcessWith (block selected twice: merged)
GET_PROCESS_FULL = """
        query ($ids: [ID!]!) {
        transactions(ids: $ids) {
          pageInfo { hasNextPage }
          edges {
            cursor
            node {
              id anchor signature recipient
              block { timestamp }
              owner { address key }
              fee { winston ar }
              quantity { winston ar }
              data { size type }
              tags { name value }
              block { id timestamp height previous }
              parent { id }
            }
          }
        }
      }
"""


async def gql(http, devnet, query: str, **variables) -> dict:
    r = await http.post(devnet.urls.graphql, json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def test_scheduler_discovery_queries(devnet, http, wasm):
    pid, _ = await spawn_with_messages(devnet, wasm, 0)
    for query in (GET_TRANSACTIONS, GET_TRANSACTIONS_0_0_25):
        data = await gql(http, devnet, query, transactionIds=[pid])
        assert tags_of(data["transactions"]["edges"][0]["node"])["Scheduler"] == devnet.su_address
    missing = await gql(http, devnet, GET_TRANSACTIONS, transactionIds=["N" * 43])
    assert missing["transactions"]["edges"] == []
    data = await gql(http, devnet, GET_SCHEDULER_LOCATION, owner=devnet.su_address)
    location = tags_of(data["transactions"]["edges"][0]["node"])
    assert location["Url"] == devnet.urls.su and location["Time-To-Live"] == "86400000"


async def test_module_metadata_and_skip_directives(devnet, http, wasm):
    module = await devnet.publish_module(wasm, module_format="wasm32-unknown-emscripten2",
                                         memory_limit="500-mb", tags={"Name": "lua"})
    data = await gql(http, devnet, GET_PROCESSES, processIds=[module], skipTags=False, skipSignature=False,
                     skipAnchor=False)
    node = data["transactions"]["edges"][0]["node"]
    assert list(node) == ["id", "signature", "anchor", "owner", "tags", "recipient"]
    assert node["id"] == module and node["recipient"] == "" and node["anchor"] == ""
    assert tags_of(node) == {"Name": "lua", "Data-Protocol": "ao", "Variant": "ao.TN.1", "Type": "Module",
                             "Module-Format": "wasm32-unknown-emscripten2", "Input-Encoding": "JSON-1",
                             "Output-Encoding": "JSON-1", "Memory-Limit": "500-mb",
                             "Compute-Limit": "9000000000000", "Content-Type": "application/wasm"}
    data = await gql(http, devnet, GET_PROCESSES, processIds=[module], skipTags=True, skipSignature=True,
                     skipAnchor=True)
    assert list(data["transactions"]["edges"][0]["node"]) == ["id", "owner", "recipient"]


async def test_full_transaction_node_and_merged_fields(devnet, http, wasm):
    pid, _ = await spawn_with_messages(devnet, wasm, 0)
    data = await gql(http, devnet, GET_PROCESS_FULL, ids=[pid])
    conn = data["transactions"]
    assert conn["pageInfo"] == {"hasNextPage": False}
    node = conn["edges"][0]["node"]
    assert node["block"] == {"timestamp": START_MS // 1000, "id": node["block"]["id"], "height": 1_500_000,
                             "previous": node["block"]["previous"]}
    assert node["fee"] == {"winston": "0", "ar": "0.000000000000"}
    assert node["data"] == {"size": "0", "type": None} and node["parent"] is None


async def test_checkpoint_upload_then_found_by_the_cu_queries(devnet, http, wasm):
    pid, _ = await spawn_with_messages(devnet, wasm, 1)
    cu = FakeWallet.named("cu")
    memory = gzip.compress(b"\x00" * 4096)
    tags = [Tag("Data-Protocol", "ao"), Tag("Variant", "ao.TN.1"), Tag("Type", "Checkpoint"),
            Tag("Module", "m"), Tag("Process", pid), Tag("Nonce", "1"), Tag("Timestamp", str(START_MS + 1000)),
            Tag("Block-Height", "1500000"), Tag("Content-Type", "application/octet-stream"),
            Tag("Content-Encoding", "gzip"), Tag("Ordinate", "1")]
    item = build_data_item(cu, data=memory, tags=tags)
    # the reference uploader: POST {UPLOADER_URL}/tx/arweave, octet-stream, reads `id` from the JSON
    r = await http.post(devnet.urls.gateway + "/tx/arweave", content=serialize_data_item(item),
                        headers={"content-type": "application/octet-stream", "accept": "application/json"})
    assert r.status_code == 200 and r.json()["id"] == item.id
    again = await http.post(devnet.urls.gateway + "/tx/arweave", content=serialize_data_item(item))
    assert again.json()["id"] == item.id                      # idempotent
    data = await gql(http, devnet, GET_AO_PROCESS_CHECKPOINTS, owners=[cu.address], processId=pid, limit=50)
    edges = data["transactions"]["edges"]
    assert [e["node"]["id"] for e in edges] == [item.id]
    assert edges[0]["node"]["owner"] == {"address": cu.address}
    for with_cron, extra in ((False, {}), (True, {"cron": "0-10-seconds"})):
        data = await gql(http, devnet, get_ao_process_checkpoint(with_cron), owner=cu.address, processId=pid,
                         timestamp=str(START_MS + 1000), nonce="1", **extra)
        assert len(data["transactions"]["edges"]) == (0 if with_cron else 1)
    assert (await http.get(f"{devnet.urls.gateway}/raw/{item.id}")).content == memory
    r = await http.post(devnet.urls.gateway + "/tx/arweave", content=b"not a data item")
    assert r.status_code == 400


async def test_upload_verifies_signatures_like_a_bundler(devnet, http):
    real = sign_data_item(ArweaveSigner.from_jwk(TEST_JWK), data=b"memory", tags=[Tag("Type", "Checkpoint")])
    fake = build_data_item(FakeWallet.named("cu"), data=b"memory", tags=[Tag("Type", "Checkpoint")])
    url = devnet.urls.gateway + "/tx/arweave"
    for item in (real, fake):
        tampered = replace(item, data=b"memorx")  # same signature, so the same id
        r = await http.post(url, content=serialize_data_item(tampered))
        assert r.status_code == 400 and "signature does not verify" in r.json()["error"]
        assert (await http.get(f"{devnet.urls.gateway}/raw/{item.id}")).status_code == 404
        r = await http.post(url, content=serialize_data_item(item))
        assert r.status_code == 200 and r.json()["id"] == item.id
        assert (await http.get(f"{devnet.urls.gateway}/raw/{item.id}")).content == b"memory"


async def test_transactions_paging_and_sorting(devnet, http, wasm):
    ids = []
    for i in range(5):
        devnet.clock.advance(120_000)                         # one block each
        ids.append(await devnet.publish_module(wasm, tags={"Name": f"m{i}"}))
    query = """query($after: String, $sort: SortOrder) {
               transactions(tags: [{name: "Type", values: ["Module"]}], first: 2, after: $after, sort: $sort) {
               pageInfo { hasNextPage } edges { cursor node { id block { height } } } } }"""
    for sort, expected in (("HEIGHT_DESC", ids[::-1]), ("HEIGHT_ASC", ids)):
        seen, after = [], None
        while True:
            conn = (await gql(http, devnet, query, after=after, sort=sort))["transactions"]
            seen += [e["node"]["id"] for e in conn["edges"]]
            if not conn["pageInfo"]["hasNextPage"]:
                break
            after = conn["edges"][-1]["cursor"]
        assert seen == expected
    def found(data: dict) -> list[str]:
        return [e["node"]["id"] for e in data["transactions"]["edges"]]

    query = "{ transactions(block: {min: 1500002, max: 1500003}, sort: HEIGHT_ASC) { edges { node { id } } } }"
    assert found(await gql(http, devnet, query)) == ids[1:3]
    query = """query($owner: String!) { transactions(owners: [$owner],
               tags: [{name: "Name", values: ["m1", "m3"]}]) { edges { node { id } } } }"""
    assert set(found(await gql(http, devnet, query, owner=FakeWallet.named("devnet").address))) == {ids[1], ids[3]}
    query = """{ transactions(tags: [{name: "Name", values: ["m*"], match: WILDCARD},
               {name: "Name", values: ["m0"], op: NEQ}]) { edges { node { id } } } }"""
    assert len((await gql(http, devnet, query))["transactions"]["edges"]) == 4


async def test_blocks_paging_like_get_blocks(devnet, http):
    devnet.clock.advance(200 * 120_000)                       # 200 blocks later
    data = await gql(http, devnet, GET_BLOCKS, min=1_500_100, limit=90)
    blocks = data["blocks"]
    assert blocks["pageInfo"] == {"hasNextPage": True}
    nodes = [e["node"] for e in blocks["edges"]]
    assert [n["height"] for n in nodes] == list(range(1_500_100, 1_500_190))
    assert nodes[0] == {"timestamp": START_MS // 1000 + 100 * 120, "height": 1_500_100}
    last = (await gql(http, devnet, GET_BLOCKS, min=1_500_190, limit=90))["blocks"]
    assert last["pageInfo"] == {"hasNextPage": False}
    assert [e["node"]["height"] for e in last["edges"]] == list(range(1_500_190, 1_500_201))
    query = "{ blocks(first: 2) { edges { cursor node { id height previous } } } }"
    desc = (await gql(http, devnet, query))["blocks"]["edges"]
    assert [e["node"]["height"] for e in desc] == [1_500_200, 1_500_199]
    assert desc[0]["node"]["previous"] == desc[1]["node"]["id"]


async def test_weavedrive_attestation_query_shape(devnet, http, wasm):
    pid, _ = await spawn_with_messages(devnet, wasm, 0)
    query = """query {
          transactions(
            owners:["SU"],
            block: {min: 0, max: 1500000},
            tags: [
              { name: "Data-Protocol", values: ["ao"] },
              { name: "Type", values: ["Attestation"] },
              { name: "Message", values: ["PID"]}
            ]
          )
          { edges { node { tags { name value } } } }
        }""".replace("SU", devnet.su_address).replace("PID", pid)
    assert (await gql(http, devnet, query))["transactions"]["edges"] == []


async def test_graphql_errors_are_400(devnet, http):
    cases = [
        ({"query": "{ transactions { edges { node { nope } } } }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "{ transactions(bogus: 1) { edges { cursor } } }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "{ transactions { edges "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": GET_SCHEDULER_LOCATION}, "BAD_USER_INPUT"),
        ({"query": "{ transactions(after: \"zz\") { edges { cursor } } }"}, "BAD_USER_INPUT"),
        ({"nope": 1}, "BAD_REQUEST"),
    ]
    for body, code in cases:
        r = await http.post(devnet.urls.graphql, json=body)
        assert r.status_code == 400, body
        assert r.json()["errors"][0]["extensions"]["code"] == code, (body, r.json())


async def test_raw_data_head_range_and_other_arweave_routes(devnet, http, wasm):
    module = await devnet.publish_module(wasm)
    gw = devnet.urls.gateway
    for path in (f"/raw/{module}", f"/{module}"):
        r = await http.get(gw + path)
        assert r.status_code == 200 and r.content == wasm and r.headers["content-type"] == "application/wasm"
        r = await http.head(gw + path)
        assert r.status_code == 200 and int(r.headers["content-length"]) == len(wasm) and r.content == b""
    # WeaveDrive reads `Range: bytes=<pos>-<to>` where `to` may pass the end
    r = await http.get(f"{gw}/{module}", headers={"Range": f"bytes=10-{len(wasm) + 100}"})
    assert r.status_code == 206 and r.content == wasm[10:]
    assert r.headers["content-range"] == f"bytes 10-{len(wasm) - 1}/{len(wasm)}"
    r = await http.get(f"{gw}/{module}", headers={"Range": "bytes=0-3"})
    assert r.content == wasm[:4] == b"\x00asm"
    assert (await http.get(f"{gw}/{module}", headers={"Range": f"bytes={len(wasm)}-"})).status_code == 416
    assert (await http.get(f"{gw}/raw/{'U' * 43}")).status_code == 404
    info = (await http.get(gw + "/info")).json()
    assert info["height"] == 1_500_000 and info["network"] == "arweave.N.1"
    assert (await http.get(gw + "/")).json() == info
    tx = (await http.get(f"{gw}/tx/{module}")).json()
    assert tx["id"] == module and tx["data_size"] == str(len(wasm))
    status = (await http.get(f"{gw}/tx/{module}/status")).json()
    assert status["block_height"] == 1_500_000 and status["number_of_confirmations"] == 0
    block = (await http.get(f"{gw}/block/height/1500000")).json()
    assert block["height"] == 1_500_000 and module in block["txs"]
    assert (await http.get(f"{gw}/block/height/1500001")).status_code == 404


async def test_message_data_is_served_raw(devnet, http, wasm):
    _pid, mids = await spawn_with_messages(devnet, wasm, 1)
    r = await http.get(f"{devnet.urls.gateway}/raw/{mids[0]}")
    assert r.content == b"return 0"
