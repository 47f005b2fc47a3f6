"""Arweave wallets (JWK) for the CU: create one, and its address.

The address is base64url(sha256(n)) of the RSA modulus (Arweave's rule); a new
wallet is a 4096-bit RSA key with public exponent 65537, as arweave-js makes.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 4096


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_jwk() -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    priv = key.private_numbers()
    pub = priv.public_numbers
    return {"kty": "RSA", "e": _b64url_uint(pub.e), "n": _b64url_uint(pub.n), "d": _b64url_uint(priv.d),
            "p": _b64url_uint(priv.p), "q": _b64url_uint(priv.q), "dp": _b64url_uint(priv.dmp1),
            "dq": _b64url_uint(priv.dmq1), "qi": _b64url_uint(priv.iqmp)}


def address_of(jwk: dict[str, str]) -> str:
    n = base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4))
    return base64.urlsafe_b64encode(hashlib.sha256(n).digest()).rstrip(b"=").decode()


def new_jwk_text() -> str:
    return json.dumps(new_jwk())
