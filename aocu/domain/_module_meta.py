"""Module options and their validation, as the reference's ``loadModule`` (reference-cu.md §2.6).

Pure; no I/O (the module's metadata is loaded by the caller). Start with `module_options`: it
reads the process and module tags and either returns the loader's `ModuleOptions` or raises
the reference's error, checked in the reference's order:

1. computing the options: a repeated ``Memory-Limit`` tag throws a TypeError (500), before any
   check (``val.replace is not a function``);
2. ``Input-Encoding`` present, then ``Output-Encoding`` present (else 422);
3. ``Module-Format`` (trimmed) supported (else 422; a missing or repeated tag is a TypeError, 500);
4. ``Memory-Limit`` (process tag wins over module tag; first ``-`` dropped, then ``bytes``:
   ``"1-gb"`` -> 1073741824) truthy and <= the maximum (else 413);
5. ``Compute-Limit`` (process tag wins; ``parseInt``) truthy and <= the maximum (else 413);
6. every ``Extension`` (trimmed) supported (else 422).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Final

from aocu.errors import InvalidModuleError, ModuleError, ModuleLimitError

from ._js import bytes_parse, js_parse_int, js_trim, js_truthy
from ._model import ModuleMeta, ModuleOptions, ProcessMeta, Tag, Tags
from ._tags import parse_tags

__all__ = [
    "DEFAULT_MODULE_FORMATS",
    "DEFAULT_PROCESS_WASM_COMPUTE_MAX_LIMIT",
    "DEFAULT_PROCESS_WASM_MEMORY_MAX_LIMIT_BYTES",
    "LLAMA_ADMISSABLE",
    "MODULE_OPTIONS_BLOCK_HEIGHT",
    "module_options",
    "parse_compute_limit",
    "parse_memory_limit",
]

DEFAULT_MODULE_FORMATS: Final = (
    "wasm32-unknown-emscripten",
    "wasm32-unknown-emscripten2",
    "wasm32-unknown-emscripten3",
    "wasm32-unknown-emscripten4",
    "wasm64-unknown-emscripten-draft_2024_02_15",
    "wasm32-unknown-emscripten-metering",
    "wasm64-unknown-emscripten-draft_2024_10_16-metering",
)
"""``PROCESS_WASM_SUPPORTED_FORMATS`` default (``servers/cu/src/config.js``)."""

DEFAULT_PROCESS_WASM_MEMORY_MAX_LIMIT_BYTES: Final = 1 << 30  # bytes('1gb')
DEFAULT_PROCESS_WASM_COMPUTE_MAX_LIMIT: Final = 9_000_000_000_000  # 9t

MODULE_OPTIONS_BLOCK_HEIGHT: Final = 100
"""The constant ``blockHeight`` the reference puts in every ``moduleOptions``."""

LLAMA_ADMISSABLE: Final = (
    "dx3GrOQPV5Mwc1c-4HTsyq0s1TNugMf7XfIKJkyVQt8",
    "XOJ8FBxa6sGLwChnxhF2L71WkKLSKq1aU5Yn5WnFLrY",
    "M-OzkyjxWhSvWYF87p0kvmkuAEEkvOzIj4nMNoSIydc",
    "kd34P4974oqZf2Db-hFTUiCipsU6CzbR6t-iJoQhKIo",
    "ISrbGzQot05rs_HKC08O_SmkipYQnqgB1yC3mjZZeEo",
    "sKqjvBbhqKvgzZT4ojP1FNvt4r_30cqjuIIQIr-3088",
    "Pr2YVrxd7VwNdg6ekC0NXWNKXxJbfTlHhhlrKbAd1dA",
    "jbx-H6aq7b3BbNCHlK50Jz9L-6pz9qmldrYXMwjqQVI",
)
"""``LLAMA_ADMISSABLE``: the data ids a ``MODULE_MODE=llama`` CU admits (loadModule.js)."""


def _js_type_error_trim(value: Any, name: str) -> ModuleError:
    # What V8 throws for `<name>.trim()` on a non-string.
    if value is None:
        return ModuleError("Cannot read properties of undefined (reading 'trim')")
    return ModuleError(f"{name}.trim is not a function")


def parse_memory_limit(value: Any) -> int | float | None:
    """``bytes.parse(val.replace('-', ''))`` for a ``Memory-Limit`` value; ``None`` if falsy.

    Raises `ModuleError` (500) for a repeated tag, like the reference's TypeError.
    """
    if not js_truthy(value):
        return None
    if not isinstance(value, str):
        raise ModuleError("val.replace is not a function")
    return bytes_parse(value.replace("-", "", 1))


def parse_compute_limit(value: Any) -> int | float | None:
    """``parseInt(val)`` for a ``Compute-Limit`` value (a repeated tag parses ``"a,b"``)."""
    if not js_truthy(value):
        return None
    return js_parse_int(value)


def _extensions(module_tags: Tags, names: Any) -> dict[str, Tags]:
    # Each Extension value E collects the module tags whose name starts with E (plain prefix),
    # named without the first len(E) + 1 characters: `Foo-Max` -> `Max`.
    if names is None:
        names = []
    elif isinstance(names, str):
        names = [names]
    out: dict[str, Tags] = {}
    for ext in names:
        out[ext] = tuple(Tag(t.name[len(ext) + 1 :], t.value) for t in module_tags if t.name.startswith(ext))
    return out


def module_options(
    process: ProcessMeta,
    module: ModuleMeta,
    *,
    max_memory_bytes: int | float = DEFAULT_PROCESS_WASM_MEMORY_MAX_LIMIT_BYTES,
    max_compute: int | float = DEFAULT_PROCESS_WASM_COMPUTE_MAX_LIMIT,
    supported_formats: Collection[str] = DEFAULT_MODULE_FORMATS,
    supported_extensions: Collection[str] = (),
    module_mode: str | None = None,
) -> ModuleOptions:
    """``setModuleOptions``: the loader options for ``process`` running ``module``.

    Raises `InvalidModuleError` (422), `ModuleLimitError` (413) or `ModuleError` (500) with the
    reference's messages, in the order of the module docstring. The maxima and lists are the
    CU's ``PROCESS_WASM_*`` settings (defaults as the reference's config).
    """
    ptags = parse_tags(process.tags)
    mtags = parse_tags(module.tags)
    fmt = mtags.get("Module-Format")
    input_encoding = mtags.get("Input-Encoding")
    output_encoding = mtags.get("Output-Encoding")
    memory_limit = parse_memory_limit(ptags.get("Memory-Limit", mtags.get("Memory-Limit")))
    compute_limit = parse_compute_limit(ptags.get("Compute-Limit", mtags.get("Compute-Limit")))
    extensions = _extensions(module.tags, mtags.get("Extension"))
    llama = module_mode == "llama"
    mode = "test" if llama else ptags.get("Availability-Type", mtags.get("Availability-Type", "Assignments"))

    mid, pid = module.id, process.id
    if input_encoding is None:
        raise InvalidModuleError(f'Input-Encoding for module "{mid}" is not supported')
    if output_encoding is None:
        raise InvalidModuleError(f'Output-Encoding for module "{mid}" is not supported')
    if not isinstance(fmt, str):
        raise _js_type_error_trim(fmt, "format")
    if js_trim(fmt) not in supported_formats:
        raise InvalidModuleError(f'Module-Format for module "{mid}" is not supported')
    if not js_truthy(memory_limit) or not memory_limit <= max_memory_bytes:  # type: ignore[operator]
        raise ModuleLimitError(f'Memory-Limit for process "{pid}" exceeds supported limit')
    if not js_truthy(compute_limit) or not compute_limit <= max_compute:  # type: ignore[operator]
        raise ModuleLimitError(f'Compute-Limit for process "{pid}" exceeds supported limit')
    if any(js_trim(ext) not in supported_extensions for ext in extensions):
        raise InvalidModuleError(f'Module Extensions for module "{mid}" are not supported')

    return ModuleOptions(
        format=fmt,
        input_encoding=input_encoding,
        output_encoding=output_encoding,
        memory_limit=memory_limit,  # type: ignore[arg-type]
        compute_limit=compute_limit,  # type: ignore[arg-type]
        extensions=extensions,
        mode=mode,
        admissable_list=LLAMA_ADMISSABLE if llama else None,
        spawn={"id": pid, "owner": process.owner_address, "tags": process.tags},
        module={"id": mid, "owner": module.owner_address, "tags": module.tags},
        block_height=MODULE_OPTIONS_BLOCK_HEIGHT,
    )
