"""Run ao process modules on wasmtime exactly like ``@permaweb/ao-loader`` 0.0.49.

Public API (see README): ``load_module(binary, format, ...) -> Module``,
``Module.instantiate(memory=None) -> Instance``, ``Instance.handle(msg, env)``,
``Instance.memory_snapshot()``, and the error tree rooted at `WasmError`.
"""

from ._errors import HandleError, ModuleFormatError, ModuleLinkError, WasmError

__all__ = ["HandleError", "ModuleFormatError", "ModuleLinkError", "WasmError"]
