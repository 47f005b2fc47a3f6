"""House rules for the devnet tests.

* Servers bind 127.0.0.1 on port 0 (`open_devnet`'s default); nothing leaves loopback.
* Time is a `ManualClock` starting at `START_MS`: ids, timestamps and heights are
  the same on every run; only the fault tests wait in real time, for fractions of
  a second.
* Every test runs under a `TEST_TIMEOUT_S` watchdog (an async autouse fixture, so tests
  are `async def` even when they await nothing), so a hang fails instead of
  blocking the suite.
* HTTP goes through httpx with ``trust_env=False`` (no proxy from the environment).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx
import pytest
import trio

from aocu.devnet import Devnet, DevnetConfig, ManualClock, open_devnet

START_MS = 1_700_000_000_000
TEST_TIMEOUT_S = 20
MODULES = Path(__file__).resolve().parents[1] / "fixtures" / "modules"
LUA_MODULE = MODULES / "lua_process_gen2.wasm"


@pytest.fixture(autouse=True)
async def _watchdog(nursery: trio.Nursery) -> None:
    async def watchdog() -> None:
        await trio.sleep(TEST_TIMEOUT_S)
        raise AssertionError(f"test still running after {TEST_TIMEOUT_S} s")
    nursery.start_soon(watchdog)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MS)


@pytest.fixture
def net_dir(tmp_path: Path) -> Path:
    return tmp_path / "net"


@pytest.fixture
async def devnet(net_dir: Path, clock: ManualClock):
    async with open_devnet(DevnetConfig(directory=net_dir), clock=clock) as dn:
        yield dn


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        yield client


@pytest.fixture
def wasm() -> bytes:
    return LUA_MODULE.read_bytes()


async def spawn_with_messages(devnet: Devnet, wasm: bytes, n: int,
                              **spawn_tags: str) -> tuple[str, list[str]]:
    """A process with ``n`` messages, the clock moving 1 s before each."""
    module = await devnet.publish_module(wasm)
    pid = await devnet.spawn(module, tags=spawn_tags or None)
    mids = []
    for i in range(n):
        devnet.clock.advance(1000)
        mids.append(await devnet.send(pid, data=f"return {i}", tags={"Action": "Eval"}))
    return pid, mids


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sha256(raw: bytes) -> bytes:
    return hashlib.sha256(raw).digest()


def tags_of(obj: dict) -> dict[str, str]:
    return {t["name"]: t["value"] for t in obj["tags"]}
