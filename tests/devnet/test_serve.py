"""Serving: the nursery-start form, prompt shutdown, the public surface."""

from __future__ import annotations

import time

import httpx
import trio

import aocu.devnet
from aocu.devnet import Devnet, DevnetConfig, serve_devnet


async def test_serve_devnet_starts_in_a_nursery_and_stops(clock):
    async with trio.open_nursery() as nursery:
        devnet = await nursery.start(serve_devnet, DevnetConfig())
        assert isinstance(devnet, Devnet)
        assert devnet.urls.su.startswith("http://127.0.0.1:") and devnet.urls.gateway != devnet.urls.su
        env = devnet.urls.cu_env()
        assert env["GRAPHQL_URL"] == devnet.urls.gateway + "/graphql" == env["CHECKPOINT_GRAPHQL_URL"]
        assert env["ARWEAVE_URL"] == env["UPLOADER_URL"] == env["GATEWAY_URL"] == devnet.urls.gateway
        devnet.stop()


async def test_shutdown_is_prompt_with_idle_keep_alive_connections(clock):
    # regression: quart-trio cancelled hypercorn's keep-alive watcher (see _faults._shield_last_body),
    # so every shutdown waited graceful_timeout_s for idle connections
    async with httpx.AsyncClient(trust_env=False) as client:
        async with trio.open_nursery() as nursery:
            devnet = await nursery.start(serve_devnet, DevnetConfig(graceful_timeout_s=5))
            await client.get(devnet.urls.su + "/")
            await client.get(devnet.urls.gateway + "/_devnet/info")
            started = time.monotonic()
            devnet.stop()
        assert time.monotonic() - started < 1


async def test_public_names_are_sorted_and_exist():
    names = aocu.devnet.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    assert all(hasattr(aocu.devnet, n) for n in names)


async def test_admin_clock_moves_a_manual_clock(devnet, http):
    clock_url = devnet.urls.gateway + "/_devnet/clock"
    r = await http.post(clock_url, json={"advance": 240_000})
    assert r.json() == {"now_ms": devnet.now_ms(), "height": 1_500_002}
    assert (await http.post(clock_url, json={"set": "soon"})).status_code == 400
    info = (await http.get(devnet.urls.su + "/_devnet/info")).json()
    assert info["su"] == devnet.urls.su and info["height"] == 1_500_002
    assert info["env"] == devnet.urls.cu_env()
