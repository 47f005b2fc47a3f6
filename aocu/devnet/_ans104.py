"""ANS-104 data items: parse the binary form, build fake-signed ones, deep hash.

Pure functions; any thread. The layout (servers/su `core/bytes.rs` `as_bytes`,
`from_bytes`): u16 LE signature type, signature, owner, target presence byte (+32
bytes), anchor presence byte (+32 bytes), u64 LE tag count, u64 LE tag byte length,
Avro-encoded tags, then the data. The id is sha256(signature). Signatures are not
verified (the devnet trusts its callers); `build_data_item` signs with a
`FakeWallet`, which only the devnet accepts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ._ids import FakeWallet, address_of_key, b64url_encode, id_of_signature

#: ANS-104 signature type -> (signature bytes, owner bytes); servers/su bytes.rs SignerMap.
SIGNATURE_CONFIG: dict[int, tuple[int, int]] = {
    1: (512, 512),          # arweave
    2: (64, 32),            # ed25519
    3: (65, 65),            # ethereum
    4: (64, 32),            # solana
    5: (64, 32),            # injected aptos
    6: (64 * 32 + 4, 32 * 32 + 1),   # multi aptos
    7: (65, 42),            # typed ethereum
}

#: ANS-104 caps a data item at 128 tags (arbundles `MAX_TAG_COUNT`).
MAX_TAGS = 128


class DataItemError(ValueError):
    """The bytes are not a well-formed ANS-104 data item."""


@dataclass(frozen=True, slots=True)
class Tag:
    name: str
    value: str

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "value": self.value}


@dataclass(frozen=True, slots=True, kw_only=True)
class DataItem:
    """One data item's fields. ``target``/``anchor`` are raw bytes (empty if absent)."""

    signature_type: int = 1
    signature: bytes
    owner: bytes
    target: bytes = b""
    anchor: bytes = b""
    tags: tuple[Tag, ...] = ()
    data: bytes = b""
    raw_tags: bytes = field(default=b"", repr=False)

    @property
    def id(self) -> str:
        return id_of_signature(self.signature)

    @property
    def owner_address(self) -> str:
        return address_of_key(self.owner)

    @property
    def target_b64(self) -> str:
        return b64url_encode(self.target) if self.target else ""

    def tag(self, name: str) -> str | None:
        """The first value of tag ``name`` (exact name), or None."""
        return next((t.value for t in self.tags if t.name == name), None)


# -- Avro tags (arbundles `serializeTags`/`deserializeTags`) -----------------------------

def _zigzag_write(out: bytearray, n: int) -> None:
    n = (n << 1) ^ (n >> 63)
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _zigzag_read(buf: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(buf):
            raise DataItemError("truncated Avro integer in tags")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
        if shift > 63:
            raise DataItemError("Avro integer too long in tags")
    return (result >> 1) ^ -(result & 1), pos


def encode_tags(tags: tuple[Tag, ...] | list[Tag]) -> bytes:
    if not tags:
        return b""
    out = bytearray()
    _zigzag_write(out, len(tags))
    for t in tags:
        for part in (t.name.encode("utf-8"), t.value.encode("utf-8")):
            _zigzag_write(out, len(part))
            out += part
    _zigzag_write(out, 0)
    return bytes(out)


def decode_tags(buf: bytes) -> tuple[Tag, ...]:
    if not buf:
        return ()
    tags: list[Tag] = []
    pos = 0
    while True:
        count, pos = _zigzag_read(buf, pos)
        if count == 0:
            break
        if count < 0:                      # a block with its byte size first
            count = -count
            _size, pos = _zigzag_read(buf, pos)
        for _ in range(count):
            parts = []
            for _ in range(2):
                n, pos = _zigzag_read(buf, pos)
                if n < 0 or pos + n > len(buf):
                    raise DataItemError("truncated tag bytes")
                parts.append(buf[pos:pos + n].decode("utf-8", "replace"))
                pos += n
            tags.append(Tag(parts[0], parts[1]))
    return tuple(tags)


# -- Binary layout ------------------------------------------------------------------------

def parse_data_item(raw: bytes) -> DataItem:
    """Parse one binary data item (no signature check)."""
    try:
        sig_type = int.from_bytes(raw[0:2], "little")
        if sig_type not in SIGNATURE_CONFIG:
            raise DataItemError(f"unknown signature type {sig_type}")
        sig_len, owner_len = SIGNATURE_CONFIG[sig_type]
        pos = 2
        signature = raw[pos:pos + sig_len]
        pos += sig_len
        owner = raw[pos:pos + owner_len]
        pos += owner_len
        if len(owner) != owner_len:
            raise DataItemError("truncated data item header")
        fields: list[bytes] = []
        for what in ("target", "anchor"):
            present = raw[pos]
            pos += 1
            if present not in (0, 1):
                raise DataItemError(f"bad {what} presence byte {present}")
            fields.append(raw[pos:pos + 32] if present else b"")
            pos += 32 if present else 0
        tag_count = int.from_bytes(raw[pos:pos + 8], "little")
        tag_bytes_len = int.from_bytes(raw[pos + 8:pos + 16], "little")
        pos += 16
        if tag_count > MAX_TAGS:
            raise DataItemError(f"too many tags: {tag_count}")
        raw_tags = raw[pos:pos + tag_bytes_len]
        if len(raw_tags) != tag_bytes_len:
            raise DataItemError("truncated tags")
        pos += tag_bytes_len
    except IndexError as exc:
        raise DataItemError("truncated data item header") from exc
    tags = decode_tags(raw_tags)
    if len(tags) != tag_count:
        raise DataItemError(f"tag count {tag_count} does not match {len(tags)} encoded tags")
    return DataItem(signature_type=sig_type, signature=signature, owner=owner, target=fields[0],
                    anchor=fields[1], tags=tags, data=raw[pos:], raw_tags=raw_tags)


def serialize_data_item(item: DataItem) -> bytes:
    raw_tags = item.raw_tags or encode_tags(item.tags)
    out = bytearray(item.signature_type.to_bytes(2, "little"))
    out += item.signature + item.owner
    for value in (item.target, item.anchor):
        out += (b"\x01" + value) if value else b"\x00"
    out += len(item.tags).to_bytes(8, "little") + len(raw_tags).to_bytes(8, "little")
    out += raw_tags + item.data
    return bytes(out)


# -- Deep hash (arweave-js `deepHash`; servers/su bytes.rs `deep_hash_sync`) --------------

def _sha384(data: bytes) -> bytes:
    return hashlib.sha384(data).digest()


def deep_hash(value: bytes | list) -> bytes:
    if isinstance(value, list):
        acc = _sha384(b"list" + str(len(value)).encode())
        for chunk in value:
            acc = _sha384(acc + deep_hash(chunk))
        return acc
    return _sha384(_sha384(b"blob" + str(len(value)).encode()) + _sha384(value))


def signature_data(item: DataItem) -> bytes:
    """The bytes an ANS-104 signer signs (arbundles `getSignatureData`)."""
    return deep_hash([b"dataitem", b"1", str(item.signature_type).encode(), item.owner,
                      item.target, item.anchor, item.raw_tags or encode_tags(item.tags), item.data])


def build_data_item(wallet: FakeWallet, *, data: bytes = b"", tags: list[Tag] | tuple[Tag, ...] = (),
                    target: bytes = b"", anchor: bytes = b"", salt: bytes = b"") -> DataItem:
    """An arweave-type data item "signed" by a `FakeWallet`.

    The id is a function of the fields and ``salt``: a real RSA-PSS signature is
    randomized, so two identical items get different ids; a salt does that here.
    """
    if target and len(target) != 32:
        raise DataItemError("target must be 32 bytes")
    if anchor and len(anchor) != 32:
        raise DataItemError("anchor must be 32 bytes")
    tags = tuple(tags)
    unsigned = DataItem(signature=b"", owner=wallet.key, target=target, anchor=anchor, tags=tags,
                        data=data, raw_tags=encode_tags(tags))
    return DataItem(signature=wallet.sign(signature_data(unsigned) + salt), owner=wallet.key, target=target,
                    anchor=anchor, tags=tags, data=data, raw_tags=unsigned.raw_tags)
