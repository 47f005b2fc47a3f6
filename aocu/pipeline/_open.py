"""`open_compute_unit`: build the real pipeline from a `Config` (the composition root's half).

Opens, in dependency order and closing in reverse: the stores (apsw), the
upstream clients (the uploader too), the Arweave checkpoint creator and finder,
the hot-process cache and its drainer, the runner, and the CU's own nursery for
background streams, checkpoint uploads and the checkpoint interval. Yields a
`ComputeUnit` that serves `aocu.api.ComputeUnitApi`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import trio

from aocu.checkpoints import Ans104Signer, Ans104Verifier, ArweaveCheckpointer, CheckpointFinder, FinderSettings
from aocu.clients import open_gateway_client, open_scheduler_client, open_scheduler_locator, open_uploader_client
from aocu.stores import SnapshotKind, open_stores

from ._adapt import DurableLocations
from ._bus import EventBus
from ._cu import ComputeUnit
from ._live import LiveProcess
from ._memcache import ProcessMemoryCache
from ._runner import PipelineOptions, ProcessRunner

if TYPE_CHECKING:
    from aocu.api import PipelineMetrics
    from aocu.config import Config
    from aocu.stores import MemoryPoint


def pipeline_options(config: Config) -> PipelineOptions:
    return PipelineOptions(
        max_memory_bytes=config.wasm.memory_max_limit, max_compute=config.wasm.compute_max_limit,
        supported_formats=tuple(config.wasm.supported_formats),
        supported_extensions=tuple(config.wasm.supported_extensions),
        wasm_workers=max(1, config.wasm.max_workers * config.wasm.primary_workers_percentage // 100),
        dry_run_workers=max(1, config.wasm.max_workers - config.wasm.max_workers
                            * config.wasm.primary_workers_percentage // 100),
        memory_cache_bytes=config.memory_cache.max_bytes, memory_cache_ttl_s=config.memory_cache.ttl_ms / 1000,
        eager_checkpoint_gas=config.checkpoint.eager_gas_threshold,
        eager_checkpoint_time_ms=config.checkpoint.eager_eval_time_threshold_ms,
        cache_dir=str(config.wasm.binary_dir / "aocu-compiled"),
        max_module_bytes=config.clients().download_max_bytes,
        enable_memory_reset=config.pipeline.enable_memory_reset,
        auto_file_checkpoints=not config.checkpoint.disable_file_creation,
        ignore_local_checkpoints=config.checkpoint.ignore_local, wasm_program=config.wasm.program)


def finder_settings(config: Config) -> FinderSettings:
    k = config.checkpoint
    return FinderSettings(
        own_address=config.wallet.address, trusted_owners=k.trusted_owners, preferred_owners=k.preferred_owners,
        ignore_ids=frozenset(k.ignore_ids), ignore_processes=frozenset(k.ignore_processes),
        ignore_local=k.ignore_local, steps=k.validation_steps, retries=k.validation_retries,
        threshold=k.validation_thresh, max_download_bytes=config.clients().download_max_bytes,
        max_memory_bytes=config.wasm.memory_max_limit)


@asynccontextmanager
async def open_compute_unit(config: Config, *, metrics: PipelineMetrics | None = None) -> AsyncIterator[ComputeUnit]:
    """The CU for ``config``; ``metrics`` (the HTTP layer's ServiceMetrics) is fed if given."""
    options = pipeline_options(config)
    clients = config.clients()
    on_query = metrics.count_graphql_query if metrics is not None else None
    unit_id = str(uuid.uuid4())            # the Unit-Identifier tag: one per CU start (§2.16)
    async with open_stores(config.store.db_path, config.stores()) as stores:
        locations = DurableLocations(stores, lambda: time.time() * 1000)
        async with (open_scheduler_client(clients) as scheduler,
                    open_gateway_client(clients, on_query=on_query) as gateway,
                    open_scheduler_locator(clients, store=locations) as locator,
                    open_uploader_client(clients, config.checkpoint.uploader_url) as uploader):
            arweave = None
            if not config.checkpoint.disable_arweave_creation:
                arweave = ArweaveCheckpointer(signer=Ans104Signer(config.wallet.jwk()), uploader=uploader,
                                              gateway=gateway, store=stores.checkpoints, unit_id=unit_id,
                                              throttle_ms=config.checkpoint.creation_throttle_ms)
            finder = CheckpointFinder(gateway=gateway, store=stores.checkpoints, verifier=Ans104Verifier(),
                                      settings=finder_settings(config))
            async with _open_unit(config, options, stores, scheduler, gateway, locator, metrics, arweave=arweave,
                                  finder=finder) as unit:
                yield unit


@asynccontextmanager
async def _open_unit(config: Config, options: PipelineOptions, stores: Any, scheduler: Any, gateway: Any,
                     locator: Any, metrics: PipelineMetrics | None, *, arweave: ArweaveCheckpointer | None = None,
                     finder: CheckpointFinder | None = None) -> AsyncIterator[ComputeUnit]:
    async with trio.open_nursery() as nursery:

        async def drain(live: LiveProcess, point: MemoryPoint) -> None:
            """An evicted hot process goes to a compressed file, its next starting point."""
            memory = await trio.to_thread.run_sync(live.memory_snapshot, limiter=runner.wasm_limiter)
            await stores.checkpoints.save_snapshot(SnapshotKind.DRAIN, point, memory)

        memcache = ProcessMemoryCache(options.memory_cache_bytes, options.memory_cache_ttl_s, drain)
        await nursery.start(memcache.run)
        runner = ProcessRunner(scheduler=scheduler, locator=locator, gateway=gateway, stores=stores,
                               events=EventBus(), memcache=memcache, options=options, arweave=arweave,
                               finder=finder)
        try:
            unit = ComputeUnit(runner, nursery, address=config.wallet.address,
                               dry_run_result_max_age_s=config.dry_run.result_max_age_ms / 1000,
                               nonce_limit=config.pipeline.hydration_nonce_limit, metrics=metrics)
            if config.memory_cache.checkpoint_interval_ms > 0:
                await nursery.start(unit.checkpoint_periodically, config.memory_cache.checkpoint_interval_ms / 1000)
            yield unit
        finally:
            nursery.cancel_scope.cancel(reason="compute unit closing")
