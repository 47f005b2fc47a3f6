"""aocu.domain envelopes and the exact JSON a module receives (reference-cu.md §2.7, §2.9-§2.11).

Sources: ao-su.test.js (``mapNode``), loadMessages.test.js (``maybePrependProcessMessage``),
evaluate.test.js (From/Owner tags removed), dryRun.js, model.js ``messageSchema``. The JSON
literals are what ``JSON.stringify`` gives for the reference's objects (Zod's key order,
``undefined`` keys dropped).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from aocu import jsjson
from aocu.domain import (
    MESSAGE_KEYS,
    Block,
    CronSchedule,
    Message,
    Tag,
    dry_run_message,
    envelope_from_su_node,
    module_message_js,
    needs_process_message,
    parse_crons,
    process_message,
    validate_envelope,
)
from aocu.domain._js import is_nan
from aocu.errors import InvalidMessageError
from aocu.jsjson import UNDEFINED

from .builders import PID, make_ao_global, make_process, su_message, su_node, tags

NOW = 1_700_000_000_000


def test_map_node_scheduled_message() -> None:
    # ao-su.test.js 'should map a scheduled message'
    node = su_node(nonce=23, timestamp=NOW, height="000000000123", message=su_message())
    env = envelope_from_su_node(node, make_ao_global())
    assert env.cron is None
    assert env.ordinate == "23"
    assert env.name == f"Scheduled Message message-123 {NOW}:23"
    assert env.exclude is None
    assert env.is_assignment is False
    assert env.assignment_id == "assignment-123"
    assert env.block == Block(123, NOW)
    assert env.message == Message(
        id="message-123",
        signature="sig-123",
        data="data-123",
        owner="owner-123",
        target=PID,
        anchor="00000000123",
        from_="owner-123",
        forwarded_by=UNDEFINED,
        tags=(Tag("Foo", "Bar"),),
        epoch=0,
        nonce=23,
        timestamp=NOW,
        block_height=123,
        hash_chain="hash-123",
        cron=False,
    )


def test_map_node_assignment() -> None:
    # ao-su.test.js 'should map an assignment tx'
    node = su_node(
        nonce=23, timestamp=NOW, height="000000000123", extra_tags=[{"name": "Message", "value": "assigned-123"}]
    )
    env = envelope_from_su_node(node, make_ao_global())
    assert env.is_assignment
    assert env.message.id == "assigned-123"
    assert env.message.target is UNDEFINED
    assert env.name == f"Assigned Message assigned-123 {NOW}:23"
    assert env.message == Message(
        id="assigned-123", epoch=0, nonce=23, timestamp=NOW, block_height=123, hash_chain="hash-123", cron=False
    )


def test_map_node_forwarded_message() -> None:
    msg = su_message(tags=[{"name": "From-Process", "value": "sender-pid"}, {"name": "Action", "value": "Hi"}])
    env = envelope_from_su_node(su_node(message=msg), make_ao_global())
    assert env.message.from_ == "sender-pid"
    assert env.message.forwarded_by == "owner-123"
    # An empty From-Process still marks the message forwarded, From falls back to the owner (§8.4 #26).
    msg = su_message(tags=[{"name": "From-Process", "value": ""}])
    env = envelope_from_su_node(su_node(message=msg), make_ao_global())
    assert (env.message.from_, env.message.forwarded_by) == ("owner-123", "owner-123")


def test_map_node_ethereum_owner_gets_its_address() -> None:
    key = "BEZGrlBHMWtCMNAIbIrOxofwCxzZ0dxjT2yzWKwKmo___ne03QpL-5WFHztzVceB3WD4QY_Ipl0UkHr_R8kDpVk"
    msg = su_message(owner={"address": "ignored", "key": key})
    env = envelope_from_su_node(su_node(message=msg), make_ao_global())
    assert env.message.owner == env.message.from_ == "0xFCAd0B19bB29D4674531d6f115237E16AfCE377c"


def test_map_node_exclude_tags() -> None:
    node = su_node(extra_tags=[{"name": "Message", "value": "x"}, {"name": "Exclude", "value": "Data"}])
    # A single Exclude tag is one item (the reference crashes on it; §8.4 #22 says fix).
    assert envelope_from_su_node(node, make_ao_global()).exclude == ("Data",)
    node = su_node(extra_tags=[{"name": "Exclude", "value": "Tags"}, {"name": "Exclude", "value": "Data"}])
    assert envelope_from_su_node(node, make_ao_global()).exclude == ("Tags", "Data")


def test_map_node_missing_numbers_are_nan() -> None:
    node = su_node(message=su_message())
    node["assignment"]["tags"] = [t for t in node["assignment"]["tags"] if t["name"] != "Nonce"]
    env = envelope_from_su_node(node, make_ao_global())
    assert is_nan(env.message.nonce)
    assert env.ordinate == "NaN"
    assert env.name.endswith(":NaN")


def test_scheduled_message_json_is_byte_exact() -> None:
    env = validate_envelope(envelope_from_su_node(su_node(message=su_message(anchor=None)), make_ao_global()))
    assert jsjson.stringify(module_message_js(env.message)) == (
        '{"Id":"message-123","Signature":"sig-123","Data":"data-123","Owner":"owner-123",'
        '"Target":"process-123","Anchor":null,"From":"owner-123","Tags":[{"name":"Foo","value":"Bar"}],'
        '"Epoch":0,"Nonce":3,"Timestamp":1700000003000,"Block-Height":1500000,"Hash-Chain":"hash-123",'
        '"Cron":false,"Read-Only":false}'
    )
    assert list(env.message.to_js()) == list(MESSAGE_KEYS)


def test_env_json_is_byte_exact() -> None:
    assert jsjson.stringify(make_ao_global().to_js()) == (
        '{"Process":{"Id":"process-123","Owner":"owner-123","Tags":[{"name":"Data-Protocol","value":"ao"},'
        '{"name":"Type","value":"Process"},{"name":"Module","value":"module-123"}]},'
        '"Module":{"Id":"module-123","Owner":"m-owner-123","Tags":[{"name":"Module-Format","value":"x"}]}}'
    )


def test_cron_message_json_is_byte_exact() -> None:
    crons = parse_crons(tags(("Cron-Interval", "1-minute"), ("Cron-Tag-Action", "Tick")))
    schedule = CronSchedule(crons, origin=Block(1000, NOW), blocks=(), ao_global=make_ao_global())
    cron = validate_envelope(next(schedule.between(Block(1001, NOW + 500), "4", NOW + 120_000)))
    assert cron.name == f"Cron Message {NOW + 60_500},4,0-1-minute"
    assert jsjson.stringify(module_message_js(cron.message)) == (
        '{"Owner":"owner-123","Target":"process-123","From":"owner-123",'
        '"Tags":[{"name":"Action","value":"Tick"}],"Timestamp":1700000060500,"Block-Height":1001,'
        '"Cron":true,"Read-Only":false}'
    )


def test_from_and_owner_tags_are_removed_for_the_module() -> None:
    # evaluate.test.js: tags named From and Owner never reach the module.
    msg = su_message(
        tags=[{"name": "From", "value": "x"}, {"name": "Owner", "value": "y"}, {"name": "Keep", "value": "z"}]
    )
    env = validate_envelope(envelope_from_su_node(su_node(message=msg), make_ao_global()))
    assert module_message_js(env.message)["Tags"] == [{"name": "Keep", "value": "z"}]
    assert len(env.message.tags) == 3  # the envelope keeps them (deep hash, §8.4 #24)


def test_process_message_for_a_cold_start() -> None:
    process = make_process(tags=tags(("Type", "Process"), ("From-Process", "parent"), ("Module", "m")))
    env = validate_envelope(process_message(process, "print('hi')", make_ao_global(process)))
    assert env.no_save and env.ordinate == "0" and env.name == f"Process Message {PID}"
    assert jsjson.stringify(module_message_js(env.message)) == (
        '{"Id":"process-123","Signature":"sig-p","Data":"print(\'hi\')","Owner":"owner-123",'
        '"Target":"process-123","Anchor":null,"From":"parent","Tags":[{"name":"Type","value":"Process"},'
        '{"name":"From-Process","value":"parent"},{"name":"Module","value":"m"}],'
        '"Timestamp":1700000000000,"Block-Height":1500000,"Cron":false,"Read-Only":false}'
    )


def test_process_message_is_needed_unless_the_stream_starts_with_the_process() -> None:
    # loadMessages.test.js maybePrependProcessMessage
    def first(tag_pairs: tuple[tuple[str, str], ...], cron: bool = False):
        msg = Message(tags=tags(*tag_pairs), cron=cron)
        return replace(process_message(make_process(), "", make_ao_global()), message=msg)

    assert needs_process_message(None)
    assert needs_process_message(first((("Type", "Message"),)))
    assert needs_process_message(first((("Type", "Foobar"),), cron=True))
    assert needs_process_message(first((("Type", "Process"),), cron=True))
    assert needs_process_message(first((("Type", "Process"), ("Type", "Process"))))  # parseTags -> array
    assert not needs_process_message(first((("Type", "Process"),)))


def test_validation_renders_zod_issues_like_the_reference() -> None:
    assignment = envelope_from_su_node(su_node(extra_tags=[{"name": "Message", "value": "tx"}]), make_ao_global())
    with pytest.raises(InvalidMessageError) as info:
        validate_envelope(assignment)
    assert str(info.value) == "'Owner': Required. | 'Target': Required. | 'From': Required."
    assert info.value.http_status == 500
    env = envelope_from_su_node(su_node(message=su_message()), make_ao_global())
    with pytest.raises(InvalidMessageError, match=r"^'Owner': String must contain at least 1 character\(s\)\.$"):
        validate_envelope(replace(env, message=replace(env.message, owner="", from_="x")))
    with pytest.raises(InvalidMessageError, match=r"^'Nonce': Expected number, received nan\.$"):
        validate_envelope(replace(env, message=replace(env.message, nonce=float("nan"))))
    with pytest.raises(InvalidMessageError, match=r"^'Timestamp': Expected number, received nan\.$"):
        validate_envelope(replace(env, message=replace(env.message, timestamp=UNDEFINED)))


def test_validation_coerces_and_defaults() -> None:
    env = envelope_from_su_node(su_node(message=su_message()), make_ao_global())
    raw = replace(env, message=replace(env.message, timestamp="1700000003000", read_only=UNDEFINED))
    out = validate_envelope(raw)
    assert out.message.timestamp == 1700000003000
    assert out.message.read_only is False


def dry_run(body: dict, **kw):
    args = {"process_id": PID, "ordinate": "5", "from_timestamp": NOW, "from_block_height": 1500000}
    args.update(kw)
    return dry_run_message(body, ao_global=make_ao_global(), **args)


def test_dry_run_message() -> None:
    body = {
        "Id": "1234",
        "Target": "p",
        "Owner": "o",
        "Data": "x",
        "Anchor": "0",
        "Tags": [{"name": "Action", "value": "Info"}],
        "Foo": "dropped",
    }
    env = dry_run(body)
    assert env.no_save and env.name == "Dry Run Message" and env.ordinate == "5"
    assert jsjson.stringify(module_message_js(env.message)) == (
        '{"Id":"1234","Data":"x","Owner":"o","Target":"p","Anchor":"0","From":"o",'
        '"Tags":[{"name":"Action","value":"Info"}],"Timestamp":1700000000000,"Block-Height":1500000,'
        '"Cron":false,"Read-Only":true}'
    )


def test_dry_run_defaults_and_overrides() -> None:
    body = {
        "Owner": "o",
        "Tags": [{"name": "From-Process", "value": "pid-2"}],
        "Timestamp": 5,
        "Read-Only": False,
        "From": "ignored",
    }
    env = dry_run(body)
    m = env.message
    assert (m.target, m.from_, m.timestamp, m.block_height, m.read_only) == (PID, "pid-2", 5, 1500000, True)
    assert dry_run({"Owner": "o", "Tags": [], "Timestamp": None}).message.timestamp == 0  # Number(null)


def test_dry_run_validation_errors() -> None:
    with pytest.raises(InvalidMessageError, match=r"^'Tags': Required\.$"):
        dry_run({"Owner": "o"})
    with pytest.raises(InvalidMessageError, match=r"^'Owner': Required\. \| 'From': Required\.$"):
        dry_run({"Tags": []})
    with pytest.raises(InvalidMessageError, match=r"^'Target': Expected string, received null\.$"):
        dry_run({"Owner": "o", "Tags": [], "Target": None})


def test_map_node_without_assignment_tags_or_owner() -> None:
    node = su_node(message=su_message())
    del node["assignment"]["tags"]
    env = envelope_from_su_node(node, make_ao_global())
    assert is_nan(env.message.nonce) and is_nan(env.message.timestamp) and env.message.target is UNDEFINED
    with pytest.raises(InvalidMessageError, match=r"^Invalid owner on message message-123$"):
        envelope_from_su_node(su_node(message=su_message(owner=None)), make_ao_global())


@pytest.mark.parametrize("change", [
    {}, {"anchor": None}, {"signature": UNDEFINED}, {"epoch": None}, {"hash_chain": UNDEFINED},
    {"forwarded_by": "f"}, {"cron": True}, {"read_only": True},
])
def test_plain_envelopes_pass_unchanged_as_the_detailed_check_would(change: dict, monkeypatch) -> None:
    from aocu.domain import _message

    env = envelope_from_su_node(su_node(message=su_message()), make_ao_global())
    env = replace(env, message=replace(env.message, **change))
    assert _message._plainly_valid(env)
    fast = validate_envelope(env)
    monkeypatch.setattr(_message, "_plainly_valid", lambda _e: False)
    assert fast is env and validate_envelope(env) == env


@pytest.mark.parametrize("change", [
    {"owner": ""}, {"from_": ""}, {"timestamp": "1700000003000"}, {"read_only": UNDEFINED}, {"nonce": 1.0},
    {"block_height": True}, {"tags": [{"name": "a", "value": "b"}]}, {"target": UNDEFINED},
])
def test_anything_else_takes_the_detailed_check(change: dict) -> None:
    from aocu.domain import _message

    env = envelope_from_su_node(su_node(message=su_message()), make_ao_global())
    assert not _message._plainly_valid(replace(env, message=replace(env.message, **change)))
