"""A CU for the benchmarks: the real clients, stores and pipeline, without the HTTP layer.

Shared by `bench_pipeline.py` and `bench_assignments.py` (imported from this directory: run the
tools as ``python tools/<name>.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from aocu.clients import ClientsConfig, open_gateway_client, open_scheduler_client, open_scheduler_locator
from aocu.pipeline import ComputeUnit, EventBus, PipelineOptions, ProcessMemoryCache, ProcessRunner
from aocu.stores import StoreOptions, open_stores


@asynccontextmanager
async def open_bench_cu(cu_env: Mapping[str, str], state: Path) -> AsyncIterator[ComputeUnit]:
    """A fresh CU on stores under ``state``, talking to the upstreams ``cu_env`` names (a devnet's)."""
    config = ClientsConfig.from_env(dict(cu_env))
    options = StoreOptions(drain_dir=state / "drain", checkpoint_dir=state / "ck", module_dir=state / "modules")
    async with (open_stores(state / "cu.sqlite", options) as stores, open_scheduler_client(config) as su,
                open_gateway_client(config) as gateway, open_scheduler_locator(config) as locator,
                trio.open_nursery() as nursery):
        runner = ProcessRunner(scheduler=su, locator=locator, gateway=gateway, stores=stores, events=EventBus(),
                               memcache=ProcessMemoryCache(1 << 30, 3600), options=PipelineOptions())
        yield ComputeUnit(runner, nursery)
        nursery.cancel_scope.cancel()
