"""aocu.domain crons: parsing, ticks, block metadata, and the merge with the SU stream.

Sources: reference-cu.md §2.8 and §A.7, and the reference's loadMessages.test.js (parseCrons,
isBlockOnCron, isTimestampOnCron, cronMessagesBetween, mergeBlocks). The fast generator is
checked against `naive_between`, a line-by-line port of the reference's one-second tick loop,
and `CronMerger` against `reference_merge`, a port of its boundary-tuple generator.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aocu.domain import (
    Block,
    BlockRange,
    CronDeduper,
    CronInterval,
    CronMerger,
    CronSchedule,
    Envelope,
    Message,
    Tag,
    envelope_from_su_node,
    find_missing_blocks,
    is_block_on_cron,
    is_timestamp_on_cron,
    left_most_block,
    merge_blocks,
    parse_cron_interval,
    parse_crons,
)
from aocu.domain._cron import _v8_sort_by_value
from aocu.domain._js import is_nan
from aocu.errors import InvalidProcessError

from .builders import make_ao_global, su_message, su_node, tags

SECOND = 1000
MINUTE = 60 * SECOND
T0 = 1_700_000_000_000  # a whole second, like the reference test's `nowSecond - 30d`


# --- parsing -------------------------------------------------------------------------------


def test_parse_crons_reference_example() -> None:
    # loadMessages.test.js 'parses the crons from the tags' (tags purposely interleaved).
    crons = parse_crons(
        tags(
            ("Foo", "Bar"),
            ("Cron-Interval", "10-blocks"),
            ("Cron-Tag-function", "notify"),
            ("Cron-Tag-notify-function", "transfer"),
            ("Random", "Tag"),
            ("Cron-Interval", " 10-minutes "),
            ("Cron-Tag-function", "notify"),
            ("Cron-Tag-notify-function", "transfer"),
            ("Cron-Interval", "1 hour"),
            ("Another", "Tag"),
            ("Cron-Tag-Function", "transfer"),
        )
    )
    cron_tags = tags(("function", "notify"), ("notify-function", "transfer"))
    assert crons[0] == CronInterval("10-blocks", "blocks", 10, cron_tags)
    assert crons[1] == CronInterval(" 10-minutes ", "seconds", 600, cron_tags)
    assert crons[2].interval == "1 hour" and crons[2].unit == "seconds" and is_nan(crons[2].value)
    assert crons[2].tags == tags(("Function", "transfer"))
    assert len(crons) == 3


def test_parse_crons_without_crons_is_empty() -> None:
    assert parse_crons(()) == []
    assert parse_crons(tags(("Cron-Tags", "x"), ("cron-interval", "1-minute"))) == []


def test_sub_second_time_cron_is_an_error() -> None:
    with pytest.raises(InvalidProcessError, match=r"^time-based cron cannot be less than 1 second$"):
        parse_crons(tags(("Cron-Interval", "500-Milliseconds"), ("Cron-Tag-Function", "transfer")))
    with pytest.raises(InvalidProcessError):
        parse_crons(tags(("Cron-Interval", "10")))  # "10 " -> 10 ms


def test_cron_tag_before_any_interval_is_an_error() -> None:
    with pytest.raises(InvalidProcessError, match=r"^Unmatched Cron-Tag with no preceding Cron-Interval: Cron-Tag-A$"):
        parse_crons(tags(("Cron-Tag-A", "1"), ("Cron-Interval", "1-minute")))


@pytest.mark.parametrize(
    ("raw", "unit", "value"),
    [
        ("1-Hour", "seconds", 3600),
        ("1-day", "seconds", 86400),
        ("1-year", "seconds", 31557600),
        ("90-seconds", "seconds", 90),
        (" 10-minutes ", "seconds", 600),
        ("2-blocks", "blocks", 2),
        ("1-block", "block", 1),
        ("0x10-blocks", "blocks", 16),
        ("1-minute-extra", "seconds", 60),  # only the first two parts count
        ("1000", "seconds", 1),  # "1000 " is 1000 ms
        ("1.5-minutes", "seconds", 90),
    ],
)
def test_parse_interval_vectors(raw: str, unit: str, value: int) -> None:
    assert parse_cron_interval(raw) == (unit, value)


@pytest.mark.parametrize("raw", ["1 hour", "10-months", "2-Blocks", "-5-seconds", "", "x-minutes"])
def test_unparsable_intervals_never_fire(raw: str) -> None:
    unit, value = parse_cron_interval(raw)
    assert unit == "seconds" and is_nan(value)


def test_block_based_units_are_case_sensitive_and_parse_int() -> None:
    assert parse_cron_interval("abc-blocks")[0] == "blocks"
    assert is_nan(parse_cron_interval("abc-blocks")[1])


def test_is_block_on_cron() -> None:
    assert is_block_on_cron(125000, 123455, 5)
    assert not is_block_on_cron(125000, 123457, 5)
    assert not is_block_on_cron(123455, 123455, 5)  # the origin block never fires
    assert not is_block_on_cron(125000, 123455, math.nan)
    assert not is_block_on_cron(125000, 123455, 0)
    assert is_block_on_cron(125000, 123455, -5)  # JS: 1545 % -5 === 0


def test_is_timestamp_on_cron() -> None:
    # loadMessages.test.js 'should return whether the timestamp is on the cron'.
    now = T0
    m5 = 5 * MINUTE
    cases = [
        (now, now - m5, 15, True),
        (now + 3 * MINUTE, now - m5, 15, True),
        (now + 2 * MINUTE, now - 3 * MINUTE, 300, True),
        (now + 10 * SECOND, now - m5, 15, False),
        (now, now - m5, 300, True),
        (now + 10 * MINUTE, now - m5, 300, True),
        (now + 59 * SECOND, now - m5, 300, False),
        (now + 3 * MINUTE, now - m5, 300, False),
        (now + 6 * MINUTE, now - m5, 300, False),
        (now + 10 * SECOND, now - m5, 300, False),
    ]
    for ts, origin, value, expected in cases:
        assert is_timestamp_on_cron(ts, origin, value) is expected, (ts - now, origin - now, value)
    # Whole seconds are compared: milliseconds do not matter, the origin second never fires.
    assert is_timestamp_on_cron(T0 + 60_999, T0 + 123, 60)
    assert not is_timestamp_on_cron(T0 + 999, T0, 1)


def test_time_crons_sort_like_v8_even_with_nan_periods() -> None:
    def c(v: float) -> CronInterval:
        return CronInterval(f"{v}", "seconds", v)

    nan = math.nan
    # Stable ascending without NaN.
    got = _v8_sort_by_value([c(600), c(60), c(600), c(1)])
    assert [x.value for x in got] == [1, 60, 600, 600]
    # V8's TimSort: run [NaN, 600] (600 vs NaN compares equal), then 60 inserted by binary search.
    got = _v8_sort_by_value([c(nan), c(600), c(60)])
    assert [x.interval for x in got] == ["nan", "60", "600"]
    got = _v8_sort_by_value([c(600), c(nan), c(60)])
    assert [x.interval for x in got] == ["600", "nan", "60"]


# --- block metadata ------------------------------------------------------------------------


def test_merge_blocks_reference_example() -> None:
    from_db = [Block(10, 123), Block(11, 456), Block(15, 789), Block(16, 1234)]
    from_gateway = [Block(11, 456), Block(12, 457), Block(13, 458), Block(14, 459), Block(15, 460)]
    assert merge_blocks(from_db, from_gateway) == [
        Block(10, 123),
        Block(11, 456),
        Block(12, 457),
        Block(13, 458),
        Block(14, 459),
        Block(15, 460),  # the gateway's block wins on equal heights
        Block(16, 1234),
    ]


def test_merge_blocks_with_empty_sides() -> None:
    blocks = [Block(1, 1000), Block(2, 2000)]
    assert merge_blocks(blocks, []) == blocks
    assert merge_blocks([], blocks) == blocks


def test_find_missing_blocks() -> None:
    assert find_missing_blocks([], min_height=10, max_timestamp=5000) == [BlockRange(10, 5000)]
    cached = [Block(10, 100_000), Block(11, 200_000)]
    # Newest cached block within 90 s of the right-most timestamp: nothing to fetch.
    assert find_missing_blocks(cached, min_height=10, max_timestamp=290_000) == []
    # Older: fetch from the newest cached height (inclusive).
    assert find_missing_blocks(cached, min_height=10, max_timestamp=291_000) == [BlockRange(11, 291_000)]
    # Gaps below the newest block: one range per run, ending before the next cached block; the
    # tail after the newest block is not fetched (reference quirk).
    gappy = [Block(12, 300_000), Block(15, 600_000), Block(17, 800_000)]
    assert find_missing_blocks(gappy, min_height=10, max_timestamp=10**9) == [
        BlockRange(10, 299_999),
        BlockRange(13, 599_999),
        BlockRange(16, 799_999),
    ]


# --- generation ----------------------------------------------------------------------------


def naive_between(
    schedule: CronSchedule, left: Block, left_ordinate: str, right_ts: int
) -> list[tuple[int, str, object, str, str]]:
    """cronMessagesBetweenWith's loop, one tick per second, as the reference runs it."""
    block_based = [c for c in schedule.crons if c.is_block_based]
    time_based = _v8_sort_by_value([c for c in schedule.crons if c.unit == "seconds"])
    in_range = [b for b in schedule.blocks if b.timestamp > left.timestamp and b.timestamp < right_ts]
    out = []
    cur = left
    t = left.timestamp
    while t < right_ts:
        if in_range and t // 1000 >= in_range[0].timestamp // 1000:
            cur = in_range.pop(0)
            for i, c in enumerate(block_based):
                if is_block_on_cron(cur.height, schedule.origin.height, c.value):
                    cid = f"{i}-{c.interval}"
                    out.append(
                        (
                            cur.timestamp,
                            cid,
                            cur.height,
                            left_ordinate,
                            f"Cron Message {cur.timestamp},{left_ordinate},{cid}",
                        )
                    )
        for i, c in enumerate(time_based):
            if is_timestamp_on_cron(t, schedule.origin.timestamp, c.value):
                cid = f"{i}-{c.interval}"
                out.append((t, cid, cur.height, left_ordinate, f"Cron Message {t},{left_ordinate},{cid}"))
        t += 1000
    return out


def summary(envelopes: Sequence[Envelope]) -> list[tuple[int, str, object, str, str]]:
    return [(e.message.timestamp, e.cron, e.message.block_height, e.ordinate, e.name) for e in envelopes]


ORIGIN_HEIGHT = 125_000
START = T0 + 20 * MINUTE  # scheduledMessagesStartTime


def reference_scenario() -> tuple[CronSchedule, Block, Block]:
    """loadMessages.test.js 'cronMessagesBetween': 4 crons, 5 blocks, 85 minutes."""
    msg_tags = tags(("Type", "Message"), ("function", "notify"), ("from", "SIGNERS_WALLET_ADRESS"), ("qty", "1000"))
    crons = [
        CronInterval("10-minutes", "seconds", 600, msg_tags),
        CronInterval("2-blocks", "blocks", 2, msg_tags),
        CronInterval("15-minutes", "seconds", 900, msg_tags),
        CronInterval("2-blocks", "blocks", 2, msg_tags),
    ]
    blocks = [
        Block(ORIGIN_HEIGHT + 12, START + 15 * MINUTE),  # 35m
        Block(ORIGIN_HEIGHT + 13, START + 31 * MINUTE),  # 51m
        Block(ORIGIN_HEIGHT + 14, START + 60 * MINUTE),  # 80m
        Block(ORIGIN_HEIGHT + 15, START + 75 * MINUTE),  # 95m
        Block(ORIGIN_HEIGHT + 16, START + 85 * MINUTE),  # 105m
    ]
    schedule = CronSchedule(crons, origin=Block(ORIGIN_HEIGHT, T0), blocks=blocks, ao_global=make_ao_global())
    left = Block(ORIGIN_HEIGHT + 11, START)
    right = Block(ORIGIN_HEIGHT + 16, START + 70 * MINUTE)  # 90m
    return schedule, left, right


def test_reference_scenario_yields_fifteen_crons_in_the_spec_order() -> None:
    schedule, left, right = reference_scenario()
    got = list(schedule.between(left, "1", right.timestamp))
    assert len(got) + 2 == 17
    order = [(round((e.message.timestamp - T0) / MINUTE), e.cron) for e in got]
    assert order == [
        (20, "0-10-minutes"),
        (30, "0-10-minutes"),
        (30, "1-15-minutes"),
        (35, "0-2-blocks"),
        (35, "1-2-blocks"),
        (40, "0-10-minutes"),
        (45, "1-15-minutes"),
        (50, "0-10-minutes"),
        (60, "0-10-minutes"),
        (60, "1-15-minutes"),
        (70, "0-10-minutes"),
        (75, "1-15-minutes"),
        (80, "0-2-blocks"),
        (80, "1-2-blocks"),
        (80, "0-10-minutes"),
    ]
    # 'should create a unique cron identifier for each generated message'
    assert len({(e.message.timestamp, e.ordinate, e.cron) for e in got}) == len(got)
    assert summary(got) == naive_between(schedule, left, "1", right.timestamp)


def test_cron_envelope_shape() -> None:
    schedule, left, right = reference_scenario()
    first = next(schedule.between(left, "1", right.timestamp))
    ao = make_ao_global()
    assert first.name == f"Cron Message {START},1,0-10-minutes"
    assert first.cron == "0-10-minutes" and first.ordinate == "1"
    assert first.message.owner == ao.process_owner == first.message.from_
    assert first.message.target == ao.process_id
    assert first.message.tags == schedule.crons[0].tags
    assert first.message.timestamp == START and first.message.block_height == ORIGIN_HEIGHT + 11
    assert first.message.cron is True
    assert first.ao_global == ao
    assert not first.no_save and first.deep_hash is None and not first.is_assignment


@st.composite
def cron_cases(draw: st.DrawFn) -> tuple[CronSchedule, Block, int]:
    crons = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            value = draw(st.sampled_from([1, 2, 3, 5, 7, math.nan, 0, -2]))
            crons.append(CronInterval(f"{value}-blocks", "blocks", value))
        else:
            value = draw(st.sampled_from([1, 2, 5, 10, 30, 60, 61, 600, math.nan]))
            crons.append(CronInterval(f"{value}-seconds", "seconds", value))
    origin_ts = T0 + draw(st.integers(0, 999))
    origin = Block(1000, origin_ts)
    left_ts = origin_ts + draw(st.integers(0, 300_000))
    left = Block(1000 + draw(st.integers(0, 5)), left_ts)
    right_ts = left_ts + draw(st.integers(-2000, 400_000))
    heights = sorted(draw(st.lists(st.integers(1000, 1060), unique=True, max_size=12)))
    times = sorted(
        draw(st.lists(st.integers(origin_ts - 5000, right_ts + 5000), min_size=len(heights), max_size=len(heights)))
    )
    if draw(st.booleans()):
        draw(st.randoms()).shuffle(times)  # gateway data need not be monotonic
    blocks = [Block(h, t) for h, t in zip(heights, times, strict=True)]
    schedule = CronSchedule(crons, origin=origin, blocks=blocks, ao_global=make_ao_global())
    return schedule, left, right_ts


@settings(max_examples=300, deadline=None)
@given(cron_cases())
def test_fast_generation_equals_the_reference_tick_loop(case: tuple[CronSchedule, Block, int]) -> None:
    schedule, left, right_ts = case
    assert summary(list(schedule.between(left, "7", right_ts))) == naive_between(schedule, left, "7", right_ts)


def test_long_idle_gaps_are_cheap() -> None:
    # A year between two messages with a daily cron: 365 firings, no 31M-tick loop.
    schedule = CronSchedule(
        [CronInterval("1-day", "seconds", 86_400)], origin=Block(1, T0), blocks=(), ao_global=make_ao_global()
    )
    got = list(schedule.between(Block(1, T0), "0", T0 + 365 * 86_400_000 + 1))
    assert len(got) == 365


# --- merge ---------------------------------------------------------------------------------


def reference_merge(
    schedule: CronSchedule, left_most: Block, left_ordinate: str, scheduled: list[Envelope], right_most: int
) -> Iterator[Envelope]:
    """genBoundariesAsTuples + mergedMessages, literally."""
    leftmost = object()
    boundaries = []
    prev: object = leftmost
    for k, value in enumerate(scheduled):
        boundaries.append((prev is not leftmost, prev, k == len(scheduled) - 1, value))
        prev = value

    def block_of(b: object) -> tuple[Block, str]:
        return (left_most, left_ordinate) if b is leftmost else (b.block, b.ordinate)  # type: ignore[attr-defined]

    last_block, _ = block_of(prev)
    if last_block.timestamp // 1000 < right_most // 1000:
        boundaries.append((False, prev, False, None))
    for emit_left, left, emit_right, right in boundaries:
        if emit_left:
            yield left  # type: ignore[misc]
        block, ordinate = block_of(left)
        right_ts = right_most if right is None else right.block.timestamp
        yield from schedule.between(block, ordinate, right_ts)
        if emit_right:
            yield right  # type: ignore[misc]


def scheduled_message(nonce: int, ts: int, height: int = 1000) -> Envelope:
    node = su_node(nonce=nonce, timestamp=ts, height=f"{height:012d}", message=su_message(f"m{nonce}"))
    return envelope_from_su_node(node, make_ao_global())


def test_duplicate_second_vector() -> None:
    # §A.7: ticks keep the left boundary's millisecond offset, so second 1700000060 fires twice.
    crons = parse_crons(tags(("Cron-Interval", "1-minute"), ("Cron-Tag-Action", "Tick")))
    origin = Block(1000, 1_700_000_000_000)
    schedule = CronSchedule(crons, origin=origin, blocks=(), ao_global=make_ao_global())
    m0 = scheduled_message(1, 1_700_000_000_123)
    m1 = scheduled_message(2, 1_700_000_060_500)
    m2 = scheduled_message(3, 1_700_000_125_000)
    merger = CronMerger(schedule, left_most=origin, left_ordinate="0", right_most_timestamp=m2.block.timestamp)
    out = list(merger.merge([m0, m1, m2]))
    assert [e.name for e in out] == [
        m0.name,
        "Cron Message 1700000060123,1,0-1-minute",
        m1.name,
        "Cron Message 1700000060500,2,0-1-minute",
        "Cron Message 1700000120500,2,0-1-minute",
        m2.name,
    ]
    assert [e.message.timestamp for e in out if e.cron] == [1700000060123, 1700000060500, 1700000120500]
    assert all(e.message.tags == (Tag("Action", "Tick"),) for e in out if e.cron)


def test_merge_emits_crons_after_the_last_message_up_to_the_right_most_second() -> None:
    crons = parse_crons(tags(("Cron-Interval", "10-seconds")))
    origin = Block(1000, T0)
    schedule = CronSchedule(crons, origin=origin, blocks=(), ao_global=make_ao_global())
    m0 = scheduled_message(1, T0 + 5_000)
    merger = CronMerger(schedule, left_most=origin, left_ordinate="0", right_most_timestamp=T0 + 30_000)
    out = list(merger.merge([m0]))
    assert [(e.ordinate, e.message.timestamp) for e in out] == [
        ("1", T0 + 5_000),
        ("1", T0 + 10_000),
        ("1", T0 + 20_000),
    ]  # T0 + 30_000 is not < right-most: the right boundary's second fires in the next stream
    # Without messages: only the crons between the left-most point and the right-most second.
    merger = CronMerger(schedule, left_most=origin, left_ordinate="0", right_most_timestamp=T0 + 25_000)
    assert [(e.ordinate, e.message.timestamp) for e in merger.merge([])] == [
        ("0", T0 + 10_000),
        ("0", T0 + 20_000),
    ]


def test_merge_without_crons_passes_messages_straight_through() -> None:
    origin = Block(1000, T0)
    m0 = scheduled_message(1, T0 + 5_000)
    merger = CronMerger(None, left_most=origin, left_ordinate="0", right_most_timestamp=T0 + 10**9)
    assert list(merger.push(m0)) == [m0]
    assert list(merger.finish()) == []


@settings(max_examples=200, deadline=None)
@given(cron_cases(), st.lists(st.integers(0, 120_000), max_size=6), st.integers(-5000, 200_000))
def test_merger_equals_the_reference_boundary_tuples(
    case: tuple[CronSchedule, Block, int], gaps: list[int], right_extra: int
) -> None:
    schedule, left, _ = case
    if not schedule.crons:
        return
    ts = left.timestamp
    messages = []
    for nonce, gap in enumerate(gaps, start=1):
        ts += gap
        messages.append(scheduled_message(nonce, ts, 1000 + nonce))
    right_most = ts + right_extra
    merger = CronMerger(schedule, left_most=left, left_ordinate="0", right_most_timestamp=right_most)
    got = list(merger.merge(messages))
    assert got == list(reference_merge(schedule, left, "0", messages, right_most))


def test_left_most_block_is_the_starting_point_or_the_spawn_block() -> None:
    spawn = Block(1000, T0)
    assert left_most_block(spawn, None, None) == spawn  # cold start
    assert left_most_block(spawn, 0, 5) == spawn  # `ctx.from ?` is JS truthiness
    assert left_most_block(spawn, T0 + 5, 1001) == Block(1001, T0 + 5)


def test_cron_dedupe_like_the_evaluation_loop() -> None:
    # evaluate.test.js: a cron equal to the starting point and a repeated (Timestamp, cron) are
    # skipped; 5 envelopes -> 3 evaluations.
    ao = make_ao_global()

    def env(ts: int, cron: str | None) -> Envelope:
        return Envelope(ordinate="1", name="n", cron=cron, ao_global=ao, message=Message(timestamp=ts))

    stream = [
        env(1702846520559, "1-10-minutes"),  # duplicate of the starting point
        env(1702846520559, None),
        env(1702846520600, "1-20-minutes"),
        env(1702846520600, "1-20-minutes"),  # duplicate of the previous
        env(1702846520700, "1-20-minutes"),
    ]
    dedupe = CronDeduper(from_timestamp=1702846520559, from_cron="1-10-minutes")
    kept = [e for e in stream if not dedupe.is_duplicate(e)]
    assert kept == [stream[1], stream[2], stream[4]]
    # Without a cron starting point nothing is pre-seeded; only the last 100 keys are remembered.
    dedupe = CronDeduper(from_timestamp=1702846520559)
    assert not dedupe.is_duplicate(stream[0])
    for k in range(100):
        assert not dedupe.is_duplicate(env(k, "0-1-second"))
    assert not dedupe.is_duplicate(stream[0])  # evicted, oldest first
    assert dedupe.is_duplicate(env(99, "0-1-second"))
