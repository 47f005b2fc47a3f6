"""ANS-104 tag bytes (the Avro array of ``{name, value}`` records): write and read, byte for byte.

Pure; no I/O. Writing follows the serializer the reference reaches through ``warp-arbundles`` 1.0.4
(``src/tags.ts``, ``AVSCTap``): a zig-zag varint tag count, each name and value as a zig-zag
varint byte length plus bytes, then a ``0`` varint; at most `MAX_TAG_BYTES` bytes in total.

One quirk is kept: strings of at most 64 UTF-8 bytes are written code unit by code unit, so a
lone surrogate becomes its 3-byte WTF-8 form, while longer strings go through ``Buffer.write``
(U+FFFD). The short path's other bug (it loops over the byte length, writing garbage past the
string) only touches bytes that later writes overwrite or that lie past the end, so it never
shows in the output.

Reading (`deserialize_tags`) is arbundles' ``AVSCTap.readTags``, made strict: blocks with a
negative count (count, then byte size) are read like arbundles does, strings decode as Node's
``buf.toString()`` (invalid UTF-8 becomes U+FFFD), and anything arbundles would read past the
end of, a negative length, an over-long varint or bytes after the closing ``0`` is a
``ValueError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from aocu.model import Tag

from ._bytes import node_utf8, wtf8

__all__ = ["MAX_TAG_BYTES", "deserialize_tags", "serialize_tags", "zigzag_varint"]

MAX_TAG_BYTES: Final = 4096
"""warp-arbundles' ``MAX_TAG_BYTES``: serialised tags beyond this throw."""

_SHORT_STRING_BYTES: Final = 64
_MAX_VARINT_BYTES: Final = 10  # a 64-bit Avro long


def zigzag_varint(n: int) -> bytes:
    """Avro's ``long`` encoding: zig-zag, then 7 bits per byte, least significant first."""
    m = (n << 1) if n >= 0 else ((-n << 1) - 1)
    out = bytearray()
    while True:
        byte = m & 0x7F
        m >>= 7
        if m:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _string(s: str) -> bytes:
    encoded = node_utf8(s)  # Buffer.byteLength(s): lone surrogates count 3, as in WTF-8
    if len(encoded) <= _SHORT_STRING_BYTES:
        encoded = wtf8(s)
    return zigzag_varint(len(encoded)) + encoded


def serialize_tags(tags: Iterable[tuple[str, str]]) -> bytes:
    """The Avro bytes of ``tags`` (``(name, value)`` pairs, e.g. `aocu.domain.Tag`).

    An empty list serialises to ``b"\\x00"``; ANS-104 data items leave the section empty
    instead (the caller decides). Raises ``ValueError`` with warp-arbundles' message
    ``Too many tag bytes (<n> > 4096)`` past `MAX_TAG_BYTES`, and ``TypeError`` for a name or
    value that is not a str (arbundles: ``Invalid tag format``).
    """
    pairs = list(tags)
    out = bytearray()
    if pairs:
        out += zigzag_varint(len(pairs))
        for name, value in pairs:
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError("Invalid tag format, expected {name:string, value: string}")
            out += _string(name)
            out += _string(value)
    out += zigzag_varint(0)
    if len(out) > MAX_TAG_BYTES:
        raise ValueError(f"Too many tag bytes ({len(out)} > {MAX_TAG_BYTES})")
    return bytes(out)


def _read_long(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    for i in range(_MAX_VARINT_BYTES):
        if pos + i >= len(buf):
            raise ValueError("tags end inside an Avro integer")
        byte = buf[pos + i]
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), pos + i + 1
    raise ValueError("an Avro integer in the tags is longer than 10 bytes")


def _read_string(buf: bytes | memoryview, pos: int) -> tuple[str, int]:
    n, pos = _read_long(buf, pos)
    if n < 0 or pos + n > len(buf):
        raise ValueError("a tag string runs past the end of the tags")
    return bytes(buf[pos : pos + n]).decode("utf-8", "replace"), pos + n


def deserialize_tags(raw: bytes | memoryview, *, max_tags: int) -> tuple[Tag, ...]:
    """The tags in Avro bytes ``raw`` (b"" is no tags); at most ``max_tags`` of them.

    Raises ``ValueError`` for malformed bytes or more than ``max_tags`` tags (checked per
    block, before reading it, so a huge block count costs nothing).
    """
    if not len(raw):
        return ()
    tags: list[Tag] = []
    pos = 0
    while True:
        count, pos = _read_long(raw, pos)
        if count == 0:
            break
        if count < 0:  # a block that carries its byte size after the count
            count = -count
            _size, pos = _read_long(raw, pos)
        if len(tags) + count > max_tags:
            raise ValueError(f"more than {max_tags} tags")
        for _ in range(count):
            name, pos = _read_string(raw, pos)
            value, pos = _read_string(raw, pos)
            tags.append(Tag(name, value))
    if pos != len(raw):
        raise ValueError(f"{len(raw) - pos} bytes after the end of the tags")
    return tuple(tags)
