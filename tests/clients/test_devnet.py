"""The clients against the project's devnet over real HTTP on loopback, with injected faults.

Each test builds a small network (a module, a process with messages and one assignment, a
checkpoint record), reads everything through the clients once without faults (the baseline),
then again under one fault rule, on fresh clients. The rule: the same results as the baseline,
or a clear `UpstreamError`, never different results. Real sockets mean real time, so retry
delays are shortened and the read timeout is short enough for ``hang`` faults.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

from aocu.clients import (
    ClientsConfig,
    RetryPolicy,
    UpstreamError,
    UpstreamSequenceError,
    UpstreamStatusError,
    open_gateway_client,
    open_scheduler_client,
    open_scheduler_locator,
)
from aocu.devnet import Devnet, DevnetConfig, FakeWallet, Fault, ManualClock, Tag, build_data_item, open_devnet

FAST = RetryPolicy(max_retries=5, initial_delay_s=0.01, max_delay_s=0.05, jitter=0.5)
MODULE_BYTES = bytes(range(256)) * 1200  # ~300 KiB: several chunks through the streaming path
PAGE_SIZE = 3
MESSAGES = 7


@dataclass(frozen=True, slots=True)
class Network:
    devnet: Devnet
    config: ClientsConfig
    module_id: str
    process_id: str
    message_ids: tuple[str, ...]
    assigned_id: str


def client_config(devnet: Devnet) -> ClientsConfig:
    return ClientsConfig.from_env(devnet.urls.cu_env()).replace(
        su_retry=FAST,
        gateway_retry=FAST,
        locator_retry=FAST,
        blocks_retry=FAST,
        read_timeout_s=0.5,
        connect_timeout_s=2.0,
        operation_timeout_s=20.0,
        blocks_page_size=2,
    )


async def build_network(devnet: Devnet, clock: ManualClock) -> Network:
    module_id = await devnet.publish_module(MODULE_BYTES)
    process_id = await devnet.spawn(module_id, tags={"Name": "faulty"}, data="process data")
    message_ids = []
    for i in range(MESSAGES):
        clock.advance(1000)
        message_ids.append(await devnet.send(process_id, data=f"message {i}", tags={"Action": "Eval", "N": str(i)}))
    clock.advance(1000)
    assigned = build_data_item(
        FakeWallet.named("someone"), data=b"on chain", tags=[Tag("Type", "Message")], salt=b"assigned"
    )
    assigned_id = await devnet.publish_data_item(assigned)
    await devnet.assign(process_id, assigned_id, exclude=["Data"])
    checkpoint = build_data_item(
        FakeWallet.named("cu"),
        data=b"memory",
        salt=b"ckpt",
        tags=[
            Tag("Data-Protocol", "ao"),
            Tag("Type", "Checkpoint"),
            Tag("Process", process_id),
            Tag("Nonce", "3"),
            Tag("Timestamp", "1700000003000"),
            Tag("Module", module_id),
            Tag("Block-Height", "000001500000"),
            Tag("Epoch", "0"),
            Tag("Content-Encoding", "gzip"),
        ],
    )
    await devnet.publish_data_item(checkpoint)
    clock.advance(1000)
    return Network(devnet, client_config(devnet), module_id, process_id, tuple(message_ids), assigned_id)


@pytest.fixture
async def network() -> Any:
    clock = ManualClock()
    async with open_devnet(DevnetConfig(), clock=clock) as devnet:
        yield await build_network(devnet, clock)


def project_item(item: Any) -> tuple[Any, ...]:
    """What must not change between the current and the legacy page shapes (no message target there)."""
    a, m = item.assignment, item.message
    message = None if m is None else (m.id, m.owner.address, m.data)
    return (a.epoch, a.nonce, a.timestamp, a.block_height, a.hash_chain, item.id, message)


async def snapshot(net: Network, tmp: Path, *, config: ClientsConfig | None = None) -> dict[str, Any]:
    """Everything the CU reads from the network, through fresh clients."""
    cfg = config or net.config
    pid = net.process_id
    out: dict[str, Any] = {}
    async with (
        open_scheduler_locator(cfg) as locator,
        open_scheduler_client(cfg) as su,
        open_gateway_client(cfg) as gw,
    ):
        where = await locator.locate(pid)
        out["location"] = where
        out["process"] = await su.load_process(where.url, pid)
        pages = [p async for p in su.message_pages(where.url, pid, page_size=PAGE_SIZE)]
        out["items"] = [project_item(i) for p in pages for i in p.items]
        out["full_items"] = [i for p in pages for i in p.items]
        out["metas"] = [await su.load_message_meta(where.url, pid, mid) for mid in net.message_ids]
        out["latest"] = await su.load_latest(where.url, pid)
        out["timestamp"] = await su.load_timestamp(where.url, pid)
        out["module"] = await gw.load_transaction_meta(net.module_id)
        out["assigned"] = await gw.load_transaction_meta(net.assigned_id, skip_tags=True)
        out["data"] = await gw.load_transaction_data(pid)
        out["streamed"] = await gw.consume_transaction_data(pid, join_pieces, chunk_bytes=4)
        dest = tmp / f"module-{trio.current_time()}.wasm"
        out["download_size"] = await gw.download_transaction_data(net.module_id, dest)
        out["download_ok"] = dest.read_bytes() == MODULE_BYTES
        out["checkpoints"] = await gw.query_checkpoints(pid, [FakeWallet.named("cu").address])
        out["blocks"] = await gw.load_blocks(out["process"].block_height - 4, out["process"].timestamp)
    return out


async def join_pieces(pieces: AsyncIterator[bytes]) -> bytes:
    """A `consume_transaction_data` consumer: starts over on each attempt, so a retry mid-body
    after a reset or a truncated body still gives the whole data once."""
    return b"".join([piece async for piece in pieces])


async def test_the_baseline_reads_the_whole_network(network: Network, tmp_path: Path) -> None:
    snap = await snapshot(network, tmp_path)
    assert snap["location"].url == network.devnet.urls.su
    assert snap["process"].process_id == network.process_id and snap["process"].data == "process data"
    nonces = [item[1] for item in snap["items"]]
    assert nonces == list(range(MESSAGES + 2))  # the process, the messages, the assignment
    last = snap["full_items"][-1]
    assert last.is_assignment and last.id == network.assigned_id and last.assignment.exclude == ("Data",)
    assert [m.nonce for m in snap["metas"]] == list(range(1, MESSAGES + 1))
    assert snap["latest"].nonce == MESSAGES + 1
    assert snap["module"].id == network.module_id and snap["assigned"].tags == ()
    assert snap["data"] == snap["streamed"] == b"process data"
    assert snap["download_size"] == len(MODULE_BYTES) and snap["download_ok"]
    assert [c.nonce for c in snap["checkpoints"]] == [3]
    assert [b.height for b in snap["blocks"]] == [1499996, 1499997, 1499998, 1499999, 1500000]


# Faults that fire a limited number of times: the clients' retries must absorb them.
RECOVERABLE = [
    Fault(mode="latency", endpoint="*", latency_s=0.05),
    *[
        Fault(mode="status", status=s, endpoint=e, times=2)
        for e in ("su.process", "su.messages", "su.message", "su.latest", "su.timestamp", "gw.graphql", "gw.raw")
        for s in (500, 503)
    ],
    Fault(mode="status", status=429, endpoint="*", times=3),
    Fault(mode="status", status=408, endpoint="su.messages", times=2),
    *[Fault(mode="reset", endpoint=e, times=2) for e in ("su.messages", "su.process", "gw.graphql", "gw.raw")],
    *[Fault(mode="truncate", endpoint=e, times=2) for e in ("su.messages", "su.message", "gw.graphql", "gw.raw")],
    *[Fault(mode="hang", endpoint=e, times=1) for e in ("su.messages", "gw.graphql", "gw.raw")],
    Fault(mode="reset", endpoint="*", times=4, after=3),
    Fault(mode="short_page", endpoint="su.messages"),
    Fault(mode="duplicate_page", endpoint="su.messages"),
]


def fault_id(fault: Fault) -> str:
    extra = f"-{fault.status}" if fault.mode == "status" else ""
    times = "" if fault.times is None else f"x{fault.times}"
    return f"{fault.mode}{extra}-{fault.endpoint}{times}"


def same_as(baseline: dict[str, Any], faulted: dict[str, Any]) -> None:
    for key, value in baseline.items():
        assert faulted[key] == value, key


@pytest.mark.parametrize("fault", RECOVERABLE, ids=fault_id)
async def test_recoverable_faults_change_nothing(network: Network, tmp_path: Path, fault: Fault) -> None:
    baseline = await snapshot(network, tmp_path)
    network.devnet.faults.add(fault)
    with trio.fail_after(60):
        faulted = await snapshot(network, tmp_path)
    same_as(baseline, faulted)
    assert any(rule["fired"] for rule in network.devnet.faults.rules())


async def test_a_redirect_to_the_same_su_is_followed(network: Network, tmp_path: Path) -> None:
    baseline = await snapshot(network, tmp_path)
    su = network.devnet.urls.su
    for endpoint in ("su.process", "su.messages", "su.message", "su.latest", "su.timestamp"):
        network.devnet.faults.add(Fault(mode="redirect", endpoint=endpoint, location=su, times=1))
    same_as(baseline, await snapshot(network, tmp_path))


async def test_the_redirect_check_moves_the_su_url(network: Network, tmp_path: Path) -> None:
    # The SU's GET /?process-id answers 307 to "another" SU (the same server under a new name).
    other = network.devnet.urls.su.replace("127.0.0.1", "localhost")
    network.devnet.faults.add(Fault(mode="redirect", endpoint="su.info", location=other + "/ignored", times=1))
    snap = await snapshot(network, tmp_path)
    assert snap["location"].url == other
    assert [i[1] for i in snap["items"]] == list(range(MESSAGES + 2))


@pytest.mark.parametrize("times", [1, None])
async def test_reordered_pages_fail_clearly(network: Network, tmp_path: Path, times: int | None) -> None:
    network.devnet.faults.add(Fault(mode="reorder_page", endpoint="su.messages", times=times))
    with pytest.raises(UpstreamSequenceError, match="repeats or goes back"):
        await snapshot(network, tmp_path)


async def test_persistent_server_errors_fail_clearly(network: Network, tmp_path: Path) -> None:
    network.devnet.faults.add(Fault(mode="status", status=503, endpoint="su.messages"))
    with pytest.raises(UpstreamStatusError) as info:
        await snapshot(network, tmp_path)
    assert info.value.status == 503 and info.value.attempts == 6
    assert "devnet fault: injected 503 on su.messages" in str(info.value)
    assert network.devnet.urls.su in str(info.value)


async def test_persistent_resets_fail_clearly(network: Network, tmp_path: Path) -> None:
    network.devnet.faults.add(Fault(mode="reset", endpoint="gw.graphql"))
    with pytest.raises(UpstreamError, match=r"gateway POST .*/graphql"):
        await snapshot(network, tmp_path)


async def test_client_errors_are_not_retried(network: Network, tmp_path: Path) -> None:
    rule = network.devnet.faults.add(Fault(mode="status", status=400, endpoint="su.process"))
    with pytest.raises(UpstreamStatusError, match="HTTP 400") as info:
        await snapshot(network, tmp_path)
    assert info.value.attempts == 1
    fired = {r["id"]: r["fired"] for r in network.devnet.faults.rules()}
    assert fired[rule] == 1


async def test_the_legacy_shapes_read_the_same(network: Network, tmp_path: Path) -> None:
    baseline = await snapshot(network, tmp_path)
    network.devnet.options.update({"page_format": "legacy", "message_format": "legacy"})
    legacy = await snapshot(network, tmp_path)
    assert legacy["items"] == baseline["items"]
    assert legacy["metas"] == baseline["metas"]
    assert legacy["latest"] == baseline["latest"]


async def test_unknown_ids_are_not_found(network: Network) -> None:
    from aocu.clients import NotFoundError, TransactionNotFoundError

    cfg = network.config
    async with open_scheduler_locator(cfg) as locator, open_scheduler_client(cfg) as su, open_gateway_client(cfg) as gw:
        with pytest.raises(TransactionNotFoundError, match="was not found on gateway"):
            await locator.locate("A" * 43)
        url = network.devnet.urls.su
        with pytest.raises(NotFoundError, match="Message or Process not found"):
            await su.load_message_meta(url, network.process_id, "B" * 43)
        with pytest.raises(NotFoundError):
            await su.load_process(url, "C" * 43)
        with pytest.raises(NotFoundError, match="Gateway returned no transaction"):
            await gw.load_transaction_meta("D" * 43)
        with pytest.raises(NotFoundError):
            await gw.load_transaction_data("E" * 43)


async def test_pages_from_a_timestamp_to_a_target(network: Network) -> None:
    cfg = network.config
    async with open_scheduler_client(cfg) as su:
        url = network.devnet.urls.su
        meta = await su.load_message_meta(url, network.process_id, network.message_ids[5])
        first = await su.load_message_meta(url, network.process_id, network.message_ids[1])
        pages = su.message_pages(
            url,
            network.process_id,
            from_timestamp=first.timestamp,
            to_timestamp=meta.timestamp,
            page_size=2,
            after_nonce=first.nonce,
            to_nonce=meta.nonce,
        )
        nonces = [i.assignment.nonce async for p in pages for i in p.items]
    assert nonces == [3, 4, 5, 6]
