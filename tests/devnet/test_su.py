"""The devnet SU over real HTTP: shapes of servers/su main.rs routes, paging, the hash chain."""

from __future__ import annotations

import json

import httpx

from aocu.devnet import FakeWallet, Tag, build_data_item, serialize_data_item

from .conftest import START_MS, b64d, b64e, sha256, spawn_with_messages, tags_of

MESSAGE_KEYS = ["id", "owner", "data", "tags", "signature", "anchor", "target"]
ASSIGNMENT_KEYS = ["id", "owner", "tags", "signature", "anchor", "target"]
PROCESS_KEYS = ["process_id", "block", "owner", "tags", "timestamp", "data", "anchor", "signature", "target"]
ASSIGNMENT_TAGS = ["Process", "Epoch", "Nonce", "Hash-Chain", "Block-Height", "Timestamp", "Data-Protocol",
                   "Type", "Variant"]


async def all_edges(http: httpx.AsyncClient, su: str, pid: str, limit: int, **params: str) -> list[dict]:
    """Page like the reference CU: next ``from`` = last cursor while has_next_page."""
    edges, query = [], {"process-id": pid, "limit": str(limit), **params}
    while True:
        page = (await http.get(f"{su}/{pid}", params=query)).json()
        edges += page["edges"]
        if not page["page_info"]["has_next_page"]:
            return edges
        query["from"] = page["edges"][-1]["cursor"]


async def test_info_and_redirect_check_answer_the_su_wallet(devnet, http):
    for params in ({}, {"process-id": "x" * 43}):
        r = await http.get(devnet.urls.su + "/", params=params)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        # serde_json's json! macro sorts keys; the timestamp is a string
        assert r.text == json.dumps({"address": devnet.su_address, "timestamp": str(START_MS)},
                                    separators=(",", ":"))
    assert (await http.get(devnet.urls.su + "/health")).status_code == 200


async def test_timestamp_reports_clock_and_padded_height(devnet, http):
    r = await http.get(devnet.urls.su + "/timestamp", params={"process-id": "p"})
    assert r.json() == {"block_height": "000001500000", "timestamp": str(START_MS)}
    assert list(r.json()) == ["block_height", "timestamp"]
    devnet.clock.advance(121_000)
    assert (await http.get(devnet.urls.su + "/timestamp")).json()["block_height"] == "000001500001"


async def test_spawn_by_json_post_and_read_the_process(devnet, http, wasm):
    module = await devnet.publish_module(wasm)
    body = {"tags": [{"name": "Data-Protocol", "value": "ao"}, {"name": "Type", "value": "Process"},
                     {"name": "Module", "value": module}, {"name": "Scheduler", "value": devnet.su_address},
                     {"name": "Cron-Interval", "value": "10-seconds"},
                     {"name": "Cron-Tag-Action", "value": "Tick"}],
            "data": "print('hi')"}
    r = await http.post(devnet.urls.su + "/", json=body)
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["id", "timestamp"]
    pid = r.json()["id"]
    p = (await http.get(f"{devnet.urls.su}/processes/{pid}")).json()
    assert list(p) == PROCESS_KEYS
    assert p["process_id"] == pid
    assert p["block"] == "000001500000"
    assert p["timestamp"] == START_MS
    assert p["data"] == "print('hi')"
    assert p["target"] is None and p["anchor"] is None
    assert p["tags"] == body["tags"]
    assert p["owner"]["address"] == b64e(sha256(b64d(p["owner"]["key"])))
    assert len(b64d(p["owner"]["key"])) == 512 and len(b64d(p["signature"])) == 512
    assert pid == b64e(sha256(b64d(p["signature"])))          # id = sha256(signature)


async def test_binary_ans104_post_is_accepted(devnet, http, wasm):
    module = await devnet.publish_module(wasm)
    wallet = FakeWallet.named("alice")
    tags = [Tag("Data-Protocol", "ao"), Tag("Type", "Process"), Tag("Module", module),
            Tag("Scheduler", devnet.su_address)]
    item = build_data_item(wallet, data=b"x", tags=tags, anchor=b"a" * 32)
    r = await http.post(devnet.urls.su + "/", content=serialize_data_item(item),
                        headers={"content-type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == item.id
    p = (await http.get(f"{devnet.urls.su}/processes/{item.id}")).json()
    assert p["owner"] == {"address": wallet.address, "key": wallet.key_b64}
    assert p["anchor"] == "a" * 32


async def test_write_errors_are_400_with_the_su_messages(devnet, http, wasm):
    module = await devnet.publish_module(wasm)
    cases = [
        ({"tags": [{"name": "Data-Protocol", "value": "ao"}]}, "Type tag not present"),
        ({"tags": [{"name": "Type", "value": "Process"}]}, "Data-Protocol tag not present"),
        ({"tags": [{"name": "Type", "value": "Thing"}, {"name": "Data-Protocol", "value": "ao"}]},
         "Unsupported Type tag value"),
        ({"tags": [{"name": "Type", "value": "Process"}, {"name": "Data-Protocol", "value": "ao"},
                   {"name": "Module", "value": module}]},
         "Required Module and Scheduler tags for Process type not present"),
        ({"tags": [{"name": "Type", "value": "Message"}, {"name": "Data-Protocol", "value": "ao"}],
          "target": "A" * 43}, f"Process {'A' * 43} not found on this SU"),
        ({"tags": [{"name": "Type", "value": "Message"}, {"name": "Data-Protocol", "value": "ao"},
                   {"name": "X", "value": "y+link"}], "target": "A" * 43}, "Tag X cannot contain +link"),
    ]
    for body, error in cases:
        r = await http.post(devnet.urls.su + "/", json=body)
        assert (r.status_code, r.json()) == (400, {"error": error}), body
    r = await http.post(devnet.urls.su + "/", params={"process-id": "A" * 43}, json=cases[0][0])
    assert r.json() == {"error": "If sending assign or process-id, you must send both."}
    r = await http.post(devnet.urls.su + "/", content=b"\x01\x00garbage")
    assert r.status_code == 400 and "error" in r.json()


async def test_pages_follow_the_su_paging_rules(devnet, http, wasm):
    pid, mids = await spawn_with_messages(devnet, wasm, 7)
    su = devnet.urls.su
    first = (await http.get(f"{su}/{pid}", params={"process-id": pid, "limit": "3"})).json()
    assert list(first) == ["page_info", "edges"]
    assert first["page_info"] == {"has_next_page": True}
    # the process is the first edge of a first page and takes one of the `limit` places
    assert [e["node"]["message"]["id"] for e in first["edges"]] == [pid, mids[0], mids[1]]
    for edge in first["edges"]:
        assert list(edge) == ["node", "cursor"]
        assert list(edge["node"]) == ["message", "assignment"]
        assert list(edge["node"]["message"]) == MESSAGE_KEYS
        assert list(edge["node"]["assignment"]) == ASSIGNMENT_KEYS
        assert edge["cursor"] == tags_of(edge["node"]["assignment"])["Timestamp"]
    edges = await all_edges(http, su, pid, 3)
    assert [int(tags_of(e["node"]["assignment"])["Nonce"]) for e in edges] == list(range(8))
    assert [e["node"]["message"]["id"] for e in edges] == [pid, *mids]
    # default limit 100, one page
    whole = (await http.get(f"{su}/{pid}", params={"process-id": pid})).json()
    assert whole["page_info"]["has_next_page"] is False and len(whole["edges"]) == 8
    # from exclusive, to inclusive (timestamps); no process edge once `from` is given
    ts = [int(e["cursor"]) for e in edges]
    mid = (await http.get(f"{su}/{pid}", params={"process-id": pid, "from": str(ts[2]),
                                                 "to": str(ts[5])})).json()
    assert [e["cursor"] for e in mid["edges"]] == [str(t) for t in ts[3:6]]
    # nonce mode: cursors are nonces; from-nonce -1 includes the process
    by_nonce = (await http.get(f"{su}/{pid}", params={"process-id": pid, "from-nonce": "-1",
                                                      "to-nonce": "3"})).json()
    assert [e["cursor"] for e in by_nonce["edges"]] == ["0", "1", "2", "3"]
    by_nonce = (await http.get(f"{su}/{pid}", params={"process-id": pid, "from-nonce": "5"})).json()
    assert [e["cursor"] for e in by_nonce["edges"]] == ["6", "7"]


async def test_assignments_carry_the_su_fields(devnet, http, wasm):
    pid, mids = await spawn_with_messages(devnet, wasm, 2)
    edges = await all_edges(http, devnet.urls.su, pid, 100)
    for nonce, edge in enumerate(edges):
        a = edge["node"]["assignment"]
        tags = tags_of(a)
        assert [t["name"] for t in a["tags"]] == ASSIGNMENT_TAGS + ([] if nonce == 0 else ["Message"])
        assert tags["Process"] == pid and tags["Epoch"] == "0" and tags["Nonce"] == str(nonce)
        assert tags["Block-Height"] == "000001500000"
        assert (tags["Data-Protocol"], tags["Type"], tags["Variant"]) == ("ao", "Assignment", "ao.TN.1")
        assert a["owner"]["address"] == devnet.su_address
        assert a["target"] == "" and a["anchor"] is None
        assert a["id"] == b64e(sha256(b64d(a["signature"])))
    assert tags_of(edges[1]["node"]["assignment"])["Message"] == mids[0]
    assert [int(tags_of(e["node"]["assignment"])["Timestamp"]) for e in edges] == \
        [START_MS, START_MS + 1000, START_MS + 2000]
    message = edges[1]["node"]["message"]
    assert message["target"] == pid and message["data"] == "return 0"
    assert tags_of(message) == {"Action": "Eval", "Data-Protocol": "ao", "Variant": "ao.TN.1",
                                "Type": "Message"}
    # the process edge is built from the process (servers/su json.rs `from_process`)
    assert edges[0]["node"]["message"]["target"] is None


async def test_hash_chain_is_continuous_like_the_su_computes_it(devnet, http, wasm):
    pid, _ = await spawn_with_messages(devnet, wasm, 5)
    edges = await all_edges(http, devnet.urls.su, pid, 2)
    chain = [tags_of(e["node"]["assignment"])["Hash-Chain"] for e in edges]
    ids = [e["node"]["assignment"]["id"] for e in edges]
    # nonce 0: sha256(process id bytes); then sha256(previous assignment id || previous hash chain)
    assert chain[0] == b64e(sha256(b64d(pid)))
    for n in range(1, len(edges)):
        assert chain[n] == b64e(sha256(b64d(ids[n - 1]) + b64d(chain[n - 1])))


async def test_equal_clock_readings_still_give_increasing_timestamps(devnet, http, wasm):
    module = await devnet.publish_module(wasm)
    pid = await devnet.spawn(module)
    for _ in range(3):
        await devnet.send(pid, data="x")                       # the clock does not move
    edges = await all_edges(http, devnet.urls.su, pid, 100)
    assert [int(e["cursor"]) for e in edges] == [START_MS + i for i in range(4)]


async def test_message_by_message_or_assignment_id(devnet, http, wasm):
    pid, mids = await spawn_with_messages(devnet, wasm, 3)
    su = devnet.urls.su
    r = await http.get(f"{su}/{mids[1]}", params={"process-id": pid})
    node = r.json()
    assert r.status_code == 200 and list(node) == ["message", "assignment"]
    assert node["message"]["id"] == mids[1] and tags_of(node["assignment"])["Nonce"] == "2"
    by_assignment = (await http.get(f"{su}/{node['assignment']['id']}", params={"process-id": pid})).json()
    assert by_assignment == node
    r = await http.get(f"{su}/{mids[1]}")
    assert (r.status_code, r.text) == (400, "Query deserialize error: missing field `process-id`")
    r = await http.get(f"{su}/{'Z' * 43}", params={"process-id": pid})
    assert (r.status_code, r.json()) == (400, {"error": "Message or Process not found"})
    r = await http.get(f"{su}/{pid}", params={"process-id": pid, "limit": "ten"})
    assert r.status_code == 400 and r.text.startswith("Query deserialize error")


async def test_latest_is_the_newest_message(devnet, http, wasm):
    pid, mids = await spawn_with_messages(devnet, wasm, 0)
    r = await http.get(f"{devnet.urls.su}/{pid}/latest")
    assert (r.status_code, r.json()) == (400, {"error": "Latest message not available"})
    for _ in range(2):
        mids.append(await devnet.send(pid, data="y"))
    latest = (await http.get(f"{devnet.urls.su}/{pid}/latest")).json()
    assert latest["message"]["id"] == mids[-1] and tags_of(latest["assignment"])["Nonce"] == "2"


async def test_unknown_process_is_a_400(devnet, http):
    r = await http.get(f"{devnet.urls.su}/processes/{'Q' * 43}")
    assert (r.status_code, r.json()) == (400, {"error": 'NotFound("Process not found")'})


async def test_legacy_message_format_is_switchable(devnet, http, wasm):
    pid, mids = await spawn_with_messages(devnet, wasm, 2)
    r = await http.post(devnet.urls.gateway + "/_devnet/options", json={"message_format": "legacy"})
    assert r.json() == {"message_format": "legacy", "page_format": "current"}
    node = (await http.get(f"{devnet.urls.su}/{mids[0]}", params={"process-id": pid})).json()
    # the pre-aop-1 shape (servers/su json.rs before 7d9206c0); the reference CU's legacyMeta reads
    # process_id, timestamp, nonce
    assert list(node) == ["message", "block", "owner", "process_id", "data", "epoch", "nonce", "timestamp",
                          "hash_chain"]
    assert (node["process_id"], node["nonce"], node["timestamp"]) == (pid, 1, START_MS + 1000)
    assert list(node["message"]) == ["id", "tags", "signature", "anchor"]
    latest = (await http.get(f"{devnet.urls.su}/{pid}/latest")).json()
    assert latest["nonce"] == 2
    page = (await http.get(f"{devnet.urls.su}/{pid}", params={"process-id": pid})).json()
    assert "assignment" in page["edges"][1]["node"]          # pages stay current unless page_format says so
    await http.post(devnet.urls.su + "/_devnet/options", json={"page_format": "legacy"})
    page = (await http.get(f"{devnet.urls.su}/{pid}", params={"process-id": pid})).json()
    assert page["edges"][1]["node"]["nonce"] == 1
    r = await http.post(devnet.urls.su + "/_devnet/options", json={"page_format": "old"})
    assert r.status_code == 400


async def test_assign_schedules_an_existing_transaction(devnet, http, wasm):
    pid, _ = await spawn_with_messages(devnet, wasm, 1)
    other = await devnet.publish_module(wasm, tags={"Name": "data-tx"})
    r = await http.post(devnet.urls.su + "/",
                        params={"process-id": pid, "assign": other, "exclude": "Data,Tags"})
    assert r.status_code == 200, r.text
    aid = r.json()["id"]
    node = (await http.get(f"{devnet.urls.su}/{aid}", params={"process-id": pid})).json()
    assert node["message"] is None
    tags = node["assignment"]["tags"]
    assert [t["name"] for t in tags] == [*ASSIGNMENT_TAGS, "Message", "Exclude", "Exclude"]
    assert tags_of(node["assignment"])["Message"] == other
    assert [t["value"] for t in tags if t["name"] == "Exclude"] == ["Data", "Tags"]
    r = await http.post(devnet.urls.su + "/", params={"process-id": pid, "assign": "short"})
    assert r.status_code == 400
