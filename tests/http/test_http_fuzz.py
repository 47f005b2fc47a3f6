"""Hypothesis fuzz of every route's inputs: malformed input is never a 5xx and the server lives on.

One server for the module, in a thread of its own (`aocu.testing.serve_in_thread`), driven by a
synchronous ``httpx.Client`` so Hypothesis can shrink failing requests. The fake port knows no
process, so evaluating routes answer the reference's 500 for an unknown process (``TransactionNotFound:
...``) unless validation answers first; what matters is that no input makes the HTTP layer fail
(any other 5xx) or die.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aocu import jsjson
from aocu.config import HttpConfig, RateLimitConfig
from aocu.testing import open_fake_api, serve_in_thread

FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
segment = st.one_of(text.filter(bool), st.sampled_from(["x", "%", "..", "a b", "é", "0", "-1", "null"]))
numberish = st.one_of(text, st.sampled_from(["", "0", "-1", "1.5", "1e400", "0x10", "Infinity", "NaN", " 7 ",
                                             "9007199254740982", "ASC", "DESC"]),
                      st.integers().map(str), st.floats().map(str))
header_value = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30).map(str.strip)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.one_of(text, st.sampled_from(["Id", "Owner", "Tags", "Timestamp", "Block-Height", "Data",
                                         "name", "value", "__proto__", "constructor", "prototype"])),
        children, max_size=5),
    max_leaves=15,
)


@st.composite
def queries(draw: st.DrawFn, names: list[str]) -> list[tuple[str, str]]:
    """Some of ``names`` (sometimes repeated, sometimes odd ones), with number-like or random values."""
    chosen = draw(st.lists(st.sampled_from([*names, "junk"]), max_size=5))
    return [(name, draw(numberish)) for name in chosen]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    config = HttpConfig(rate_limit=RateLimitConfig(max_requests=0), busy_threshold_ms=2000,
                        max_body_bytes=64 * 1024)
    with serve_in_thread(open_fake_api, config) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as http:
        yield http


def check(response: httpx.Response) -> None:
    unknown_process = response.status_code == 500 and response.text.startswith('{"error":"TransactionNotFound: ')
    assert response.status_code < 500 or unknown_process, (
        response.request.method, response.request.url, response.text)
    if response.request.method != "HEAD" and response.headers.get("content-type", "").startswith("application/json"):
        jsjson.parse(response.text)      # every JSON answer is well formed


@FUZZ
@given(route=st.sampled_from(["result", "results", "cron", "state"]), pid=segment,
       query=queries(["process-id", "no-busy", "from", "to", "sort", "limit"]))
def test_get_routes_never_fail(client: httpx.Client, route: str, pid: str, query: list[tuple[str, str]]) -> None:
    check(client.get(f"/{route}/{quote(pid, safe='')}", params=query))


@FUZZ
@given(query=queries(["process-id", "to"]), max_age=st.none() | header_value,
       forwarded=st.none() | header_value,
       body=st.one_of(json_values.map(lambda v: jsjson.stringify(v).encode()), st.binary(max_size=200)),
       content_type=st.sampled_from([None, "application/json", "application/json; charset=utf-8",
                                     "text/plain", "application/octet-stream", "APPLICATION/JSON", ""]))
def test_dry_run_never_fails(client: httpx.Client, query: list[tuple[str, str]], max_age: str | None,
                             forwarded: str | None, body: bytes, content_type: str | None) -> None:
    headers: dict[str, Any] = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if max_age is not None:
        headers["X-Max-Age"] = max_age
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    check(client.post("/dry-run", params=query, content=body, headers=headers))


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
       path=st.lists(segment, max_size=3))
def test_any_method_on_any_path_never_fails(client: httpx.Client, method: str, path: list[str]) -> None:
    check(client.request(method, "/" + "/".join(quote(p, safe="") for p in path)))


def test_the_server_is_alive_after_the_fuzz(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200 and response.json()["address"] == "fake-cu-address"
