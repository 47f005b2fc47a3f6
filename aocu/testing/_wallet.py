"""Test wallets: JWKs whose address is well defined, made without any crypto library.

Pure. The CU needs a wallet only for its address (``GET /``) and for signing checkpoints; these
JWKs carry a deterministic 4096-bit public modulus and no private parts, so they serve the first
and must never be used for the second.
"""

from __future__ import annotations

import base64
import hashlib
import json

__all__ = ["test_wallet_jwk"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_wallet_jwk(seed: str = "aocu-test") -> str:
    """A JWK text with a 512-byte ``n`` derived from ``seed`` (same seed, same address)."""
    blocks = b"".join(hashlib.sha256(f"{seed}:{i}".encode()).digest() for i in range(16))
    modulus = bytes([blocks[0] | 0x80]) + blocks[1:]
    return json.dumps({"kty": "RSA", "e": "AQAB", "n": _b64url(modulus)})


test_wallet_jwk.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
