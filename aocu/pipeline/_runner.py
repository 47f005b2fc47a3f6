"""One evaluation stream of one process: fetch → hydrate → evaluate → persist.

`ProcessRunner.run` is called by the stream manager (`_streams.py`) with a
target; it runs the stages as tasks of its own nursery, connected by bounded
channels (backpressure: the SU is read only as fast as the module evaluates):

* ``fetch``: SU pages (and generated crons) as envelopes, hash chain checked;
* ``hydrate``: assignments and forwarded messages completed (deep hash,
  gateway metadata), already-evaluated messages dropped;
* ``evaluate``: the module's ``handle`` in a worker thread (``WASM_EVALUATION_MAX_WORKERS``
  limiter), on the process's live instance;
* ``persist``: evaluation rows written in batches; progress events.

Runs on the trio thread; only wasm runs in threads. Where evaluation starts
(reference-cu.md §2.5): the hot instance, else the newest memory snapshot file
(a drain, or a file checkpoint unless ``IGNORE_LOCAL_CHECKPOINTS``), else a
verified Arweave checkpoint (`aocu.checkpoints.CheckpointFinder`: this CU's
records, then the gateway), else a cold start with the process message (§2.9).
Checkpoints are written by `checkpoint_process`: a copy of the memory is taken
while the process is checked out, and the file write and Arweave upload run
in the CU's background nursery (never in the request that triggered them).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from aocu import domain
from aocu.clients import MessagePage
from aocu.errors import AocuError, InvalidModuleError, ProcessNotFoundError, UpstreamError
from aocu.jsjson import stringify
from aocu.stores import EvaluationRow, MemoryPoint, MessageRecord, SnapshotKind, SnapshotsUnavailable, Stores
from aocu.wasm import Module, WasmError, load_module

from . import _adapt
from ._bus import EventBus
from ._events import CheckpointWritten, MessageEvaluated, StageTimed, StreamFailed, StreamFinished, StreamStarted
from ._live import LiveProcess
from ._memcache import ProcessMemoryCache
from ._reset import memory_reset_message, wants_memory_reset
from ._su import ReferenceWorded

if TYPE_CHECKING:
    from aocu.checkpoints import ArweaveCheckpointer, CheckpointFinder

log = logging.getLogger("aocu.pipeline")

#: Rows written per transaction (stack.md §4: ~80k rows/s at >= 100 rows per commit).
PERSIST_BATCH = 200
#: Rows wait at most this long for their batch (they are written before the stream ends anyway).
PERSIST_EVERY_MS = 100.0
#: Messages handed to the wasm thread in one hop when they are already queued.
EVALUATE_BATCH = 32
#: Stages pass lists of up to this many messages (a page's worth at a time): a channel hop per
#: message cost the trio thread as much as the SU page parsing.
HYDRATE_BATCH = 64
#: Lists a stage may have queued ahead of the next one (backpressure: at most ~2 batches each).
STAGE_BUFFER = 2
#: Assignments of a batch loaded from the gateway at once (the reference: one at a time).
HYDRATE_CONCURRENCY = 8
#: Results a finished stream hands its waiters directly (the rest come from the store).
RESULTS_KEPT = 256


@dataclass(frozen=True, slots=True)
class Target:
    """Evaluate up to and including this point (None timestamp: the SU's latest)."""

    timestamp: int | None = None
    ordinate: str | None = None
    cron: str | None = None


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    max_memory_bytes: int = domain.DEFAULT_PROCESS_WASM_MEMORY_MAX_LIMIT_BYTES
    max_compute: int = domain.DEFAULT_PROCESS_WASM_COMPUTE_MAX_LIMIT
    supported_formats: tuple[str, ...] = tuple(domain.DEFAULT_MODULE_FORMATS)
    supported_extensions: tuple[str, ...] = ()
    wasm_workers: int = 1
    dry_run_workers: int = 1
    memory_cache_bytes: int = 1 << 30
    memory_cache_ttl_s: float = 24 * 3600
    eager_checkpoint_gas: int = 300_000_000_000_000
    eager_checkpoint_time_ms: float = 15 * 60 * 1000
    wasm_deadline_s: float | None = None
    wasm_program: str = "./this.program"     # AOCU_WASM_PROGRAM: what gen 1-3 modules see as argv[0]
    cache_dir: str | None = None
    max_module_bytes: int = 2 << 30          # AOCU_UPSTREAM_DOWNLOAD_MAX_BYTES: a module binary's bound
    enable_memory_reset: bool = False       # ENABLE_MEMORY_RESET (aocu.pipeline._reset)
    auto_file_checkpoints: bool = True       # not DISABLE_PROCESS_FILE_CHECKPOINT_CREATION (eager, interval)
    ignore_local_checkpoints: bool = False   # IGNORE_LOCAL_CHECKPOINTS


@dataclass(slots=True)
class _Work:
    envelope: domain.Envelope
    fetched_ms: float
    dedupe_id: str | None = None
    evaluated: Any = None


@dataclass(slots=True)
class RunOutcome:
    point: MemoryPoint | None
    evaluated: int = 0
    errors: int = 0
    started_from: str = "cold"
    exact_hit: bool = False
    #: the latest `RESULTS_KEPT` results by message id, for the requests waiting on the stream
    #: (older ones are read back from the store; a stream of 100k messages kept them all before)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


class ProcessRunner:
    """Everything a process's streams need; one per CU, shared by all processes."""

    def __init__(self, *, scheduler: Any, locator: Any, gateway: Any, stores: Stores, events: EventBus,
                 memcache: ProcessMemoryCache, options: PipelineOptions,
                 clock_ms: Callable[[], float] = lambda: time.time() * 1000,
                 arweave: ArweaveCheckpointer | None = None, finder: CheckpointFinder | None = None) -> None:
        self.scheduler = ReferenceWorded(scheduler)      # SU failures in the reference's words
        self.locator = locator
        self.gateway = gateway
        self.stores = stores
        self.events = events
        self.memcache = memcache
        self.options = options
        self.wasm_limiter = trio.CapacityLimiter(max(1, options.wasm_workers))
        # Dry runs get their own worker capacity so they never queue behind `/result` streams
        # (issue 4 item 2; the reference keeps a separate dry-run pool, §5.1).
        self.dry_run_limiter = trio.CapacityLimiter(max(1, options.dry_run_workers))
        self._modules: dict[tuple[str, str], Module] = {}
        self._module_locks: dict[tuple[str, str], trio.Lock] = {}
        self._env_cache: tuple[domain.AoGlobal, dict[str, Any], str] | None = None
        self._module_ids: dict[str, str] = {}
        self._clock_ms = clock_ms
        self.arweave = arweave            # None: Arweave checkpoint creation disabled
        self.finder = finder              # None: no record/Arweave starting points
        #: Where checkpoint writes and uploads run (the CU's nursery); None: awaited in place.
        self.background: trio.Nursery | None = None

    # -- process and module ----------------------------------------------------------------
    async def su_url(self, process_id: str, record: Any = None) -> str:
        hint = None
        if record is not None:
            hint = next((t.value for t in record.tags if t.name == "Scheduler"), None)
        location = await self.locator.locate(process_id, hint)
        return location.url.rstrip("/")

    async def process_record(self, process_id: str) -> Any:
        record = await self.stores.processes.read_process(process_id)
        if record is not None:
            return record
        su = await self.su_url(process_id)
        try:
            meta = await self.scheduler.load_process(su, process_id)
        except UpstreamError as exc:
            if getattr(exc, "http_status", 500) == 404:
                raise ProcessNotFoundError(f"Process {process_id} was not found on the Scheduler") from exc
            raise
        record = _adapt.process_record(meta)
        domain.verify_process_tags(record.tags)          # one Tag type (aocu.model) everywhere
        await self.stores.processes.write_process(record)
        return record

    async def module_for(self, process: domain.ProcessMeta) -> tuple[Module, domain.ModuleMeta]:
        module_id = next((t.value for t in process.tags if t.name == "Module"), None)
        if not module_id:
            raise InvalidModuleError(f"Process {process.id} has no Module tag")
        record = await self.stores.modules.read_module(module_id)
        if record is None:
            record = _adapt.module_record(await self.gateway.load_transaction_meta(module_id))
            await self.stores.modules.write_module(record)
        module_meta = _adapt.domain_module(record)
        opts = domain.module_options(
            process, module_meta, max_memory_bytes=self.options.max_memory_bytes,
            max_compute=self.options.max_compute, supported_formats=self.options.supported_formats,
            supported_extensions=self.options.supported_extensions)
        key = (module_id, f"{opts.format}|{opts.compute_limit}|{opts.memory_limit}")
        # one load per module: streams of many processes of one module must not compile it
        # (seconds of CPU each) side by side
        async with self._module_locks.setdefault(key, trio.Lock()):
            return await self._load_module(key, module_id, opts), module_meta

    async def _load_module(self, key: tuple[str, str], module_id: str, opts: domain.ModuleOptions) -> Module:
        module = self._modules.get(key)
        if module is None:
            # the store refuses a cached file another user could have written or that fails its sha256
            binary = await self.stores.modules.read_module_binary(module_id)
            if binary is None:
                binary = await self.gateway.load_transaction_data(module_id, max_bytes=self.options.max_module_bytes)
                await self.stores.modules.write_module_binary(module_id, binary)
            from aocu.wasm import HostOptions
            try:
                module = await trio.to_thread.run_sync(lambda: load_module(
                    binary, opts.format, compute_limit=int(opts.compute_limit),
                    memory_limit=int(opts.memory_limit), cache_dir=self.options.cache_dir,
                    options=HostOptions(deadline_s=self.options.wasm_deadline_s,
                                        this_program=self.options.wasm_program)))
            except WasmError as exc:
                raise InvalidModuleError(f"Module {module_id} cannot be loaded: {exc}") from exc
            self._modules[key] = module
        return module

    async def reset_init_message(self, process_id: str, message_js: dict[str, Any],
                                 env_js: dict[str, Any]) -> dict[str, Any] | None:
        """The init message a ``Reset-Memory`` message is replaced by, if it is one (else None)."""
        if not self.options.enable_memory_reset or not wants_memory_reset(message_js, env_js):
            return None
        su = await self.su_url(process_id, await self.stores.processes.read_process(process_id))
        async for page in self.scheduler.message_pages(su, process_id, page_size=1):
            return memory_reset_message(page.items[0] if page.items else None, process_id)
        return memory_reset_message(None, process_id)

    # -- starting point ------------------------------------------------------------------
    async def _start(self, process_id: str, module: Module) -> tuple[LiveProcess, MemoryPoint | None, str, int,
                                                                      float]:
        hot = await self.memcache.checkout_waiting(process_id)
        if hot is not None:
            return hot.live, hot.position, "memory", hot.gas_used, hot.eval_time_ms
        kind = SnapshotKind.DRAIN if self.options.ignore_local_checkpoints else None
        snapshot = await self.stores.checkpoints.latest_snapshot(process_id, kind)
        if snapshot is not None:
            try:
                memory = await self.stores.checkpoints.load_snapshot(snapshot)
            except AocuError:
                memory = None
            if memory is not None:
                live = await trio.to_thread.run_sync(LiveProcess, module, memory,
                                                     limiter=self.wasm_limiter)
                return live, snapshot.point, f"file:{snapshot.kind}", snapshot.gas_used, snapshot.eval_time_ms
        if self.finder is not None:
            found = await self.finder.find(process_id, module_id=self._module_id_of(process_id),
                                           replay=self.replay)
            if found is not None:
                log.info("process %s starts from %s checkpoint %s at nonce %s", process_id, found.source,
                         found.checkpoint_id, found.point.ordinate)
                live = await trio.to_thread.run_sync(LiveProcess, module, found.memory, limiter=self.wasm_limiter)
                return live, found.point, found.source, 0, 0.0
        live = await trio.to_thread.run_sync(LiveProcess, module, limiter=self.wasm_limiter)
        return live, None, "cold", 0, 0.0

    def _module_id_of(self, process_id: str) -> str | None:
        return self._module_ids.get(process_id)

    async def replay(self, process_id: str, memory: bytes, point: MemoryPoint,
                     to_timestamp: int) -> tuple[bytes, MemoryPoint]:
        """Evaluate from *memory* at *point* up to *to_timestamp*; nothing is persisted or cached.

        ``readStateFromCheckpoint`` for checkpoint verification (reference-cu.md §2.5.6): the
        normal fetch, hydrate and evaluate stages, without duplicate detection. The reference
        also writes the evaluated rows (a quirk); here nothing is written, so a checkpoint that
        fails verification leaves no trace in the results.
        """
        record = await self.process_record(process_id)
        process = _adapt.domain_process(record)
        module, module_meta = await self.module_for(process)
        ao_global = domain.AoGlobal.of(process, module_meta)
        live = await trio.to_thread.run_sync(LiveProcess, module, memory, limiter=self.wasm_limiter)
        su = await self.su_url(process_id, record)
        state = _StreamState(live=live, point=point)
        stream_id = f"verify-{process_id[:8]}"
        outcome = RunOutcome(point=point)
        async with trio.open_nursery() as nursery:
            fetched_send, fetched_recv = trio.open_memory_channel[list[_Work]](STAGE_BUFFER)
            hydrated_send, hydrated_recv = trio.open_memory_channel[list[_Work]](STAGE_BUFFER)
            evaluated_send, evaluated_recv = trio.open_memory_channel[list[_Work]](STAGE_BUFFER)
            nursery.start_soon(self._fetch, fetched_send, su, process, ao_global, point, Target(to_timestamp),
                               stream_id)
            nursery.start_soon(self._hydrate, fetched_recv, hydrated_send, process_id, False)
            nursery.start_soon(self._evaluate, hydrated_recv, evaluated_send, state, stream_id, process_id)
            nursery.start_soon(self._persist, evaluated_recv, state, outcome, stream_id, module_meta.id,
                               process_id, False)
        final = await trio.to_thread.run_sync(state.live.memory_snapshot, limiter=self.wasm_limiter)
        return final, state.point or point

    # -- the stream ----------------------------------------------------------------------
    async def run(self, process_id: str, target: Target, stream_id: str) -> RunOutcome:
        started = self._clock_ms()
        record = await self.process_record(process_id)
        process = _adapt.domain_process(record)
        module, module_meta = await self.module_for(process)
        ao_global = domain.AoGlobal.of(process, module_meta)
        self._module_ids[process_id] = module_meta.id
        live, point, source, gas_used, eval_time_ms = await self._start(process_id, module)
        outcome = RunOutcome(point=point, started_from=source)
        if point is not None and target.timestamp is not None and _at_or_after(point, target):
            outcome.exact_hit = True
            self.memcache.checkin(live, point, gas_used=gas_used, eval_time_ms=eval_time_ms)
            return outcome
        self.events.publish(StreamStarted(process_id=process_id, stream_id=stream_id,
                                          from_nonce=point.nonce if point else None,
                                          to=None if target.timestamp is None else str(target.timestamp),
                                          start=source))
        su = await self.su_url(process_id, record)
        state = _StreamState(live=live, point=point, gas_used=gas_used, eval_time_ms=eval_time_ms)
        try:
            async with trio.open_nursery() as nursery:
                fetched_send, fetched_recv = trio.open_memory_channel[list[_Work]](STAGE_BUFFER)
                hydrated_send, hydrated_recv = trio.open_memory_channel[list[_Work]](STAGE_BUFFER)
                evaluated_send, evaluated_recv = trio.open_memory_channel[list[_Work]](STAGE_BUFFER)
                nursery.start_soon(self._fetch, fetched_send, su, process, ao_global, point, target, stream_id)
                nursery.start_soon(self._hydrate, fetched_recv, hydrated_send, process_id)
                nursery.start_soon(self._evaluate, hydrated_recv, evaluated_send, state, stream_id, process_id)
                nursery.start_soon(self._persist, evaluated_recv, state, outcome, stream_id, module_meta.id,
                                   process_id)
        except BaseException as exc:
            self.memcache.discard(process_id)     # the live instance may be ahead of its rows
            cause = first_error(exc)
            if cause is None:
                raise                             # cancelled: nothing to report
            self.events.publish(StreamFailed(process_id=process_id, stream_id=stream_id, error=str(cause),
                                             status=getattr(cause, "http_status", 500)))
            raise cause from exc
        outcome.point = state.point
        if state.point is not None:
            self.memcache.checkin(state.live, state.point, gas_used=state.gas_used,
                                  eval_time_ms=state.eval_time_ms + (self._clock_ms() - started))
            await self._maybe_checkpoint(process_id)
        self.events.publish(StreamFinished(process_id=process_id, stream_id=stream_id,
                                           messages=outcome.evaluated, errors=outcome.errors,
                                           elapsed_ms=self._clock_ms() - started))
        return outcome

    async def _maybe_checkpoint(self, process_id: str) -> None:
        """Eager checkpoint by accumulated gas or evaluation time (§2.15), in the background.

        Automatic triggers follow both ``DISABLE_*_CHECKPOINT_CREATION`` settings.
        """
        await self.checkpoint_process(process_id, only_if_due=True, file=self.options.auto_file_checkpoints,
                                      arweave=True, wait=False)

    async def checkpoint_process(self, process_id: str, *, only_if_due: bool = False, file: bool = True,
                                 arweave: bool = True, wait: bool = True) -> bool:
        """Checkpoint a hot process: a file checkpoint (with ``file``) and an Arweave one (with ``arweave``,
        when creation is enabled and the process is not throttled). Returns whether anything was started.

        The memory is copied while the process is checked out (no stream can change it), then the
        writes run on the copy: awaited with ``wait``, else in the background nursery, where
        errors are logged and dropped. With ``only_if_due``, only past an eager threshold (and the
        counters restart whether or not anything is written, as in the reference).
        """
        hot = self.memcache.checkout(process_id)
        if hot is None:
            return False
        opts = self.options
        try:
            if only_if_due:
                due = ((opts.eager_checkpoint_gas and hot.gas_used >= opts.eager_checkpoint_gas)
                       or (opts.eager_checkpoint_time_ms and hot.eval_time_ms >= opts.eager_checkpoint_time_ms))
                if not due:
                    return False
                hot.gas_used, hot.eval_time_ms = 0, 0.0
            upload = arweave and self.arweave is not None and not self.arweave.throttled(process_id)
            if not (file or upload):
                return False
            memory = await trio.to_thread.run_sync(hot.live.memory_snapshot, limiter=self.wasm_limiter)
            point = hot.position
        finally:
            self.memcache.checkin(hot.live, hot.position, gas_used=hot.gas_used, eval_time_ms=hot.eval_time_ms)
        if wait or self.background is None:
            await self._write_checkpoints(point, memory, file=file, upload=upload)
        else:
            self.background.start_soon(self._write_checkpoints, point, memory, file, upload)
        return True

    async def _write_checkpoints(self, point: MemoryPoint, memory: bytes, file: bool, upload: bool) -> None:
        """The file checkpoint and the Arweave upload of one memory copy, side by side; failures logged."""
        async def write_file() -> None:
            t0 = self._clock_ms()
            try:
                await self.stores.checkpoints.save_snapshot(SnapshotKind.CHECKPOINT, point, memory)
            except SnapshotsUnavailable as exc:      # the stores warned once, with the fix
                log.debug("no file checkpoint of %s: %s", point.process_id, exc)
                return
            except Exception:
                log.exception("file checkpoint of %s at nonce %s failed", point.process_id, point.ordinate)
                return
            self._checkpoint_written(point, "file", len(memory), t0)

        async def write_arweave() -> None:
            assert self.arweave is not None
            t0 = self._clock_ms()
            try:
                record = await self.arweave.create(point, memory)
            except Exception:
                log.exception("arweave checkpoint of %s at nonce %s failed", point.process_id, point.ordinate)
                return
            if record is not None:
                self._checkpoint_written(point, "arweave", len(memory), t0, record.checkpoint_id)

        async with trio.open_nursery() as nursery:
            if file:
                nursery.start_soon(write_file)
            if upload:
                nursery.start_soon(write_arweave)

    def _checkpoint_written(self, point: MemoryPoint, kind: str, size: int, started_ms: float,
                            checkpoint_id: str | None = None) -> None:
        self.events.publish(CheckpointWritten(process_id=point.process_id, stream_id="checkpoint", kind=kind,
                                              nonce=point.nonce, memory_bytes=size,
                                              elapsed_ms=self._clock_ms() - started_ms,
                                              checkpoint_id=checkpoint_id))

    def _env_js(self, ao_global: domain.AoGlobal) -> tuple[dict[str, Any], str]:
        """``AoGlobal.to_js()`` and its JSON text, built once per stream's env (the same for every
        message; the AoGlobal is frozen, and the dict goes nowhere it could be changed)."""
        cached = self._env_cache
        if cached is None or cached[0] is not ao_global:
            env_js = ao_global.to_js()
            cached = self._env_cache = (ao_global, env_js, stringify(env_js) or "")
        return cached[1], cached[2]

    # -- stages ----------------------------------------------------------------------------
    async def _fetch(self, send: trio.MemorySendChannel[list[_Work]], su: str, process: domain.ProcessMeta,
                     ao_global: domain.AoGlobal, point: MemoryPoint | None, target: Target,
                     stream_id: str) -> None:
        async with send:
            verifier = domain.HashChainVerifier(
                process_block_height=process.block.height,
                assignment_id=point.assignment_id if point else None,
                hash_chain=point.hash_chain if point else None)
            crons = domain.parse_crons(process.tags)
            merger: domain.CronMerger | None = None
            if crons:
                merger = await self._cron_merger(crons, process, ao_global, point, target, su)
            first = True
            batch: list[_Work] = []
            pages = self.scheduler.message_pages(
                su, process.id, from_timestamp=point.timestamp if point else None,
                to_timestamp=target.timestamp, after_nonce=point.nonce if point else None)
            # the next page is fetched while this one is mapped and evaluated (one page ahead)
            async with trio.open_nursery() as nursery:
                page_send, page_recv = trio.open_memory_channel[tuple[MessagePage, float, float]](0)
                nursery.start_soon(read_pages_ahead, pages, page_send, self._clock_ms)
                async for page, page_started, page_done in page_recv:
                    self.events.publish(StageTimed(
                        process_id=process.id, stream_id=stream_id, stage="fetch", message_id=None, nonce=None,
                        ordinate=None, started_ms=page_started, elapsed_ms=page_done - page_started))
                    for item in page.items:
                        t0 = self._clock_ms()
                        envelope = _adapt.envelope_from_scheduled(item, ao_global)
                        if first and point is None and domain.needs_process_message(envelope):
                            batch.append(_Work(await self._process_message(process, ao_global), t0))
                        first = False
                        verifier.check(envelope)
                        for out in (merger.push(envelope) if merger else (envelope,)):
                            batch.append(_Work(out, t0))
                        if len(batch) >= HYDRATE_BATCH:
                            await send.send(batch)
                            batch = []
                    if batch:             # a page's tail goes now, not after the next page arrives
                        await send.send(batch)
                        batch = []
            if first and point is None:
                batch.append(_Work(await self._process_message(process, ao_global), self._clock_ms()))
            if merger is not None:
                batch.extend(_Work(out, self._clock_ms()) for out in merger.finish())
            if batch:
                await send.send(batch)

    async def _process_message(self, process: domain.ProcessMeta, ao_global: domain.AoGlobal) -> domain.Envelope:
        data = await _adapt.GatewayTransactions(self.gateway).load_transaction_data(process.id)
        return domain.process_message(process, data, ao_global)

    async def _cron_merger(self, crons: list[domain.CronInterval], process: domain.ProcessMeta,
                           ao_global: domain.AoGlobal, point: MemoryPoint | None, target: Target,
                           su: str) -> domain.CronMerger:
        left = (domain.Block(point.block_height, point.timestamp) if point is not None else process.block)
        right = target.timestamp
        if right is None:
            right = (await self.scheduler.load_timestamp(su, process.id)).timestamp
        min_height = int(left.height or 0)
        blocks = [domain.Block(b.height, b.timestamp) for b in await self.gateway.load_blocks(min_height, right)]
        schedule = domain.CronSchedule(crons, origin=process.block, blocks=blocks, ao_global=ao_global)
        return domain.CronMerger(schedule, left_most=left, left_ordinate=point.ordinate if point else "0",
                                 right_most_timestamp=right)

    async def _hydrate(self, recv: trio.MemoryReceiveChannel[list[_Work]],
                       send: trio.MemorySendChannel[list[_Work]], process_id: str, dedupe: bool = True) -> None:
        """Hydrate, then drop what was evaluated before (§2.12 step 2).

        Assignments of a batch are loaded from the gateway side by side (`hydrate_batch`). The
        duplicate check is one index probe per batch rather than one query per message (the
        same predicate as the reference's ``findMessageBefore``).
        """
        loader = _adapt.GatewayTransactions(self.gateway)
        async with recv, send:
            async for works in recv:
                hydrated = [work for work in works if work.envelope.cron is None and not work.envelope.no_save]
                await hydrate_batch(hydrated, loader)
                candidates = []
                for work in hydrated:
                    message = work.envelope.message
                    dedupe_id = _dedupe_id(work.envelope)
                    epoch, nonce = _int_or_none(message.epoch), _int_or_none(message.nonce)
                    if dedupe_id is not None and epoch is not None and nonce is not None:
                        work.dedupe_id = dedupe_id
                        candidates.append((dedupe_id, epoch, nonce))
                prior = (await self.stores.messages.find_prior_messages(process_id, candidates)
                         if candidates and dedupe else set())
                # evaluated before: skipped, as the reference does
                fresh = [work for work in works if work.dedupe_id is None or work.dedupe_id not in prior]
                if fresh:
                    await send.send(fresh)

    async def _evaluate(self, recv: trio.MemoryReceiveChannel[list[_Work]],
                        send: trio.MemorySendChannel[list[_Work]], state: _StreamState, stream_id: str,
                        process_id: str) -> None:
        """Evaluate in order; up to EVALUATE_BATCH messages of a batch go to the worker thread in one hop.

        A thread hop costs tens of microseconds of CPU and latency, as much as a small message
        takes in wasm: batching what the fetch/hydrate stages have ready keeps it off the
        per-message path without delaying anything (a lone message goes alone).
        """
        def evaluate_batch(batch: list[tuple[dict[str, Any], dict[str, Any], str, dict[str, Any] | None]],
                           ) -> list[tuple[Any, float]]:
            out = []
            for message_js, env_js, env_text, reset_init in batch:
                t0 = time.time() * 1000
                if reset_init is not None:
                    out.append((state.live.reset(reset_init, env_js), t0))
                else:
                    out.append((state.live.evaluate(message_js, env_js, env_text), t0))
            return out

        async with recv, send:
            async for batch in recv:
                for start in range(0, len(batch), EVALUATE_BATCH):
                    works = batch[start:start + EVALUATE_BATCH]
                    calls = []
                    for w in works:
                        message_js = domain.module_message_js(w.envelope.message)
                        env_js, env_text = self._env_js(w.envelope.ao_global)
                        reset = None
                        if self.options.enable_memory_reset:
                            reset = await self.reset_init_message(process_id, message_js, env_js)
                        calls.append((message_js, env_js, env_text, reset))
                    results = await trio.to_thread.run_sync(evaluate_batch, calls, limiter=self.wasm_limiter)
                    timed = self.events.subscribed(process_id)     # nobody watching: no timing events
                    for work, (evaluated, t0) in zip(works, results, strict=True):
                        work.evaluated = evaluated
                        if not timed:
                            continue
                        message = work.envelope.message
                        self.events.publish(StageTimed(
                            process_id=process_id, stream_id=stream_id, stage="evaluate",
                            message_id=_js_id(message.id), nonce=_int_or_none(message.nonce),
                            ordinate=work.envelope.ordinate, started_ms=t0, elapsed_ms=evaluated.elapsed_s * 1000))
                    await send.send(works)

    async def _persist(self, recv: trio.MemoryReceiveChannel[list[_Work]], state: _StreamState, outcome: RunOutcome,
                       stream_id: str, module_id: str, process_id: str, write: bool = True) -> None:
        rows: list[EvaluationRow] = []
        records: list[MessageRecord] = []

        async def flush() -> None:
            if not write:
                rows.clear()
                records.clear()
            if rows or records:
                t0 = self._clock_ms()
                await self.stores.evaluations.write_evaluations(tuple(rows), tuple(records))
                rows.clear()
                records.clear()
                self.events.publish(StageTimed(process_id=process_id, stream_id=stream_id, stage="persist",
                                               message_id=None, nonce=None, ordinate=None, started_ms=t0,
                                               elapsed_ms=self._clock_ms() - t0))

        last_flush = self._clock_ms()
        # (assignment id, Hash-Chain) of the latest SU message: a cron message's point carries them
        carry = (state.point.assignment_id, state.point.hash_chain) if state.point is not None else None
        async with recv:
            async for works in recv:
                for work in works:
                    envelope, evaluated = work.envelope, work.evaluated
                    message = envelope.message
                    body = evaluated.result
                    outcome.evaluated += 1
                    outcome.errors += "Error" in body
                    message_id = _js_id(message.id)
                    if message_id is not None and envelope.cron is None:
                        results = outcome.results
                        results[message_id] = body
                        if len(results) > RESULTS_KEPT:
                            del results[next(iter(results))]
                    gas_used = int(body.get("GasUsed") or 0)
                    state.gas_used += gas_used
                    timestamp = _int_or_none(message.timestamp) or 0
                    nonce, epoch = _int_or_none(message.nonce), _int_or_none(message.epoch)
                    if envelope.cron is None:
                        carry = (envelope.assignment_id, _str_or_none(message.hash_chain))
                    if not envelope.no_save:
                        rows.append(EvaluationRow(
                            process_id=process_id, timestamp=timestamp, ordinate=envelope.ordinate,
                            cron=envelope.cron, message_id=message_id if envelope.cron is None else None,
                            deep_hash=envelope.deep_hash, nonce=nonce, epoch=epoch,
                            block_height=_int_or_none(message.block_height),
                            evaluated_at_ms=int(self._clock_ms()), output=stringify(body) or "{}",
                            has_error=bool(body.get("Error"))))
                        if work.dedupe_id is not None and epoch is not None and nonce is not None:
                            records.append(MessageRecord(process_id=process_id, message_id=work.dedupe_id,
                                                         epoch=epoch, nonce=nonce))
                    self.events.publish(MessageEvaluated(
                        process_id=process_id, stream_id=stream_id, message_id=message_id or "",
                        nonce=nonce, ordinate=envelope.ordinate, cron=envelope.cron,
                        elapsed_ms=evaluated.elapsed_s * 1000, gas_used=gas_used,
                        error="Error" in body, rolled_back=evaluated.rolled_back,
                        kind="cron" if envelope.cron is not None else "assignment" if envelope.is_assignment
                        else "scheduled"))
                    if len(rows) >= PERSIST_BATCH or self._clock_ms() - last_flush >= PERSIST_EVERY_MS:
                        await flush()
                        last_flush = self._clock_ms()
                if works:       # the memory's point: only the stream's last one is ever read
                    state.point = _point_after(works[-1].envelope, process_id, module_id, carry)
            await flush()


@dataclass(slots=True)
class _StreamState:
    live: LiveProcess
    point: MemoryPoint | None
    gas_used: int = 0
    eval_time_ms: float = 0.0


def _point_after(envelope: domain.Envelope, process_id: str, module_id: str,
                 carry: tuple[str | None, str | None] | None) -> MemoryPoint:
    """Where memory stands after ``envelope``; a cron message takes the latest SU message's
    assignment id and Hash-Chain (``carry``), the next stream's hash-chain start."""
    message = envelope.message
    if envelope.cron is None:
        assignment_id, hash_chain = envelope.assignment_id, _str_or_none(message.hash_chain)
    elif carry is not None:
        assignment_id, hash_chain = carry
    else:
        assignment_id, hash_chain = None, _str_or_none(message.hash_chain)
    return MemoryPoint(
        process_id=process_id, timestamp=_int_or_none(message.timestamp) or 0, ordinate=envelope.ordinate,
        cron=envelope.cron, module_id=module_id, nonce=_int_or_none(message.nonce),
        epoch=_int_or_none(message.epoch), block_height=_int_or_none(message.block_height),
        assignment_id=assignment_id, hash_chain=hash_chain)


async def read_pages_ahead(pages: AsyncIterable[MessagePage],
                           send: trio.MemorySendChannel[tuple[MessagePage, float, float]],
                           clock_ms: Callable[[], float]) -> None:
    """Each SU page with when its request began and ended, the next one requested as soon as the
    stream took this one: the channel has no buffer, so at most two pages are held at once (one
    being evaluated, one waiting) and the SU's latency hides behind the evaluation."""
    async with send:
        started = clock_ms()
        async for page in pages:
            await send.send((page, started, clock_ms()))
            started = clock_ms()


async def hydrate_batch(works: list[_Work], loader: Any) -> None:
    """`domain.hydrate_envelope` for each work, in place; assignments (a gateway query and a
    download each) up to `HYDRATE_CONCURRENCY` at a time.

    The reference loads them one after another: against a public gateway that is two round
    trips per assigned message. Should several fail, the error raised is the earliest
    message's, as one-by-one hydration would have raised.
    """
    failures: dict[int, Exception] = {}
    remote: list[tuple[int, _Work]] = []
    for index, work in enumerate(works):
        if work.envelope.is_assignment:
            remote.append((index, work))
            continue
        try:                                          # no I/O: schema check and deep hash only
            work.envelope = await domain.hydrate_envelope(work.envelope, loader)
        except Exception as exc:
            failures[index] = exc
            break                                     # nothing after it would be reached
    limiter = trio.CapacityLimiter(HYDRATE_CONCURRENCY)

    async def hydrate(index: int, work: _Work) -> None:
        async with limiter:
            if failures and min(failures) < index:
                return                                # an earlier message failed: not reached
            try:
                work.envelope = await domain.hydrate_envelope(work.envelope, loader)
            except Exception as exc:
                failures[index] = exc

    async with trio.open_nursery() as nursery:
        for index, work in remote:
            if not failures or index < min(failures):
                nursery.start_soon(hydrate, index, work)
    if failures:
        raise failures[min(failures)]


def first_error(exc: BaseException) -> Exception | None:
    """The error that failed a stage nursery, out of its exception group (None if only cancelled).

    Subscribers get one clear error (issue 4, item 1), not trio's group of one.
    """
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = first_error(inner)
            if found is not None:
                return found
        return None
    return exc if isinstance(exc, Exception) else None


def _at_or_after(point: MemoryPoint, target: Target) -> bool:
    if target.timestamp is None:
        return False
    if point.timestamp != target.timestamp:
        return point.timestamp > target.timestamp
    if target.ordinate is None:
        return True
    try:
        return int(point.ordinate) >= int(target.ordinate)
    except ValueError:
        return point.ordinate >= target.ordinate


def _dedupe_id(envelope: domain.Envelope) -> str | None:
    """What the reference de-duplicates on: assigned tx id, else deep hash, else message id (§2.14)."""
    if envelope.is_assignment:
        return _js_id(envelope.message.id)
    if envelope.deep_hash:
        return envelope.deep_hash
    return _js_id(envelope.message.id)


def _js_id(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int_or_none(value: Any) -> int | None:
    if type(value) is int:          # the usual case, seven times per message
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value and value not in (float("inf"), float("-inf")):
        return int(value)
    return None
