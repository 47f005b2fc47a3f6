"""Asyncify driven synchronously, as the gen 4 glue drives it with Promises.

An ``__asyncjs__*`` import in the Normal state does its work, then (like
``Asyncify.handleSleep``, whose Promise never resolves synchronously) always
unwinds: it mallocs the glue's 12 + 40 MiB data buffer (24 + 40 MiB in
wasm64), writes the header {stack start, stack end, rewind id 0 = ``handle``}
and calls ``asyncify_start_unwind``. `AsyncifyDriver.call_export` then stops
the unwind, starts the rewind and re-enters ``handle`` with no arguments, as
the glue's ``doRewind`` does; the import, entered again while Rewinding, stops
the rewind, frees the buffer and returns the value (loader-abi.md §4). The
malloc/free pair matters: it changes heap layout, and memory must match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._errors import HandleError

if TYPE_CHECKING:
    from ._instance import Instance

ASYNCIFY_STACK_BYTES = 41_943_040
_NORMAL, _UNWINDING, _REWINDING = 0, 1, 2


class AsyncifyDriver:
    def __init__(self, instance: Instance) -> None:
        self._instance = instance
        self._state = _NORMAL
        self._data = 0
        self._value: int = 0
        self.sleeps = 0
        self._drive: Any = None

    def _sleep_then(self, work: Callable[..., int | None]) -> Callable[..., int]:
        def import_fn(*args: int) -> int:
            ex = self._instance._ex
            if self._state == _REWINDING:
                self._state = _NORMAL
                ex["asyncify_stop_rewind"]()
                ex["free"](self._data)
                self._data = 0
                return self._value
            value = work(*args)
            self._value = 0 if value is None else int(value)
            mem = self._instance.mem
            header = 3 * mem.ptr_size
            data = mem.uptr(ex["malloc"](header + ASYNCIFY_STACK_BYTES))
            if data == 0:
                raise HandleError("Asyncify could not allocate its stack", kind="trap")
            mem.set_ptr(data, data + header)
            mem.set_ptr(data + mem.ptr_size, data + header + ASYNCIFY_STACK_BYTES)
            mem.set_i32(data + 2 * mem.ptr_size, 0)     # rewind id of `handle`
            self._data = data
            self._state = _UNWINDING
            ex["asyncify_start_unwind"](data)
            self.sleeps += 1
            return 0
        return import_fn

    def drive_sizes(self) -> dict[str, int]:
        return self._drive.sizes if self._drive is not None else {}

    def restore_drive_sizes(self, sizes: dict[str, int]) -> None:
        if self._drive is not None:
            self._drive.sizes = dict(sizes)

    def imports(self, drive: Any) -> dict[str, Callable[..., int]]:
        from ._weavedrive import WeaveDriveHost
        host = self._drive = WeaveDriveHost(self._instance, drive)
        return {
            "__asyncjs__weavedrive_open": self._sleep_then(host.open),
            "__asyncjs__weavedrive_read": self._sleep_then(host.read),
            "__asyncjs__weavedrive_close": self._sleep_then(host.close),
        }

    def call_export(self, export: Callable[..., Any], *args: int) -> int:
        ret = export(*args)
        if not self._instance.format.asyncify:
            return ret
        ex = self._instance._ex
        while self._state == _UNWINDING:
            self._state = _REWINDING
            ex["asyncify_stop_unwind"]()
            ex["asyncify_start_rewind"](self._data)
            ret = export(0, 0)
        self._state = _NORMAL
        return ret
