"""Ids, fake wallets and the SU's hash chain for the devnet.

Pure functions, no I/O; any thread. Arweave ids are ``base64url(sha256(signature))``
and addresses ``base64url(sha256(owner key))`` (servers/su `core/bytes.rs` `raw_id`,
`core/json.rs` `from_bundle`). The devnet signs its own items with a `FakeWallet`: a
name becomes a deterministic 512-byte RSA-sized key that "signs" by hashing, so ids
are stable run to run while having the real shapes (upstream.md §1), and fake
signatures carry a marker so the devnet can tell them from real ones.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from aocu.arweave import base64url_encode as b64url_encode

#: Arweave (RSA-4096) key and signature sizes, ANS-104 signature type 1.
ARWEAVE_KEY_BYTES = 512
ARWEAVE_SIGNATURE_BYTES = 512


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding (``ValueError`` if malformed)."""
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise ValueError(f"not base64url: {text!r}") from exc


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def expand(seed: bytes, size: int) -> bytes:
    """``size`` pseudo-random bytes from ``seed`` (a sha256 counter stream)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += sha256(seed + counter.to_bytes(4, "big"))
        counter += 1
    return bytes(out[:size])


def address_of_key(key: bytes) -> str:
    """An Arweave address (servers/su `json.rs`: sha256 of the owner key)."""
    return b64url_encode(sha256(key))


#: The first bytes of every `FakeWallet` signature. A real RSA signature starts with them
#: with probability 2**-128, so the devnet can tell its own items apart (and check them).
FAKE_SIGNATURE_MARKER = b"aocu-devnet-fake"
_FAKE_NONCE_BYTES = 32


def _fake_body(key: bytes, message: bytes, nonce: bytes) -> bytes:
    size = ARWEAVE_SIGNATURE_BYTES - len(FAKE_SIGNATURE_MARKER) - _FAKE_NONCE_BYTES
    return expand(b"aocu-devnet-sig:" + sha256(key) + sha256(message) + nonce, size)


@dataclass(frozen=True, slots=True)
class FakeWallet:
    """A named stand-in for an Arweave wallet: a fixed key and hash "signatures".

    A fake signature is `FAKE_SIGNATURE_MARKER`, a 32-byte nonce (from the caller's salt, so
    equal items can get distinct ids, as randomised RSA-PSS gives), then a hash of the key,
    the message and the nonce. Anyone can make one (the key is public), so it proves nothing
    about who signed; it lets the devnet recognise its own items and notice a changed byte
    (`fake_signature_valid`). Real bundlers reject them. The same name always gives the same
    key and address; RSA-4096 key generation would cost seconds per wallet.
    """

    name: str
    key: bytes

    @classmethod
    def named(cls, name: str) -> FakeWallet:
        key = bytearray(expand(b"aocu-devnet-wallet:" + name.encode("utf-8"), ARWEAVE_KEY_BYTES))
        key[0] |= 0x80           # an RSA modulus has its top bit set
        return cls(name, bytes(key))

    @property
    def address(self) -> str:
        return address_of_key(self.key)

    @property
    def key_b64(self) -> str:
        return b64url_encode(self.key)

    def sign(self, message: bytes, *, salt: bytes = b"") -> bytes:
        """A deterministic 512-byte stand-in for an RSA-PSS signature of ``message``."""
        nonce = sha256(b"aocu-devnet-salt:" + salt)
        return FAKE_SIGNATURE_MARKER + nonce + _fake_body(self.key, message, nonce)


def is_fake_signature(signature: bytes) -> bool:
    """Whether ``signature`` has the shape of a `FakeWallet` signature (the marker)."""
    return len(signature) == ARWEAVE_SIGNATURE_BYTES and signature.startswith(FAKE_SIGNATURE_MARKER)


def fake_signature_valid(key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is `FakeWallet` ``key``'s signature of ``message``."""
    if not is_fake_signature(signature):
        return False
    nonce = signature[len(FAKE_SIGNATURE_MARKER) : len(FAKE_SIGNATURE_MARKER) + _FAKE_NONCE_BYTES]
    return signature[len(FAKE_SIGNATURE_MARKER) + _FAKE_NONCE_BYTES :] == _fake_body(key, message, nonce)


def _id32(text: str, what: str) -> bytes:
    raw = b64url_decode(text)
    if len(raw) != 32:
        # servers/su core/scheduler.rs DecodeHash: "Length mismatch 32 - <value>"
        raise ValueError(f"{what}: Length mismatch 32 - {text}")
    return raw


def hash_chain_seed(process_id: str) -> str:
    """Hash-Chain of a process's own assignment (nonce 0).

    servers/su `core/scheduler.rs` `increment`: with no message and no process yet,
    ``gen_hash_chain(id, None)`` = base64url(sha256(b64url_decode(process id))).
    """
    return b64url_encode(sha256(_id32(process_id, "process id")))


def next_hash_chain(previous_hash_chain: str, previous_assignment_id: str) -> str:
    """Hash-Chain of the next assignment on a process.

    servers/su `core/scheduler.rs` `gen_hash_chain(previous_or_seed, Some(previous_id))`:
    sha256 over the previous assignment id's 32 bytes, then the previous Hash-Chain's
    32 bytes, base64url without padding. The reference CU checks exactly this
    (reference-cu.md §2.7, `isHashChainValidWith` in `effects/ao-su.js`).
    """
    digest = sha256(_id32(previous_assignment_id, "assignment id") + _id32(previous_hash_chain, "hash chain"))
    return b64url_encode(digest)


def block_id(height: int) -> str:
    """The devnet's stand-in for a block's ``indep_hash`` (48 bytes, base64url)."""
    return b64url_encode(expand(b"aocu-devnet-block:" + str(height).encode(), 48))
