"""Snapshot files (aocu.stores._memory_files): format, atomic writes, verification, ownership."""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import pytest

from aocu.stores import SnapshotError
from aocu.stores._memory_files import MemoryFiles

STORE_ID = "0a1b2c3d"


def wasm_like(size: int, seed: int = 0) -> bytes:
    """Mostly zero pages with some text-ish and some noisy regions, like a wasm heap."""
    buf = bytearray(size)
    text = (b'{"Id":"abc","Tags":[{"name":"Action","value":"Eval"}]}' * 50)[: size // 8]
    buf[: len(text)] = text
    noise = hashlib.sha256(str(seed).encode()).digest() * (size // 256)
    buf[size // 2 : size // 2 + len(noise)] = noise
    return bytes(buf)


@pytest.fixture
def files(tmp_path: Path) -> MemoryFiles:
    return MemoryFiles(tmp_path, STORE_ID)


@pytest.mark.parametrize("size", [0, 1, (1 << 20) + 1, 3 << 20])
def test_round_trip(files: MemoryFiles, size: int) -> None:
    data = wasm_like(size)
    name = files.new_name("proc-1", 1700000000000)
    got_size, sha = files.write(name, memoryview(data))
    assert (got_size, sha) == (size, hashlib.sha256(data).digest())
    assert files.read(name, size=size, sha256=sha) == data
    assert files.own_files() == [name]


def test_file_is_compressed_and_carries_its_checksum(files: MemoryFiles) -> None:
    data = wasm_like(4 << 20)
    name = files.new_name("p", 1)
    _, sha = files.write(name, data)
    raw = (files.directory / name).read_bytes()
    assert len(raw) < len(data) // 5
    magic, size, frame_length, header_sha = struct.unpack("<8sQQ32s", raw[:56])
    assert (magic, size, frame_length, header_sha) == (b"AOCUMEM\x01", len(data), len(raw) - 56, sha)


def test_corruption_is_detected(files: MemoryFiles) -> None:
    data = wasm_like(1 << 20, seed=3)
    name = files.new_name("p", 1)
    size, sha = files.write(name, data)
    path = files.directory / name
    good = path.read_bytes()

    def check(raw: bytes, **expect: object) -> None:
        path.write_bytes(raw)
        with pytest.raises(SnapshotError):
            files.read(name, size=int(expect.get("size", size)), sha256=bytes(expect.get("sha", sha)))  # type: ignore[arg-type]

    check(good[:-10])  # truncated payload
    check(good[:30])  # truncated header
    check(good + b"\0")  # trailing bytes
    check(b"XXXXXXXX" + good[8:])  # not our file
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x40
    check(bytes(flipped))  # payload bit flip (zstd error or sha mismatch)
    check(good, size=size + 1)  # record disagrees with the header
    check(good, sha=bytes(32))
    forged = bytearray(good)
    forged[24:56] = hashlib.sha256(b"other").digest()  # header and record agree, content does not
    path.write_bytes(bytes(forged))
    with pytest.raises(SnapshotError, match="sha256 mismatch"):
        files.read(name, size=size, sha256=hashlib.sha256(b"other").digest())
    path.unlink()
    with pytest.raises(SnapshotError, match="missing"):
        files.read(name, size=size, sha256=sha)


def test_failed_write_leaves_nothing(files: MemoryFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    name = files.new_name("p", 1)
    with pytest.raises(OSError):
        files.write(name, wasm_like(1 << 20))
    assert list(files.directory.iterdir()) == []


def test_only_own_files_are_listed(files: MemoryFiles) -> None:
    mine = files.new_name("proc-1", 5)
    files.write(mine, b"abc")
    d = files.directory
    (d / f"{mine}.tmp").write_bytes(b"half")
    foreign = [
        "state-proc-1.dat",  # the reference's drain file
        "state-proc-1.dat.tmp",
        f"ffffffff.proc-1.5.{'0' * 12}.aomem",  # another database's snapshot
        f"{STORE_ID}.proc-1.5.{'0' * 12}.aomem.bak",
        "unrelated.txt",
    ]
    for name in foreign:
        (d / name).write_bytes(b"x")
    (d / f"{STORE_ID}.dir.5.{'0' * 12}.aomem").mkdir()
    assert sorted(files.own_files()) == sorted([mine, f"{mine}.tmp"])
    files.remove(files.own_files())
    assert sorted(p.name for p in d.iterdir()) == sorted([*foreign, f"{STORE_ID}.dir.5.{'0' * 12}.aomem"])


def test_unsafe_process_ids_get_safe_names(files: MemoryFiles) -> None:
    name = files.new_name("../../etc/passwd\0", 1)
    assert "/" not in name and "\0" not in name
    files.write(name, b"x")
    assert files.own_files() == [name]
