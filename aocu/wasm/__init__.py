"""Run ao process modules on wasmtime exactly like ``@permaweb/ao-loader`` 0.0.49.

Public API::

    module = load_module(binary, format, compute_limit=..., memory_limit=..., extensions=...)
    instance = module.instantiate(memory=None)     # None: a fresh process
    result = instance.handle(message, env)         # Output, Messages, ..., GasUsed
    snapshot = instance.memory_snapshot()

A message the loader would throw on raises `HandleError`; the instance is then
unusable and the caller continues from its previous snapshot, as the CU does.
"""

from ._errors import HandleError, ModuleFormatError, ModuleLinkError, WasmError
from ._formats import FORMATS, Format
from ._glue import HostOptions
from ._instance import HostState, Instance
from ._module import DEFAULT_COMPUTE_LIMIT, Module, load_module
from ._weavedrive import WeaveDriveSource

__all__ = [
    "DEFAULT_COMPUTE_LIMIT",
    "FORMATS",
    "Format",
    "HandleError",
    "HostOptions",
    "HostState",
    "Instance",
    "Module",
    "ModuleFormatError",
    "ModuleLinkError",
    "WasmError",
    "WeaveDriveSource",
    "load_module",
]
