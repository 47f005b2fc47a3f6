"""The module-binary cache: a binary another local user could have planted or changed is never returned.

Both stores (apsw and the fakes) keep binaries in ``<module_dir>/aocu-modules/<module id>.wasm``
and the size and sha256 of what they wrote. Every refusal test first caches the real binary (so
its digest is recorded and matches where that is the point), then breaks one rule, and checks
that the store answers "not cached" (None) rather than the file, and, where it matters, that a
new write repairs the cache without writing through a link or into a refused directory.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from aocu.stores import StoreOptions, Stores, open_stores

from .conftest import Clock

BINARY = b"\0asm\x01\0\0\0" + bytes(range(256)) * 4
OTHER_UID = 54321
MID = "mod-binary-1".ljust(43, "x")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another uid")


def cache_dir(options: StoreOptions) -> Path:
    return options.module_dir / "aocu-modules"


def cached(options: StoreOptions, module_id: str = MID) -> Path:
    return cache_dir(options) / f"{module_id}.wasm"


def listing(directory: Path) -> dict[str, tuple[int, int, bytes | None]]:
    return {p.name: (p.lstat().st_mode, p.lstat().st_uid, None if p.is_symlink() else p.read_bytes())
            for p in directory.iterdir()}


async def test_a_written_binary_is_read_back_from_its_private_file(stores: Stores, options: StoreOptions) -> None:
    old = os.umask(0)
    try:
        await stores.modules.write_module_binary(MID, BINARY)
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache_dir(options).lstat().st_mode) == 0o700
    assert stat.S_IMODE(cached(options).lstat().st_mode) == 0o600
    assert [p.name for p in cache_dir(options).iterdir()] == [cached(options).name]   # no temporary left
    assert await stores.modules.read_module_binary(MID) == BINARY
    cached(options).unlink()                    # the second read did come from the file
    assert await stores.modules.read_module_binary(MID) is None


async def test_a_file_the_store_never_wrote_is_not_used(stores: Stores, options: StoreOptions) -> None:
    cache_dir(options).mkdir(mode=0o700, parents=True, exist_ok=True)
    cached(options).write_bytes(BINARY)         # right owner and mode, but no digest was recorded for it
    cached(options).chmod(0o600)
    assert await stores.modules.read_module_binary(MID) is None
    await stores.modules.write_module_binary(MID, BINARY)
    assert await stores.modules.read_module_binary(MID) == BINARY


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702, 0o1777])
async def test_a_dir_others_can_write_is_not_used(stores: Stores, options: StoreOptions, mode: int,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    await stores.modules.write_module_binary(MID, BINARY)
    cache_dir(options).chmod(mode)              # the file and its digest still match: the directory decides
    before = listing(cache_dir(options))
    with caplog.at_level(logging.WARNING, logger="aocu.stores"):
        assert await stores.modules.read_module_binary(MID) is None
        await stores.modules.write_module_binary("mod-binary-2".ljust(43, "x"), BINARY)
        assert await stores.modules.read_module_binary(MID) is None
    assert listing(cache_dir(options)) == before                # nothing written there either
    assert stat.S_IMODE(cache_dir(options).lstat().st_mode) == mode
    (warning,) = [r.getMessage() for r in caplog.records if r.name.startswith("aocu.stores")]
    assert "writable by group or others" in warning and f"chmod 700 {cache_dir(options)}" in warning
    assert "WASM_BINARY_FILE_DIRECTORY" in warning


async def test_a_symlinked_dir_is_not_used(stores: Stores, options: StoreOptions, tmp_path: Path) -> None:
    await stores.modules.write_module_binary(MID, BINARY)
    real = tmp_path / "elsewhere"
    cache_dir(options).rename(real)
    cache_dir(options).symlink_to(real)
    assert await stores.modules.read_module_binary(MID) is None
    await stores.modules.write_module_binary(MID, BINARY)
    assert cache_dir(options).is_symlink() and [p.name for p in real.iterdir()] == [cached(options).name]


@as_root
async def test_a_dir_owned_by_another_uid_is_not_used(stores: Stores, options: StoreOptions) -> None:
    await stores.modules.write_module_binary(MID, BINARY)
    os.chown(cache_dir(options), OTHER_UID, -1)
    assert await stores.modules.read_module_binary(MID) is None


async def test_a_symlinked_binary_is_not_read_and_is_replaced(stores: Stores, options: StoreOptions,
                                                              tmp_path: Path) -> None:
    await stores.modules.write_module_binary(MID, BINARY)
    target = tmp_path / "target.wasm"
    target.write_bytes(BINARY)                  # the very bytes recorded: only the link is wrong
    target.chmod(0o600)
    cached(options).unlink()
    cached(options).symlink_to(target)
    assert await stores.modules.read_module_binary(MID) is None
    await stores.modules.write_module_binary(MID, b"\0asm-other")
    assert not cached(options).is_symlink() and target.read_bytes() == BINARY     # not written through
    assert await stores.modules.read_module_binary(MID) == b"\0asm-other"


@as_root
async def test_a_binary_owned_by_another_uid_is_not_read(stores: Stores, options: StoreOptions) -> None:
    await stores.modules.write_module_binary(MID, BINARY)
    os.chown(cached(options), OTHER_UID, -1)
    assert await stores.modules.read_module_binary(MID) is None
    await stores.modules.write_module_binary(MID, BINARY)
    assert cached(options).lstat().st_uid == os.geteuid()       # replaced by our own
    assert await stores.modules.read_module_binary(MID) == BINARY


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
async def test_a_binary_others_can_write_is_not_read(stores: Stores, options: StoreOptions, mode: int) -> None:
    await stores.modules.write_module_binary(MID, BINARY)
    cached(options).chmod(mode)
    assert await stores.modules.read_module_binary(MID) is None


async def test_a_binary_that_is_not_a_regular_file_is_not_read(stores: Stores, options: StoreOptions) -> None:
    await stores.modules.write_module_binary(MID, BINARY)
    cached(options).unlink()
    os.mkfifo(cached(options), 0o600)           # opening it must not wait for a writer
    assert await stores.modules.read_module_binary(MID) is None
    cached(options).unlink()
    cached(options).mkdir()                     # cannot be replaced: still "not cached", no error
    await stores.modules.write_module_binary(MID, BINARY)
    assert await stores.modules.read_module_binary(MID) is None


@pytest.mark.parametrize("tampered", [b"\0asm-planted" + BINARY[12:], BINARY + b"\0", BINARY[:-1]])
async def test_a_tampered_binary_is_detected(stores: Stores, options: StoreOptions, tampered: bytes,
                                            caplog: pytest.LogCaptureFixture) -> None:
    await stores.modules.write_module_binary(MID, BINARY)
    cached(options).write_bytes(tampered)       # right owner, right mode, wrong content
    assert stat.S_IMODE(cached(options).lstat().st_mode) == 0o600
    with caplog.at_level(logging.WARNING, logger="aocu.stores"):
        assert await stores.modules.read_module_binary(MID) is None
    assert any("downloading it again" in r.getMessage() for r in caplog.records)
    await stores.modules.write_module_binary(MID, BINARY)       # what the caller does next
    assert await stores.modules.read_module_binary(MID) == BINARY


# --- apsw only: the digest outlives the process --------------------------------------------------


async def test_the_digest_survives_a_restart(tmp_path: Path, options: StoreOptions, clock: Clock) -> None:
    async with open_stores(tmp_path / "cu.sqlite", options, clock_ms=clock) as stores:
        await stores.modules.write_module_binary(MID, BINARY)
    async with open_stores(tmp_path / "cu.sqlite", options, clock_ms=clock) as stores:
        assert await stores.modules.read_module_binary(MID) == BINARY
        cached(options).write_bytes(BINARY[::-1])
        assert await stores.modules.read_module_binary(MID) is None


async def test_startup_removes_half_written_binaries_only_in_its_own_dir(tmp_path: Path,
                                                                         options: StoreOptions) -> None:
    async with open_stores(tmp_path / "cu.sqlite", options) as stores:
        await stores.modules.write_module_binary(MID, BINARY)
    half = cached(options).with_name(cached(options).name + ".0badcafe.tmp")
    foreign = [cache_dir(options) / f"{MID}.wasm.gz", cache_dir(options) / "notes.tmp",
               options.module_dir / f"{MID}.wasm.0badcafe.tmp"]
    for path in [half, *foreign]:
        path.write_bytes(b"x")
    async with open_stores(tmp_path / "cu.sqlite", options) as stores:
        assert await stores.modules.read_module_binary(MID) == BINARY
    assert not half.exists() and all(p.exists() for p in foreign)


async def test_startup_in_a_shared_dir_neither_fails_nor_deletes(tmp_path: Path, options: StoreOptions) -> None:
    cache_dir(options).mkdir(parents=True)
    cache_dir(options).chmod(0o777)
    planted = cache_dir(options) / f"{MID}.wasm.0badcafe.tmp"
    planted.write_bytes(b"x")
    async with open_stores(tmp_path / "cu.sqlite", options) as stores:
        await stores.modules.write_module_binary(MID, BINARY)
        assert await stores.modules.read_module_binary(MID) is None
    assert [p.name for p in cache_dir(options).iterdir()] == [planted.name]
