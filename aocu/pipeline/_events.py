"""Progress events: what the pipeline tells the websocket, tracing tools and metrics.

Plain frozen dataclasses, one per thing that happens to an evaluation stream;
`Event.to_json` gives the wire form (``{"type": ..., ...}``) used by
``/progress`` websockets and by ``tools/trace.py`` recordings.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar


def _now_ms() -> float:
    return time.time() * 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    type: ClassVar[str] = "event"
    process_id: str
    stream_id: str
    at_ms: float = field(default_factory=_now_ms)

    def to_json(self) -> dict[str, Any]:
        body = {"type": self.type}
        body.update({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        return body


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamStarted(Event):
    type: ClassVar[str] = "stream-started"
    from_nonce: int | None
    to: str | None                       # the target message id or timestamp, if any
    start: str                           # where evaluation starts: memory, file, checkpoint, cold


@dataclass(frozen=True, slots=True, kw_only=True)
class StageTimed(Event):
    """Time one message spent in one stage (fetch, hydrate, evaluate, persist, checkpoint)."""

    type: ClassVar[str] = "stage"
    stage: str
    message_id: str | None
    nonce: int | None
    ordinate: str | None
    started_ms: float
    elapsed_ms: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEvaluated(Event):
    type: ClassVar[str] = "message-evaluated"
    message_id: str
    nonce: int | None
    ordinate: str
    cron: str | None
    elapsed_ms: float
    gas_used: int
    error: bool
    rolled_back: bool
    kind: str = "scheduled"              # scheduled, assignment or cron (the reference's message_type)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckpointWritten(Event):
    type: ClassVar[str] = "checkpoint-written"
    kind: str                            # file, arweave, drain
    nonce: int | None
    memory_bytes: int
    elapsed_ms: float
    checkpoint_id: str | None = None     # the data item id of an Arweave checkpoint


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamFinished(Event):
    type: ClassVar[str] = "stream-finished"
    messages: int
    errors: int
    elapsed_ms: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamFailed(Event):
    type: ClassVar[str] = "stream-failed"
    error: str
    status: int
