"""Dry runs: evaluate an unsigned message against a fork of the process state (reference-cu.md §2.18).

Nothing is persisted. The fork is a fresh instance built from a snapshot of
the hot process's memory, evaluated in a worker thread, then dropped; the hot
instance itself is never touched by the dry-run message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from aocu import domain
from aocu.errors import InvalidMessageError, InvalidRequestError

from . import _adapt
from ._live import LiveProcess
from ._runner import Target

if TYPE_CHECKING:
    from ._cu import ComputeUnit


async def dry_run(cu: ComputeUnit, process_id: str, message: dict[str, Any], *, to: str | None) -> dict[str, Any]:
    runner = cu.runner
    target = Target()
    eval_to_nonce = None
    if to is not None:
        su = await runner.su_url(process_id, await runner.stores.processes.read_process(process_id))
        meta = await runner.scheduler.load_message_meta(su, process_id, to)
        target = Target(meta.timestamp, str(meta.nonce))
    elif cu.nonce_limit > 0 and cu.stream_running(process_id):
        # the reference's evalToNonce: the SU's latest nonce is the dry-run's target for the nonce
        # limit (§2.17.3); only worth a request to the SU when there is a stream to wait on
        su = await runner.su_url(process_id, await runner.stores.processes.read_process(process_id))
        eval_to_nonce = (await runner.scheduler.load_latest(su, process_id)).nonce
    # dryRun.js passes `ordinate: res.nonce && String(res.nonce)`: nonce 0 words the 425 by timestamp
    hot = await cu.take_state(process_id, target, eval_to_nonce=eval_to_nonce,
                              older_ordinate=target.ordinate if target.ordinate != "0" else None)
    point = hot.position
    try:
        memory = await trio.to_thread.run_sync(hot.live.memory_snapshot, limiter=runner.wasm_limiter)
    finally:
        runner.memcache.checkin(hot.live, hot.position, gas_used=hot.gas_used, eval_time_ms=hot.eval_time_ms)
    record = await runner.process_record(process_id)
    process = _adapt.domain_process(record)
    module, module_meta = await runner.module_for(process)
    ao_global = domain.AoGlobal.of(process, module_meta)
    try:
        envelope = domain.dry_run_message(
            message, process_id=process_id, ordinate=point.ordinate, from_timestamp=point.timestamp,
            from_block_height=point.block_height, ao_global=ao_global)
    except InvalidMessageError as exc:
        # the caller's body fails the message schema ("'Owner': Required. | 'From': Required."):
        # invalid input, 400 with the reference's text (it answers 500; docs/differences.md)
        raise InvalidRequestError(exc.message) from exc
    message_js = domain.module_message_js(envelope.message)
    env_js = ao_global.to_js()
    # the dry-run's Owner is the caller's, so it may ask for a memory reset too (§8.4 item 27)
    reset_init = await runner.reset_init_message(process_id, message_js, env_js)

    def evaluate() -> dict[str, Any]:
        fork = LiveProcess(module, memory, single_use=True)
        try:
            if reset_init is not None:
                return fork.reset(reset_init, env_js).result
            return fork.evaluate(message_js, env_js).result
        finally:
            fork.close()                # its memory goes now, not at the next cycle collection

    result = await trio.to_thread.run_sync(evaluate, limiter=runner.dry_run_limiter)
    if cu.metrics is not None:
        cu.metrics.count_evaluation(stream_type="dry-run", message_type="dry-run", error=bool(result.get("Error")),
                                    process_id=process_id)
    return result
