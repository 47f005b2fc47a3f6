"""Checkpoint memory encoding in pieces: gzip any gunzip reads, hashes made on the way, and the
decoder's limits (cap, truncation, trailing data, corrupt trailers) whatever the piece sizes."""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib

import pytest

from aocu.arweave import HashedBlob
from aocu.checkpoints import (
    CheckpointRejected,
    MemoryDecoder,
    _codec,
    check_memory,
    check_sha256,
    checkpoint_tags,
    decode_memory,
    encode_memory,
)
from aocu.stores import MemoryPoint

MEMORY = bytes(range(256)) * 1000 + b"\0" * 100_000 + hashlib.sha512(b"x").digest() * 300


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def decode_in_pieces(data: bytes, size: int, encoding: str | None = "gzip", **kw: int) -> bytearray:
    decoder = MemoryDecoder(encoding, **kw)
    for piece in pieces(data, size):
        decoder.feed(piece)
    return decoder.finish()


@pytest.fixture(params=[None, 1000], ids=["one-piece", "1000-byte-pieces"])
def piece_bytes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """The codec's own piece size: as configured, and small enough to cut MEMORY in hundreds."""
    if request.param is not None:
        monkeypatch.setattr(_codec, "PIECE_BYTES", request.param)
    return int(_codec.PIECE_BYTES)


def test_encoding_is_plain_gzip_with_both_hashes(piece_bytes: int) -> None:
    encoded = encode_memory(MEMORY)
    data = encoded.data
    assert gzip.decompress(data) == MEMORY                     # what Node's zlib.gunzip reads too
    assert data[:2] == b"\x1f\x8b" and data[4:8] == b"\0\0\0\0"   # gzip, mtime 0: equal memory, equal bytes
    assert encode_memory(MEMORY).data == data
    assert encoded.sha256 == hashlib.sha256(MEMORY).hexdigest() and encoded.size == len(MEMORY)
    assert encoded.gzip == HashedBlob.of(data)                 # what the signature covers
    assert all(encoded.parts)
    assert encode_memory(bytearray(MEMORY)).data == data == encode_memory(memoryview(MEMORY)).data


def test_the_references_level_9_gzip_decodes() -> None:
    assert decode_memory(gzip.compress(MEMORY, compresslevel=9), "gzip") == MEMORY
    assert decode_memory(MEMORY, None) == MEMORY == decode_memory(MEMORY, "")


@pytest.mark.parametrize("size", [1, 7, 1000, 1 << 20])
def test_decoding_in_any_pieces_gives_the_memory_and_what_it_added(size: int, piece_bytes: int) -> None:
    data = encode_memory(MEMORY).data if size > 1 else gzip.compress(MEMORY[:5000])
    memory = MEMORY if size > 1 else MEMORY[:5000]
    decoder = MemoryDecoder("gzip", max_bytes=len(memory))
    added = hashlib.sha256()
    for piece in pieces(data, size):
        for out in decoder.feed(piece):
            assert 0 < len(out) <= _codec.PIECE_BYTES
            added.update(out)
    assert decoder.finish() == memory and added.hexdigest() == hashlib.sha256(memory).hexdigest()


@pytest.mark.parametrize("size", [7, 1000, 1 << 20])
def test_decoding_refuses_what_is_not_one_whole_gzip_member(size: int, piece_bytes: int) -> None:
    data = encode_memory(MEMORY).data
    crc_at, isize_at = len(data) - 8, len(data) - 4
    cases = {
        "truncated": (data[:len(data) // 2], "truncated"),
        "no trailer": (data[:-8], "truncated"),
        "empty": (b"", "truncated"),
        "not gzip": (b"not gzip at all" * 10, "not valid gzip"),
        "trailing garbage": (data + b"garbage", "after the end"),
        "a second member": (data + gzip.compress(b"more"), "after the end"),
        "bad CRC": (data[:crc_at] + struct.pack("<I", zlib.crc32(MEMORY) ^ 1) + data[isize_at:], "not valid gzip"),
        "bad length": (data[:isize_at] + struct.pack("<I", len(MEMORY) + 1), "not valid gzip"),
    }
    for name, (bad, reason) in cases.items():
        with pytest.raises(CheckpointRejected, match=reason):
            decode_in_pieces(bad, size)
            pytest.fail(name)


def test_trailing_data_in_a_later_piece_is_refused_too() -> None:
    decoder = MemoryDecoder("gzip")
    decoder.feed(encode_memory(MEMORY).data)
    with pytest.raises(CheckpointRejected, match="after the end"):
        decoder.feed(b"\0")


@pytest.mark.parametrize("size", [1000, 1 << 20])
def test_the_cap_refuses_a_bomb_before_inflating_it(size: int, piece_bytes: int) -> None:
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=1)          # 64 MiB of zeros in ~64 KiB
    decoder = MemoryDecoder("gzip", max_bytes=1 << 20)
    with pytest.raises(CheckpointRejected, match="larger than 1048576 bytes"):
        for piece in pieces(bomb, size):
            decoder.feed(piece)
    assert len(decoder._memory) <= 1 << 20                                  # never more than the cap held
    exact = gzip.compress(b"\0" * (1 << 20))
    assert decode_in_pieces(exact, size, max_bytes=1 << 20) == b"\0" * (1 << 20)
    with pytest.raises(CheckpointRejected, match="larger"):
        decode_in_pieces(MEMORY, size, encoding=None, max_bytes=len(MEMORY) - 1)


def test_other_encodings_are_refused_at_once() -> None:
    for encoding in ("br", "deflate", "GZIP"):
        with pytest.raises(CheckpointRejected, match="encoding"):
            MemoryDecoder(encoding)


def test_memory_check_compares_the_sha256_tag() -> None:
    point = MemoryPoint(process_id="p" * 43, timestamp=1, ordinate="1", module_id="m" * 43, nonce=1)
    tags = checkpoint_tags(point, sha256=hashlib.sha256(MEMORY).hexdigest().upper(), unit_id="u")
    check_memory(tags, MEMORY)
    check_sha256(tags, hashlib.sha256(MEMORY).hexdigest())
    with pytest.raises(CheckpointRejected, match="SHA-256"):
        check_memory(tags, MEMORY + b"!")
