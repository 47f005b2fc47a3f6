"""The on-disk cache of compiled modules: reuse across restarts, and refusal of anything another user could write.

Deserialising an artifact runs its native code, so every test that refuses a directory or
an artifact plants a *valid* artifact (one that would load) and checks it was never
deserialised, that nothing was written where it should not be, and that the module still
works (compiled in memory).
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from aocu.wasm import _artifacts, _module, load_module

MODULES = Path(__file__).resolve().parents[2] / "fixtures" / "modules"
ENV = {"Process": {"Id": "PROCESS_ID", "Owner": "OWNER", "Tags": []}}
GEN2 = "wasm32-unknown-emscripten2"
ECHO = (MODULES / "c_echo_gen2.wasm").read_bytes()
ECHO4 = (MODULES / "c_echo_gen4.wasm").read_bytes()
METERED = "wasm32-unknown-emscripten-metering"
OTHER_UID = 54321
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another uid")

MSG = {"Id": "msg-1", "Owner": "OWNER", "From": "OWNER", "Target": "PROCESS_ID", "Data": "hi",
       "Tags": [{"name": "Action", "value": "Echo"}], "Block-Height": "1", "Timestamp": "1700000000000"}


@pytest.fixture(autouse=True)
def deserialized(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """The bytes of every artifact deserialised during the test.

    The host's WAT helpers are compiled in this process first, so they never reach these tests'
    cache directories (`test_helper_modules_are_cached_on_disk_too` looks at them alone)."""
    for binary, fmt in ((ECHO, GEN2), (ECHO4, METERED)):
        load_module(binary, fmt)
    seen: list[bytes] = []
    original = wasmtime.Module.deserialize

    def spy(engine: wasmtime.Engine, data: bytes) -> wasmtime.Module:
        seen.append(bytes(data))
        return original(engine, data)

    monkeypatch.setattr(wasmtime.Module, "deserialize", spy)
    monkeypatch.setattr(_artifacts, "_dirs", {})
    monkeypatch.delenv(_module.CACHE_DIR_ENV, raising=False)
    _module._compiled_cache.clear()
    yield seen
    _module._compiled_cache.clear()


def echo(cache_dir: Path | None, binary: bytes = ECHO, fmt: str = GEN2) -> Any:
    """Load as a fresh process would (only the disk cache survives) and answer one message."""
    _module._compiled_cache.clear()
    result = load_module(binary, fmt, cache_dir=cache_dir).instantiate().handle(MSG, ENV)
    assert result["Output"] == "hi"
    return result


def listing(directory: Path) -> dict[str, tuple[int, bytes | None]]:
    return {p.name: (p.lstat().st_mode, None if p.is_symlink() or not p.is_file() else p.read_bytes())
            for p in directory.iterdir()}


@pytest.fixture
def artifact(tmp_path: Path, deserialized: list[bytes]) -> Path:
    """A valid artifact of ECHO, made by the CU itself in a directory of its own."""
    echo(tmp_path / "origin")
    (made,) = (tmp_path / "origin").glob("*.cwasm")
    deserialized.clear()
    return made


def plant(directory: Path, artifact: Path, mode: int = 0o700) -> Path:
    directory.mkdir(mode=mode)
    directory.chmod(mode)                       # not subject to the umask
    planted = directory / artifact.name
    planted.write_bytes(artifact.read_bytes())
    planted.chmod(0o600)
    return planted


# ------------------------------------------------------------ the cache works
def test_compiled_artifacts_are_cached_on_disk(tmp_path: Path, deserialized: list[bytes]) -> None:
    binary, fmt = ECHO4, METERED
    cache = tmp_path / "a" / "cache"
    first = echo(cache, binary, fmt)
    (made,) = cache.glob("*.cwasm")
    assert deserialized == []
    again = echo(cache, binary, fmt)            # as after a restart: only the disk cache is left
    stored = made.read_bytes()                  # SHA-256 of the serialized module, then the module
    assert deserialized == [stored[32:]] and hashlib.sha256(stored[32:]).digest() == stored[:32]
    assert again == first and again["GasUsed"] > 0
    made.write_bytes(b"garbage")                # a broken artifact is recompiled and replaced, not trusted
    assert echo(cache, binary, fmt) == first
    assert made.read_bytes()[32:] == deserialized[0]


def test_a_torn_artifact_is_not_run(tmp_path: Path, deserialized: list[bytes]) -> None:
    """A crash can leave an artifact whose header wasmtime accepts but whose code is damaged:
    its checksum keeps it from being deserialized (and so from running)."""
    cache = tmp_path / "cache"
    first = echo(cache)
    (made,) = cache.glob("*.cwasm")
    stored = bytearray(made.read_bytes())
    stored[len(stored) // 2] ^= 0xFF            # one byte of code flipped, the header intact
    made.write_bytes(bytes(stored))
    deserialized.clear()
    assert echo(cache) == first
    assert deserialized == []                   # recompiled, never deserialized
    assert made.read_bytes() != bytes(stored)   # replaced


def test_a_new_cache_dir_is_private_and_artifacts_are_0600_whatever_the_umask(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    old = os.umask(0)
    try:
        echo(cache)
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache.lstat().st_mode) == 0o700
    (made,) = cache.iterdir()                   # no temporary file left behind
    assert made.suffix == ".cwasm" and stat.S_IMODE(made.lstat().st_mode) == 0o600


def test_the_env_cache_dir_is_used_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               artifact: Path, deserialized: list[bytes]) -> None:
    monkeypatch.setenv(_module.CACHE_DIR_ENV, str(tmp_path / "env"))
    echo(None)
    assert [p.name for p in (tmp_path / "env").iterdir()] == [artifact.name]
    plant(tmp_path / "shared", artifact, 0o777)
    monkeypatch.setenv(_module.CACHE_DIR_ENV, str(tmp_path / "shared"))
    echo(None)
    assert deserialized == []


# ------------------------------------------------------------ refused directories
@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702, 0o1777])
def test_a_dir_others_can_write_is_not_used(tmp_path: Path, artifact: Path, deserialized: list[bytes],
                                            mode: int) -> None:
    shared = tmp_path / "shared"
    plant(shared, artifact, mode)
    before = listing(shared)
    echo(shared)
    assert deserialized == []
    assert listing(shared) == before            # nothing written either
    assert stat.S_IMODE(shared.lstat().st_mode) == mode


@as_root
def test_a_dir_owned_by_another_uid_is_not_used(tmp_path: Path, artifact: Path, deserialized: list[bytes]) -> None:
    theirs = tmp_path / "theirs"
    plant(theirs, artifact)
    os.chown(theirs, OTHER_UID, -1)
    before = listing(theirs)
    echo(theirs)
    assert deserialized == []
    assert listing(theirs) == before


def test_a_symlinked_dir_is_not_used(tmp_path: Path, artifact: Path, deserialized: list[bytes]) -> None:
    real = tmp_path / "real"
    plant(real, artifact)
    link = tmp_path / "link"
    link.symlink_to(real)
    before = listing(real)
    echo(link)
    assert deserialized == []
    assert listing(real) == before and link.is_symlink()


def test_a_cache_dir_that_is_a_file_is_not_used(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_bytes(b"not a directory")
    echo(file)
    echo(tmp_path / "file" / "below")           # cannot even be created
    assert file.read_bytes() == b"not a directory"


def test_a_refused_dir_is_reported_once_with_the_fix(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    link = tmp_path / "link"
    link.symlink_to(shared)
    with caplog.at_level(logging.WARNING, logger="aocu.wasm"):
        echo(shared)
        echo(shared)
        echo(link)
    warnings = [r for r in caplog.records if r.name.startswith("aocu.wasm")]
    assert len(warnings) == 2
    assert str(shared) in warnings[0].getMessage() and "writable by group or others" in warnings[0].getMessage()
    assert f"chmod 700 {shared}" in warnings[0].getMessage()
    assert "WASM_BINARY_FILE_DIRECTORY" in warnings[0].getMessage()
    assert "symbolic link" in warnings[1].getMessage()


# ------------------------------------------------------------ refused artifacts
def test_a_symlinked_artifact_is_not_read_and_is_replaced(tmp_path: Path, artifact: Path,
                                                          deserialized: list[bytes]) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    (cache / artifact.name).symlink_to(artifact)
    target = artifact.read_bytes()
    echo(cache)
    assert deserialized == []
    replaced = cache / artifact.name
    assert not replaced.is_symlink() and stat.S_IMODE(replaced.lstat().st_mode) == 0o600
    assert artifact.read_bytes() == target      # the link's target was not written through
    echo(cache)
    assert deserialized == [replaced.read_bytes()[32:]]        # behind its SHA-256


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_an_artifact_others_can_write_is_not_read_and_is_replaced(tmp_path: Path, artifact: Path,
                                                                  deserialized: list[bytes], mode: int) -> None:
    planted = plant(tmp_path / "cache", artifact)
    planted.chmod(mode)
    echo(tmp_path / "cache")
    assert deserialized == []
    assert stat.S_IMODE(planted.lstat().st_mode) == 0o600


@as_root
def test_an_artifact_owned_by_another_uid_is_not_read(tmp_path: Path, artifact: Path,
                                                      deserialized: list[bytes]) -> None:
    planted = plant(tmp_path / "cache", artifact)
    os.chown(planted, OTHER_UID, -1)
    echo(tmp_path / "cache")
    assert deserialized == []
    assert planted.lstat().st_uid == os.geteuid()   # replaced by our own


def test_an_artifact_that_is_not_a_regular_file_is_not_read(tmp_path: Path, artifact: Path,
                                                            deserialized: list[bytes]) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    os.mkfifo(cache / artifact.name, 0o600)     # opening it for reading must not wait for a writer
    echo(cache)
    assert deserialized == []
    (cache / artifact.name).unlink()
    (cache / artifact.name).mkdir()             # cannot be replaced: the module is still served
    echo(cache)
    assert deserialized == [] and [p.name for p in cache.iterdir()] == [artifact.name]


def test_helper_modules_are_cached_on_disk_too(tmp_path: Path, deserialized: list[bytes],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The gas, table-link and longjmp WAT helpers: compiled by a fresh process once, then read."""
    from aocu.wasm import _helpers
    compiled: list[str] = []
    original = _helpers.compile_wat

    def counting(engine: wasmtime.Engine, wat: str) -> wasmtime.Module:
        compiled.append(wat)
        return original(engine, wat)

    monkeypatch.setattr(_module, "compile_wat", counting)
    cache = tmp_path / "cache"
    monkeypatch.setattr(_module, "_helper_cache", {})           # a fresh process
    first = echo(cache)
    helpers = len(compiled)
    assert helpers == 3 and len(list(cache.glob("*.cwasm"))) == 1 + helpers
    monkeypatch.setattr(_module, "_helper_cache", {})           # restarted: only the disk is left
    deserialized.clear()
    assert echo(cache) == first
    assert len(compiled) == helpers and len(deserialized) == 1 + helpers     # nothing compiled again
