"""Evaluation of processes: live instances, streams and the stage pipeline.

Start with `LiveProcess` (one hot process and its rollback rules).
"""

from ._live import BUFFER_ALLOCATION_FAILURE, Evaluated, LiveProcess, ReplayDivergedError, normalize

__all__ = ["BUFFER_ALLOCATION_FAILURE", "Evaluated", "LiveProcess", "ReplayDivergedError", "normalize"]
