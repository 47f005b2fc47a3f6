"""The fast envelope mapping equals the domain's reference port on real SU pages (devnet)."""

from __future__ import annotations

from pathlib import Path

from aocu import domain
from aocu.clients import ClientsConfig, open_scheduler_client
from aocu.devnet import DevnetConfig, open_devnet
from aocu.pipeline._adapt import envelope_from_scheduled, su_node

MODULES = Path(__file__).resolve().parents[2] / "fixtures" / "modules"


async def test_fast_envelopes_equal_the_reference_mapping(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        module = await devnet.publish_module((MODULES / "c_echo_gen2.wasm").read_bytes(),
                                             module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module, tags={"Name": "p"}, data="boot data")
        await devnet.send(pid, data="plain", tags={"Action": "Echo"})
        await devnet.send(pid, data="", tags={"Action": "Echo", "From-Process": "other", "Forwarded-By": "mu"})
        other = await devnet.send(pid, data="to assign", tags={"Action": "Echo", "Extra": "é ✓"})
        await devnet.assign(pid, other, exclude=["Data", "Anchor"])
        await devnet.assign(pid, other)
        ao_global = domain.AoGlobal("P", "O", (), "M", "O", ())
        async with open_scheduler_client(ClientsConfig.from_env(devnet.urls.cu_env())) as su:
            items = [item async for page in su.message_pages(devnet.urls.su, pid) for item in page.items]
    assert len(items) == 6 and sum(item.is_assignment for item in items) == 2
    for item in items:
        assert envelope_from_scheduled(item, ao_global) == domain.envelope_from_su_node(su_node(item), ao_global)
