"""WeaveDrive: the ``__asyncjs__weavedrive_*`` imports over a pluggable data source.

The reference drive (`loader/test/aos64/weavedrive.cjs`, `@permaweb/weavedrive`)
answers ``open('/data/<txid>')`` by checking admissibility, creating a MEMFS
file node and opening it (so the fd is a real FS fd that ``lseek`` and
``fdopen`` understand), and ``read`` by copying bytes of the transaction into
wasm memory at the stream's position. Where the data comes from is a
`WeaveDriveSource` (the gateway-backed one lives with the upstream clients).
Runs on the instance's thread, inside an Asyncify sleep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._errors import HandleError

if TYPE_CHECKING:
    from ._instance import Instance


@runtime_checkable
class WeaveDriveSource(Protocol):
    """Transaction data for WeaveDrive reads."""

    def admissible(self, tx_id: str, block_height: Any) -> bool:
        """May the process read ``tx_id`` at this block height (reference rules)?"""
        ...

    def size(self, tx_id: str) -> int | None:
        """Length of the transaction's data, or None if it does not exist."""
        ...

    def read(self, tx_id: str, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes of the data starting at ``offset``."""
        ...


class WeaveDriveHost:
    """The drive object the glue's ``Module.WeaveDrive(Module, FS)`` returns."""

    def __init__(self, instance: Instance, source: WeaveDriveSource | None) -> None:
        self._instance = instance
        self._source = source
        self.sizes: dict[str, int] = {}      # tx id -> data length

    def open(self, c_path: int, _mode: int = 0) -> int | None:
        if self._source is None:
            return None                   # glue: no Module.WeaveDrive -> resolve(null)
        inst = self._instance
        path = inst.mem.cstring(inst.mem.uptr(c_path)).decode("utf-8", "replace")
        parts = path.split("/")
        if len(parts) < 3 or parts[1] != "data":
            return 0                      # headers/, tx/, block/: not served yet
        tx_id = parts[2]
        fs = inst.fs
        if fs.analyze_path(path)["exists"]:
            return fs.open(path, "r").fd or 0          # a new stream on the existing node
        size = self._source.size(tx_id)
        if size is None or not self._source.admissible(tx_id, inst.glue.block_height):
            # the drive returns "HALT: FILE NOT FOUND"; the glue throws it
            raise HandleError("HALT: FILE NOT FOUND", kind="host")
        # FS.createFile('/', 'data/' + id, ...) then FS.open('/data/' + id, 'r')
        fs.create_file("/", "data/" + tx_id, True, False)
        stream = fs.open("/data/" + tx_id, "r")
        self.sizes[tx_id] = size
        return stream.fd

    def read(self, fd: int, dst: int, length: int) -> int:
        if self._source is None:
            raise HandleError("Module.WeaveDrive is not a function", kind="host")
        inst = self._instance
        stream = inst.fs.get_stream(fd)
        tx_id = stream.node.name if stream is not None else None
        if stream is None or tx_id not in self.sizes:
            raise HandleError(f"WeaveDrive read on unknown fd {fd}", kind="host")
        size = self.sizes[tx_id]
        want = max(0, min(inst.mem.uptr(length), size - stream.position))
        data = self._source.read(tx_id, stream.position, want) if want else b""
        inst.mem.write(inst.mem.uptr(dst), data)
        stream.position += len(data)
        return len(data)

    def close(self, fd: int) -> int:
        stream = self._instance.fs.get_stream(fd)
        if stream is not None:
            self._instance.fs.close(stream)
        return 0
