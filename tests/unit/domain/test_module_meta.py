"""aocu.domain module options (reference-cu.md §2.6; loadModule.test.js)."""

from __future__ import annotations

import pytest

from aocu.domain import (
    LLAMA_ADMISSABLE,
    ModuleMeta,
    Owner,
    Tag,
    module_options,
    parse_compute_limit,
    parse_memory_limit,
)
from aocu.errors import InvalidModuleError, ModuleError, ModuleLimitError

from .builders import make_process, tags

PROCESS = "contract-123-9HdeqeuYQOgMgWucro"
MODULE_TAGS = tags(
    ("Data-Protocol", "ao"),
    ("Type", "Module"),
    ("Module-Format", "wasm32-unknown-emscripten"),
    ("Input-Encoding", "JSON-1"),
    ("Output-Encoding", "JSON-1"),
    ("Compute-Limit", "15000"),
    ("Memory-Limit", "15-kb"),
)
ALL = ("Foo", "Bar", "Fizz")


def module(module_tags: tuple[Tag, ...] = MODULE_TAGS) -> ModuleMeta:
    return ModuleMeta(id="foobar", owner=Owner("owner-123", "key-123"), tags=module_tags)


def process(*pairs: tuple[str, str]):
    return make_process(id=PROCESS, owner=Owner("p-owner-123", "key-123"), tags=tags(("Module", "foobar"), *pairs))


def without(index: int) -> tuple[Tag, ...]:
    return MODULE_TAGS[:index] + MODULE_TAGS[index + 1 :]


def test_process_limits_win_over_module_limits() -> None:
    p = process(("Compute-Limit", "10000"), ("Memory-Limit", "11-kb"))
    opts = module_options(p, module())
    assert opts.format == "wasm32-unknown-emscripten"
    assert (opts.input_encoding, opts.output_encoding) == ("JSON-1", "JSON-1")
    assert (opts.compute_limit, opts.memory_limit) == (10000, 11264)
    assert opts.extensions == {}
    assert opts.mode == "Assignments"
    assert opts.admissable_list is None
    assert opts.spawn == {"id": PROCESS, "owner": "p-owner-123", "tags": p.tags}
    assert opts.module == {"id": "foobar", "owner": "owner-123", "tags": MODULE_TAGS}
    assert opts.block_height == 100


def test_llama_mode() -> None:
    opts = module_options(process(("Compute-Limit", "10000"), ("Memory-Limit", "11-kb")), module(), module_mode="llama")
    assert opts.mode == "test"
    assert opts.admissable_list == LLAMA_ADMISSABLE and len(LLAMA_ADMISSABLE) == 8


def test_module_limits_are_the_fallback() -> None:
    opts = module_options(process(("Compute-Limit", "10000")), module())
    assert (opts.compute_limit, opts.memory_limit) == (10000, 15360)
    opts = module_options(process(), module())
    assert (opts.compute_limit, opts.memory_limit) == (15000, 15360)


def test_availability_type() -> None:
    m = module((*MODULE_TAGS, Tag("Availability-Type", "Module-Avail")))
    assert module_options(process(), m).mode == "Module-Avail"
    assert module_options(process(("Availability-Type", "Process-Avail")), m).mode == "Process-Avail"


def test_extensions() -> None:
    one = module((*MODULE_TAGS, Tag("Extension", "Foo"), Tag("Foo-Max", "10"), Tag("Foo-Min", "2")))
    assert module_options(process(), one, supported_extensions=ALL).extensions == {
        "Foo": tags(("Max", "10"), ("Min", "2"))
    }
    two = module(
        (
            *MODULE_TAGS,
            Tag("Extension", "Foo"),
            Tag("Extension", "Bar"),
            Tag("Foo-Max", "10"),
            Tag("Bar-Max", "15"),
            Tag("Foo-Min", "2"),
            Tag("Bar-Floor", "1"),
        )
    )
    assert module_options(process(), two, supported_extensions=ALL).extensions == {
        "Foo": tags(("Max", "10"), ("Min", "2")),
        "Bar": tags(("Max", "15"), ("Floor", "1")),
    }
    with pytest.raises(InvalidModuleError) as info:
        module_options(process(), two, supported_extensions=("Fizz", "Foo"))
    assert str(info.value) == 'Module Extensions for module "foobar" are not supported'
    assert info.value.http_status == 422
    # The default (the reference's PROCESS_WASM_SUPPORTED_EXTENSIONS) supports none.
    with pytest.raises(InvalidModuleError):
        module_options(process(), one)
    # Extension names are trimmed for the check.
    padded = module((*MODULE_TAGS, Tag("Extension", " Foo ")))
    assert list(module_options(process(), padded, supported_extensions=ALL).extensions) == [" Foo "]


@pytest.mark.parametrize(
    ("module_tags", "message"),
    [
        (without(3), 'Input-Encoding for module "foobar" is not supported'),
        (without(4), 'Output-Encoding for module "foobar" is not supported'),
    ],
)
def test_missing_encodings_are_422(module_tags: tuple[Tag, ...], message: str) -> None:
    with pytest.raises(InvalidModuleError) as info:
        module_options(process(), module(module_tags))
    assert str(info.value) == message and info.value.http_status == 422


def test_unsupported_format_is_422() -> None:
    tags_ = (*MODULE_TAGS[:2], Tag("Module-Format", "wasm64-unknown-emscripten"), *MODULE_TAGS[3:])
    with pytest.raises(InvalidModuleError, match=r'^Module-Format for module "foobar" is not supported$'):
        module_options(process(), module(tags_))
    with pytest.raises(InvalidModuleError):
        module_options(process(), module(), supported_formats=())
    padded = (*MODULE_TAGS[:2], Tag("Module-Format", " wasm32-unknown-emscripten "), *MODULE_TAGS[3:])
    assert module_options(process(), module(padded)).format == " wasm32-unknown-emscripten "


def test_missing_or_repeated_format_is_a_type_error() -> None:
    with pytest.raises(ModuleError, match=r"^Cannot read properties of undefined \(reading 'trim'\)$") as info:
        module_options(process(), module(without(2)))
    assert type(info.value) is ModuleError and info.value.http_status == 500
    with pytest.raises(ModuleError, match=r"^format\.trim is not a function$"):
        module_options(process(), module((*MODULE_TAGS, Tag("Module-Format", "again"))))


@pytest.mark.parametrize(
    ("module_tags", "kw", "message"),
    [
        (without(5), {}, f'Compute-Limit for process "{PROCESS}" exceeds supported limit'),
        (MODULE_TAGS, {"max_compute": 14999}, f'Compute-Limit for process "{PROCESS}" exceeds supported limit'),
        (without(6), {}, f'Memory-Limit for process "{PROCESS}" exceeds supported limit'),
        (MODULE_TAGS, {"max_memory_bytes": 15359}, f'Memory-Limit for process "{PROCESS}" exceeds supported limit'),
    ],
)
def test_limits_are_413(module_tags: tuple[Tag, ...], kw: dict, message: str) -> None:
    with pytest.raises(ModuleLimitError) as info:
        module_options(process(), module(module_tags), **kw)
    assert str(info.value) == message and info.value.http_status == 413


def test_limits_at_the_maximum_pass() -> None:
    opts = module_options(process(), module(), max_compute=15000, max_memory_bytes=15360)
    assert (opts.compute_limit, opts.memory_limit) == (15000, 15360)


def test_memory_limit_is_checked_before_compute_limit() -> None:
    with pytest.raises(ModuleLimitError, match=r"^Memory-Limit"):
        module_options(process(("Memory-Limit", "0-kb"), ("Compute-Limit", "0")), module())


def test_repeated_memory_limit_throws_before_any_check() -> None:
    # §8.8 #45: val.replace on an array; it happens while computing options, so it wins over
    # a missing Input-Encoding.
    p = process(("Memory-Limit", "1-kb"), ("Memory-Limit", "2-kb"))
    with pytest.raises(ModuleError, match=r"^val\.replace is not a function$"):
        module_options(p, module(without(3)))


def test_limit_parsing() -> None:
    assert parse_memory_limit("1-gb") == 1073741824
    assert parse_memory_limit("512-mb") == 536870912
    assert parse_memory_limit("15-kb") == 15360
    assert parse_memory_limit("1024") == 1024
    assert parse_memory_limit("") is None
    assert parse_memory_limit(None) is None
    assert parse_memory_limit("lots") is None
    assert parse_compute_limit("9000000000000") == 9_000_000_000_000
    assert parse_compute_limit("9e12") == 9  # parseInt
    assert parse_compute_limit(["100", "200"]) == 100  # a repeated tag: parseInt("100,200")
    assert parse_compute_limit("") is None
