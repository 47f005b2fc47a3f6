"""A devnet directory survives a restart: processes, modules, messages, chain, blobs."""

from __future__ import annotations

from aocu.devnet import DevnetConfig, open_devnet
from aocu.devnet._store import BLOB_DIR, INLINE_DATA_MAX_BYTES

from .conftest import START_MS, b64d, b64e, sha256, spawn_with_messages, tags_of


async def test_restart_keeps_everything_and_the_schedule_continues(net_dir, clock, http, wasm):
    config = DevnetConfig(directory=net_dir)
    big = bytes(range(256)) * (INLINE_DATA_MAX_BYTES // 256 + 10)          # goes to blobs/
    async with open_devnet(config, clock=clock) as dn:
        pid, mids = await spawn_with_messages(dn, wasm, 3)
        blob_module = await dn.publish_module(big, tags={"Name": "big"})
        before = (await http.get(f"{dn.urls.su}/{pid}", params={"process-id": pid})).json()
        process_before = (await http.get(f"{dn.urls.su}/processes/{pid}")).json()
        address = dn.su_address
    assert any((net_dir / BLOB_DIR).rglob(blob_module))

    clock.advance(10 * 120_000)
    # a restarted devnet keeps the chain it started with, whatever the new config says
    async with open_devnet(DevnetConfig(directory=net_dir, base_height=7), clock=clock) as dn:
        assert dn.su_address == address
        after = (await http.get(f"{dn.urls.su}/{pid}", params={"process-id": pid})).json()
        assert after == before
        assert (await http.get(f"{dn.urls.su}/processes/{pid}")).json() == process_before
        assert (await http.get(f"{dn.urls.gateway}/raw/{blob_module}")).content == big
        module = tags_of(process_before)["Module"]
        assert (await http.get(f"{dn.urls.gateway}/raw/{module}")).content == wasm
        assert dn.height() == 1_500_010

        new = await dn.send(pid, data="after restart")
        node = (await http.get(f"{dn.urls.su}/{new}", params={"process-id": pid})).json()
        tags = tags_of(node["assignment"])
        last = before["edges"][-1]["node"]["assignment"]
        assert tags["Nonce"] == "4" and tags["Block-Height"] == "000001500010"
        assert tags["Hash-Chain"] == b64e(sha256(b64d(last["id"]) + b64d(tags_of(last)["Hash-Chain"])))
        assert int(tags["Timestamp"]) == START_MS + 3000 + 10 * 120_000

        # the Scheduler-Location record follows the SU's new URL (HEIGHT_DESC, first: 1)
        query = """query($o: String!) { transactions(owners: [$o], tags: [{name: "Type",
                   values: ["Scheduler-Location"]}], sort: HEIGHT_DESC, first: 1) { edges { node { tags {
                   name value } } } } }"""
        r = await http.post(dn.urls.graphql, json={"query": query, "variables": {"o": address}})
        assert tags_of(r.json()["data"]["transactions"]["edges"][0]["node"])["Url"] == dn.urls.su
        assert mids[0] in {e["node"]["message"]["id"] for e in after["edges"]}


async def test_in_memory_devnet_needs_no_directory(clock, http, wasm):
    async with open_devnet(DevnetConfig(), clock=clock) as dn:
        big = b"\x00asm" + b"\x01" * (INLINE_DATA_MAX_BYTES + 1)
        module = await dn.publish_module(big)
        assert (await http.get(f"{dn.urls.gateway}/raw/{module}")).content == big
        assert dn.store.directory is None
