"""aocu.arweave owner addresses (``addressFrom``) and Keccak-256 (reference-cu.md §7.1, §A.6)."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from aocu.arweave import address_from, keccak256, node_base64_decode
from aocu.arweave._address import _sponge256

ARWEAVE_KEY = (
    "sA3TgZ_yWVqU7wKurqwvV8LWqLHHMFXGPoFRAq-wYqntTl4_BbR7u3EIYiC9xUh1yaveiyquDNub1wp3SN5W8GZSugnu29EyUcPo1eH9"
    "76hRlthHtJAk4fidbXNgUPHf25qkVAfYcl84S8cKCis8sFTIwxOaKDBnZiTkgYkYNO2_iav82p-N-WQ20oC_QNj9tXkl8vyYqhAKIwBT"
    "_Wf1P8CNDQiAFbR4aMK4x1c19RaA0gxUtQrVs3LlVbeygImUXvoKzad1PkGj3bPPXoMe1JzSul9J5VRR1qiOKVBloNCfTFfEykw5BCsh"
    "WBNgMJ2Vgh_qyrx9nQGXU-dlTcnWISyTrD5Ctm0tqq0lqaLN3lTLIDHUsQdQbkTMaXfxDSym09A-gDb6bmyatwwMMNlKHRy_H6Shp28P"
    "rPQJWdducViMdcx0timKFYWMAGBehtFIe2eI7fc7nNmuJ6NxG8MBSt9PoGWxEhktjjAYxhmQOVCaT2aQRmvmWmp2F9XONiGY5Q4jqbwr"
    "IG89eVrNJmUBf3oeTCdjMSsqoj8ypr4oWVyOGJkxwn4gmKJ1w9TzcSIN-1bT9T1J6P2lamQYiF9CqGfzQ-Hqa-nBvfhFCaOxX_6JIBcN"
    "5ng52w_cTtLT_gs6VI90PZQzDe_HHlepgW_yf85FLlg9hhnU2TmNLkmshRk"
)


def test_keccak256_known_vectors() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"


@given(st.binary(max_size=600))
def test_permutation_matches_hashlib_sha3(data: bytes) -> None:
    # Same sponge with FIPS-202 padding must be SHA3-256.
    assert _sponge256(data, 0x06) == hashlib.sha3_256(data).digest()


def test_arweave_keys_keep_the_given_address() -> None:
    address = "ukkobWjvi0Gwt7SSt2pdQRS2vXsRO3s-kGDx7jQlJdY"
    assert len(node_base64_decode(ARWEAVE_KEY)) == 512
    assert address_from(address, ARWEAVE_KEY) == address


def test_ethereum_keys_get_eip55_addresses() -> None:
    address = "KNrSdKEQPHc3lHcLUViwvGONLYp2EcxL_oaHBH6zh3w"
    keys = [
        "BEZGrlBHMWtCMNAIbIrOxofwCxzZ0dxjT2yzWKwKmo___ne03QpL-5WFHztzVceB3WD4QY_Ipl0UkHr_R8kDpVk",
        "BOaKz8AlOhBiDf9wawobHx9YM-o76zveIlDV8nHzVjYGZy68ReC36i6BbstwygMTexyUdu7GPUYy6ZACC3tvujk",
    ]
    expected = ["0xFCAd0B19bB29D4674531d6f115237E16AfCE377c", "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1"]
    for key, eth in zip(keys, expected, strict=True):
        got = address_from(address, key)
        assert got == eth
        assert len(got) == 42


def test_other_key_sizes_keep_the_given_address() -> None:
    assert address_from("owner-123", "key-123") == "owner-123"
