"""Every route's answer: bodies (byte for byte, key order included), headers, statuses, error texts."""

from __future__ import annotations

import json

import pytest

from aocu.api import StateBody
from aocu.config import HttpConfig
from aocu.errors import HashChainMismatchError, RateLimitedError, TooEarlyError, UpstreamError
from aocu.http._headers import SECURITY_HEADERS
from aocu.testing import FakeComputeUnitApi
from aocu.testing import open_test_client as serving

PID = "process-" + "p" * 35
MID = "message-" + "m" * 35
RESULT = {"Messages": [{"Target": "x", "Tags": []}], "Assignments": [], "Spawns": [], "Output": {"data": "hi"},
          "GasUsed": 42}

JSON = "application/json; charset=utf-8"


def assert_reference_headers(headers: object) -> None:
    names = [name.lower() for name, _ in headers.multi_items()]  # type: ignore[attr-defined]
    expected = [name.lower() for name, _ in SECURITY_HEADERS] + ["access-control-allow-origin"]
    assert names[: len(expected)] == expected, "helmet's headers, then cors', then the route's"
    assert headers["access-control-allow-origin"] == "*"  # type: ignore[index]
    assert "server" not in names and "x-powered-by" not in names


async def test_identity_answers_address_then_timestamp(fake: FakeComputeUnitApi) -> None:
    async with serving(fake) as http:
        response = await http.get("/")
        head = await http.head("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert list(json.loads(response.text)) == ["address", "timestamp"]
    assert response.json()["address"] == "test-cu-address"
    assert_reference_headers(response.headers)
    assert head.status_code == 200 and head.content == b""


async def test_result_body_is_the_ports_in_its_key_order(fake: FakeComputeUnitApi) -> None:
    fake.results[PID, MID] = RESULT
    async with serving(fake) as http:
        response = await http.get(f"/result/{MID}", params={"process-id": PID})
    assert response.status_code == 200
    assert response.text == ('{"Messages":[{"Target":"x","Tags":[]}],"Assignments":[],"Spawns":[],'
                             '"Output":{"data":"hi"},"GasUsed":42}')
    assert response.headers["content-type"] == JSON
    assert_reference_headers(response.headers)
    assert fake.calls_to("read_result") == [{"process_id": PID, "message_id": MID}]


async def test_result_is_cached_by_process_and_message(fake: FakeComputeUnitApi) -> None:
    fake.results[PID, MID] = RESULT
    fake.results["other-process", MID] = {**RESULT, "Output": "other"}
    async with serving(fake) as http:
        first = await http.get(f"/result/{MID}", params={"process-id": PID})
        fake.results[PID, MID] = {"changed": True}        # a hit must not reach the port
        second = await http.get(f"/result/{MID}", params={"process-id": PID})
        other = await http.get(f"/result/{MID}", params={"process-id": "other-process"})
    assert first.text == second.text
    assert other.json()["Output"] == "other", "another process's result is not shared (unlike the reference)"
    assert len(fake.calls_to("read_result")) == 2


async def test_result_errors_are_not_cached(fake: FakeComputeUnitApi) -> None:
    async with serving(fake) as http:
        missing = await http.get(f"/result/{MID}", params={"process-id": PID})
        fake.results[PID, MID] = RESULT
        found = await http.get(f"/result/{MID}", params={"process-id": PID})
    assert missing.status_code == 500          # the reference's answer for a process the gateway lacks
    assert missing.json() == {"error": f"TransactionNotFound: Process {PID} was not found on gateway"}
    assert found.status_code == 200


@pytest.mark.parametrize(("query", "error"), [
    ("", "'processId': Required."),
    ("?process-id=", "'processId': a process-id query parameter is required."),
    ("?process-id=a&process-id=b", "'processId': Expected string, received array."),
])
async def test_result_rejects_a_bad_process_id_with_the_reference_text(
        fake: FakeComputeUnitApi, query: str, error: str) -> None:
    async with serving(fake) as http:
        response = await http.get(f"/result/{MID}{query}")
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert fake.calls == []


async def test_results_passes_bounds_and_defaults_to_the_port(fake: FakeComputeUnitApi) -> None:
    fake.pages[PID] = [(f"c{n}", {"Messages": [], "Assignments": [], "Spawns": [], "Output": str(n)})
                       for n in range(3)]
    async with serving(fake) as http:
        default = await http.get(f"/results/{PID}")
        paged = await http.get(f"/results/{PID}", params={"from": "abc+/=", "to": "17", "sort": "DESC",
                                                          "limit": "2"})
        empty_bounds = await http.get(f"/results/{PID}?from=&to=&limit=")
    assert empty_bounds.status_code == 200
    assert default.status_code == 200
    assert default.text.startswith('{"pageInfo":{"hasNextPage":false},"edges":[{"node":{"Messages":[]')
    assert paged.json() == {"pageInfo": {"hasNextPage": True}, "edges": [
        {"node": {"Messages": [], "Assignments": [], "Spawns": [], "Output": "2"}, "cursor": "c2"},
        {"node": {"Messages": [], "Assignments": [], "Spawns": [], "Output": "1"}, "cursor": "c1"}]}
    calls = fake.calls_to("read_results")
    assert calls[0] == {"process_id": PID, "from_": None, "to": None, "sort": "ASC", "limit": 25}
    assert calls[1] == {"process_id": PID, "from_": "abc+/=", "to": "17", "sort": "DESC", "limit": 2}
    assert calls[2]["from_"] is None and calls[2]["to"] is None and calls[2]["limit"] == 0


@pytest.mark.parametrize(("query", "error"), [
    ("sort=UP", "'sort': Invalid enum value. Expected 'ASC' | 'DESC', received 'UP'."),
    ("sort=asc", "'sort': Invalid enum value. Expected 'ASC' | 'DESC', received 'asc'."),
    ("limit=abc", "'limit': Expected number, received nan."),
    ("limit=9007199254740982", "'limit': Number must be less than or equal to 9007199254740981."),
    ("limit=1.5", "'limit': Expected integer, received float."),
    ("limit=-1", "'limit': Number must be greater than or equal to 0."),
    ("sort=UP&limit=x", "'sort': Invalid enum value. Expected 'ASC' | 'DESC', received 'UP'. | "
                        "'limit': Expected number, received nan."),
])
async def test_results_rejects_bad_paging_with_400(fake: FakeComputeUnitApi, query: str, error: str) -> None:
    async with serving(fake) as http:
        response = await http.get(f"/results/{PID}?{query}")
    assert (response.status_code, response.json()) == (400, {"error": error})


async def test_results_accepts_js_numbers_for_limit(fake: FakeComputeUnitApi) -> None:
    async with serving(fake) as http:
        for text in (" 7 ", "0x7", "7e0", "7.0"):
            assert (await http.get(f"/results/{PID}", params={"limit": text})).status_code == 200
    assert [c["limit"] for c in fake.calls_to("read_results")] == [7, 7, 7, 7]


async def test_cron_is_ascending_defaults_to_500_and_caps_at_1000(fake: FakeComputeUnitApi) -> None:
    async with serving(fake) as http:
        await http.get(f"/cron/{PID}")
        await http.get(f"/cron/{PID}", params={"limit": "5000", "from": "cursor", "sort": "DESC"})
        await http.get(f"/cron/{PID}", params={"limit": "50"})
    assert [(c["limit"], c["sort"]) for c in fake.calls_to("read_cron_results")] == [
        (500, "ASC"), (1000, "ASC"), (50, "ASC")]
    assert fake.calls_to("read_cron_results")[1]["from_"] == "cursor"


async def test_state_answers_raw_memory_and_truthy_last_headers(fake: FakeComputeUnitApi) -> None:
    fake.states[PID] = StateBody(memory=b"\x00asm\xff" * 3, last_timestamp=1700000000000, last_ordinate="5",
                                 last_block_height=0)
    async with serving(fake) as http:
        response = await http.get(f"/state/{PID}", params={"to": "1700000000000"})
        latest = await http.get(f"/state/{PID}?to=")
        bad = await http.get(f"/state/{PID}?to=soon")
    assert response.status_code == 200
    assert response.content == b"\x00asm\xff" * 3
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["last-timestamp"] == "1700000000000"
    assert response.headers["last-ordinate"] == "5"
    assert "last-block-height" not in response.headers        # 0 is falsy: the reference omits it
    # Node writes Content-Length after the route's headers (seen side by side with the reference CU)
    names = [name.lower() for name in response.headers]
    assert names.index("last-ordinate") < names.index("content-length") < names.index("date")
    assert_reference_headers(response.headers)
    assert [c["to"] for c in fake.calls_to("read_state")] == [1700000000000, None]
    assert latest.status_code == 200
    assert (bad.status_code, bad.json()) == (400, {"error": "'to': Expected number, received nan."})


async def test_dry_run_coerces_like_zod_and_passes_unknown_keys(fake: FakeComputeUnitApi) -> None:
    body = {"Extra": 1, "Tags": [{"name": "Action", "value": "Info", "junk": True}], "Owner": "me",
            "Timestamp": "1700000000000", "Block-Height": None, "Id": "1234"}
    async with serving(fake) as http:
        response = await http.post("/dry-run", params={"process-id": PID, "to": MID}, json=body,
                                   headers={"X-Max-Age": "250"})
    assert response.status_code == 200
    assert response.text == '{"Messages":[],"Assignments":[],"Spawns":[],"Output":"","GasUsed":0}'
    (call,) = fake.calls_to("dry_run")
    assert call["to"] == MID and call["max_age_ms"] == 250
    # Zod's output: schema keys in schema order, tags stripped to name/value, then the unknown keys.
    assert list(call["message"].items()) == [
        ("Id", "1234"), ("Owner", "me"), ("Tags", [{"name": "Action", "value": "Info"}]),
        ("Timestamp", 1700000000000), ("Block-Height", None), ("Extra", 1)]


@pytest.mark.parametrize(("query", "headers", "body", "error"), [
    ("", {}, {"Owner": "x"}, "'processId': Required."),
    ("?process-id=p&to=", {}, {}, "'messageTxId': to must be a transaction id."),
    ("?process-id=p", {"X-Max-Age": "old"}, {}, "'maxProcessAge': Expected number, received nan."),
    ("?process-id=p", {}, [], "'dryRun': Expected object, received array."),
    ("?process-id=p", {}, {"Owner": 7}, "'Owner': Expected string, received number."),
    ("?process-id=p", {}, {"Tags": "a"}, "'Tags': Expected array, received string."),
    ("?process-id=p", {}, {"Tags": [{"name": "a"}]}, "'Tags': Required."),
    ("?process-id=p", {}, {"Timestamp": "noon"}, "'Timestamp': Expected number, received nan."),
    ("", {}, {"Id": False}, "'processId': Required. | 'Id': Expected string, received boolean."),
])
async def test_dry_run_rejects_bad_input_with_the_reference_text(
        fake: FakeComputeUnitApi, query: str, headers: dict[str, str], body: object, error: str) -> None:
    async with serving(fake) as http:
        response = await http.post(f"/dry-run{query}", json=body, headers=headers)
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert fake.calls_to("dry_run") == []


async def test_dry_run_body_errors_are_fastifys(fake: FakeComputeUnitApi) -> None:
    config = HttpConfig(max_body_bytes=1024)
    async with serving(fake, config) as http:
        async def post(content: bytes, content_type: str | None) -> tuple[int, dict[str, object]]:
            headers = {"Content-Type": content_type} if content_type else {}
            response = await http.post("/dry-run?process-id=p", content=content, headers=headers)
            return response.status_code, response.json()

        status, body = await post(b"x" * 2048, "application/json")
        assert (status, body["code"], body["message"]) == (413, "FST_ERR_CTP_BODY_TOO_LARGE",
                                                           "Request body is too large")
        status, body = await post(b"{oops", "application/json")
        assert status == 400 and body["error"] == "Bad Request" and "position 1" in str(body["message"])
        status, body = await post(b"", "application/json")
        assert (status, body["code"]) == (400, "FST_ERR_CTP_EMPTY_JSON_BODY")
        status, body = await post(b"a=b", "application/x-www-form-urlencoded")
        assert (status, body["code"], body["message"]) == (
            415, "FST_ERR_CTP_INVALID_MEDIA_TYPE", "Unsupported Media Type: application/x-www-form-urlencoded")
        status, body = await post(b'{"__proto__": {"x": 1}}', "application/json")
        assert (status, body["message"]) == (400, "Object contains forbidden prototype property")
        status, body = await post(b"hello", "text/plain")
        assert (status, body) == (400, {"error": "'dryRun': Expected object, received string."})
        status, body = await post(b"", None)
        assert (status, body) == (400, {"error": "'dryRun': Required."})
    assert fake.calls_to("dry_run") == []


@pytest.mark.parametrize(("error", "status"), [
    (TooEarlyError("message at nonce 2 not found cached, and earlier than latest known nonce 5"), 425),
    (HashChainMismatchError("HashChain invalid on message m"), 422),
    (UpstreamError("Error Encountered when loading message from Scheduler Unit: 400: nope"), 500),
    (UpstreamError("An error occurred", http_status=404), 404),
    (RateLimitedError("Dry-Run enqueue limit exceeded"), 429),
])
async def test_port_errors_answer_their_status_and_text(
        fake: FakeComputeUnitApi, error: Exception, status: int) -> None:
    fake.failures["read_result"] = error
    fake.failures["dry_run"] = error
    async with serving(fake) as http:
        result = await http.get(f"/result/{MID}", params={"process-id": PID})
        dry = await http.post("/dry-run", params={"process-id": PID}, json={})
    for response in (result, dry):
        assert (response.status_code, response.json()) == (status, {"error": str(error)})
        assert_reference_headers(response.headers)


async def test_an_upstream_clients_error_is_answered_in_the_references_words(fake: FakeComputeUnitApi) -> None:
    from aocu.clients import TransactionNotFoundError, UpstreamStatusError

    fake.failures["read_state"] = TransactionNotFoundError(
        f"Process {PID} was not found on gateway", upstream="gateway", method="POST", url="http://gw/graphql")
    fake.failures["read_cron_results"] = UpstreamStatusError(
        "HTTP 502", upstream="gateway", url="http://gw/raw/x", status=502, body="bad gateway")
    async with serving(fake) as http:
        state = await http.get(f"/state/{PID}")
        cron = await http.get(f"/cron/{PID}")
    # errFrom: "<name>: <message>" for scheduler-utils' named errors, strFromFetchError's "<status>: <body>"
    assert (state.status_code, state.json()) == (
        500, {"error": f"TransactionNotFound: Process {PID} was not found on gateway"})
    assert (cron.status_code, cron.json()) == (500, {"error": "502: bad gateway"})


async def test_a_bug_in_the_port_answers_500_without_details(fake: FakeComputeUnitApi) -> None:
    fake.failures["read_results"] = KeyError("secret")
    async with serving(fake) as http:
        response = await http.get(f"/results/{PID}")
        alive = await http.get("/")
    assert (response.status_code, response.json()) == (500, {"error": "Internal Server Error"})
    assert alive.status_code == 200


async def test_a_group_of_port_errors_is_answered_by_its_first(fake: FakeComputeUnitApi) -> None:
    fake.failures["read_results"] = ExceptionGroup("stream", [TooEarlyError("too early")])
    async with serving(fake) as http:
        response = await http.get(f"/results/{PID}")
    assert (response.status_code, response.json()) == (425, {"error": "too early"})


async def test_unknown_routes_and_methods_answer_fastifys_404(fake: FakeComputeUnitApi) -> None:
    async with serving(fake) as http:
        unknown = await http.get("/healthcheck")
        wrong_method = await http.delete(f"/result/{MID}?process-id={PID}")
        get_dry_run = await http.get("/dry-run")
        trailing = await http.get(f"/results/{PID}/")
    assert unknown.status_code == 404
    assert unknown.text == '{"message":"Route GET:/healthcheck not found","error":"Not Found","statusCode":404}'
    assert_reference_headers(unknown.headers)
    assert wrong_method.json()["message"] == f"Route DELETE:/result/{MID}?process-id={PID} not found"
    assert get_dry_run.status_code == 404 and trailing.status_code == 404


async def test_preflight_is_answered_for_any_path(fake: FakeComputeUnitApi) -> None:
    async with serving(fake) as http:
        asked = await http.options("/dry-run", headers={"Origin": "https://app", "Access-Control-Request-Method":
                                                        "POST", "Access-Control-Request-Headers": "content-type"})
        bare = await http.options("/anything")
    assert asked.status_code == 204 and asked.content == b""
    assert_reference_headers(asked.headers)
    names = [name.lower() for name, _ in asked.headers.multi_items()]
    assert names[13:18] == ["access-control-allow-methods", "access-control-allow-headers", "vary",
                            "content-length", "date"]
    assert asked.headers["access-control-allow-methods"] == "GET,HEAD,PUT,PATCH,POST,DELETE"
    assert asked.headers["access-control-allow-headers"] == "content-type"
    assert asked.headers["vary"] == "Access-Control-Request-Headers"
    assert bare.status_code == 204 and "access-control-allow-headers" not in bare.headers
    assert fake.calls == []


async def test_a_read_unit_serves_only_identity_and_dry_run(fake: FakeComputeUnitApi) -> None:
    async with serving(fake, HttpConfig(unit_mode="ru")) as http:
        for path in (f"/result/{MID}?process-id={PID}", f"/results/{PID}", f"/cron/{PID}", f"/state/{PID}"):
            response = await http.get(path)
            assert (response.status_code, response.text) == (404, "Not Found")
            assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert (await http.get("/")).status_code == 200
        assert (await http.post("/dry-run", params={"process-id": PID}, json={})).status_code == 200
    assert [name for name, _ in fake.calls] == ["dry_run"]


async def test_restrict_and_allow_lists_answer_403(fake: FakeComputeUnitApi) -> None:
    config = HttpConfig(restrict_processes=("bad",), allow_processes=("good", "bad"))
    fake.results["good", MID] = RESULT
    async with serving(fake, config) as http:
        denied = await http.get(f"/result/{MID}", params={"process-id": "bad"})
        outside = await http.get("/state/other")
        missing = await http.get(f"/result/{MID}")
        dry = await http.post("/dry-run", params={"process-id": "bad"}, json={})
        allowed = await http.get(f"/result/{MID}", params={"process-id": "good"})
    assert (denied.status_code, denied.json()) == (403, {"error": "Access denied for process bad"})
    assert (outside.status_code, outside.json()) == (403, {"error": "Access denied for process other"})
    # The restriction runs before validation, with the reference's `${undefined}`.
    assert (missing.status_code, missing.json()) == (403, {"error": "Access denied for process undefined"})
    assert dry.status_code == 403
    assert allowed.status_code == 200
    assert [name for name, _ in fake.calls] == ["read_result"]


async def test_owner_allow_list_uses_the_ports_process_owner(fake: FakeComputeUnitApi) -> None:
    fake.owners.update({"mine": "owner-ok", "theirs": "owner-bad"})
    fake.results["theirs", MID] = RESULT
    fake.states["mine"] = StateBody(memory=b"m")
    async with serving(fake, HttpConfig(allow_owners=("owner-ok",))) as http:
        denied = await http.get(f"/result/{MID}", params={"process-id": "theirs"})
        dry = await http.post("/dry-run", params={"process-id": "theirs"}, json={})
        cron = await http.get("/cron/theirs")
        state = await http.get("/state/mine")
        results = await http.get("/results/theirs")       # reads rows only: no owner check, as the reference
    for response in (denied, dry, cron):
        assert (response.status_code, response.json()) == (403, {"error": "Access denied for process owner owner-bad"})
    assert state.status_code == 200 and results.status_code == 200
