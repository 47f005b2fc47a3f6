"""Errors raised by the wasm host, and the internal signals that cross wasm frames.

Public tree::

    WasmError
    ├── ModuleFormatError      unknown format, or a binary that does not fit it
    ├── ModuleLinkError        an import the host cannot provide, a bad binary
    └── HandleError            the message failed as ao-loader would throw
        (``.value`` is the loader's thrown value: a string, or an object)

Internal signals (``_Signal`` subclasses) are raised inside host imports to
unwind wasm; `Instance.handle` turns every one of them into a `HandleError`
whose value is the text the reference would show.
"""

from __future__ import annotations

from typing import Any


class WasmError(Exception):
    """Base class of everything aocu.wasm raises on purpose."""


class ModuleFormatError(WasmError, ValueError):
    """The Module-Format is unknown, or the binary does not match it."""


class ModuleLinkError(WasmError):
    """The binary cannot be compiled or linked against the host."""


class HandleError(WasmError):
    """A message failed the way ao-loader's ``handle`` throws.

    ``value`` is what the loader throws: the process's ``response`` (a string,
    or a JSON object decoded to a dict) when the Lua wrapper reports
    ``ok = false``, or the message of a JS ``Error`` for host-level failures
    ("out of gas!", "Aborted(...)", "Program terminated with exit(1)", traps).
    ``kind`` says which: ``"response"``, ``"out-of-gas"``, ``"abort"``,
    ``"exit"``, ``"trap"``, ``"timeout"``, ``"memory-limit"`` or ``"host"``.
    """

    def __init__(self, value: Any, kind: str = "response") -> None:
        self.value = value
        self.kind = kind
        super().__init__(value if isinstance(value, str) else repr(value))


class _Signal(Exception):
    """Raised in a host import to stop wasm; never escapes aocu.wasm."""

    kind = "host"

    def loader_value(self) -> str:
        return str(self)


class OutOfGas(_Signal):
    kind = "out-of-gas"

    def __init__(self) -> None:
        super().__init__("out of gas!")


class Abort(_Signal):
    kind = "abort"


class ExitStatus(_Signal):
    kind = "exit"

    def __init__(self, status: int) -> None:
        super().__init__(f"Program terminated with exit({status})")
        self.status = status


class Longjmp(_Signal):
    """Emscripten's ``throw Infinity`` (only on the pure-Python longjmp path)."""

    kind = "trap"
