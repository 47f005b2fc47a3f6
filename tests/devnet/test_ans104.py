"""The devnet's ANS-104 items: aocu.arweave's format, checked against the SU's own vectors, and fake signatures."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from aocu.arweave import ArweaveSigner, sign_data_item, signature_data, verify_data_item
from aocu.devnet import (
    DataItemError,
    FakeWallet,
    Tag,
    build_data_item,
    hash_chain_seed,
    next_hash_chain,
    parse_data_item,
    serialize_data_item,
)
from aocu.devnet._ans104 import signature_accepted
from aocu.devnet._ids import FAKE_SIGNATURE_MARKER, fake_signature_valid

from .conftest import b64d, b64e, sha256

TEST_JWK = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "ans104" / "test_jwk.json").read_text())

# servers/su src/domain/core/json.rs tests: ITEM_STR (a message) and ASSIGNMENT_ITEM_STR
ITEM = (
    "AQB9q2yhsQlBHv2LOTIrtmKjw063S1DG0prKcq86DykIegmPnXOReXkWXwpqXt4YxTRw6Rw1jG7f1QFF5ReoJO2MrJmia9ym"
    "kTmnhamv3lsYYIotBC6U4Bmzo6IZiKmn2llJt0MDvCe8rxzG15vvff9bpnDIVflY_Dm9Y0dCH-w2Xg8rb2xLq-cM8SBoNRiY"
    "ruwcwpahiHTjXcxboJKksZRXaI_E7_7vL1gWlMLqeYeF_uXqkth8_PGtZcqMA7pbTYcRzGki_rifGXKUIZKgSIRXTk54iboi"
    "qNzOklIFpDKDJpC9Xk_6ppSw_Xzs8S0KpR-veBL8TeURtGhrsDecu_36Pk2MMvdZedxiAg7bvQ9H_NZecoZcju-sQKZiE7ha"
    "q9Nos3g6njh9IpXivGJ1k8tRLeox7hXOeynffzcXz1Vnz5c4Zxw8LKUbLygni49sflKyFTMnQ8sgDw00fPsuhrznq37-2OLh"
    "mYe-tIg-TEV3T4VNdqchzeRSFIv_l7ZJcxeFxcEgdq9aXMx2yzVhSInFuk_W8fJSbhPKX9cewbr4BA_XUNMReowLVcnjB_19"
    "iCWnivkVk9sz-QRbjuVL2IMqZePWcRdN5ncXRJoYv4F-Z4FfXDCFuyCD4UAtiQfdch-S4KvRf99DwKrZrMIF28MDdRFdE3ZG"
    "Ds3FXcPuN8eMLoKBrkyfkM3J89W1GNvrcCNHSNzhF8oPItU4Qno7-x52ZIOAjfdFcXTYLQYU7Xfr6GKaRByemPrkbkrJpdB8"
    "RQREt3rQRDNGRQ0jnbPn62PQugvss98JZn9D4ScNusbbgKMihj4MqfXE2mt7Ab9ewx5d01d-Mwf3D6mGz_ERBJgJo8b119bR"
    "XdNvgUDJC58NFd4chEOUF4mbyj2pZB9P7fx22yEvV7y6DNzuKvk02YQt7TwL7sdxH1PT63CYJx0tlVGGDvJhGKUQwOfDaXHF"
    "MjuuUlXa_klTJT5wEb78aAyh33rw0n9wpOakTIk2KgekbJAzVWCT0BfLrrOhKs3556_d--2mLmcLOONosBjSLokuvtyrTOX7"
    "btKRf6Zl5l3wtxsFaPgO6M3Qy9UR46AtK76XSFQd9kcDf_Qj1FyronJS_enQFWYn5Um97mDnYT9SJwMpDFS_FYBTKlsNhsVy"
    "11EW5kKuo6mTRlfebJa9CQv-NzbUajd7ulAcM4VNWYt-KbbhVZtUUUxgDvXJdlwRSYR5U8JwSze3sfatb5mbds-EAS-tT7gr"
    "wrvTb4wRz20e9ARtBg6kC_x8QujHmFORJ97zrFlnnunPbsWgwWz8bfT9RMFy5xUE1KDCtnJqp-M3FoWwQc4sREIyCl7Q6JTq"
    "_slPe-Xwt9C5oquj4e_SoOuTAfqDPAmIG6rEXKSN7RP3KRjN5IA5Wpp2I0hgOJ6bT2qNAAUAAAAAAAAASAAAAAAAAAAKGkRh"
    "dGEtUHJvdG9jb2wEYW8QZnVuY3Rpb24GcmF3GkRhdGEtUHJvdG9jb2wEYW8OYW8tdHlwZQ5tZXNzYWdlBlNESwRhbwA2NTgz"
)
ASSIGNMENT = (
    "AQAkDPhXPPKneu8tEHf_EG07qX84yOQRFYPPAsK3ZakHplObJY6XAuWIN5cb-UJ_dFSbbqdryLnAQNFLWrhWXqePWZ3G__TI"
    "kPE2QrubXJZ9dyQ_Gw8I-kJTzLF6PtXAT5B89lgCKTVXA8Sjm5eYcMPb_1bBTAJg_R-ZJXYDXHqJY3BkLHuU-UXwr5UuZDKA"
    "YTUzl-Veb7BzgufbZbxZUoEGaHgqWnqTQIkI74oDzJnfufy-F6-vFmjAtFrRgcxXAod2WH-lrWraQf5PPDTmokVbtj786Gzz"
    "f_KGMEt6RqmYKTdk_1FBcxudD3GyPSic_He7xTY629xDsgZhZtRHmEfysn4JxHWT4_0UxXmYhXiEttWNJOqF_3py3HaJpfuX"
    "PZq3rjiLavWAH9Fu-cGFz5cSjZ0thfUbFJk0JUZ9GSmUqEdfF-vuJDPS7jKWdZ5KzllH_Q6myG_OV6-UFe-wgrE0iT5ry11J"
    "8o6s5_nRxjbAs1O0v_DRRjPzTyMP0Eh2xAIBzNyUmzVbwSTLInnBBE8r62Y_EUlbnE8CWT3mo04VHNA3lNU9u7lIji4LHcfx"
    "7o0c_Vx-3bowB3YrnzXyV8gKG7xzV7qLzSbsyTYr5yht7GpTb73XmjZ7aUbGIzy0tjTm7vKRce9aFoWIJvoNdS7kRlo7R0mp"
    "jl-0MflV-8kjHaHCi1TQqz0n1N-v-pcmm0m2nuSyEWh3pC9-vi4UilQqsSfaPSu8UBWRj31XVYwIvBVBhM3FDP8Ugwu8z-ID"
    "z9Psa4gmHkbGo30ltC7oASVLmaQl9ftRPFWow9wvNWQMkWEMrGERdYqDNeEFzCT95FUfIKWrYWDgq0aQPx0DUuahLgL_zsEJ"
    "DeqrsZdUl7th7raeATIv2GPPOlyhPEKaYVReM63DZE4AE8fvnX2BjOkivfbZ6jWhDltt69qN26P3ZrwCrYC7KtFmbQ9Oy_Ay"
    "M4hbG5BRWl5eESk9kY_9Rg95AgJ9inD2H0eigm-AaHBuNt16Eq88dbEUYjLbE5kviR84QUX3ENLCD2Ti2aXdrdBwas2KSMN_"
    "zmNloH98i17BMofZ2VqI-UAVmYfIWgEKtynpLiuqz5IBTfyTYK2fdYnKFxYvAV9xhMYVGpknTQ0YMQVkKY_pVVFDsAtXYw_N"
    "H_bVoQr-EZoy20U2OFj2tF-OshxAtERLm2a97v-0MO3bhjbAjVKVDNP61y7iOzvh7ihA3qa4rJeIi1PA31BtDp0frWTla_4Z"
    "H0YxcDKqFUIl0SrD16gpnS4Ki7ZkHxbWtTK_dIppdEVDcHF5cuEXQk4kgkRWnAKO4c2FOm6uuKA8H_4HJ_PLODoOu937HSyx"
    "h-KTtcfW4zTsC5sfOtYW92dbAAGQ81jLUtsy-dwGPlIcHGPKJ0F0ZVcw2wNqWFGYblfFMgcAAAAAAAAA4wAAAAAAAAAODlBy"
    "b2Nlc3NWNGlaYVhhcnlRM2VlQ0RCXzJaUzRXbUVUNkRUbTM1UXVrSTZkTkVoUVBtdw5NZXNzYWdlVkZSbHcwaGJrMS1ubEFi"
    "SjJEYk1td3FHVjh1NnJXZ3JGWUpXam0xbUJNamsKRXBvY2gCMApOb25jZQIxFEhhc2gtQ2hhaW5WLUlDemZ3SVh3dDFIM2hX"
    "VndlM0Q4WVFOVDJsVTk5V01NWkJyX1FhNTNQMBhCbG9jay1IZWlnaHQYMDAwMDAxMzkzMDA4ElRpbWVzdGFtcBoxNzExNjc2"
    "NjM4NDcxAA"
)


async def test_parses_the_su_message_vector_and_round_trips():
    raw = b64d(ITEM)
    item = parse_data_item(raw)
    # expected values from servers/su json.rs `test_message_from_bundle` and bytes.rs `test_fields`
    assert item.id == "6oYAxVAnH8yKsZKpMgHSbRv7uVWey68PAqYuSXeZBbg"
    assert item.owner_address == "4QKhXnyl1z3HEPprMKfTeXrWPRuQjK6O99k5SFKGuck"
    assert item.signature_type == 1 and len(item.signature) == 512 and len(item.owner) == 512
    assert Tag("Data-Protocol", "ao") in item.tags
    assert serialize_data_item(item) == raw
    assert verify_data_item(item) and signature_accepted(item)  # a real SU-made signature


async def test_parses_the_su_assignment_vector():
    item = parse_data_item(b64d(ASSIGNMENT))
    tags = {t.name: t.value for t in item.tags}
    assert tags["Process"] == "4iZaXaryQ3eeCDB_2ZS4WmET6DTm35QukI6dNEhQPmw"
    assert (tags["Epoch"], tags["Nonce"], tags["Block-Height"]) == ("0", "1", "000001393008")
    assert tags["Timestamp"] == "1711676638471"
    assert item.data == b""
    assert serialize_data_item(item) == b64d(ASSIGNMENT)
    assert verify_data_item(item)


async def test_built_items_round_trip_and_are_deterministic():
    wallet = FakeWallet.named("alice")
    tags = [Tag("Name", "ü" * 3), Tag("Empty", "")]
    a = build_data_item(wallet, data=b"hello", tags=tags, target=b"\x01" * 32, anchor=b"x" * 32, salt=b"1")
    b = build_data_item(wallet, data=b"hello", tags=tags, target=b"\x01" * 32, anchor=b"x" * 32, salt=b"1")
    c = build_data_item(wallet, data=b"hello", tags=tags, target=b"\x01" * 32, anchor=b"x" * 32, salt=b"2")
    assert a.id == b.id != c.id
    back = parse_data_item(serialize_data_item(a))
    assert (back.id, back.tags, back.data, back.target, back.anchor) == (a.id, tuple(tags), b"hello",
                                                                         b"\x01" * 32, b"x" * 32)
    assert back.owner_address == wallet.address == b64e(sha256(wallet.key))
    assert a.signature.startswith(FAKE_SIGNATURE_MARKER)
    assert fake_signature_valid(wallet.key, signature_data(a), a.signature)


async def test_fake_signatures_are_accepted_only_by_the_devnet_and_only_unchanged():
    item = build_data_item(FakeWallet.named("carol"), data=b"payload", tags=[Tag("Type", "Message")], salt=b"s")
    assert signature_accepted(item)
    assert not verify_data_item(item)  # a real verifier says no
    for changed in (replace(item, data=b"payl0ad"), replace(item, tags=(Tag("Type", "Other"),), raw_tags=b""),
                    replace(item, owner=FakeWallet.named("dave").key),
                    replace(item, signature=item.signature[:-1] + bytes([item.signature[-1] ^ 1])),
                    replace(item, signature=item.signature[:20] + b"\x00" + item.signature[21:])):
        assert not signature_accepted(changed)


async def test_real_signatures_must_verify():
    item = sign_data_item(ArweaveSigner.from_jwk(TEST_JWK), data=b"real", tags=[Tag("Type", "Checkpoint")])
    assert signature_accepted(item)
    assert not signature_accepted(replace(item, data=b"fake"))
    # a real signature that happens to start with the marker is still checked as a fake one: refused
    assert not signature_accepted(replace(item, signature=FAKE_SIGNATURE_MARKER + item.signature[16:]))


async def test_malformed_items_are_rejected():
    good = serialize_data_item(build_data_item(FakeWallet.named("bob"), tags=[Tag("a", "b")]))
    for bad in (b"", b"\x09\x00" + good[2:], good[:600], good[:1030] + b"\x07" + good[1031:]):
        with pytest.raises(DataItemError):
            parse_data_item(bad)
    with pytest.raises(DataItemError):
        build_data_item(FakeWallet.named("bob"), anchor=b"short")


async def test_hash_chain_functions_match_the_su_formula():
    pid = ITEM_ID = "6oYAxVAnH8yKsZKpMgHSbRv7uVWey68PAqYuSXeZBbg"
    assert hash_chain_seed(pid) == b64e(sha256(b64d(ITEM_ID)))
    aid = "4iZaXaryQ3eeCDB_2ZS4WmET6DTm35QukI6dNEhQPmw"
    seed = hash_chain_seed(pid)
    assert next_hash_chain(seed, aid) == b64e(sha256(b64d(aid) + b64d(seed)))
    with pytest.raises(ValueError, match="Length mismatch 32"):
        next_hash_chain(seed, "abc")
