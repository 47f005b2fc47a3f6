"""``aocu devnet``: a local ao network (an SU, a gateway, an uploader) on loopback.

For tests, demos and developers: nothing needs the internet. Wire formats follow
the real SU (permaweb/ao ``servers/su``) and Arweave gateways (arweave.net /
ar.io GraphQL), so the CU's upstream clients can be tested against it. State lives
in a directory (one apsw SQLite file plus large blobs) and survives restarts.

Public API::

    async with open_devnet(DevnetConfig(directory=path)) as devnet:
        devnet.urls.su, devnet.urls.gateway, devnet.urls.cu_env()
        module = await devnet.publish_module(wasm_bytes, module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module, tags={"Cron-Interval": "10-seconds"})
        mid = await devnet.send(pid, data="return 1", tags={"Action": "Eval"})
        devnet.faults.add(Fault(mode="status", status=503, endpoint="su.messages", times=2))

`serve_devnet` is the nursery-start form (``await nursery.start(serve_devnet, config)``).
Data items are `aocu.arweave`'s; the devnet signs its own with fake keys (`FakeWallet`,
which only it accepts). The bundler route (``POST /tx/<token>``) verifies real Arweave
signatures and refuses bad ones with 400; the SU's ``POST /`` checks none. The hash
chain: `hash_chain_seed` for nonce 0, `next_hash_chain` after.
"""

from ._ans104 import (
    DataItem,
    DataItemError,
    Tag,
    build_data_item,
    parse_data_item,
    serialize_data_item,
)
from ._clock import Clock, ManualClock, SystemClock
from ._config import DevnetConfig, DevnetUrls, cu_state_env
from ._faults import ENDPOINTS, MODES, Fault, FaultError, FaultTable
from ._ids import FakeWallet, fake_signature_valid, hash_chain_seed, next_hash_chain
from ._network import Devnet, SuError, SuOptions
from ._serve import open_devnet, serve_devnet

__all__ = [
    "ENDPOINTS",
    "MODES",
    "Clock",
    "DataItem",
    "DataItemError",
    "Devnet",
    "DevnetConfig",
    "DevnetUrls",
    "FakeWallet",
    "Fault",
    "FaultError",
    "FaultTable",
    "ManualClock",
    "SuError",
    "SuOptions",
    "SystemClock",
    "Tag",
    "build_data_item",
    "cu_state_env",
    "fake_signature_valid",
    "hash_chain_seed",
    "next_hash_chain",
    "open_devnet",
    "parse_data_item",
    "serialize_data_item",
    "serve_devnet",
]
