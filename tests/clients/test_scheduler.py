"""The SU client (aocu/clients/_scheduler.py) against a MockTransport SU.

Mirrors ``servers/cu/src/effects/ao-su.test.js`` (reference-cu.md §7.15) for the parts that are
the client's (request URLs, response mapping, retries); ``mapNode``'s envelope and the hash chain
belong to the pipeline. Adds both response formats, paging and the sequence checks.
"""

from __future__ import annotations

import json
import random

import httpx
import pytest

from aocu.clients import (
    HttpSchedulerClient,
    MessagePage,
    NotFoundError,
    Owner,
    Tag,
    UpstreamDataError,
    UpstreamSequenceError,
    UpstreamStatusError,
)

from .conftest import PID, SU, FakeUpstream, edge, json_response, legacy_edge, page


def make(upstream: FakeUpstream, config) -> HttpSchedulerClient:  # type: ignore[no-untyped-def]
    return HttpSchedulerClient(upstream.client(), config, rng=random.Random(0))


async def collect(pages) -> list[MessagePage]:  # type: ignore[no-untyped-def]
    return [p async for p in pages]


# --- GET /processes/:pid -------------------------------------------------------------------


async def test_load_process_maps_the_process_record(config, upstream) -> None:
    # ao-su.test.js "load the process metadata": the requested id wins over the body's.
    upstream.route(
        "GET",
        "/processes/pid-1",
        json_response(
            {
                "process_id": "pid-2",
                "block": "000000001",
                "owner": {"address": "owner-address-1", "key": "owner-key-1"},
                "tags": [{"name": "Foo", "value": "Bar"}],
                "timestamp": 123456,
                "data": "1984",
                "anchor": None,
                "signature": "signature-1",
            }
        ),
    )
    process = await make(upstream, config).load_process(SU, "pid-1")
    assert process.process_id == "pid-1"
    assert process.owner == Owner("owner-address-1", "owner-key-1")
    assert process.tags == (Tag("Foo", "Bar"),)
    assert (process.block_height, process.timestamp) == (1, 123456)
    assert (process.data, process.anchor, process.signature) == ("1984", None, "signature-1")
    assert str(upstream.requests[0].url) == f"{SU}/processes/pid-1"


@pytest.mark.parametrize(
    ("patch", "where"),
    [
        ({"timestamp": "123456"}, "timestamp: expected a number"),
        ({"timestamp": 0}, "timestamp: expected a timestamp >= 1"),
        ({"block": "abc"}, "block: expected a block height"),
        ({"owner": {"address": "a"}}, "owner.key: expected a string"),
        ({"tags": [{"name": "Foo"}]}, r"tags\[0\].value: expected a string"),
        ({"tags": None}, "tags: expected a list"),
    ],
)
async def test_load_process_rejects_malformed_records(config, upstream, patch, where) -> None:
    body = {"block": "1", "owner": {"address": "a", "key": "k"}, "tags": [], "timestamp": 1, **patch}
    upstream.route("GET", f"/processes/{PID}", json_response(body))
    with pytest.raises(UpstreamDataError, match=f"malformed process: {where}"):
        await make(upstream, config).load_process(SU, PID)


async def test_su_not_found_answer_is_not_found_and_not_retried(config, upstream) -> None:
    upstream.route("GET", f"/processes/{PID}", json_response({"error": "Process not found"}, 400))
    with pytest.raises(NotFoundError) as info:
        await make(upstream, config).load_process(SU, PID)
    assert info.value.reference_text == '400: {"error": "Process not found"}'
    assert len(upstream.requests) == 1


@pytest.mark.parametrize(
    "error",
    ["Message or Process not found", 'NotFound("Process not found")', "Message not found", "Transaction not found"],
)
async def test_su_not_found_texts(config, upstream, error: str) -> None:
    upstream.route("GET", f"/processes/{PID}", httpx.Response(400, text=f'{{"error":"{error}"}}'))
    with pytest.raises(NotFoundError):
        await make(upstream, config).load_process(SU, PID)


async def test_other_su_errors_are_status_errors(config, upstream) -> None:
    body = json.dumps({"error": "DatabaseError(\"Column family 'process' not found\")"})
    upstream.route("GET", f"/processes/{PID}", httpx.Response(400, text=body))
    with pytest.raises(UpstreamStatusError) as info:
        await make(upstream, config).load_process(SU, PID)
    assert not isinstance(info.value, NotFoundError)


async def test_su_redirects_are_followed(config, upstream) -> None:
    # An SU in router mode answers 307 to the real SU (servers/su/src/main.rs); fetch follows.
    upstream.route(
        "GET",
        f"/processes/{PID}",
        httpx.Response(307, headers={"location": f"http://su2.test/processes/{PID}"}),
    )
    body = {"block": "1", "owner": {"address": "a", "key": "k"}, "tags": [], "timestamp": 5}
    upstream.routes[("GET", f"/processes/{PID}")].append(json_response(body))
    process = await make(upstream, config).load_process(SU, PID)
    assert process.timestamp == 5
    assert [r.url.host for r in upstream.requests] == ["su.test", "su2.test"]


# --- GET /:msg?process-id, GET /:pid/latest -------------------------------------------------

META = {
    "message": {},
    "assignment": {
        "tags": [
            {"name": "Process", "value": "process-123"},
            {"name": "Nonce", "value": "3"},
            {"name": "Timestamp", "value": "12345"},
        ]
    },
}


async def test_load_message_meta_reads_the_assignment(config, upstream) -> None:
    upstream.route("GET", "/message-tx-123", json_response(META))
    meta = await make(upstream, config).load_message_meta("https://foo.bar", "process-123", "message-tx-123")
    assert (meta.process_id, meta.timestamp, meta.nonce) == ("process-123", 12345, 3)
    assert str(upstream.requests[0].url) == "https://foo.bar/message-tx-123?process-id=process-123"
    assert upstream.requests[0].method == "GET"


async def test_load_message_meta_accepts_the_legacy_shape(config, upstream) -> None:
    upstream.route("GET", "/m", json_response({"process_id": "p", "timestamp": 99, "nonce": 0}))
    meta = await make(upstream, config).load_message_meta(SU, "p", "m")
    assert (meta.process_id, meta.timestamp, meta.nonce) == ("p", 99, 0)


async def test_load_message_meta_retries_after_a_thrown_error_and_a_408(config, upstream, autojump_clock) -> None:
    upstream.route("GET", "/message-tx-123", httpx.ConnectError("woops"), json_response({}, 408), json_response(META))
    meta = await make(upstream, config).load_message_meta(SU, "process-123", "message-tx-123")
    assert meta.nonce == 3 and len(upstream.requests) == 3


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (
            {"assignment": {"tags": [{"name": "Nonce", "value": "3"}, {"name": "Timestamp", "value": "1"}]}},
            "assignment.tags.Process: expected a string",
        ),
        (
            {"assignment": {"tags": [{"name": "Process", "value": "p"}, {"name": "Timestamp", "value": "1"}]}},
            "assignment.tags.Nonce: expected a nonce",
        ),
        (
            {"assignment": {"tags": [{"name": "Process", "value": "p"}, {"name": "Nonce", "value": "x"}]}},
            "assignment.tags.Nonce: expected a nonce",
        ),
        (
            {"assignment": {"tags": [{"name": "Process", "value": "p"}, {"name": "Nonce", "value": "1"}]}},
            "assignment.tags.Timestamp: expected a timestamp",
        ),
        ({"assignment": None}, "assignment.tags.Process"),
        ({"process_id": "p", "timestamp": "1", "nonce": 1}, "timestamp: expected a number"),
        ([], "<body>: expected an object"),
    ],
)
async def test_load_message_meta_rejects_incomplete_answers(config, upstream, body, where) -> None:
    upstream.route("GET", "/m", json_response(body))
    with pytest.raises(UpstreamDataError, match=where):
        await make(upstream, config).load_message_meta(SU, "p", "m")


async def test_load_latest_gives_the_latest_nonce(config, upstream) -> None:
    upstream.route(
        "GET",
        "/process-123/latest",
        json_response(
            {
                "message": {},
                "assignment": {
                    "tags": [
                        {"name": "Process", "value": "process-123"},
                        {"name": "Nonce", "value": "500"},
                        {"name": "Timestamp", "value": "1700000000000"},
                    ]
                },
            }
        ),
    )
    meta = await make(upstream, config).load_latest(SU, "process-123")
    assert (meta.process_id, meta.nonce) == ("process-123", 500)
    assert str(upstream.requests[0].url) == f"{SU}/process-123/latest"


async def test_load_latest_accepts_legacy_and_needs_no_timestamp(config, upstream) -> None:
    upstream.route("GET", "/p/latest", json_response({"process_id": "p", "nonce": 7}))
    meta = await make(upstream, config).load_latest(SU, "p")
    assert (meta.timestamp, meta.nonce) == (None, 7)


# --- GET /timestamp -----------------------------------------------------------------------


async def test_load_timestamp_parses_the_strings(config, upstream) -> None:
    upstream.route("GET", "/timestamp", json_response({"block_height": "0000001", "timestamp": "123456"}))
    ts = await make(upstream, config).load_timestamp(SU, PID)
    assert (ts.timestamp, ts.block_height) == (123456, 1)
    assert str(upstream.requests[0].url) == f"{SU}/timestamp?process-id={PID}"


async def test_load_timestamp_rejects_nan(config, upstream) -> None:
    upstream.route("GET", "/timestamp", json_response({"block_height": "1", "timestamp": "soon"}))
    with pytest.raises(UpstreamDataError, match="timestamp: expected an integer, got 'soon'"):
        await make(upstream, config).load_timestamp(SU, PID)


# --- GET /:pid?from&to&limit ----------------------------------------------------------------


async def test_message_pages_follow_cursors_with_the_reference_parameters(config, upstream) -> None:
    upstream.route(
        "GET",
        f"/{PID}",
        json_response(page([edge(0), edge(1)], has_next=True)),
        json_response(page([edge(2)], has_next=False)),
    )
    client = make(upstream, config)
    pages = await collect(client.message_pages(SU, PID, to_timestamp=1700000002000))
    assert [[i.assignment.nonce for i in p.items] for p in pages] == [[0, 1], [2]]
    assert [p.has_next_page for p in pages] == [True, False]
    assert [p.from_cursor for p in pages] == [None, "1700000001000"]
    urls = [str(r.url) for r in upstream.requests]
    assert urls == [
        f"{SU}/{PID}?process-id={PID}&to=1700000002000&limit=1000",
        f"{SU}/{PID}?process-id={PID}&from=1700000001000&to=1700000002000&limit=1000",
    ]


async def test_message_pages_start_from_a_timestamp_with_a_page_size(config, upstream) -> None:
    upstream.route("GET", f"/{PID}", json_response(page([edge(5)])))
    pages = await collect(
        make(upstream, config).message_pages(SU, PID, from_timestamp=1700000004000, page_size=17, after_nonce=4)
    )
    assert pages[0].items[0].assignment.nonce == 5
    assert str(upstream.requests[0].url) == f"{SU}/{PID}?process-id={PID}&from=1700000004000&limit=17"


async def test_page_items_map_a_scheduled_message(config, upstream) -> None:
    # ao-su.test.js "should map a scheduled message": Block-Height '000000000123' → 123, Nonce '23'.
    e = edge(23, 1700000000000, height=123, hash_chain="hash-123")
    upstream.route("GET", f"/{PID}", json_response(page([e])))
    item = (await collect(make(upstream, config).message_pages(SU, PID)))[0].items[0]
    assert not item.is_assignment and item.id == "message-23"
    assert item.cursor == "1700000000000"
    a = item.assignment
    assert (a.id, a.process_id, a.epoch, a.nonce, a.timestamp, a.block_height, a.hash_chain) == (
        "assignment-23",
        PID,
        0,
        23,
        1700000000000,
        123,
        "hash-123",
    )
    assert a.owner == Owner("su-address", "su-key") and a.message_id is None and a.exclude == ()
    m = item.message
    assert m is not None
    assert (m.id, m.owner, m.data, m.signature, m.anchor, m.target) == (
        "message-23",
        Owner("owner-address", "owner-key"),
        "data",
        "sig-message-23",
        None,
        PID,
    )


async def test_page_items_map_an_assignment(config, upstream) -> None:
    e = edge(23, assigned="assigned-123", exclude=["Data", "Tags"])
    upstream.route("GET", f"/{PID}", json_response(page([e])))
    item = (await collect(make(upstream, config).message_pages(SU, PID)))[0].items[0]
    assert item.is_assignment and item.message is None
    assert item.id == item.assignment.message_id == "assigned-123"
    assert item.assignment.exclude == ("Data", "Tags")


async def test_a_message_without_an_id_counts_as_an_assignment(config, upstream) -> None:
    # isAssignment is `message.id` being nil in mapNode, not `message` being null.
    e = edge(1, assigned="assigned-1")
    e["node"]["message"] = {"id": None, "tags": []}
    upstream.route("GET", f"/{PID}", json_response(page([e])))
    item = (await collect(make(upstream, config).message_pages(SU, PID)))[0].items[0]
    assert item.is_assignment


async def test_pages_in_the_legacy_shape_are_accepted(config, upstream) -> None:
    upstream.route("GET", f"/{PID}", json_response(page([legacy_edge(0), legacy_edge(1)])))
    items = (await collect(make(upstream, config).message_pages(SU, PID)))[0].items
    assert [i.assignment.nonce for i in items] == [0, 1]
    first = items[0]
    assert first.message is not None
    assert first.message.owner == Owner("owner-address", "owner-key")
    assert (first.message.data, first.message.target, first.message.tags) == (
        "legacy-data",
        None,  # the legacy node has no message target; the assignment's process id stands in
        (Tag("Foo", "Bar"),),
    )
    assert (first.assignment.id, first.assignment.block_height, first.assignment.hash_chain) == (
        None,
        1500000,
        "hash-chain",
    )


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda e: e["node"]["assignment"]["tags"].pop(2), r"tag 'Nonce': expected an integer, got None"),
        (
            lambda e: e["node"]["assignment"]["tags"].__setitem__(1, {"name": "Epoch", "value": "x"}),
            "tag 'Epoch': expected an integer, got 'x'",
        ),
        (lambda e: e["node"]["message"].pop("owner"), r"edges\[0\].node.message.owner: expected an object"),
        (lambda e: e["node"]["message"].__setitem__("data", 5), "message.data: expected a string"),
        (
            lambda e: e["node"].pop("assignment") and e["node"].pop("message"),
            "node.block: expected a block height",
        ),
        (lambda e: e["node"]["assignment"]["tags"].pop(0), "a scheduled message needs a 'Process' tag"),
        (lambda e: e["node"].__setitem__("message", None), "needs a 'Message' tag"),
        (lambda e: e.__setitem__("node", []), r"edges\[0\].node: expected an object"),
    ],
)
async def test_malformed_page_items_raise_data_errors(config, upstream, mutate, where) -> None:
    e = edge(0)
    mutate(e)
    upstream.route("GET", f"/{PID}", json_response(page([e])))
    with pytest.raises(UpstreamDataError, match=where):
        await collect(make(upstream, config).message_pages(SU, PID))


@pytest.mark.parametrize(
    "body",
    [
        {"edges": []},
        {"page_info": {"has_next_page": "yes"}, "edges": []},
        {"page_info": {"has_next_page": False}},
    ],
)
async def test_malformed_pages_raise_data_errors(config, upstream, body) -> None:
    upstream.route("GET", f"/{PID}", json_response(body))
    with pytest.raises(UpstreamDataError, match="malformed SU page"):
        await collect(make(upstream, config).message_pages(SU, PID))


async def test_a_failed_page_is_retried_when_transient(config, upstream, autojump_clock) -> None:
    upstream.route(
        "GET",
        f"/{PID}",
        json_response(page([edge(0)], True)),
        json_response({}, 502),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        json_response(page([edge(1)])),
    )
    pages = await collect(make(upstream, config).message_pages(SU, PID))
    assert [i.assignment.nonce for p in pages for i in p.items] == [0, 1]
    assert len(upstream.requests) == 4


# --- sequence checks ----------------------------------------------------------------------


async def assert_sequence_error(config, upstream, *pages_, match: str, **kw) -> list[int]:  # type: ignore[no-untyped-def]
    upstream.route("GET", f"/{PID}", *[json_response(p) for p in pages_])
    seen: list[int] = []
    with pytest.raises(UpstreamSequenceError, match=match):
        async for p in make(upstream, config).message_pages(SU, PID, **kw):
            seen += [i.assignment.nonce for i in p.items]
    return seen


async def test_a_repeated_page_is_refused(config, upstream) -> None:
    seen = await assert_sequence_error(
        config,
        upstream,
        page([edge(0), edge(1)], True),
        page([edge(0), edge(1)], True),
        match=r"item 0 \(nonce 0, .*\) repeats or goes back",
    )
    assert seen == [0, 1]


async def test_an_inclusive_from_duplicate_is_dropped(config, upstream) -> None:
    # `from` treated as inclusive: the previous page's last edge comes again, unchanged.
    upstream.route(
        "GET",
        f"/{PID}",
        json_response(page([edge(0), edge(1)], True)),
        json_response(page([edge(1), edge(2)])),
    )
    pages = await collect(make(upstream, config).message_pages(SU, PID))
    assert [[i.assignment.nonce for i in p.items] for p in pages] == [[0, 1], [2]]


async def test_a_doubled_first_edge_is_dropped(config, upstream) -> None:
    upstream.route("GET", f"/{PID}", json_response(page([edge(0), edge(0), edge(1)])))
    pages = await collect(make(upstream, config).message_pages(SU, PID))
    assert [i.assignment.nonce for i in pages[0].items] == [0, 1]


async def test_a_repeated_nonce_that_differs_is_refused(config, upstream) -> None:
    other = edge(1)
    other["node"]["message"]["id"] = "another-message"
    await assert_sequence_error(
        config, upstream, page([edge(0), edge(1)], True), page([other, edge(2)]), match="repeats or goes back"
    )


async def test_a_reordered_page_is_refused(config, upstream) -> None:
    await assert_sequence_error(config, upstream, page([edge(1), edge(0)]), match="item 1 .* repeats or goes back")


async def test_a_nonce_gap_is_refused(config, upstream) -> None:
    seen = await assert_sequence_error(
        config,
        upstream,
        page([edge(0), edge(1)], True),
        page([edge(3)]),
        match="item 0 .* leaves a nonce gap after nonce 1",
    )
    assert seen == [0, 1]


async def test_a_gap_at_a_same_millisecond_boundary_explains_itself(config, upstream) -> None:
    await assert_sequence_error(
        config,
        upstream,
        page([edge(0, 5000), edge(1, 6000)], True),
        page([edge(3, 6000)]),
        match="share a timestamp",
    )


async def test_nonce_gaps_can_be_allowed(config, upstream) -> None:
    upstream.route("GET", f"/{PID}", json_response(page([edge(0), edge(2)])))
    client = make(upstream, config.replace(require_contiguous_nonces=False))
    assert [i.assignment.nonce for p in await collect(client.message_pages(SU, PID)) for i in p.items] == [
        0,
        2,
    ]


async def test_the_first_item_must_follow_the_callers_nonce(config, upstream) -> None:
    await assert_sequence_error(config, upstream, page([edge(5)]), match="is not after nonce 5", after_nonce=5)


async def test_items_outside_from_and_to_are_refused(config, upstream) -> None:
    await assert_sequence_error(
        config, upstream, page([edge(3, 1000)]), match="is not after from=1000", from_timestamp=1000
    )
    await assert_sequence_error(
        config, FakeUpstream(), page([edge(3, 2001)]), match="is after to=2000", to_timestamp=2000
    )


async def test_timestamps_must_not_go_back(config, upstream) -> None:
    await assert_sequence_error(config, upstream, page([edge(0, 2000), edge(1, 1999)]), match="earlier than")


async def test_an_empty_page_that_claims_more_is_refused(config, upstream) -> None:
    await assert_sequence_error(config, upstream, page([], True), match="page is empty")


async def test_a_cursor_that_does_not_advance_is_refused(config, upstream) -> None:
    stuck = edge(1)
    stuck["cursor"] = "1700000000000"
    await assert_sequence_error(
        config, upstream, page([edge(0)], True), page([stuck], True), match="equals this page's `from`"
    )


async def test_a_stream_that_ends_before_the_target_nonce_is_refused(config, upstream) -> None:
    # A truncated last page (edges dropped, has_next_page false) is only visible against the
    # nonce the caller is heading for.
    await assert_sequence_error(
        config, upstream, page([edge(0), edge(1)]), match="ended at nonce 1, before nonce 3", to_nonce=3
    )


async def test_a_sequence_error_ends_the_iteration(config, upstream) -> None:
    upstream.route("GET", f"/{PID}", json_response(page([edge(1), edge(0)])))
    pages = make(upstream, config).message_pages(SU, PID)
    with pytest.raises(UpstreamSequenceError):
        await pages.__anext__()
    with pytest.raises(StopAsyncIteration):
        await pages.__anext__()
    assert len(upstream.requests) == 1


# --- GET /?process-id (redirect check) ------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_check_redirect_takes_the_locations_origin(config, upstream, status: int) -> None:
    upstream.route("GET", "/", httpx.Response(status, headers={"location": "https://su-2.test:8443/x/y?process-id=p"}))
    assert await make(upstream, config).check_redirect(SU, "p") == "https://su-2.test:8443"
    assert upstream.requests[0].url.raw_path == b"/?process-id=p"
    assert len(upstream.requests) == 1  # not followed


@pytest.mark.parametrize("status", [200, 400, 404, 500])
async def test_check_redirect_keeps_the_url_otherwise(config, upstream, status: int) -> None:
    upstream.route("GET", "/", json_response({}, status))
    assert await make(upstream, config).check_redirect(SU, "p") == SU


async def test_check_redirect_resolves_a_relative_location(config, upstream) -> None:
    upstream.route("GET", "/", httpx.Response(307, headers={"location": "/elsewhere"}))
    assert await make(upstream, config).check_redirect(SU, "p") == SU
