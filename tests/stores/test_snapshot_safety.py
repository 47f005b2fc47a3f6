"""Memory snapshot files (drains, file checkpoints) another local user could have planted are never used.

The snapshot directories default to /tmp (drains) and /tmp/file_checkpoints, so the store keeps
its files in the private ``aocu-memory`` / ``aocu-checkpoints`` subdirectories and follows
`aocu._safefiles`'s rules there. Each test first writes a real snapshot (so its record and sha256
match wherever that is the point), then breaks one rule, and checks that the store neither reads
nor writes through what was planted: a refused file is a miss (`SnapshotError`), a refused
directory is `SnapshotsUnavailable` with one warning, and a restart forgets records it cannot reach.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
from pathlib import Path

import pytest

from aocu.stores import (
    MemoryPoint,
    SnapshotError,
    SnapshotKind,
    SnapshotsUnavailable,
    StoreOptions,
    open_stores,
)
from aocu.stores._memory_files import MemoryFiles

from .conftest import T0, Clock

PID = "snapshot-safety".ljust(43, "x")
MEMORY = bytes(range(256)) * 64
OTHER_UID = 54321
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another uid")
KINDS = pytest.mark.parametrize("kind", list(SnapshotKind))


def point(nonce: int) -> MemoryPoint:
    return MemoryPoint(process_id=PID, timestamp=T0 + nonce, ordinate=str(nonce), nonce=nonce, epoch=0)


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "aocu.stores.snapshots" and r.levelno == logging.WARNING]


@KINDS
async def test_a_snapshot_round_trips_through_a_private_file_and_a_restart(
    tmp_path: Path, options: StoreOptions, clock: Clock, kind: SnapshotKind
) -> None:
    old = os.umask(0)                   # the modes are the store's, not the umask's
    try:
        async with open_stores(tmp_path / "cu.sqlite", options, clock_ms=clock) as stores:
            record = await stores.checkpoints.save_snapshot(kind, point(1), MEMORY)
            assert await stores.checkpoints.load_snapshot(record) == MEMORY
    finally:
        os.umask(old)
    directory = options.snapshot_dir(kind)
    assert stat.S_IMODE(directory.lstat().st_mode) == 0o700
    assert [p.name for p in directory.iterdir()] == [record.file]     # no temporary left
    assert stat.S_IMODE((directory / record.file).lstat().st_mode) == 0o600
    async with open_stores(tmp_path / "cu.sqlite", options, clock_ms=clock) as stores:
        assert await stores.checkpoints.read_snapshots(PID) == [record]
        assert await stores.checkpoints.load_snapshot(record) == MEMORY


@KINDS
async def test_a_symlink_to_a_valid_copy_is_not_followed(
    tmp_path: Path, options: StoreOptions, clock: Clock, kind: SnapshotKind
) -> None:
    async with open_stores(tmp_path / "cu.sqlite", options, clock_ms=clock) as stores:
        record = await stores.checkpoints.save_snapshot(kind, point(1), MEMORY)
        path = options.snapshot_dir(kind) / record.file
        outside = tmp_path / "outside.aomem"
        shutil.copyfile(path, outside)  # the very bytes the record expects: only the link is wrong
        path.unlink()
        path.symlink_to(outside)
        with pytest.raises(SnapshotError, match="symbolic link"):
            await stores.checkpoints.load_snapshot(record)
    async with open_stores(tmp_path / "cu.sqlite", options, clock_ms=clock) as stores:
        assert await stores.checkpoints.read_snapshots(PID) == []   # a restart treats it as missing
    assert outside.read_bytes()         # and never deletes what the link points to


async def test_a_symlink_to_a_fifo_neither_hangs_nor_is_read(
    tmp_path: Path, options: StoreOptions, clock: Clock
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)                     # no writer ever opens it: a blocking read would hang the test
    async with open_stores(tmp_path / "cu.sqlite", options, clock_ms=clock) as stores:
        record = await stores.checkpoints.save_snapshot(SnapshotKind.DRAIN, point(1), MEMORY)
        path = options.snapshot_dir(SnapshotKind.DRAIN) / record.file
        path.unlink()
        path.symlink_to(fifo)
        with pytest.raises(SnapshotError, match="symbolic link"):
            await stores.checkpoints.load_snapshot(record)
        os.unlink(path)
        os.mkfifo(path, 0o600)          # a FIFO of ours under the name itself: not a regular file
        with pytest.raises(SnapshotError, match="not a regular file"):
            await stores.checkpoints.load_snapshot(record)


def test_a_write_never_goes_through_a_planted_link(tmp_path: Path) -> None:
    directory = tmp_path / "aocu-memory"
    directory.mkdir(mode=0o700)
    files = MemoryFiles(directory, "0123abcd")
    name = files.new_name(PID, T0)
    victims = {name: tmp_path / "victim", f"{name}.tmp": tmp_path / "victim.tmp"}
    for link, victim in victims.items():
        victim.write_bytes(b"the CU user's own file")
        (directory / link).symlink_to(victim)
    with pytest.raises(FileExistsError):
        files.write(name, MEMORY)       # the temporary name is taken (by a link): nothing is written
    assert all(v.read_bytes() == b"the CU user's own file" for v in victims.values())
    (directory / f"{name}.tmp").unlink()
    size, sha = files.write(name, MEMORY)   # the link at the final name is replaced, not written through
    assert not (directory / name).is_symlink()
    assert files.read(name, size=size, sha256=sha) == MEMORY
    assert all(v.read_bytes() == b"the CU user's own file" for v in victims.values())


@KINDS
@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702, 0o1777])
async def test_a_dir_others_can_write_is_refused_with_one_warning(
    tmp_path: Path, options: StoreOptions, clock: Clock, kind: SnapshotKind, mode: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with open_stores(tmp_path / "cu.sqlite", options, clock_ms=clock) as stores:
        record = await stores.checkpoints.save_snapshot(kind, point(1), MEMORY)
        directory = options.snapshot_dir(kind)
        directory.chmod(mode)           # the file and its sha256 still match: the directory decides
        caplog.set_level(logging.WARNING, "aocu.stores.snapshots")
        for nonce in (2, 3):
            with pytest.raises(SnapshotsUnavailable, match="writable by group or others"):
                await stores.checkpoints.save_snapshot(kind, point(nonce), MEMORY)
        with pytest.raises(SnapshotError):
            await stores.checkpoints.load_snapshot(record)
        assert await stores.checkpoints.read_snapshots(PID) == [record]     # no record without its file
        [warning] = refusals(caplog)
        assert str(directory) in warning and options.snapshot_setting(kind) in warning
    assert [p.name for p in directory.iterdir()] == [record.file]           # nothing written there
    async with open_stores(tmp_path / "cu.sqlite", options, clock_ms=clock) as stores:
        assert await stores.checkpoints.read_snapshots(PID) == []    # unreachable: forgotten, not fatal
    assert [p.name for p in directory.iterdir()] == [record.file]    # and nothing deleted there


@KINDS
async def test_a_symlinked_dir_is_refused(
    tmp_path: Path, options: StoreOptions, clock: Clock, kind: SnapshotKind
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    options.snapshot_dir(kind).parent.mkdir(parents=True)
    options.snapshot_dir(kind).symlink_to(elsewhere)
    async with open_stores(tmp_path / "cu.sqlite", options, clock_ms=clock) as stores:
        with pytest.raises(SnapshotsUnavailable, match="symbolic link"):
            await stores.checkpoints.save_snapshot(kind, point(1), MEMORY)
    assert list(elsewhere.iterdir()) == []


@as_root
@KINDS
async def test_another_uids_file_or_dir_is_refused(
    tmp_path: Path, options: StoreOptions, clock: Clock, kind: SnapshotKind
) -> None:
    async with open_stores(tmp_path / "cu.sqlite", options, clock_ms=clock) as stores:
        record = await stores.checkpoints.save_snapshot(kind, point(1), MEMORY)
        directory = options.snapshot_dir(kind)
        os.chown(directory / record.file, OTHER_UID, -1)
        with pytest.raises(SnapshotError, match=f"owned by uid {OTHER_UID}"):
            await stores.checkpoints.load_snapshot(record)
        os.chown(directory / record.file, os.geteuid(), -1)
        assert await stores.checkpoints.load_snapshot(record) == MEMORY
        os.chown(directory, OTHER_UID, -1)
        with pytest.raises(SnapshotsUnavailable, match=f"owned by uid {OTHER_UID}"):
            await stores.checkpoints.load_snapshot(record)
        with pytest.raises(SnapshotsUnavailable, match=f"owned by uid {OTHER_UID}"):
            await stores.checkpoints.save_snapshot(kind, point(2), MEMORY)


@KINDS
async def test_a_file_longer_than_its_header_says_is_not_read(
    tmp_path: Path, options: StoreOptions, clock: Clock, kind: SnapshotKind
) -> None:
    async with open_stores(tmp_path / "cu.sqlite", options, clock_ms=clock) as stores:
        record = await stores.checkpoints.save_snapshot(kind, point(1), MEMORY)
        # a sparse 16 GiB file: reading all of it would exhaust the CU
        os.truncate(options.snapshot_dir(kind) / record.file, 1 << 34)
        with pytest.raises(SnapshotError, match="bytes after the header"):
            await stores.checkpoints.load_snapshot(record)
