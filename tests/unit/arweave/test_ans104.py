"""ANS-104 data items (aocu.arweave ``_dataitem``/``_signer``) against arbundles' own items.

tests/fixtures/ans104/vectors.json was written by arbundles 0.11.2
(tools/ans104_vectors/vectors.cjs) with the test key test_jwk.json; the interop test
(tests/interop/test_ans104_arbundles.py) has arbundles check the items we sign.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aocu.arweave import (
    MAX_TAGS,
    ArweaveSigner,
    DataItem,
    DataItemError,
    HashedBlob,
    base64url_encode,
    parse_data_item,
    serialize_data_item,
    sign_data_item,
    signature_data,
    verify_data_item,
    zigzag_varint,
)
from aocu.config import Wallet
from aocu.model import Tag

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ans104"
VECTORS: dict[str, Any] = json.loads((FIXTURES / "vectors.json").read_text())
JWK: dict[str, str] = json.loads((FIXTURES / "test_jwk.json").read_text())
SIGNER = ArweaveSigner.from_jwk(JWK)


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _signed(**fields: Any) -> DataItem:
    fields.setdefault("data", b"some data")
    return sign_data_item(SIGNER, **fields)


SAMPLE = _signed(data=b"checkpoint memory", tags=[Tag("Type", "Checkpoint"), Tag("Nonce", "7")],
                 target=b"\x11" * 32, anchor=b"a" * 32)


# -- arbundles' vectors -------------------------------------------------------------------------

@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_arbundles_vectors_parse_verify_and_round_trip(vector: dict[str, Any]) -> None:
    raw = b64url_decode(vector["raw"])
    item = parse_data_item(raw)
    assert item.id == vector["id"]
    assert item.owner_address == vector["owner_address"] == VECTORS["owner_address"] == SIGNER.address
    assert item.owner == SIGNER.owner
    assert item.signature_type == vector["signature_type"] == 1
    assert base64url_encode(item.target) == vector["target"]
    assert base64url_encode(item.anchor) == vector["anchor"]
    assert item.tags == tuple(Tag(t["name"], t["value"]) for t in vector["tags"])
    assert len(item.data) == vector["data_size"]
    assert hashlib.sha256(item.data).hexdigest() == vector["data_sha256"]
    assert verify_data_item(item)
    assert serialize_data_item(item) == raw
    # Our encoder writes the same tag bytes arbundles did (unicode, >64-byte strings, 128 tags).
    assert serialize_data_item(dataclasses.replace(item, raw_tags=b"")) == raw


def streamed(data: bytes, piece: int = 7) -> HashedBlob:
    """The data's SHA-384 and length as a download computes them, piece by piece."""
    digest = hashlib.sha384()
    for i in range(0, len(data), piece):
        digest.update(data[i:i + piece])
    return HashedBlob(digest.digest(), len(data))


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_arbundles_vectors_verify_from_the_datas_streamed_hash(vector: dict[str, Any]) -> None:
    item = parse_data_item(b64url_decode(vector["raw"]))
    header = dataclasses.replace(item, data=b"")            # what the loader assembles: no data
    data = streamed(item.data)
    assert signature_data(header, data) == signature_data(item)
    assert verify_data_item(header, data)
    # the digest and the length are both bound by the signature
    assert not verify_data_item(header, HashedBlob(data.sha384, data.size + 1))
    assert not verify_data_item(header, streamed(item.data + b"\0"))
    if item.data:
        assert not verify_data_item(header, streamed(bytes([item.data[0] ^ 1]) + item.data[1:]))
        assert not verify_data_item(item, streamed(b""))     # the given hash wins over item.data


def test_an_item_signed_from_its_datas_hash_is_its_header() -> None:
    data = bytes(range(256)) * 40
    tags = [Tag("Type", "Checkpoint"), Tag("Nonce", "7")]
    header = sign_data_item(SIGNER, data=streamed(data), tags=tags)
    assert header.data == b""
    item = parse_data_item(serialize_data_item(header) + data)
    assert item.data == data and item.id == header.id and verify_data_item(item)


def test_vectors_cover_the_shapes_that_matter() -> None:
    by_name = {v["name"]: v for v in VECTORS["vectors"]}
    assert by_name["empty"]["data_size"] == 0 and not by_name["empty"]["tags"]
    assert len(by_name["128-tags"]["tags"]) == MAX_TAGS
    assert by_name["target-anchor-tags"]["target"] and by_name["target-anchor-tags"]["anchor"]
    assert any(ord(c) > 0xFFFF for t in by_name["unicode-tags"]["tags"] for c in t["name"] + t["value"])


def test_arbundles_signs_with_the_largest_salt_and_we_verify_it() -> None:
    # arbundles (Node's default) salts with 478 bytes; our verifier takes any salt length.
    item = parse_data_item(b64url_decode(VECTORS["vectors"][0]["raw"]))
    key = rsa.RSAPublicNumbers(65537, int.from_bytes(item.owner, "big")).public_key()
    key.verify(item.signature, signature_data(item),
               padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=512 - 32 - 2), hashes.SHA256())


def test_the_tag_helper_returns_the_first_match() -> None:
    item = parse_data_item(b64url_decode(next(v for v in VECTORS["vectors"] if v["name"] == "128-tags")["raw"]))
    assert item.tag("Tag-5") == "value 5"
    assert item.tag("tag-5") is None
    assert dataclasses.replace(SAMPLE, tags=(Tag("A", "1"), Tag("A", "2"))).tag("A") == "1"


# -- our signer -----------------------------------------------------------------------------------

def test_signed_items_verify_and_round_trip() -> None:
    raw = serialize_data_item(SAMPLE)
    again = parse_data_item(raw)
    assert again == SAMPLE
    assert verify_data_item(again)
    assert again.id == base64url_encode(hashlib.sha256(SAMPLE.signature).digest())
    assert again.owner_address == SIGNER.address == Wallet.from_jwk_text(json.dumps(JWK)).address
    assert len(SAMPLE.signature) == 512 and SAMPLE.owner == b64url_decode(JWK["n"])


def test_signatures_use_the_largest_salt_as_the_reference_does() -> None:
    # arbundles' Node signer (the reference CU's) leaves Node's default: 512 - 32 - 2 = 478 bytes
    key = rsa.RSAPublicNumbers(65537, int.from_bytes(SAMPLE.owner, "big")).public_key()
    key.verify(SAMPLE.signature, signature_data(SAMPLE),
               padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=478), hashes.SHA256())


@pytest.mark.parametrize("fields", [
    {"data": b""},
    {"data": b"x", "tags": [Tag("é", "😀" * 10), Tag("Empty", "")]},
    {"data": bytearray(b"bytes-like"), "target": b"\x00" * 32},
    {"data": b"t", "tags": [Tag(f"T{i}", str(i)) for i in range(MAX_TAGS)]},
], ids=["empty", "unicode", "bytearray", "128-tags"])
def test_item_shapes_sign_and_verify(fields: dict[str, Any]) -> None:
    item = _signed(**fields)
    assert verify_data_item(item)
    assert parse_data_item(serialize_data_item(item)) == item
    assert item.data == bytes(fields["data"]) and isinstance(item.data, bytes)


def test_js_style_surrogate_pairs_become_characters_and_lone_ones_are_refused() -> None:
    item = _signed(tags=[("Emoji", "\ud83d\ude00")])  # type: ignore[list-item]
    assert item.tags == (Tag("Emoji", "😀"),) and verify_data_item(item)
    with pytest.raises(DataItemError, match="lone surrogate"):
        _signed(tags=[Tag("Bad", "\ud800")])


def test_from_jwk_derives_missing_crt_fields_and_rejects_bad_keys() -> None:
    minimal = ArweaveSigner.from_jwk({k: JWK[k] for k in ("kty", "n", "e", "d")})
    assert minimal.owner == SIGNER.owner and minimal.address == SIGNER.address
    assert verify_data_item(sign_data_item(minimal, data=b"x"))
    with pytest.raises(ValueError, match="no 'd'"):
        ArweaveSigner.from_jwk({"kty": "RSA", "n": JWK["n"], "e": "AQAB"})
    with pytest.raises(ValueError, match="not base64url"):
        ArweaveSigner.from_jwk({**JWK, "d": "!!!"})
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="RSA-4096"):
        ArweaveSigner(small)
    assert SIGNER.address in repr(SIGNER) and JWK["d"][:20] not in repr(SIGNER)


@pytest.mark.parametrize(("fields", "message"), [
    ({"tags": [Tag(f"T{i}", "v") for i in range(MAX_TAGS + 1)]}, "129 tags"),
    ({"tags": [Tag("", "v")]}, "name is empty"),
    ({"tags": [Tag("n" * 1025, "v")]}, "over 1024 bytes"),
    ({"tags": [Tag("n", "v" * 3073)]}, "over 3072 bytes"),
    ({"tags": [Tag("n", "v" * 2000), Tag("m", "v" * 2100)]}, r"Too many tag bytes \(4110 > 4096\)"),
    ({"target": b"\x01" * 31}, "target must be 32 bytes"),
    ({"anchor": b"a" * 33}, "anchor must be 32 bytes"),
    ({"tags": [("n", 1)]}, "strings"),
])
def test_sign_refuses_fields_no_valid_item_has(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(DataItemError, match=message):
        _signed(**fields)


# -- verification fails closed -------------------------------------------------------------------

def _regions(item: DataItem) -> dict[str, tuple[int, int]]:
    start_tags = 2 + 512 + 512 + 33 + 33 + 16
    return {"signature": (2, 514), "owner": (514, 1026), "target": (1027, 1059), "anchor": (1060, 1092),
            "tags": (start_tags, start_tags + len(item.raw_tags)),
            "data": (start_tags + len(item.raw_tags), start_tags + len(item.raw_tags) + len(item.data))}


@pytest.mark.parametrize("region", ["signature", "owner", "target", "anchor", "tags", "data"])
def test_flipping_any_byte_fails_verification(region: str) -> None:
    raw = serialize_data_item(SAMPLE)
    start, end = _regions(SAMPLE)[region]
    for pos in sorted({start, start + 1, (start + end) // 2, end - 1}):
        for bit in (0x01, 0x80):
            bad = bytearray(raw)
            bad[pos] ^= bit
            try:
                item = parse_data_item(bytes(bad))
            except DataItemError:
                continue  # e.g. a tag length byte: not even a data item
            assert not verify_data_item(item), (region, pos, bit)


def test_changed_fields_fail_verification() -> None:
    assert not verify_data_item(dataclasses.replace(SAMPLE, data=SAMPLE.data + b"!"))
    assert not verify_data_item(dataclasses.replace(SAMPLE, target=b""))
    assert not verify_data_item(dataclasses.replace(SAMPLE, tags=(Tag("Type", "Other"),)))  # raw_tags disagree
    assert not verify_data_item(dataclasses.replace(SAMPLE, tags=(Tag("Type", "Other"),), raw_tags=b""))
    other = sign_data_item(SIGNER, data=SAMPLE.data)
    assert not verify_data_item(dataclasses.replace(SAMPLE, signature=other.signature))


def test_unsupported_signature_types_and_junk_are_false_not_errors() -> None:
    ed25519 = DataItem(signature_type=2, signature=b"\x01" * 64, owner=b"\x02" * 32, data=b"x")
    assert parse_data_item(serialize_data_item(ed25519)) == ed25519  # parsed, never trusted
    assert not verify_data_item(ed25519)
    junk: list[Any] = [
        DataItem(signature_type=99, signature=b"", owner=b""),
        DataItem(signature_type=1, signature=b"\x00" * 512, owner=b"\x00" * 512),  # modulus 0
        DataItem(signature_type=1, signature=b"\xff" * 512, owner=b"\xff" * 512),  # even? no: odd, not a key
        DataItem(signature_type=1, signature="text", owner=b"\x00" * 512),  # type: ignore[arg-type]
        DataItem(signature_type=1, signature=SAMPLE.signature, owner=SAMPLE.owner, tags=(("a",),)),  # type: ignore[arg-type]
        dataclasses.replace(SAMPLE, tags=(Tag("", "v"),), raw_tags=b""),
        dataclasses.replace(SAMPLE, data=None),  # type: ignore[arg-type]
    ]
    for item in junk:
        assert verify_data_item(item) is False


# -- malformed bytes ------------------------------------------------------------------------------

def _header(tag_count: int, raw_tags: bytes, *, sig_type: int = 1, target: bytes = b"\x00",
            anchor: bytes = b"\x00", tag_size: int | None = None) -> bytes:
    size = len(raw_tags) if tag_size is None else tag_size
    return (sig_type.to_bytes(2, "little") + b"\x01" * 512 + b"\x02" * 512 + target + anchor
            + tag_count.to_bytes(8, "little") + size.to_bytes(8, "little") + raw_tags)


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "no signature type"),
    (b"\x01", "no signature type"),
    (b"\x08\x00" + b"\x00" * 2000, "unknown signature type 8"),
    (b"\x01\x00" + b"\x00" * 1000, "signature or owner"),
    (b"\x01\x00" + b"\x00" * 1024, "no target presence byte"),
    (_header(0, b"", target=b"\x02"), "target presence byte is 2"),
    (_header(0, b"")[:1026] + b"\x01" + b"t" * 31, "truncated data item: target"),
    (_header(0, b"")[:-3], "tag count and size"),
    (_header(129, b""), "129 tags"),
    (_header(1, b"", tag_size=4097), "4097 tag bytes"),
    (_header(1, b"\x02\x02a\x02b\x00", tag_size=7), "truncated data item: tags"),
    (_header(2, b"\x02\x02a\x02b\x00"), "header says 2 tags"),
    (_header(1, b"\x02\x02a\x02b\x00\x00"), "1 bytes after the end"),
    (_header(1, b"\x02\x02a\x06b\x00"), "runs past the end"),
    (_header(1, b"\x02\x03a\x02b\x00"), "runs past the end"),  # negative length
    (_header(1, b"\x02\x00\x02b\x00"), "name is empty"),
    (_header(1, b"\x02" + b"\xff" * 11), "longer than 10 bytes"),
    (_header(1, b"\x02\x02a"), "inside an Avro integer"),
    (_header(1, zigzag_varint(10**15)), "more than 128 tags"),  # refused before reading the block
    (_header(1, zigzag_varint(-(10**15)) + b"\x00"), "more than 128 tags"),  # a block with its byte size
])
def test_malformed_bytes_raise_data_item_error(raw: bytes, message: str) -> None:
    with pytest.raises(DataItemError, match=message):
        parse_data_item(raw)


def test_avro_blocks_with_byte_sizes_are_read() -> None:
    # count -1 means "one record, byte size follows" (avsc writes blocks that way when asked).
    item = parse_data_item(_header(1, b"\x01\x08\x02a\x02b\x00") + b"data")
    assert item.tags == (Tag("a", "b"),) and item.data == b"data"
    assert serialize_data_item(item)[-len(b"data") - 7:-4] == b"\x01\x08\x02a\x02b\x00"  # kept as signed


def test_zero_tags_may_be_written_as_an_empty_avro_array() -> None:
    item = parse_data_item(_header(0, b"\x00"))
    assert item.tags == () and item.raw_tags == b"\x00"
    assert serialize_data_item(item) == _header(0, b"\x00")


def test_invalid_utf8_in_tags_reads_like_node() -> None:
    item = parse_data_item(_header(1, b"\x02\x02a\x06\xed\xa0\x80\x00"))
    assert item.tags == (Tag("a", "\ufffd\ufffd\ufffd"),)


def test_parse_takes_bytes_like_and_copies_the_data() -> None:
    raw = bytearray(serialize_data_item(SAMPLE))
    item = parse_data_item(memoryview(raw))
    raw[-1] ^= 0xFF
    assert item == SAMPLE and isinstance(item.data, bytes)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes_only_raise_data_item_error(raw: bytes) -> None:
    for candidate in (raw, b"\x01\x00" + raw, _header(1, raw[:60]) + raw[60:]):
        try:
            item = parse_data_item(candidate)
        except DataItemError:
            continue
        assert isinstance(verify_data_item(item), bool)


_SAMPLE_RAW = serialize_data_item(SAMPLE)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_SAMPLE_RAW) - 1), st.integers(0, 255)), min_size=1, max_size=4),
       st.integers(0, len(_SAMPLE_RAW)))
def test_fuzz_mutated_items_parse_or_raise_and_never_verify(edits: list[tuple[int, int]], cut: int) -> None:
    bad = bytearray(_SAMPLE_RAW)
    for pos, value in edits:
        bad[pos] = value
    bad = bad[:cut] if cut < len(bad) else bad
    try:
        item = parse_data_item(bytes(bad))
    except DataItemError:
        return
    assert verify_data_item(item) is (bytes(bad) == _SAMPLE_RAW)
