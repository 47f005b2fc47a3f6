"""aocu.arweave deep hash: the SHA-384 tree hash (arweave-js / warp-arbundles ``deepHash``).

The end-to-end vectors of reference-cu.md §A.4 (which run through this function) are in
tests/unit/domain/test_hydrate.py; here the algorithm's structure is pinned down.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aocu.arweave import HashedBlob, deep_hash


def sha384(b: bytes) -> bytes:
    return hashlib.sha384(b).digest()


def test_blob_is_tagged_hash_of_length_and_content() -> None:
    data = b"hello"
    assert deep_hash(data) == sha384(sha384(b"blob5") + sha384(data))


def test_empty_blob_and_empty_list_differ() -> None:
    assert deep_hash(b"") == sha384(sha384(b"blob0") + sha384(b""))
    assert deep_hash([]) == sha384(b"list0")
    assert deep_hash(b"") != deep_hash([])


def test_list_folds_items_into_accumulator() -> None:
    a, b = b"dataitem", b"1"
    acc = sha384(b"list2")
    acc = sha384(acc + deep_hash(a))
    acc = sha384(acc + deep_hash(b))
    assert deep_hash([a, b]) == acc


def test_nested_lists_hash_recursively() -> None:
    inner = [b"x", b"yz"]
    acc = sha384(sha384(b"list1") + deep_hash(inner))
    assert deep_hash([inner]) == acc


def test_bytes_like_inputs_agree() -> None:
    data = bytes(range(200))
    assert deep_hash(data) == deep_hash(bytearray(data)) == deep_hash(memoryview(data))
    assert deep_hash((data,)) == deep_hash([data])


def test_rejects_str() -> None:
    with pytest.raises(TypeError):
        deep_hash("not bytes")  # type: ignore[arg-type]


@given(st.lists(st.binary(max_size=64), max_size=6))
def test_list_hash_is_48_bytes_and_order_sensitive(items: list[bytes]) -> None:
    h = deep_hash(items)
    assert len(h) == 48
    if len(set(items)) > 1:
        assert h != deep_hash(list(reversed(items))) or items == list(reversed(items))


@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=500))
def test_a_blob_streamed_in_pieces_hashes_as_the_blob(data: bytes, piece: int) -> None:
    streamed = hashlib.sha384()
    for i in range(0, len(data), piece):
        streamed.update(data[i:i + piece])
    hashed = HashedBlob(streamed.digest(), len(data))
    assert hashed == HashedBlob.of(data)
    assert deep_hash(hashed) == deep_hash(data)
    assert deep_hash([b"x", hashed]) == deep_hash([b"x", data])


def test_a_hashed_blob_is_bound_to_its_length_and_digest() -> None:
    hashed = HashedBlob.of(b"hello")
    assert deep_hash(HashedBlob(hashed.sha384, 6)) != deep_hash(b"hello")
    assert deep_hash(HashedBlob(sha384(b"hellO"), 5)) != deep_hash(b"hello")
