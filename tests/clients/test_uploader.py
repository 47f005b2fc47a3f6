"""The checkpoint uploader client (aocu/clients/_uploader.py) on a MockTransport bundler."""

from __future__ import annotations

import httpx
import pytest
import trio

from aocu.clients import (
    ClientsConfig,
    HttpUploaderClient,
    UpstreamConnectionError,
    UpstreamDataError,
    UpstreamStatusError,
)

from .conftest import FakeUpstream

UP = "http://up.test"


def make(upstream: FakeUpstream, config: ClientsConfig) -> HttpUploaderClient:
    return HttpUploaderClient(upstream.client(), config, UP)


async def test_posts_the_raw_item_to_tx_arweave_and_reads_the_receipt(config, upstream) -> None:
    upstream.route("POST", "/tx/arweave", httpx.Response(200, json={"id": "item-1", "timestamp": 1}))
    assert await make(upstream, config).upload_data_item(b"\x01\x00raw", item_id="item-1") == "item-1"
    [request] = upstream.calls("POST", "/tx/arweave")
    assert request.content == b"\x01\x00raw"
    assert request.headers["content-type"] == "application/octet-stream"
    assert request.headers["accept"] == "application/json"


async def test_transient_failures_are_retried(config, upstream, autojump_clock: trio.abc.Clock) -> None:
    upstream.route("POST", "/tx/arweave", httpx.ConnectError("refused"), httpx.Response(503, text="busy"),
                   httpx.Response(200, json={"id": "item-1"}))
    assert await make(upstream, config).upload_data_item(b"raw") == "item-1"
    assert len(upstream.calls()) == 3


async def test_errors_are_typed(config, upstream, autojump_clock: trio.abc.Clock) -> None:
    upstream.route("POST", "/tx/arweave", httpx.Response(400, json={"error": "invalid data item"}))
    with pytest.raises(UpstreamStatusError, match="400"):
        await make(upstream, config).upload_data_item(b"raw")
    assert len(upstream.calls()) == 1                                  # a 400 is not retried
    upstream.route("POST", "/tx/arweave", httpx.Response(200, json={"ok": True}))
    with pytest.raises(UpstreamDataError, match="receipt"):
        await make(upstream, config).upload_data_item(b"raw")
    upstream.route("POST", "/tx/arweave", httpx.Response(200, json={"id": "someone-else"}))
    with pytest.raises(UpstreamDataError, match="not the item"):
        await make(upstream, config).upload_data_item(b"raw", item_id="item-1")
    upstream.route("POST", "/tx/arweave", httpx.ConnectError("refused"))
    with pytest.raises(UpstreamConnectionError):
        await make(upstream, config).upload_data_item(b"raw")
