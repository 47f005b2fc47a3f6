"""`CheckpointFinder`: record and Arweave sources, trust and verification, the re-evaluation windows."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from aocu.checkpoints import CheckpointFinder, FinderSettings, checkpoint_tags, encode_memory, signed_item_bytes
from aocu.devnet._ans104 import parse_data_item
from aocu.devnet._ids import b64url_encode
from aocu.model import Tag
from aocu.stores import CheckpointRecord, MemoryPoint, Stores
from aocu.stores._fakes import open_memory_stores

from .doubles import FakeGateway, FakeSigner, FakeVerifier

PID = "p" * 43
MOD = "m" * 43
CU = FakeSigner("cu")
OTHER = FakeSigner("other")


def point(nonce: int) -> MemoryPoint:
    return MemoryPoint(process_id=PID, timestamp=1_000 + nonce, ordinate=str(nonce), module_id=MOD, nonce=nonce,
                       epoch=None, block_height=5, assignment_id="a" * 43, hash_chain="h" * 43)


def honest(nonce: int) -> bytes:
    return f"memory at {nonce} ".encode() * 50


def publish(gateway: FakeGateway, nonce: int, *, memory: bytes | None = None, signer: FakeSigner = CU,
            sha: str | None = None, extra: Sequence[Tag] = ()) -> str:
    encoded = encode_memory(memory if memory is not None else honest(nonce))
    tags = [*checkpoint_tags(point(nonce), sha256=sha or encoded.sha256, unit_id="u"), *extra]
    item = parse_data_item(signed_item_bytes(signer, encoded.data, tags))
    gateway.add(item)
    return item.id


def finder(gateway: FakeGateway, stores: Stores, **settings: object) -> CheckpointFinder:
    return CheckpointFinder(gateway=gateway, store=stores.checkpoints, verifier=FakeVerifier(),
                            settings=FinderSettings(own_address=CU.address, **settings))  # type: ignore[arg-type]


class Replays:
    """An honest evaluator: from any memory to a timestamp gives the honest memory there."""

    def __init__(self) -> None:
        self.calls: list[tuple[int | None, int]] = []

    async def __call__(self, process_id: str, memory: bytes, start: MemoryPoint,
                       to_timestamp: int) -> tuple[bytes, MemoryPoint]:
        self.calls.append((start.nonce, to_timestamp))
        nonce = to_timestamp - 1_000
        return honest(nonce), point(nonce)


async def no_replay(*_: object) -> tuple[bytes, MemoryPoint]:
    raise AssertionError("no verification replay expected")


async def test_newest_verified_checkpoint_by_own_wallet_wins() -> None:
    gateway = FakeGateway()
    ids = [publish(gateway, n) for n in (1, 3, 2)]
    async with open_memory_stores() as stores:
        found = await finder(gateway, stores).find(PID, module_id=MOD, replay=no_replay)
    assert found is not None and found.source == "arweave" and found.checkpoint_id == ids[1]
    assert found.point == point(3) and found.memory == honest(3)
    assert gateway.queries == [(PID, (CU.address,))]


def tamper_cases(gateway: FakeGateway, newest: str) -> list[tuple[str, object]]:
    item = next(i for i in gateway.items if i.id == newest)
    return [
        ("data", lambda: gateway.data_overrides.__setitem__(newest, encode_memory(b"evil").data)),
        ("signed tags", lambda: gateway.meta_overrides.__setitem__(
            newest, {"tags": tuple(Tag(t.name, "9" if t.name == "Nonce" else t.value) for t in item.tags)})),
        ("listed tags", lambda: gateway.listed_overrides.__setitem__(
            newest, [Tag(t.name, "99" if t.name == "Nonce" else t.value) for t in item.tags])),
        ("signature", lambda: gateway.meta_overrides.__setitem__(newest, {"signature": b64url_encode(b"\1" * 512)})),
        ("unsigned", lambda: gateway.meta_overrides.__setitem__(newest, {"signature": ""})),
    ]


async def test_tampered_checkpoints_are_skipped_for_the_next_older_one() -> None:
    for case in range(5):
        gateway = FakeGateway()
        older = publish(gateway, 2)
        newest = publish(gateway, 3)
        name, tamper = tamper_cases(gateway, newest)[case]
        tamper()  # type: ignore[operator]
        async with open_memory_stores() as stores:
            found = await finder(gateway, stores).find(PID, module_id=MOD, replay=no_replay)
        assert found is not None and found.checkpoint_id == older, name
        assert found.memory == honest(2)


async def test_untrusted_owner_wrong_hash_wrong_module_and_ignored_ids_are_rejected() -> None:
    gateway = FakeGateway()
    gateway.honest_owners = False                       # the index also answers with others' checkpoints
    oldest = publish(gateway, 1)
    publish(gateway, 5, signer=OTHER)                   # untrusted owner
    publish(gateway, 4, sha="00" * 32)                  # SHA-256 tag does not match the memory
    ignored = publish(gateway, 3)
    wrong_module = dataclasses.replace(point(2), module_id="n" * 43)
    encoded = encode_memory(honest(2))
    gateway.add(parse_data_item(signed_item_bytes(CU, encoded.data, checkpoint_tags(wrong_module, sha256=encoded.sha256,
                                                                                    unit_id="u"))))
    async with open_memory_stores() as stores:
        found = await finder(gateway, stores, ignore_ids=frozenset({ignored})).find(PID, module_id=MOD,
                                                                                    replay=no_replay)
    assert found is not None and found.checkpoint_id == oldest
    assert ignored not in gateway.downloads
    assert gateway.downloads == [gateway.items[2].id, oldest]      # the SHA-256 mismatch, then the one used;
    # the untrusted owner's and the other module's were refused from their signed tags, undownloaded


async def test_streamed_in_small_pieces_a_checkpoint_loads_and_broken_data_is_refused() -> None:
    gateway = FakeGateway()
    gateway.piece_bytes = 7                                        # every stage sees hundreds of pieces
    older = publish(gateway, 2, memory=honest(2) * 40)
    newest = publish(gateway, 3, memory=honest(3) * 40)
    data = next(i for i in gateway.items if i.id == newest).data
    async with open_memory_stores() as stores:
        found = await finder(gateway, stores).find(PID, module_id=MOD, replay=no_replay)
        assert found is not None and found.checkpoint_id == newest and found.memory == honest(3) * 40
        for broken in (data + b"garbage", data[:-1], data[:-8] + bytes(8), b""):
            gateway.data_overrides[newest] = broken                # the signature would fail too; gzip first
            found = await finder(gateway, stores).find(PID, module_id=MOD, replay=no_replay)
            assert found is not None and found.checkpoint_id == older
        del gateway.data_overrides[newest]
        capped = finder(gateway, stores, max_memory_bytes=len(honest(3) * 40) - 1)
        assert await capped.find(PID, module_id=MOD, replay=no_replay) is None      # both over the cap


async def test_nothing_usable_is_a_cold_start_and_query_failures_too() -> None:
    gateway = FakeGateway()
    publish(gateway, 1, sha="00" * 32)
    async with open_memory_stores() as stores:
        assert await finder(gateway, stores).find(PID, module_id=MOD, replay=no_replay) is None
        gateway.fail_queries = True
        assert await finder(gateway, stores).find(PID, module_id=MOD, replay=no_replay) is None


async def test_ignored_processes_are_never_looked_up() -> None:
    gateway = FakeGateway()
    publish(gateway, 1)
    async with open_memory_stores() as stores:
        f = finder(gateway, stores, ignore_processes=frozenset({PID}))
        assert await f.find(PID, module_id=MOD, replay=no_replay) is None
    assert gateway.queries == []


async def test_trusted_owners_replace_the_own_wallet_and_preferred_owners_win_when_present() -> None:
    gateway = FakeGateway()
    mine = publish(gateway, 4)
    theirs = publish(gateway, 2, signer=OTHER)
    async with open_memory_stores() as stores:
        found = await finder(gateway, stores, trusted_owners=(OTHER.address,)).find(PID, module_id=MOD,
                                                                                    replay=no_replay)
        assert found is not None and found.checkpoint_id == theirs
        found = await finder(gateway, stores, preferred_owners=(OTHER.address,)).find(PID, module_id=MOD,
                                                                                      replay=no_replay)
        assert found is not None and found.checkpoint_id == theirs
        found = await finder(gateway, stores, preferred_owners=("nobody",)).find(PID, module_id=MOD,
                                                                                 replay=no_replay)
        assert found is not None and found.checkpoint_id == mine


async def test_records_come_first_and_ignore_local_skips_them() -> None:
    gateway = FakeGateway()
    recorded = publish(gateway, 2)
    newest = publish(gateway, 3)
    async with open_memory_stores() as stores:
        await stores.checkpoints.write_checkpoint_record(CheckpointRecord(point=point(2), checkpoint_id=recorded,
                                                                          encoding="gzip"))
        found = await finder(gateway, stores).find(PID, module_id=MOD, replay=no_replay)
        assert found is not None and (found.source, found.checkpoint_id) == ("record", recorded)
        assert gateway.queries == []
        found = await finder(gateway, stores, ignore_local=True).find(PID, module_id=MOD, replay=no_replay)
        assert found is not None and (found.source, found.checkpoint_id) == ("arweave", newest)


async def test_a_tampered_record_falls_back_to_the_gateway() -> None:
    gateway = FakeGateway()
    recorded = publish(gateway, 2)
    gateway.data_overrides[recorded] = b"garbage"
    async with open_memory_stores() as stores:
        await stores.checkpoints.write_checkpoint_record(CheckpointRecord(point=point(2), checkpoint_id=recorded,
                                                                          encoding="gzip"))
        assert await finder(gateway, stores).find(PID, module_id=MOD, replay=no_replay) is None
        newer = publish(gateway, 3)
        found = await finder(gateway, stores).find(PID, module_id=MOD, replay=no_replay)
        assert found is not None and (found.source, found.checkpoint_id) == ("arweave", newer)


async def test_up_to_steps_plus_retries_candidates_need_no_replay() -> None:
    gateway = FakeGateway()
    for n in range(15):
        publish(gateway, n)
    async with open_memory_stores() as stores:
        found = await finder(gateway, stores).find(PID, module_id=MOD, replay=no_replay)
    assert found is not None and found.point.nonce == 14


async def test_verification_window_accepts_the_newest_with_the_computed_memory() -> None:
    gateway = FakeGateway()
    for n in range(50):
        publish(gateway, n)
    replays = Replays()
    async with open_memory_stores() as stores:
        found = await finder(gateway, stores).find(PID, module_id=MOD, replay=replays)
    assert found is not None and found.point.nonce == 49 and found.memory == honest(49)
    assert len(replays.calls) == 9 and replays.calls[0] == (40, 1041)


async def test_verification_tries_older_windows_and_tolerates_one_mismatch_in_ten() -> None:
    gateway = FakeGateway()
    for n in range(50):     # the newest four disagree with re-evaluation (validly signed, wrong memory)
        publish(gateway, n, memory=b"diverged" if n >= 46 else None)
    replays = Replays()
    async with open_memory_stores() as stores:
        found = await finder(gateway, stores).find(PID, module_id=MOD, replay=replays)
    # windows ending at 49, 48, 47 have 4, 3, 2 mismatches (< 7.5 of 10); the one ending at 46 has 1
    assert found is not None and found.point.nonce == 46 and found.memory == honest(46)
    assert len(replays.calls) == 4 * 9


async def test_all_windows_failing_is_a_cold_start() -> None:
    gateway = FakeGateway()
    for n in range(50):
        publish(gateway, n, memory=b"diverged")
    replays = Replays()
    async with open_memory_stores() as stores:
        assert await finder(gateway, stores).find(PID, module_id=MOD, replay=replays) is None
    assert len(replays.calls) == 5 * 9
    assert all(35 <= (start or 0) <= 49 for start, _ in replays.calls)
