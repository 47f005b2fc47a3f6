"""Evaluation of processes: live instances, streams and the stage pipeline.

Start with `ComputeUnit` (the API the HTTP routes call), then `ProcessRunner`
(one stream: fetch → hydrate → evaluate → persist) and `LiveProcess` (one hot
process and its rollback rules).
"""

from ._bus import EventBus
from ._cu import ComputeUnit
from ._live import BUFFER_ALLOCATION_FAILURE, Evaluated, LiveProcess, ReplayDivergedError, normalize
from ._memcache import ProcessMemoryCache
from ._open import open_compute_unit, pipeline_options
from ._runner import PipelineOptions, ProcessRunner, RunOutcome, Target

__all__ = [
    "BUFFER_ALLOCATION_FAILURE",
    "ComputeUnit",
    "Evaluated",
    "EventBus",
    "LiveProcess",
    "PipelineOptions",
    "ProcessMemoryCache",
    "ProcessRunner",
    "ReplayDivergedError",
    "RunOutcome",
    "Target",
    "normalize",
    "open_compute_unit",
    "pipeline_options",
]
