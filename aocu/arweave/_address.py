"""Owner addresses as the reference CU derives them (``addressFrom``, reference-cu.md §A.6).

Pure; no I/O. An owner is ``{address, key}`` (key = base64url public key). A 65-byte key is an
Ethereum secp256k1 key and gets its EIP-55 checksummed ``0x`` address; any other key (512-byte
Arweave RSA keys included) keeps the given address. Keccak-256 is implemented here (the
pre-standard padding, not hashlib's SHA3) because neither hashlib nor ``cryptography`` has it;
it only runs for Ethereum keys and the result is memoised like the reference's 1000-entry LRU.
"""

from __future__ import annotations

import functools
from typing import Final

from ._bytes import node_base64_decode

__all__ = ["address_from", "keccak256"]

_ETHEREUM_KEY_BYTES: Final = 65
_ADDRESS_CACHE_SIZE: Final = 1000  # the reference memoises addressFrom in an LRU of 1000

_RATE_BYTES: Final = 136  # Keccak-256: 1600-bit state, 512-bit capacity
_MASK: Final = (1 << 64) - 1
_ROUND_CONSTANTS: Final = (
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
)  # fmt: skip
# Rotation offsets r[x][y], indexed as _ROTATIONS[x + 5 * y].
_ROTATIONS: Final = (
    0, 1, 62, 28, 27,
    36, 44, 6, 55, 20,
    3, 10, 43, 25, 39,
    41, 45, 15, 21, 8,
    18, 2, 61, 56, 14,
)  # fmt: skip


def _rotl(v: int, n: int) -> int:
    return ((v << n) | (v >> (64 - n))) & _MASK if n else v


def _keccak_f(a: list[int]) -> None:
    for rc in _ROUND_CONSTANTS:
        # theta
        c = [a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rotl(c[(x + 1) % 5], 1) for x in range(5)]
        for i in range(25):
            a[i] ^= d[i % 5]
        # rho and pi: B[y, 2x+3y] = rot(A[x, y], r[x, y])
        b = [0] * 25
        for x in range(5):
            for y in range(5):
                b[y + 5 * ((2 * x + 3 * y) % 5)] = _rotl(a[x + 5 * y], _ROTATIONS[x + 5 * y])
        # chi
        for y in range(0, 25, 5):
            row = b[y : y + 5]
            for x in range(5):
                a[y + x] = row[x] ^ (~row[(x + 1) % 5] & _MASK & row[(x + 2) % 5])
        # iota
        a[0] ^= rc


def keccak256(data: bytes | bytearray | memoryview) -> bytes:
    """Keccak-256 as Ethereum uses it (padding ``0x01 .. 0x80``)."""
    return _sponge256(data, 0x01)


def _sponge256(data: bytes | bytearray | memoryview, pad: int) -> bytes:
    # pad 0x01 is Keccak-256; pad 0x06 is FIPS-202 SHA3-256 (lets tests check against hashlib).
    msg = bytearray(data)
    msg.append(pad)
    msg.extend(b"\x00" * (-len(msg) % _RATE_BYTES))
    msg[-1] |= 0x80
    state = [0] * 25
    for off in range(0, len(msg), _RATE_BYTES):
        block = msg[off : off + _RATE_BYTES]
        for i in range(_RATE_BYTES // 8):
            state[i] ^= int.from_bytes(block[8 * i : 8 * i + 8], "little")
        _keccak_f(state)
    return b"".join(state[i].to_bytes(8, "little") for i in range(4))


def _ethereum_address(key: bytes) -> str:
    # Drop the 0x04 "uncompressed" prefix, hash, keep the last 20 bytes, then EIP-55.
    plain = keccak256(key[1:]).hex()[-40:]
    checksum = keccak256(plain.encode("ascii")).hex()
    return "0x" + "".join(
        ch.upper() if int(h, 16) >= 8 else ch for ch, h in zip(plain, checksum, strict=False)
    )


@functools.lru_cache(maxsize=_ADDRESS_CACHE_SIZE)
def address_from(address: str, key: str) -> str:
    """The reference's ``addressFrom({address, key})``: Ethereum keys map to their address."""
    raw = node_base64_decode(key)
    if len(raw) == _ETHEREUM_KEY_BYTES:
        return _ethereum_address(raw)
    return address
