"""aocu.stores: what the CU keeps across requests and restarts (reference-cu.md §3).

Layout: ``base`` declares the row types and the Protocols the pipeline and HTTP layer use;
``_apsw*`` implement them on SQLite in WAL mode plus zstd memory-snapshot files (``_memory_files``);
``_fakes`` implements them in dicts for tests; both cache module binaries with ``_module_files``;
``_cursor`` holds the evaluation key and the reference's `/results` cursor format; ``_schema`` the
migrations. Open the real stores with
`open_stores`, fakes with `open_memory_stores`; import from here, never from the private modules.
"""

from ._apsw import open_stores as open_stores
from ._cursor import KEY_MAX as KEY_MAX
from ._cursor import RangeBound as RangeBound
from ._cursor import Sort as Sort
from ._cursor import encode_cursor as encode_cursor
from ._cursor import evaluation_key as evaluation_key
from ._cursor import parse_cursor as parse_cursor
from ._cursor import resolve_sort as resolve_sort
from ._errors import CursorError as CursorError
from ._errors import SnapshotError as SnapshotError
from ._errors import SnapshotsUnavailable as SnapshotsUnavailable
from ._errors import StoreError as StoreError
from ._fakes import MemoryBlockStore as MemoryBlockStore
from ._fakes import MemoryCheckpointStore as MemoryCheckpointStore
from ._fakes import MemoryEvaluationStore as MemoryEvaluationStore
from ._fakes import MemoryMessageStore as MemoryMessageStore
from ._fakes import MemoryModuleStore as MemoryModuleStore
from ._fakes import MemoryProcessStore as MemoryProcessStore
from ._fakes import MemorySchedulerLocationStore as MemorySchedulerLocationStore
from ._fakes import open_memory_stores as open_memory_stores
from .base import BlockRecord as BlockRecord
from .base import BlockStore as BlockStore
from .base import CheckpointRecord as CheckpointRecord
from .base import CheckpointStore as CheckpointStore
from .base import EvaluationRow as EvaluationRow
from .base import EvaluationStore as EvaluationStore
from .base import MemoryBuffer as MemoryBuffer
from .base import MemoryPoint as MemoryPoint
from .base import MessageRecord as MessageRecord
from .base import MessageStore as MessageStore
from .base import ModuleRecord as ModuleRecord
from .base import ModuleStore as ModuleStore
from .base import ProcessRecord as ProcessRecord
from .base import ProcessStore as ProcessStore
from .base import SchedulerLocation as SchedulerLocation
from .base import SchedulerLocationStore as SchedulerLocationStore
from .base import SnapshotKind as SnapshotKind
from .base import SnapshotRecord as SnapshotRecord
from .base import StoreOptions as StoreOptions
from .base import Stores as Stores
from .base import Tag as Tag

__all__ = [
    "KEY_MAX",
    "BlockRecord",
    "BlockStore",
    "CheckpointRecord",
    "CheckpointStore",
    "CursorError",
    "EvaluationRow",
    "EvaluationStore",
    "MemoryBlockStore",
    "MemoryBuffer",
    "MemoryCheckpointStore",
    "MemoryEvaluationStore",
    "MemoryMessageStore",
    "MemoryModuleStore",
    "MemoryPoint",
    "MemoryProcessStore",
    "MemorySchedulerLocationStore",
    "MessageRecord",
    "MessageStore",
    "ModuleRecord",
    "ModuleStore",
    "ProcessRecord",
    "ProcessStore",
    "RangeBound",
    "SchedulerLocation",
    "SchedulerLocationStore",
    "SnapshotError",
    "SnapshotKind",
    "SnapshotRecord",
    "SnapshotsUnavailable",
    "StoreError",
    "StoreOptions",
    "Stores",
    "Tag",
    "encode_cursor",
    "evaluation_key",
    "open_memory_stores",
    "open_stores",
    "parse_cursor",
    "resolve_sort",
]
