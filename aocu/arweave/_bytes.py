"""Byte conversions exactly as Node's ``Buffer`` does them, for the Arweave formats.

Pure functions; no I/O. A Python ``str`` here is a JS string in aocu.jsjson's sense: surrogate
code points stand for UTF-16 code units, so a surrogate pair written as two code points is the
astral character and a lone surrogate is a lone surrogate.

* `node_utf8` is ``Buffer.from(str)``: UTF-8, a lone surrogate becoming U+FFFD.
* `wtf8` is the byte-by-code-unit encoding avsc's short-string path writes (lone surrogates as
  3-byte ``ED xx xx``), needed for ANS-104 tags (see ``_tags``).
* `node_base64_decode` is ``Buffer.from(s, 'base64')`` / ``'base64url'`` (Node accepts both
  alphabets in both): exact for well-formed input, and Node's lenient legacy decoder otherwise.
* `base64url_encode` is ``buf.toString('base64url')`` (no padding).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

__all__ = ["base64url_encode", "js_string_units", "node_base64_decode", "node_utf8", "wtf8"]

_SURROGATE: Final = re.compile("[\ud800-\udfff]")

# Node's unbase64 table: both alphabets decode everywhere.
_B64_VALUES: Final[dict[str, int]] = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
}
_B64_VALUES["-"] = 62
_B64_VALUES["_"] = 63
_STRICT: Final = re.compile(r"[A-Za-z0-9+/\-_]*")


def js_string_units(s: str) -> str:
    """``s`` with surrogate pairs joined into astral characters; lone surrogates stay."""
    if not _SURROGATE.search(s):
        return s
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def node_utf8(s: str) -> bytes:
    """``Buffer.from(s)``: UTF-8, each lone surrogate written as U+FFFD (EF BF BD)."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        # After joining pairs, any surrogate left is a lone one.
        return _SURROGATE.sub("\ufffd", js_string_units(s)).encode("utf-8")


def wtf8(s: str) -> bytes:
    """UTF-8 of each UTF-16 code unit sequence, lone surrogates as their 3-byte form (``ED ..``)."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        return js_string_units(s).encode("utf-8", "surrogatepass")


def base64url_encode(data: bytes | bytearray | memoryview) -> str:
    """``Buffer.toString('base64url')``: URL alphabet, no padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _legacy_decode(s: str) -> bytes:
    # Node's nbytes::Base64Decode slow path: characters outside both alphabets are skipped, '='
    # (or the end) stops decoding, and the output is capped at the size JS computed up front
    # (base64ByteLength: length minus up to two trailing '=' times 3/4).
    n = len(s)
    size = n
    if size and s[size - 1] == "=":
        size -= 1
    if size > 1 and s[size - 1] == "=":
        size -= 1
    cap = (size * 3) >> 2
    out = bytearray()
    i = 0
    group: list[int] = []
    while i < n and len(out) < cap:
        c = s[i]
        i += 1
        v = _B64_VALUES.get(c)
        if v is None:
            if c == "=":
                break
            continue
        group.append(v)
        k = len(group)
        if k == 2:
            out.append(((group[0] & 0x3F) << 2) | ((v & 0x30) >> 4))
        elif k == 3:
            out.append(((group[1] & 0x0F) << 4) | ((v & 0x3C) >> 2))
        elif k == 4:
            out.append(((group[2] & 0x03) << 6) | (v & 0x3F))
            group = []
    return bytes(out[:cap])


def node_base64_decode(s: str) -> bytes:
    """``Buffer.from(s, 'base64url')`` (same as ``'base64'``): lenient like Node."""
    body = s[:-2] if s.endswith("==") else s[:-1] if s.endswith("=") else s
    if _STRICT.fullmatch(body) and len(body) % 4 != 1:
        # Well-formed (forgiving-base64): Node's simdutf path; extra low bits are ignored.
        std = body.replace("-", "+").replace("_", "/")
        try:
            return binascii.a2b_base64(std + "=" * (-len(std) % 4))
        except binascii.Error:  # pragma: no cover - the regex admits only decodable input
            pass
    return _legacy_decode(s)
