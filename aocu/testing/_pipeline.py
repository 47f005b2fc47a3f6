"""A CU without its HTTP layer: the real clients, stores and pipeline, for tests and benchmarks."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from aocu.clients import ClientsConfig, open_gateway_client, open_scheduler_client, open_scheduler_locator
from aocu.clients._retry import RetryPolicy
from aocu.pipeline import ComputeUnit, EventBus, PipelineOptions, ProcessMemoryCache, ProcessRunner
from aocu.stores import StoreOptions, open_stores


@asynccontextmanager
async def open_pipeline_cu(cu_env: Mapping[str, str], state: Path, *, pipeline: PipelineOptions | None = None,
                           retry: RetryPolicy | None = None, wrap_gateway: Callable[[Any], Any] | None = None,
                           **unit: Any) -> AsyncIterator[ComputeUnit]:
    """A fresh CU on stores under ``state``, talking to the upstreams ``cu_env`` names (a devnet's).

    ``retry`` replaces the SU's and gateway's retry policy (tests fail fast); ``wrap_gateway``
    wraps the gateway client (to record what is asked of it); ``unit`` goes to `ComputeUnit`.
    """
    config = ClientsConfig.from_env(dict(cu_env))
    if retry is not None:
        config = dataclasses.replace(config, su_retry=retry, gateway_retry=retry)
    options = StoreOptions(drain_dir=state / "drain", checkpoint_dir=state / "checkpoints",
                           module_dir=state / "modules")
    async with (open_stores(state / "cu.sqlite", options) as stores, open_scheduler_client(config) as su,
                open_gateway_client(config) as gateway, open_scheduler_locator(config) as locator,
                trio.open_nursery() as nursery):
        runner = ProcessRunner(scheduler=su, locator=locator,
                               gateway=wrap_gateway(gateway) if wrap_gateway is not None else gateway,
                               stores=stores, events=EventBus(), memcache=ProcessMemoryCache(1 << 30, 3600),
                               options=pipeline or PipelineOptions())
        yield ComputeUnit(runner, nursery, **unit)
        nursery.cancel_scope.cancel()
