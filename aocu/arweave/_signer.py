"""Signing and verifying ANS-104 data items with Arweave keys (signature type 1).

Pure CPU work (RSA and hashing), no I/O; any thread — a 100 MiB item spends its time in one
SHA-384 pass over the data, so callers on the trio thread should use ``trio.to_thread``.

Arweave signatures are RSA-PSS over SHA-256 with MGF1-SHA-256, public exponent 65537, the
owner being the 512-byte modulus. We sign with the largest salt (478 bytes), as the reference
CU does through arbundles' Node ``ArweaveSigner`` (Node's default), so any verifier that takes
the reference's checkpoints takes ours; arweave-js' WebCrypto driver (the browser) signs with 32.
Verifiers take both: Node verifies with ``RSA_PSS_SALTLEN_AUTO`` and arweave-js' WebCrypto tries
0, 32 and the largest. We verify like Node, with any salt length (``PSS.AUTO``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from typing import ClassVar, Final, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from aocu.model import Tag

from ._bytes import base64url_encode, js_string_units
from ._dataitem import (
    ARWEAVE_SIGNATURE_TYPE,
    SIGNATURE_CONFIG,
    DataItem,
    DataItemError,
    signature_data,
    validate_fields,
)
from ._deephash import HashedBlob

__all__ = ["ArweaveSigner", "DataItemSigner", "sign_data_item", "verify_data_item"]

_ARWEAVE_KEY_BYTES: Final = 512
_PUBLIC_EXPONENT: Final = 65537  # Arweave owners carry only n; e is always AQAB
_SIGN_PADDING: Final = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
_VERIFY_PADDING: Final = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)


class DataItemSigner(Protocol):
    """What `sign_data_item` needs: `ArweaveSigner`, or the devnet's fake signer."""

    @property
    def signature_type(self) -> int: ...
    @property
    def owner(self) -> bytes: ...
    def sign(self, message: bytes) -> bytes: ...


def _jwk_int(jwk: Mapping[str, str], name: str) -> int:
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"the JWK has no {name!r}")
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"the JWK's {name!r} is not base64url") from None
    return int.from_bytes(raw, "big")


class ArweaveSigner:
    """An Arweave RSA-4096 private key that signs data items (type 1). Load with `from_jwk`."""

    signature_type: ClassVar[int] = ARWEAVE_SIGNATURE_TYPE
    __slots__ = ("_key", "address", "owner")

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        numbers = key.private_numbers().public_numbers
        if numbers.n.bit_length() != _ARWEAVE_KEY_BYTES * 8 or numbers.e != _PUBLIC_EXPONENT:
            raise ValueError("an Arweave key is RSA-4096 with public exponent 65537")
        self._key = key
        self.owner: bytes = numbers.n.to_bytes(_ARWEAVE_KEY_BYTES, "big")
        self.address: str = base64url_encode(hashlib.sha256(self.owner).digest())

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, str]) -> ArweaveSigner:
        """The key in an Arweave JWK (``n``, ``e``, ``d``; the CRT fields are derived when absent).

        Raises ``ValueError`` for a missing or malformed field or a key that is not RSA-4096.
        """
        n, e, d = (_jwk_int(jwk, k) for k in ("n", "e", "d"))
        if all(jwk.get(k) for k in ("p", "q", "dp", "dq", "qi")):
            p, q, dp, dq, qi = (_jwk_int(jwk, k) for k in ("p", "q", "dp", "dq", "qi"))
        else:
            p, q = rsa.rsa_recover_prime_factors(n, e, d)
            dp, dq, qi = rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q)
        numbers = rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, rsa.RSAPublicNumbers(e, n))
        return cls(numbers.private_key())

    def sign(self, message: bytes) -> bytes:
        """RSA-PSS (SHA-256, MGF1-SHA-256, largest salt: 478 bytes) signature of ``message``: 512 bytes."""
        return self._key.sign(message, _SIGN_PADDING, hashes.SHA256())

    def __repr__(self) -> str:
        return f"ArweaveSigner(address={self.address!r})"


def _tag(t: Tag | tuple[str, str]) -> Tag:
    name, value = t
    if not isinstance(name, str) or not isinstance(value, str):
        raise DataItemError("a tag's name and value are strings")
    # JS-style strings (aocu.jsjson: a surrogate pair as two code points) become the characters
    # they stand for, which is what the bytes will read back as.
    return Tag(js_string_units(name), js_string_units(value))


def sign_data_item(signer: DataItemSigner, *, data: bytes | HashedBlob, tags: Sequence[Tag] = (),
                   target: bytes = b"", anchor: bytes = b"") -> DataItem:
    """A data item signed by ``signer``; ``target``/``anchor`` are raw 32 bytes or b"".

    With a `HashedBlob` for ``data`` (its bytes streamed elsewhere), the item's ``data`` is
    left empty: serialised, it is the item's header, and the data follows it.

    Raises `DataItemError` for fields no valid item has (see `validate_fields`), e.g. more than
    128 tags, an empty tag name or a lone surrogate in a tag.
    """
    clean = tuple(_tag(t) for t in tags)
    unsigned = DataItem(signature_type=signer.signature_type,
                        signature=bytes(SIGNATURE_CONFIG.get(signer.signature_type, (0, 0))[0]),
                        owner=bytes(signer.owner), target=bytes(target), anchor=bytes(anchor), tags=clean,
                        data=_item_data(data))
    unsigned = dataclasses.replace(unsigned, raw_tags=validate_fields(unsigned))
    hashed = data if isinstance(data, HashedBlob) else None
    return dataclasses.replace(unsigned, signature=signer.sign(signature_data(unsigned, hashed)))


def _item_data(data: bytes | HashedBlob) -> bytes:
    if isinstance(data, HashedBlob):
        return b""
    return data if isinstance(data, bytes) else bytes(data)


def verify_data_item(item: DataItem, data: HashedBlob | None = None) -> bool:
    """Whether ``item`` is a valid, correctly signed data item. Never raises on bad input.

    Checks the fields (`validate_fields`: sizes, tag limits, tag bytes) and, for type 1
    (Arweave), the RSA-PSS signature over `signature_data` with any salt length. The id is
    sha256(signature), so a valid signature fixes it. Other signature types (ed25519, Ethereum,
    Solana, Aptos) are not implemented: they are False, never trusted. With ``data``, the
    signature is checked over that digest and length instead of ``item.data`` (`signature_data`).
    """
    try:
        validate_fields(item)
        if item.signature_type != ARWEAVE_SIGNATURE_TYPE:
            return False
        key = rsa.RSAPublicNumbers(_PUBLIC_EXPONENT, int.from_bytes(item.owner, "big")).public_key()
        key.verify(item.signature, signature_data(item, data), _VERIFY_PADDING, hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError, AttributeError, OverflowError):
        return False
    return True
