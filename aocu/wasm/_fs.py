"""Wires the in-host filesystem (`_memfs`, `_syscalls`) into an instance.

Gen 1 glue has stubs only; gen 2+ carry a full MEMFS with TTYs on fds 0-2.
What a module prints to stdout/stderr is kept as a bounded tail (the glue
sends it to Node's console, i.e. operator logs), never written to the host.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._formats import Format

if TYPE_CHECKING:
    from ._glue import EmscriptenGlue, HostOptions
    from ._memory import LinearMemory

STDIO_TAIL_BYTES = 64 * 1024


def _tty_sink(glue: EmscriptenGlue) -> Callable[[int, bytes], None]:
    out = glue.stdout

    def write(_fd: int, data: bytes) -> None:
        out.extend(data)
        if len(out) > STDIO_TAIL_BYTES:
            del out[: len(out) - STDIO_TAIL_BYTES]
    return write


def fs_factory(fmt: Format, options: HostOptions, glue: EmscriptenGlue) -> Any:
    from ._memfs import MemFS
    return MemFS(now=glue.now, random_bytes=options.random_bytes, tty_out=_tty_sink(glue), gen=fmt.gen,
                 memory64=fmt.memory64)


_HOST_LINKS = ("now", "random_bytes", "tty_out")


def detached_copy(fs: Any) -> Any:
    """A deep copy of ``fs`` holding no reference to its instance (for host-state snapshots)."""
    links = {name: getattr(fs, name) for name in _HOST_LINKS}
    try:
        for name in _HOST_LINKS:
            setattr(fs, name, None)
        return copy.deepcopy(fs)
    finally:
        for name, value in links.items():
            setattr(fs, name, value)


def attached_copy(fs: Any, options: HostOptions, glue: EmscriptenGlue) -> Any:
    """A deep copy of a detached ``fs`` wired to another instance's clock and stdio."""
    clone = copy.deepcopy(fs)
    clone.now, clone.random_bytes, clone.tty_out = glue.now, options.random_bytes, _tty_sink(glue)
    return clone


def fs_import_names(fmt: Format) -> frozenset[str]:
    """The FS imports this generation's glue defines (others fail to link, as in the reference)."""
    from ._syscalls import FS_IMPORT_NAMES_BY_GEN
    return frozenset(FS_IMPORT_NAMES_BY_GEN[fmt.gen])


def make_fs_imports(fmt: Format, mem: LinearMemory, fs: Any,
                    exports: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
    from ._syscalls import make_fs_imports as make
    errno_location = exports["__errno_location"] if "__errno_location" in exports else (lambda: 0)
    return make(mem, fs, fmt.gen, memory64=fmt.memory64, errno_location=errno_location,
                memalign=exports.get("emscripten_builtin_memalign"))

