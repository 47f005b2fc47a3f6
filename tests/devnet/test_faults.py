"""Fault injection: every mode over real HTTP, rule matching, and the admin endpoints."""

from __future__ import annotations

import time

import httpx
import pytest

from aocu.devnet import Fault, FaultError

from .conftest import spawn_with_messages, tags_of


async def test_status_fires_the_given_number_of_times(devnet, http):
    devnet.faults.add(Fault(mode="status", status=503, endpoint="su.timestamp", times=2))
    statuses = [(await http.get(devnet.urls.su + "/timestamp")).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    r = await http.get(devnet.urls.su + "/timestamp")
    assert r.status_code == 200
    devnet.faults.add(Fault(mode="status", status=502, endpoint="su.timestamp"))
    r = await http.get(devnet.urls.su + "/timestamp")
    assert r.status_code == 502 and r.json() == {"error": "devnet fault: injected 502 on su.timestamp"}


async def test_after_lets_requests_through_first(devnet, http):
    devnet.faults.add(Fault(mode="status", endpoint="gw.info", after=2, times=1))
    statuses = [(await http.get(devnet.urls.gateway + "/info")).status_code for _ in range(4)]
    assert statuses == [200, 200, 500, 200]
    (rule,) = devnet.faults.rules()
    assert (rule["seen"], rule["fired"]) == (4, 1)


async def test_latency_delays_the_answer(devnet, http):
    devnet.faults.add(Fault(mode="latency", latency_s=0.2, endpoint="gw.*"))
    started = time.monotonic()
    r = await http.get(devnet.urls.gateway + "/info")
    assert r.status_code == 200 and time.monotonic() - started >= 0.2
    await http.get(devnet.urls.su + "/")                       # another endpoint: the rule does not fire
    (rule,) = devnet.faults.rules()
    assert (rule["seen"], rule["fired"]) == (1, 1)


async def test_reset_aborts_the_connection_then_serving_goes_on(devnet, http):
    devnet.faults.add(Fault(mode="reset", endpoint="su.info", times=1))
    with pytest.raises(httpx.TransportError) as info:
        await http.get(devnet.urls.su + "/")
    assert isinstance(info.value, (httpx.ReadError, httpx.RemoteProtocolError))
    assert "reset" in str(info.value).lower() or "disconnected" in str(info.value).lower()
    assert (await http.get(devnet.urls.su + "/")).status_code == 200


async def test_hang_never_answers_until_the_client_gives_up(devnet, http):
    devnet.faults.add(Fault(mode="hang", endpoint="gw.graphql", times=1))
    with pytest.raises(httpx.ReadTimeout):
        await http.post(devnet.urls.graphql, json={"query": "{ blocks { edges { cursor } } }"}, timeout=0.3)
    r = await http.post(devnet.urls.graphql, json={"query": "{ blocks(first: 1) { edges { cursor } } }"})
    assert r.status_code == 200


async def test_truncate_sends_half_a_body(devnet, http, wasm):
    module = await devnet.publish_module(wasm)
    devnet.faults.add(Fault(mode="truncate", endpoint="gw.raw", times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        await http.get(f"{devnet.urls.gateway}/raw/{module}")
    assert (await http.get(f"{devnet.urls.gateway}/raw/{module}")).content == wasm


async def test_redirect_points_one_process_at_another_su(devnet, http, wasm):
    pid, _ = await spawn_with_messages(devnet, wasm, 1)
    devnet.faults.add(Fault(mode="redirect", endpoint="su.*", process_id=pid, location="http://127.0.0.1:9/"))
    r = await http.get(devnet.urls.su + "/", params={"process-id": pid})
    # scheduler-utils checkForRedirect keeps only the Location's origin
    assert r.status_code == 307 and r.headers["location"] == f"http://127.0.0.1:9/?process-id={pid}"
    r = await http.get(f"{devnet.urls.su}/{pid}", params={"process-id": pid})
    assert r.headers["location"] == f"http://127.0.0.1:9/{pid}?process-id={pid}"
    assert (await http.get(devnet.urls.su + "/", params={"process-id": "other"})).status_code == 200


async def page_nonces(http, devnet, pid: str, limit: int) -> list[int]:
    nonces, query = [], {"process-id": pid, "limit": str(limit)}
    while True:
        page = (await http.get(f"{devnet.urls.su}/{pid}", params=query)).json()
        nonces += [int(tags_of(e["node"]["assignment"])["Nonce"]) for e in page["edges"]]
        if not page["page_info"]["has_next_page"]:
            return nonces
        query["from"] = page["edges"][-1]["cursor"]


async def test_short_pages_still_reach_every_message(devnet, http, wasm):
    pid, _ = await spawn_with_messages(devnet, wasm, 6)
    devnet.faults.add(Fault(mode="short_page", endpoint="su.messages"))
    page = (await http.get(f"{devnet.urls.su}/{pid}", params={"process-id": pid, "limit": "4"})).json()
    assert len(page["edges"]) == 2 and page["page_info"]["has_next_page"] is True
    assert await page_nonces(http, devnet, pid, 4) == list(range(7))


async def test_duplicate_pages_repeat_the_boundary_edge(devnet, http, wasm):
    pid, _ = await spawn_with_messages(devnet, wasm, 4)
    devnet.faults.add(Fault(mode="duplicate_page", endpoint="su.messages", process_id=pid))
    assert await page_nonces(http, devnet, pid, 3) == [0, 0, 1, 2, 2, 3, 4]


async def test_reordered_pages_come_backwards(devnet, http, wasm):
    pid, _ = await spawn_with_messages(devnet, wasm, 3)
    devnet.faults.add(Fault(mode="reorder_page", endpoint="su.messages", times=1))
    page = (await http.get(f"{devnet.urls.su}/{pid}", params={"process-id": pid})).json()
    assert [e["cursor"] for e in page["edges"]] == sorted((e["cursor"] for e in page["edges"]), reverse=True)


async def test_page_faults_do_not_touch_single_messages(devnet, http, wasm):
    pid, mids = await spawn_with_messages(devnet, wasm, 2)
    devnet.faults.add(Fault(mode="reorder_page", endpoint="*"))
    node = (await http.get(f"{devnet.urls.su}/{mids[0]}", params={"process-id": pid})).json()
    assert node["message"]["id"] == mids[0]


async def test_admin_endpoints_manage_faults_and_are_never_faulted(devnet, http):
    admin = devnet.urls.su + "/_devnet/faults"
    r = await http.post(admin, json={"mode": "status", "status": 500})         # everything
    assert r.status_code == 200
    rule_id = r.json()["id"]
    assert (await http.get(devnet.urls.gateway + "/info")).status_code == 500
    listing = (await http.get(admin)).json()
    assert [f["id"] for f in listing["faults"]] == [rule_id]
    assert "su.messages" in listing["endpoints"] and "hang" in listing["modes"]
    assert (await http.delete(f"{admin}/{rule_id}")).json() == {"removed": rule_id}
    assert (await http.delete(f"{admin}/{rule_id}")).status_code == 404
    assert (await http.get(devnet.urls.gateway + "/info")).status_code == 200
    for bad in ({"mode": "explode"}, {"mode": "redirect"}, {"mode": "status", "colour": "red"},
                {"mode": "status", "status": 99}, ["status"]):
        r = await http.post(admin, json=bad)
        assert r.status_code == 400 and "error" in r.json(), bad
    await http.post(admin, json={"mode": "status"})
    assert (await http.delete(admin)).json() == {"faults": []}
    assert devnet.faults.rules() == []


async def test_fault_validation():
    with pytest.raises(FaultError):
        Fault(mode="latency", latency_s=-1)
    with pytest.raises(FaultError):
        Fault.from_json({"mode": "status", "times": "x", "bogus": 1})
    with pytest.raises(FaultError, match="matches none"):
        Fault(mode="status", endpoint="su.mesages")
    assert Fault.from_json({"mode": "hang", "endpoint": "gw.raw"}) == Fault(mode="hang", endpoint="gw.raw")
