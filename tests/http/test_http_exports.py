"""The public surfaces of aocu.http, aocu.testing and aocu.config (ruff's RUF022 keeps them sorted)."""

from __future__ import annotations

import importlib
import inspect
import types

import pytest

import aocu.config
import aocu.http
import aocu.testing


@pytest.mark.parametrize("module", [aocu.http, aocu.testing])
def test_facade_all_is_complete(module: types.ModuleType) -> None:
    public = {name for name, obj in vars(module).items()
              if not name.startswith("_") and not isinstance(obj, types.ModuleType)}
    assert public == set(module.__all__)


def test_config_all_names_what_it_defines() -> None:
    for name in aocu.config.__all__:
        assert hasattr(aocu.config, name), name


@pytest.mark.parametrize("name", ["_app", "_body", "_errors", "_headers", "_limits", "_metrics", "_progress",
                                  "_routes", "_serve", "_validate"])
def test_the_http_layer_imports_neither_apsw_nor_wasmtime(name: str) -> None:
    source = inspect.getsource(importlib.import_module(f"aocu.http.{name}"))
    assert "import apsw" not in source and "import wasmtime" not in source
