"""ANS-104 data items: the `DataItem` value, its binary form and the bytes a signer signs.

Pure; no I/O; any thread. Layout (ANS-104 §1.3, arbundles ``createData``): u16 LE signature
type, signature, owner (lengths fixed by the type), target presence byte (+32 bytes), anchor
presence byte (+32 bytes), u64 LE tag count, u64 LE tag byte length, Avro tags, then data.
The id is base64url(sha256(signature)).

`parse_data_item` is stricter than arbundles' reader: besides the lengths it enforces the
ANS-104 §2.1 validity rules (`validate_fields`) and rejects presence bytes other than 0/1 and
trailing tag bytes. Signing and verifying are in ``_signer``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from aocu.model import Tag

from ._bytes import base64url_encode
from ._deephash import HashedBlob, deep_hash
from ._tags import MAX_TAG_BYTES, deserialize_tags, serialize_tags

__all__ = [
    "ARWEAVE_SIGNATURE_TYPE",
    "MAX_TAGS",
    "MAX_TAG_NAME_BYTES",
    "MAX_TAG_VALUE_BYTES",
    "SIGNATURE_CONFIG",
    "DataItem",
    "DataItemError",
    "encode_item_tags",
    "parse_data_item",
    "serialize_data_item",
    "signature_data",
    "validate_fields",
]

ARWEAVE_SIGNATURE_TYPE: Final = 1
#: signature type -> (signature bytes, owner bytes); arbundles ``SIG_CONFIG``.
SIGNATURE_CONFIG: Final[dict[int, tuple[int, int]]] = {
    1: (512, 512),                  # arweave (RSA-4096 PSS)
    2: (64, 32),                    # ed25519
    3: (65, 65),                    # ethereum
    4: (64, 32),                    # solana
    5: (64, 32),                    # injected aptos
    6: (64 * 32 + 4, 32 * 32 + 1),  # multi aptos
    7: (65, 42),                    # typed ethereum
}
#: ANS-104 §2.1 tag limits (arbundles' reader checks only `MAX_TAG_BYTES` and the count).
MAX_TAGS: Final = 128
MAX_TAG_NAME_BYTES: Final = 1024
MAX_TAG_VALUE_BYTES: Final = 3072
_ID_BYTES: Final = 32  # target and anchor


class DataItemError(ValueError):
    """Malformed data item bytes, or fields no valid data item can have."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DataItem:
    """One ANS-104 data item. ``target``/``anchor`` are raw bytes, b"" when absent.

    ``raw_tags`` are the tag bytes as signed (parsed items and `sign_data_item` keep them, so
    an item re-serialises byte for byte); b"" means "encode ``tags``" (and no tags).
    """

    signature_type: int
    signature: bytes
    owner: bytes
    target: bytes = b""
    anchor: bytes = b""
    tags: tuple[Tag, ...] = ()
    data: bytes = b""
    raw_tags: bytes = b""

    @property
    def id(self) -> str:
        """base64url(sha256(signature)), no padding."""
        return base64url_encode(hashlib.sha256(self.signature).digest())

    @property
    def owner_address(self) -> str:
        """base64url(sha256(owner)): the Arweave address for type 1 (the SU's rule for all types)."""
        return base64url_encode(hashlib.sha256(self.owner).digest())

    def tag(self, name: str) -> str | None:
        """The value of the first tag called ``name`` (exact match), or None."""
        return next((t.value for t in self.tags if t.name == name), None)


def encode_item_tags(tags: tuple[Tag, ...] | list[Tag]) -> bytes:
    """Tag bytes as a data item holds them: b"" for no tags (arbundles ``serializeTags``)."""
    if not tags:
        return b""
    try:
        return serialize_tags(tags)
    except (TypeError, ValueError) as exc:
        raise DataItemError(str(exc)) from None


def _item_tag_bytes(item: DataItem) -> bytes:
    return item.raw_tags or encode_item_tags(item.tags)


def validate_fields(item: DataItem) -> bytes:
    """Check ``item`` against ANS-104 §2.1 (sizes and tag limits); return its tag bytes.

    Raises `DataItemError`. Tag limits count the UTF-8 bytes of the (decoded) strings; names
    must not be empty; the tag bytes (``raw_tags``, or ``tags`` encoded) must decode to exactly
    ``tags``.
    """
    lengths = SIGNATURE_CONFIG.get(item.signature_type)
    if lengths is None:
        raise DataItemError(f"unknown signature type {item.signature_type}")
    if (len(item.signature), len(item.owner)) != lengths:
        raise DataItemError(f"signature type {item.signature_type} has a {lengths[0]}-byte signature and a "
                            f"{lengths[1]}-byte owner, not {len(item.signature)} and {len(item.owner)}")
    for what, value in (("target", item.target), ("anchor", item.anchor)):
        if len(value) not in (0, _ID_BYTES):
            raise DataItemError(f"{what} must be {_ID_BYTES} bytes or absent, not {len(value)}")
    if len(item.tags) > MAX_TAGS:
        raise DataItemError(f"{len(item.tags)} tags; at most {MAX_TAGS}")
    for t in item.tags:
        _check_tag(t)
    raw_tags = _item_tag_bytes(item)
    if len(raw_tags) > MAX_TAG_BYTES:
        raise DataItemError(f"{len(raw_tags)} tag bytes; at most {MAX_TAG_BYTES}")
    # Readers see the decoded bytes: tags that would read back differently (a lone surrogate,
    # or raw_tags that say something else) make an item that lies about its tags.
    if _decode_tags(raw_tags) != tuple(item.tags):
        raise DataItemError("raw_tags do not encode tags" if item.raw_tags
                            else "tags do not read back as written (a lone surrogate?)")
    return raw_tags


def _check_tag(t: Tag) -> None:
    if not isinstance(t.name, str) or not isinstance(t.value, str):
        raise DataItemError("a tag's name and value are strings")
    if not t.name:
        raise DataItemError("a tag name is empty")
    # "surrogatepass": a lone surrogate counts 3 bytes, as in Buffer.byteLength (and is
    # refused later, since it does not read back).
    if len(t.name.encode("utf-8", "surrogatepass")) > MAX_TAG_NAME_BYTES:
        raise DataItemError(f"tag name {t.name[:40]!r}... is over {MAX_TAG_NAME_BYTES} bytes")
    if len(t.value.encode("utf-8", "surrogatepass")) > MAX_TAG_VALUE_BYTES:
        raise DataItemError(f"tag {t.name[:40]!r} has a value over {MAX_TAG_VALUE_BYTES} bytes")


def _decode_tags(raw: bytes | memoryview) -> tuple[Tag, ...]:
    try:
        return deserialize_tags(raw, max_tags=MAX_TAGS)
    except ValueError as exc:
        raise DataItemError(f"bad tags: {exc}") from None


def parse_data_item(raw: bytes | bytearray | memoryview) -> DataItem:
    """Parse one binary data item, strictly (no signature check; see `verify_data_item`).

    Raises `DataItemError` for truncated or malformed bytes and for items that break the
    ANS-104 §2.1 size and tag rules. The data is copied once out of ``raw``.
    """
    view = memoryview(raw).cast("B") if not isinstance(raw, bytes) else memoryview(raw)
    if len(view) < 2:
        raise DataItemError("truncated data item: no signature type")
    sig_type = int.from_bytes(view[0:2], "little")
    lengths = SIGNATURE_CONFIG.get(sig_type)
    if lengths is None:
        raise DataItemError(f"unknown signature type {sig_type}")
    sig_len, owner_len = lengths
    pos = 2
    signature = bytes(view[pos : pos + sig_len])
    pos += sig_len
    owner = bytes(view[pos : pos + owner_len])
    pos += owner_len
    if len(owner) != owner_len:
        raise DataItemError("truncated data item: signature or owner")
    optional: list[bytes] = []
    for what in ("target", "anchor"):
        if pos >= len(view):
            raise DataItemError(f"truncated data item: no {what} presence byte")
        present = view[pos]
        pos += 1
        if present not in (0, 1):
            raise DataItemError(f"{what} presence byte is {present}, not 0 or 1")
        value = bytes(view[pos : pos + _ID_BYTES]) if present else b""
        if present and len(value) != _ID_BYTES:
            raise DataItemError(f"truncated data item: {what}")
        pos += len(value)
        optional.append(value)
    if pos + 16 > len(view):
        raise DataItemError("truncated data item: tag count and size")
    tag_count = int.from_bytes(view[pos : pos + 8], "little")
    tag_bytes = int.from_bytes(view[pos + 8 : pos + 16], "little")
    pos += 16
    if tag_count > MAX_TAGS:
        raise DataItemError(f"{tag_count} tags; at most {MAX_TAGS}")
    if tag_bytes > MAX_TAG_BYTES:
        raise DataItemError(f"{tag_bytes} tag bytes; at most {MAX_TAG_BYTES}")
    if pos + tag_bytes > len(view):
        raise DataItemError("truncated data item: tags")
    raw_tags = bytes(view[pos : pos + tag_bytes])
    pos += tag_bytes
    tags = _decode_tags(raw_tags)
    if len(tags) != tag_count:
        raise DataItemError(f"the header says {tag_count} tags, the tag bytes hold {len(tags)}")
    for t in tags:
        _check_tag(t)
    return DataItem(signature_type=sig_type, signature=signature, owner=owner, target=optional[0],
                    anchor=optional[1], tags=tags, data=bytes(view[pos:]), raw_tags=raw_tags)


def serialize_data_item(item: DataItem) -> bytes:
    """The binary form of ``item`` (validated first: raises `DataItemError`)."""
    raw_tags = validate_fields(item)
    header = b"".join((
        item.signature_type.to_bytes(2, "little"), item.signature, item.owner,
        b"\x01" + item.target if item.target else b"\x00",
        b"\x01" + item.anchor if item.anchor else b"\x00",
        len(item.tags).to_bytes(8, "little"), len(raw_tags).to_bytes(8, "little"), raw_tags,
    ))
    return header + item.data  # one copy of the data


def signature_data(item: DataItem, data: HashedBlob | None = None) -> bytes:
    """The 48-byte deep hash an ANS-104 signer signs (arbundles ``getSignatureData``).

    The data is hashed in place (one SHA-384 pass, no copy); with ``data``, that digest and
    length stand for the item's data and ``item.data`` is not read (a streamed checkpoint).
    """
    blob = data if data is not None else memoryview(item.data)
    return deep_hash([b"dataitem", b"1", str(item.signature_type).encode("ascii"), item.owner, item.target,
                      item.anchor, _item_tag_bytes(item), blob])
