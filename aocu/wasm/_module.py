"""Compiled modules: format checks, metering, import analysis, helper modules.

`load_module` compiles a binary once; `Module.instantiate` makes as many
independent instances as the caller wants (each with its own store). Compiling
and metering are the expensive steps (seconds for AOS), so metered binaries
and compiled modules are cached per sha256 of the input binary.
Thread-safe: a Module may be shared by instances on several threads.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version as _package_version
from pathlib import Path
from typing import Any

import wasmtime

from aocu import jsjson as _jsjson

from . import _artifacts, _epoch
from ._errors import ModuleLinkError
from ._formats import GEN1_IMPORT_NAMES, Format, resolve_format
from ._glue import EmscriptenGlue, HostOptions
from ._helpers import (
    FIRST_DYNCALL_SLOT,
    GAS_WAT,
    TABLE_LINK_WAT,
    InvokeSpec,
    LongjmpHelperPlan,
    compile_wat,
)
from ._inline import (
    GAS_USED_EXPORT,
    GET_TEMP_RET0,
    MEMCPY_BIG,
    SET_TEMP_RET0,
    TEMP_RET0_EXPORT,
    USEGAS,
    inline_host_imports,
)
from ._instance import Instance
from ._raw import value_kinds

#: Gas limit when none is given (the glue's DEFAULT_GAS_LIMIT).
DEFAULT_COMPUTE_LIMIT = 9_000_000_000_000_000
_MAX_WASM_STACK_BYTES = 1 << 20
CACHE_DIR_ENV = "AOCU_WASM_CACHE_DIR"
wasmtime_version = _package_version("wasmtime")
# "inline2": artifacts are of the binary after `_inline.inline_host_imports`
_ENGINE_CONFIG_TAG = f"exceptions,memory64,epoch,stack={_MAX_WASM_STACK_BYTES},inline2"


def _make_engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.wasm_exceptions = True        # the longjmp helper's throw/try_table
    config.wasm_memory64 = True
    config.epoch_interruption = True     # wall-clock deadlines (_epoch)
    config.max_wasm_stack = _MAX_WASM_STACK_BYTES
    engine = wasmtime.Engine(config)
    _epoch.register(engine)
    return engine


_engine: wasmtime.Engine | None = None
_engine_lock = threading.Lock()


def shared_engine() -> wasmtime.Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _make_engine()
        return _engine


@dataclass(frozen=True, slots=True)
class FunctionImport:
    module: str
    name: str
    canonical: str           # the glue's name (gen 1 binaries use minified ones)
    functype: wasmtime.FuncType
    params: tuple[str, ...]
    results: tuple[str, ...]


class Module:
    """A compiled ao process module, ready to instantiate."""

    def __init__(
        self,
        binary: bytes,
        fmt: Format,
        *,
        compute_limit: int | None,
        memory_limit: int | None,
        extensions: Mapping[str, Any] | None,
        options: HostOptions,
        compiled: wasmtime.Module | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.format = fmt
        self.options = options
        self.compute_limit = DEFAULT_COMPUTE_LIMIT if compute_limit is None else int(compute_limit)
        self.memory_limit = None if memory_limit is None else int(memory_limit)
        self.heap_max = fmt.heap_max if self.memory_limit is None else min(fmt.heap_max, self.memory_limit)
        self.extensions: Mapping[str, Any] = dict(extensions or {})
        self.engine = shared_engine()
        self.wasm_module = compiled if compiled is not None else compile_binary(self.engine, binary, fmt)
        self.function_imports = self._analyze_imports()
        exported = {e.name for e in self.wasm_module.exports}
        self.gas_inlined = GAS_USED_EXPORT in exported          # see _inline
        self.temp_ret0_inlined = TEMP_RET0_EXPORT in exported
        self.gas_module = helper_module(self.engine, GAS_WAT, cache_dir)
        self.table_link_module = helper_module(self.engine, TABLE_LINK_WAT, cache_dir)
        self.longjmp_plan, self.longjmp_served = self._plan_longjmp()
        self.longjmp_module = (helper_module(self.engine, self.longjmp_plan.wat(), cache_dir)
                               if self.longjmp_plan is not None else None)
        from ._fs import fs_factory, fs_import_names, make_fs_imports
        self.fs_import_names = fs_import_names(fmt)
        self._fs_factory = fs_factory
        self._make_fs_imports = make_fs_imports
        self._check_imports()

    # -- analysis ------------------------------------------------------------
    def _analyze_imports(self) -> list[FunctionImport]:
        imports = []
        for imp in self.wasm_module.imports:
            ty = imp.type
            if not isinstance(ty, wasmtime.FuncType):
                raise ModuleLinkError(f"unsupported non-function import {imp.module}.{imp.name}")
            name = imp.name or ""
            canonical = GEN1_IMPORT_NAMES.get(name, name) if self.format.gen == 1 and imp.module == "a" \
                else name
            imports.append(FunctionImport(imp.module, name, canonical, ty, value_kinds(ty.params),
                                          value_kinds(ty.results)))
        return imports

    def _plan_longjmp(self) -> tuple[LongjmpHelperPlan | None, frozenset[str]]:
        invokes = [i for i in self.function_imports if i.canonical.startswith("invoke_")]
        throws = any(i.canonical == "_emscripten_throw_longjmp" for i in self.function_imports)
        if not invokes and not throws:
            return None, frozenset()
        exports = {e.name: e.type for e in self.wasm_module.exports}
        pointer = "i64" if self.format.memory64 else "i32"
        tables = [t for t in exports.values() if isinstance(t, wasmtime.TableType)]
        plan = LongjmpHelperPlan(pointer, tables[0].limits.min if tables else 0)
        for imp in invokes:
            if len(imp.results) > 1 or not imp.params:
                raise ModuleLinkError(f"unsupported invoke signature {imp.name}")
            dyncall = "dynCall_" + imp.canonical.removeprefix("invoke_")
            slot = None
            if self.format.gen == 4 and dyncall in exports:
                slot = FIRST_DYNCALL_SLOT + len(plan.dyncall_exports)
                plan.dyncall_exports.append(dyncall)
            plan.invokes.append(InvokeSpec(imp.canonical, imp.params[0], imp.params[1:],
                                           imp.results[0] if imp.results else None, slot))
        served = frozenset({"_emscripten_throw_longjmp", *(i.canonical for i in invokes)})
        return plan, served

    def _check_imports(self) -> None:
        probe = EmscriptenGlue(self.format, self.options, heap_max=self.heap_max).imports()
        provided = set(probe) | self.fs_import_names | self.longjmp_served | {
            "__asyncjs__weavedrive_open", "__asyncjs__weavedrive_read", "__asyncjs__weavedrive_close",
            "metering_gasUsed"}
        for imp in self.function_imports:
            if imp.module == "metering" and imp.canonical == "usegas":
                continue
            if imp.canonical not in provided:
                raise ModuleLinkError(
                    f"import {imp.module}.{imp.name} is not provided by the {self.format.name} glue")

    # -- hooks used by instances -----------------------------------------------
    def fs_factory(self, glue: EmscriptenGlue) -> Any:
        return self._fs_factory(self.format, self.options, glue)

    def make_fs_imports(self, mem: Any, fs: Any, exports: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
        return self._make_fs_imports(self.format, mem, fs, exports)

    @staticmethod
    def stringify(value: Any) -> str:
        return _stringify(value)

    @staticmethod
    def parse(text: str) -> Any:
        return _parse(text)

    @staticmethod
    def encode_utf8(text: str) -> bytes:
        return _encode_utf8(text)

    @staticmethod
    def decode_utf8(buf: bytes) -> str:
        return _jsjson.utf8_to_string_like_emscripten(buf)

    @staticmethod
    def utf16_length(text: str) -> int:
        return _utf16_length(text)

    # -- public ------------------------------------------------------------------
    def instantiate(self, memory: bytes | bytearray | memoryview | None = None) -> Instance:
        """A fresh instance (booted like the glue), optionally carrying ``memory``."""
        instance = Instance(self)
        if memory is not None:
            instance.restore_memory(memory)
        return instance


_stringify = _jsjson.stringify
_parse = _jsjson.parse
_encode_utf8 = _jsjson.utf8_like_emscripten
_utf16_length = _jsjson.utf16_length


# -- compile caches -----------------------------------------------------------------
_helper_cache: dict[str, wasmtime.Module] = {}         # by the WAT's sha256
_compiled_cache: dict[tuple[str, str], wasmtime.Module] = {}
_cache_lock = threading.Lock()
_COMPILED_CACHE_ENTRIES = 16


def _drop_caches() -> None:
    # Free wasmtime objects while wasmtime-py can still free them: at interpreter exit its
    # ctypes bindings may already be gone ("'NoneType' object is not callable" noise).
    with _cache_lock:
        _compiled_cache.clear()
        _helper_cache.clear()


atexit.register(_drop_caches)


def helper_module(engine: wasmtime.Engine, wat: str, cache_dir: Path | None = None) -> wasmtime.Module:
    """One of the host's WAT helper modules (gas, table link, a module's longjmp helper), compiled
    once per process and, with ``cache_dir``, kept on disk beside the compiled modules: a few
    milliseconds each that a fresh CU process would otherwise pay on its first load."""
    key = (hashlib.sha256(wat.encode()).hexdigest(), "wat-helper")
    with _cache_lock:
        cached = _helper_cache.get(key[0])
    if cached is not None:
        return cached
    compiled = _load_or_compile(engine, key, cache_dir, lambda: compile_wat(engine, wat))
    with _cache_lock:
        if len(_helper_cache) >= _COMPILED_CACHE_ENTRIES * 2:
            _helper_cache.pop(next(iter(_helper_cache)))
        return _helper_cache.setdefault(key[0], compiled)


def _load_or_compile(engine: wasmtime.Engine, key: tuple[str, str], cache_dir: Path | None,
                     compile: Callable[[], wasmtime.Module]) -> wasmtime.Module:
    dir_fd = _artifacts.open_dir(cache_dir) if cache_dir is not None else None
    if dir_fd is None:
        return compile()
    try:
        name = _artifacts.artifact_name(key, f"{wasmtime_version}|{_ENGINE_CONFIG_TAG}")
        data = _artifacts.read_artifact(dir_fd, name)
        if data is not None:
            try:
                return wasmtime.Module.deserialize(engine, data)
            except wasmtime.WasmtimeError:
                pass                    # another wasmtime's, or broken: recompiled and replaced
        compiled = compile()
        _artifacts.write_artifact(dir_fd, name, compiled.serialize())
        return compiled
    finally:
        os.close(dir_fd)


def _inline_roles(fmt: Format) -> dict[tuple[str, str], str]:
    roles = {("metering", "usegas"): USEGAS}
    # gen 1/2 glue keeps tempRet0 only for the module (gen 3+ host code sets it through an export)
    if fmt.gen == 1:
        roles.update({("a", "h"): GET_TEMP_RET0, ("a", "b"): SET_TEMP_RET0, ("a", "k"): MEMCPY_BIG})
    elif fmt.gen == 2:
        roles.update({("env", "getTempRet0"): GET_TEMP_RET0, ("env", "setTempRet0"): SET_TEMP_RET0,
                      ("env", "emscripten_memcpy_big"): MEMCPY_BIG})
    return roles


def _compile(engine: wasmtime.Engine, binary: bytes, fmt: Format) -> wasmtime.Module:
    if fmt.metering is not None:
        from ._metering import MeteringError, meter_binary
        try:
            binary = meter_binary(binary, fmt.metering)
        except MeteringError as exc:
            raise ModuleLinkError(f"cannot meter module: {exc}") from exc
    binary = inline_host_imports(binary, _inline_roles(fmt)) or binary
    try:
        return wasmtime.Module(engine, binary)
    except wasmtime.WasmtimeError as exc:
        raise ModuleLinkError(f"cannot compile module: {str(exc).splitlines()[0]}") from exc


def compile_binary(engine: wasmtime.Engine, binary: bytes, fmt: Format,
                   cache_dir: Path | None = None) -> wasmtime.Module:
    """Meter (if the format says so) and compile, cached per (sha256, format).

    Compiling AOS takes about a second and metering it more; a compiled artifact
    loads in milliseconds. Artifacts are kept in-process and, when ``cache_dir``
    is set, on disk. Deserialising an artifact runs native code from that file, so
    `_artifacts` uses only a directory and artifacts no other user can write.
    """
    key = (hashlib.sha256(binary).hexdigest(), fmt.name)
    with _cache_lock:
        cached = _compiled_cache.get(key)
    if cached is not None:
        return cached
    compiled = _load_or_compile(engine, key, cache_dir, lambda: _compile(engine, binary, fmt))
    with _cache_lock:
        if len(_compiled_cache) >= _COMPILED_CACHE_ENTRIES:
            _compiled_cache.pop(next(iter(_compiled_cache)))
        _compiled_cache[key] = compiled
    return compiled


def load_module(
    binary: bytes,
    format: str,
    *,
    compute_limit: int | None = None,
    memory_limit: int | None = None,
    extensions: Mapping[str, Any] | None = None,
    options: HostOptions | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Module:
    """Compile ``binary`` as an ao module of ``format`` (the Module-Format tag).

    ``compute_limit`` is the gas limit of metered formats ("out of gas!" beyond
    it); ``memory_limit`` caps heap growth in bytes (ao-loader ignores it);
    ``extensions`` maps extension names to their providers, e.g.
    ``{"WeaveDrive": source}``; ``options`` sets the documented stand-ins for
    host state (`HostOptions`). ``cache_dir`` (default ``$AOCU_WASM_CACHE_DIR``)
    keeps compiled, metered artifacts across restarts.
    """
    fmt = resolve_format(format)
    if not isinstance(binary, (bytes, bytearray, memoryview)):
        raise TypeError("binary must be bytes")
    if cache_dir is None and os.environ.get(CACHE_DIR_ENV):
        cache_dir = os.environ[CACHE_DIR_ENV]
    data = bytes(binary)
    engine = shared_engine()
    compiled = compile_binary(engine, data, fmt, Path(cache_dir) if cache_dir is not None else None)
    return Module(data, fmt, compute_limit=compute_limit, memory_limit=memory_limit,
                  extensions=extensions, options=options or HostOptions(), compiled=compiled,
                  cache_dir=Path(cache_dir) if cache_dir is not None else None)
