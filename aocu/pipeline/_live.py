"""A hot process: a live wasm instance plus what it takes to roll back without copies.

Owns one `aocu.wasm.Instance` and runs on whichever worker thread evaluates the
process (one at a time). The reference CU copies the whole memory into and out
of its worker for every message so that it can roll back a failed message; here
the instance stays live and memory is copied only at *bases*: a base is a memory
snapshot plus the instance's host-side state (`Instance.host_state`), taken
rarely (by replay cost, message count or message bytes since the last base), and
kept zstd-compressed (an AOS memory packs 18x, random data 2x), so a hot process holds
little more than its instance's memory.
When a message fails, the memory from before it is rebuilt by instantiating the
base, restoring its host state and replaying the messages evaluated since
(deterministic: same module, same inputs, same host state), then a fresh
instance takes that memory, exactly as the reference's fresh instance would.

The CU's rules for a result (reference-cu.md §2.13 step 5) live here too:
a thrown error becomes ``Error``; an ``Error`` rolls memory back and drops the
instance; an Output ending in "not enough memory for buffer allocation" rolls
memory back in the *same* instance without setting ``Error``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import zstandard

from aocu.wasm import HandleError, HostState, Instance, Module

BUFFER_ALLOCATION_FAILURE = "not enough memory for buffer allocation"
#: Rebase when replaying the messages since the last base would take this long.
DEFAULT_REBASE_AFTER_S = 2.0
#: Bounds the messages (and their results) kept for a replay.
DEFAULT_REBASE_AFTER_MESSAGES = 2_000
DEFAULT_REBASE_AFTER_BYTES = 64 << 20
#: A base (a copy of the memory, packed) may cost at most this share of the evaluation between
#: two bases: a big memory (a GiB takes ~1-2 s) waits for proportionally more replay (and
#: messages) before the next.
REBASE_COPY_SHARE = 0.1
#: ... but never keeps more than this many messages (and results) for a replay.
MAX_REBASE_AFTER_MESSAGES = 20_000
#: What a base costs before one was timed: a copy (0.3-1.1 ms per MiB) and packing it (zstd
#: level 1: 0.7 ms per MiB for an AOS memory, 1.3 for random data; docs/performance.md).
COPY_S_PER_MIB = 0.0015


class ReplayDivergedError(RuntimeError):
    """Replaying evaluated messages gave a different result: the module is not deterministic."""


def output_text(output: Any) -> str:
    """The text the reference checks for the buffer-allocation failure (``mergeOutput``)."""
    if isinstance(output, str):
        return output
    if isinstance(output, bool):
        return ""
    if isinstance(output, (int, float)):
        from aocu.jsjson import stringify
        return stringify(output) or ""
    if isinstance(output, dict):
        data = output.get("data")
        if isinstance(data, dict) and isinstance(data.get("output"), str):
            return data["output"]
    return ""


def normalize(raw: dict[str, Any]) -> dict[str, Any]:
    """The CU's view of a loader result (``mergeOutput``), in the key order it is stored and served.

    ``Messages``/``Assignments``/``Spawns`` default to ``[]``, ``Output`` to ``""`` (numbers
    become strings); ``GasUsed`` and ``Error`` appear when the loader gave them (reference-cu.md
    §1.3, §2.13).
    """
    output = raw.get("Output")
    if output is None:
        output = ""
    elif isinstance(output, (int, float)) and not isinstance(output, bool):
        from aocu.jsjson import stringify
        output = stringify(output) or ""
    result: dict[str, Any] = {
        "Messages": raw.get("Messages") or [],
        "Assignments": raw.get("Assignments") or [],
        "Spawns": raw.get("Spawns") or [],
        "Output": output,
    }
    if raw.get("GasUsed") is not None:
        result["GasUsed"] = raw["GasUsed"]
    if raw.get("Error") is not None:
        result["Error"] = raw["Error"]
    return result


#: zstd level of a packed base: level 1 packs ~1 GB/s with most of the ratio of higher levels.
BASE_ZSTD_LEVEL = 1


@dataclass(frozen=True, slots=True)
class _Packed:
    """A memory, zstd-compressed."""

    frame: bytes
    size: int

    @classmethod
    def of(cls, memory: bytes | bytearray) -> _Packed:
        # one compressor per call: processes pack on several worker threads at once
        return cls(zstandard.ZstdCompressor(level=BASE_ZSTD_LEVEL).compress(memory), len(memory))

    def unpack(self) -> bytes:
        return zstandard.ZstdDecompressor().decompress(self.frame, max_output_size=self.size)


@dataclass(slots=True)
class _Base:
    memory: _Packed | None                  # None: a fresh instance's (rebuilt by instantiating)
    host: HostState
    replay: list[tuple[dict[str, Any], dict[str, Any], str | None, dict[str, Any]]] = field(default_factory=list)
    replay_s: float = 0.0
    replay_bytes: int = 0


@dataclass(frozen=True, slots=True)
class Evaluated:
    """One message's outcome for the pipeline."""

    result: dict[str, Any]         # normalized (Output, Messages, Spawns, Assignments, GasUsed, Error?)
    rolled_back: bool              # memory is the one from before this message
    elapsed_s: float


class LiveProcess:
    """A process's live instance, evaluating messages in order with CU semantics."""

    def __init__(
        self,
        module: Module,
        memory: bytes | bytearray | None = None,
        *,
        rebase_after_s: float = DEFAULT_REBASE_AFTER_S,
        rebase_after_messages: int = DEFAULT_REBASE_AFTER_MESSAGES,
        rebase_after_bytes: int = DEFAULT_REBASE_AFTER_BYTES,
        single_use: bool = False,
    ) -> None:
        self.module = module
        #: a fork that evaluates one message and is dropped (a dry-run): no base is kept and
        #: nothing is rolled back, since no later message will see its memory
        self.single_use = single_use
        self.rebase_after_s = rebase_after_s
        self.rebase_after_messages = rebase_after_messages
        self.rebase_after_bytes = rebase_after_bytes
        self.instance: Instance = module.instantiate(memory)
        self.rollbacks = 0
        self.rebases = 0
        #: seconds the last base took (copy and pack); until one is taken, the usual rate for this memory
        self.snapshot_s = self.instance.memory_size() / (1 << 20) * COPY_S_PER_MIB
        self._base: _Base
        if single_use:
            self._base = _Base(None, self.instance.host_state())
        elif memory is None or len(memory) == self.instance.memory_size():
            # the instance holds exactly ``memory``: it is the first base, packed (no snapshot
            # of the instance needed; the caller's copy can go). A fresh instance's memory is
            # not kept at all: instantiating the module again rebuilds it (deterministic),
            # which only a rollback before the first rebase needs.
            self.rebases += 1
            self._base = _Base(None if memory is None else _Packed.of(memory), self.instance.host_state())
        else:
            self._rebase()

    def _replace_instance(self, instance: Instance) -> None:
        """The old instance's memory is freed now, not when a cycle collection finds it."""
        old, self.instance = self.instance, instance
        old.close()

    # -- bases ---------------------------------------------------------------------
    def _rebase(self) -> bytes:
        """A new base now; its memory (bytes, a fresh copy; the base keeps it packed)."""
        # the old base goes first: never three copies at once (instance, old base, new base).
        # Only a failed copy (out of memory) leaves the process without a base; it is unusable then.
        vars(self).pop("_base", None)
        started = time.perf_counter()
        memory = self.instance.memory_snapshot()
        packed = _Packed.of(memory)
        self.snapshot_s = time.perf_counter() - started
        self.rebases += 1
        self._base = _Base(packed, self.instance.host_state())
        return memory

    def _maybe_rebase(self) -> None:
        base = self._base
        # the copy's cost amortized: at most REBASE_COPY_SHARE of the evaluation since the last base
        scale = max(1.0, self.snapshot_s / REBASE_COPY_SHARE / self.rebase_after_s)
        if (base.replay_s >= self.rebase_after_s * scale
                or len(base.replay) >= min(self.rebase_after_messages * scale, MAX_REBASE_AFTER_MESSAGES)
                or base.replay_bytes >= self.rebase_after_bytes):
            self._rebase()

    def _fresh_memory(self) -> bytes:
        fresh = self.module.instantiate(None)
        try:
            return fresh.memory_snapshot()
        finally:
            fresh.close()

    @property
    def base_bytes(self) -> int:
        """What the base holds in memory (its packed memory)."""
        memory = self._base.memory
        return 0 if memory is None else len(memory.frame)

    def _before_last(self) -> tuple[bytes | None, _Packed | None]:
        """Memory as it was before the failed message, and packed: the base, or the base plus a
        replay (None, None: a fresh instance's, for `Module.instantiate`)."""
        base = self._base
        if not base.replay:
            return (None, None) if base.memory is None else (base.memory.unpack(), base.memory)
        memory = self._replay_from_base()
        return memory, _Packed.of(memory)

    def _replay_from_base(self) -> bytes:
        base = self._base
        replayer = self.module.instantiate(None if base.memory is None else base.memory.unpack())
        try:
            replayer.restore_host_state(base.host)
            for message, env, env_text, expected in base.replay:
                try:
                    got = replayer.handle(message, env, env_text=env_text)
                except HandleError as exc:
                    raise ReplayDivergedError(f"replayed message {message.get('Id')!r} failed: {exc}") from exc
                if got != expected:
                    raise ReplayDivergedError(f"replayed message {message.get('Id')!r} gave another result")
            return replayer.memory_snapshot()
        finally:
            replayer.close()

    # -- evaluation ------------------------------------------------------------------
    def evaluate(self, message: dict[str, Any], env: dict[str, Any], env_text: str | None = None) -> Evaluated:
        """Evaluate one message as the reference CU's worker would (blocking; run in a thread).

        ``env_text``: ``stringify(env)``, if the caller keeps it (see `Instance.handle`).
        """
        started = time.perf_counter()
        try:
            raw = self.instance.handle(message, env, env_text=env_text)
        except HandleError as exc:
            raw = {"Error": exc.value if exc.value not in (None, "") else "An error occurred"}
            thrown = True
        else:
            thrown = False
        elapsed = time.perf_counter() - started
        if self.single_use:
            rolled_back = thrown or bool(raw.get("Error")) or output_text(raw.get("Output")).endswith(
                BUFFER_ALLOCATION_FAILURE)
            return Evaluated(normalize(raw), rolled_back, elapsed)
        if thrown or raw.get("Error"):
            # reference: previous memory, instance dropped, next message on a fresh one
            previous, packed = self._before_last()
            self._replace_instance(self.module.instantiate(previous))
            self.rollbacks += 1
            self._base = _Base(packed, self.instance.host_state())
            return Evaluated(normalize(raw), True, elapsed)
        if output_text(raw.get("Output")).endswith(BUFFER_ALLOCATION_FAILURE):
            # reference: previous memory copied into the same instance; no Error. That memory
            # is the new base; the host state (None: the fresh memory) is the instance's now.
            previous, packed = self._before_last()
            self.instance.restore_memory(previous if previous is not None else self._fresh_memory())
            self.rollbacks += 1
            self.rebases += 1
            self._base = _Base(packed, self.instance.host_state())
            return Evaluated(normalize(raw), True, elapsed)
        base = self._base
        base.replay.append((message, env, env_text, raw))
        base.replay_s += elapsed
        data = message.get("Data")
        base.replay_bytes += len(data) if isinstance(data, str) else 0
        self._maybe_rebase()
        return Evaluated(normalize(raw), False, elapsed)

    def reset(self, init_message: dict[str, Any], env: dict[str, Any]) -> Evaluated:
        """A ``Reset-Memory`` message (aocu.pipeline._reset): ``init_message`` on a fresh instance.

        The fresh instance's memory replaces the process's, with the reference's rules for its
        result: an ``Error`` keeps the memory as it was (in a fresh instance of it, as after any
        error); the buffer-allocation failure copies it back into the fresh instance.
        """
        started = time.perf_counter()
        fresh = self.module.instantiate(None)
        thrown = False
        try:
            raw = fresh.handle(init_message, env)
        except HandleError as exc:
            raw = {"Error": exc.value if exc.value not in (None, "") else "An error occurred"}
            thrown = True
        elapsed = time.perf_counter() - started
        if self.single_use:
            fresh.close()
            rolled_back = thrown or bool(raw.get("Error")) or output_text(raw.get("Output")).endswith(
                BUFFER_ALLOCATION_FAILURE)
            return Evaluated(normalize(raw), rolled_back, elapsed)
        if thrown or raw.get("Error"):
            fresh.close()
            previous = self.memory_snapshot()    # the reset message itself never ran here
            self._replace_instance(self.module.instantiate(previous))
            self.rollbacks += 1
            self._base = _Base(_Packed.of(previous), self.instance.host_state())
            return Evaluated(normalize(raw), True, elapsed)
        rolled_back = output_text(raw.get("Output")).endswith(BUFFER_ALLOCATION_FAILURE)
        if rolled_back:
            fresh.restore_memory(self.memory_snapshot())
            self.rollbacks += 1
        self._replace_instance(fresh)
        self._rebase()
        return Evaluated(normalize(raw), rolled_back, elapsed)

    def memory_snapshot(self) -> bytes:
        """The memory now, as bytes nobody changes: a copy of the instance's (cheaper than
        unpacking the base, and the base is left as it is)."""
        return self.instance.memory_snapshot()

    @property
    def memory_size(self) -> int:
        return self.instance.memory_size()

    def close(self) -> None:
        """Free the instance's memory now (an evicted or dropped process; unusable after)."""
        self.instance.close()
