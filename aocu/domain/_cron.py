"""Cron messages: parsing ``Cron-Interval``/``Cron-Tag-*``, generating ticks, merging with the SU stream.

Pure; no I/O (block metadata and the SU's clock are fetched by the caller and passed in). Runs
on the trio thread in the pipeline; generation is lazy and skips straight from one firing to
the next, so a long idle gap costs nothing. Start with `CronMerger` (reference-cu.md §2.8.3):
fed the SU envelopes in order, it yields the merged stream.

Everything copies ``servers/cu/src/domain/lib/loadMessages.js``, quirks included (§8.3):

* ticks run from the left boundary's timestamp in steps of 1000 ms and keep its millisecond
  offset, so one cron second can fire twice across a boundary with different Timestamps (§A.7);
* a tick takes at most one new block; block-based crons fire before time-based ones, each group
  in index order; the origin block/second itself never fires;
* cron ids are ``"<i>-<raw interval>"`` with ``i`` the index in the block-based list, or in the
  time-based list after V8's (stable) sort by period;
* cron envelopes carry the ordinate of the scheduled message before them (the left boundary).
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from aocu.errors import InvalidProcessError
from aocu.jsjson import UNDEFINED

from ._js import is_nan, js_parse_int, js_string, js_trim, ms_parse
from ._model import AoGlobal, Block, CronInterval, Envelope, Message, Number, Tag

__all__ = [
    "BLOCK_GAP_TOLERANCE_S",
    "BlockRange",
    "CronDeduper",
    "CronMerger",
    "CronSchedule",
    "find_missing_blocks",
    "is_block_on_cron",
    "is_timestamp_on_cron",
    "left_most_block",
    "merge_blocks",
    "parse_cron_interval",
    "parse_crons",
]

CRON_INTERVAL: Final = "Cron-Interval"
# /^Cron-Tag-(.+)$/ : JS `.` stops at line terminators and `$` is the end of input.
_CRON_TAG_RE: Final = re.compile("Cron-Tag-([^\n\r\u2028\u2029]+)")
_BLOCK_UNITS: Final = ("blocks", "block")  # case-sensitive in the reference (§8.3 #18)

CRON_DEDUPE_SIZE: Final = 100
"""evaluate.js ``evaledCrons``: how many recent cron keys are remembered (an LRU of 100)."""

BLOCK_GAP_TOLERANCE_S: Final = 90
"""``findMissingBlocksIn``: no fetch when the newest cached block is at most this many seconds
older than the right-most timestamp (blocks come every ~2 minutes)."""


def _seconds(ms: Number) -> Number:
    """``toSeconds``: ``Math.floor(ms / 1000)``."""
    if isinstance(ms, int):
        return ms // 1000
    return math.floor(ms / 1000) if math.isfinite(ms) else ms


def _is_num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and not is_nan(x)


# --- parsing --------------------------------------------------------------------------------


def parse_cron_interval(interval: str) -> tuple[str, Number]:
    """``parseInterval``: ``(unit, value)`` of a raw ``Cron-Interval`` value.

    ``"X-Y"`` split on ``-`` (only the first two parts count), each trimmed; ``Y`` = ``blocks``
    or ``block`` gives a block-based cron of ``parseInt(X)`` blocks, anything else a time-based
    one of ``floor(ms("X Y") / 1000)`` seconds (NaN when ``ms`` cannot parse it: that cron never
    fires). Raises `InvalidProcessError` for a time-based period under one second.
    """
    parts = [js_trim(p) for p in interval.split("-")]
    value = parts[0]
    unit = parts[1] if len(parts) > 1 else None
    if unit in _BLOCK_UNITS:
        return unit, js_parse_int(value)
    # [value, unit].join(' '): an undefined unit becomes '' -> "X " (which ms reads as X ms).
    seconds = _seconds(ms_parse(f"{value} {unit or ''}"))
    if _is_num(seconds) and seconds <= 0:
        raise InvalidProcessError("time-based cron cannot be less than 1 second")
    return "seconds", seconds


def parse_crons(tags: Iterable[Tag]) -> list[CronInterval]:
    """``parseCrons``: one `CronInterval` per ``Cron-Interval`` tag, in tag order.

    Each ``Cron-Tag-<Name>`` tag adds ``<Name>: value`` to the latest interval before it;
    one before any interval raises `InvalidProcessError`
    (``Unmatched Cron-Tag with no preceding Cron-Interval: <tag name>``).
    """
    crons: list[tuple[str, str, Number, list[Tag]]] = []
    for tag in tags:
        if tag.name == CRON_INTERVAL:
            unit, value = parse_cron_interval(tag.value)
            crons.append((tag.value, unit, value, []))
            continue
        match = _CRON_TAG_RE.fullmatch(tag.name)
        if match:
            if not crons:
                raise InvalidProcessError(f"Unmatched Cron-Tag with no preceding Cron-Interval: {tag.name}")
            crons[-1][3].append(Tag(match.group(1), tag.value))
    return [CronInterval(interval, unit, value, tuple(ctags)) for interval, unit, value, ctags in crons]


def is_block_on_cron(height: Any, origin_height: Any, value: Any) -> bool:
    """``isBlockOnCron``: ``height != origin and (height - origin) % value == 0``."""
    if not (_is_num(height) and _is_num(origin_height) and _is_num(value)):
        return False
    if height == origin_height or value == 0 or math.isinf(value):
        return False  # x % 0 and x % ±Infinity (for x != 0) are never 0 in JS
    diff = height - origin_height
    if isinstance(value, float) or isinstance(diff, float):
        return math.fmod(diff, value) == 0
    return diff % value == 0


def is_timestamp_on_cron(timestamp: Number, origin_timestamp: Number, value: Any) -> bool:
    """``isTimestampOnCron``: compares whole seconds; the origin second itself never fires."""
    return is_block_on_cron(_seconds(timestamp), _seconds(origin_timestamp), value)


def _v8_sort_by_value(crons: list[CronInterval]) -> list[CronInterval]:
    """``crons.sort(ascend(prop('value')))`` as V8 runs it.

    With NaN periods the comparator is inconsistent, so the result depends on the algorithm:
    V8's TimSort, which for fewer than 64 items is one natural run extended by binary insertion.
    Without NaN any stable sort agrees.
    """
    if not any(is_nan(c.value) for c in crons) or len(crons) >= 64:
        return sorted(crons, key=lambda c: c.value)

    def less(a: CronInterval, b: CronInterval) -> bool:  # ascend(...)(a, b) < 0
        return a.value < b.value

    a = list(crons)
    n = len(a)
    if n < 2:
        return a
    # CountAndMakeRun(0, n)
    run = 2
    descending = less(a[1], a[0])
    prev = a[1]
    for idx in range(2, n):
        cur = a[idx]
        if descending:
            if not less(cur, prev):
                break
        elif less(cur, prev):
            break
        prev = cur
        run += 1
    if descending:
        a[:run] = reversed(a[:run])
    # BinaryInsertionSort(0, run, n)
    for start in range(run, n):
        pivot = a[start]
        left, right = 0, start
        while left < right:
            mid = left + ((right - left) >> 1)
            if less(pivot, a[mid]):
                right = mid
            else:
                left = mid + 1
        a[left + 1 : start + 1] = a[left:start]
        a[left] = pivot
    return a


# --- block metadata -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlockRange:
    """Blocks to load from the gateway: heights from ``min_height``, timestamps up to
    ``max_timestamp`` (ms; ``None`` where the reference computes NaN)."""

    min_height: int
    max_timestamp: Number | None


def find_missing_blocks(
    blocks: Sequence[Block], *, min_height: int, max_timestamp: Number
) -> list[BlockRange]:
    """``findMissingBlocksIn``: the ranges to fetch, given the cached blocks (sorted by height).

    No cached block: everything from ``min_height``. Gaps below the highest cached block: one
    range per run of missing heights, ending at the next cached block's timestamp - 1 (the tail
    after the highest block is then *not* fetched, reference quirk §8.3 #19). No gaps: the tail
    from the highest block (inclusive) if it is more than `BLOCK_GAP_TOLERANCE_S` older than
    ``max_timestamp``, else nothing.
    """
    if not blocks:
        return [BlockRange(min_height, max_timestamp)]
    max_block = blocks[-1]
    have = {b.height for b in blocks}
    missing = [h for h in range(min_height, int(max_block.height or 0)) if h not in have]
    if not missing:
        if _seconds(max_timestamp) - _seconds(max_block.timestamp) <= BLOCK_GAP_TOLERANCE_S:
            return []
        return [BlockRange(int(max_block.height or 0), max_timestamp)]

    def next_timestamp(last: int) -> Number | None:
        found = next((b for b in blocks if b.height == last + 1), None)
        return None if found is None else found.timestamp - 1

    ranges = []
    run = [missing[0]]
    for h in missing[1:]:
        if h == run[-1] + 1:
            run.append(h)
        else:
            ranges.append(BlockRange(run[0], next_timestamp(run[-1])))
            run = [h]
    ranges.append(BlockRange(run[0], next_timestamp(run[-1])))
    return ranges


def merge_blocks(from_db: Sequence[Block], from_gateway: Sequence[Block]) -> list[Block]:
    """``mergeBlocks``: merge two height-sorted lists, one block per height.

    On equal heights the gateway's block wins (it is pushed first). Like the reference, the
    list left over after the merge loop is appended whole and de-duplicated afterwards.
    """
    i = j = 0
    merged: list[Block] = []
    while i < len(from_db) and j < len(from_gateway):
        if from_db[i].height < from_gateway[j].height:  # type: ignore[operator]
            merged.append(from_db[i])
            i += 1
        else:
            merged.append(from_gateway[j])
            j += 1
    if i < len(from_db):
        merged.extend(from_db)
    if j < len(from_gateway):
        merged.extend(from_gateway)
    seen: set[Any] = set()
    out = []
    for b in merged:
        if b.height not in seen:
            seen.add(b.height)
            out.append(b)
    return out


def left_most_block(process_block: Block, from_timestamp: Any, from_block_height: Any) -> Block:
    """The merge's left-most boundary: the stream's starting point, else the spawn block (§2.8.2).

    ``ctx.from ? {height: ctx.fromBlockHeight, timestamp: ctx.from} : ctx.block``.
    """
    if from_timestamp:  # JS truthiness: 0 and None mean a cold start
        return Block(from_block_height, from_timestamp)
    return process_block


# --- generation -----------------------------------------------------------------------------


class CronSchedule:
    """``cronMessagesBetweenWith``: the crons of one process over one stream's blocks.

    ``origin`` is the process's spawn block, ``blocks`` the reconciled block metadata (sorted
    by height), ``ao_global`` the stream's env (its process id and owner address also fill the
    cron messages' ``Target``, ``Owner`` and ``From``).
    """

    def __init__(
        self, crons: Sequence[CronInterval], *, origin: Block, blocks: Sequence[Block], ao_global: AoGlobal
    ) -> None:
        self.crons = tuple(crons)
        self.origin = origin
        self.blocks = tuple(blocks)
        self.ao_global = ao_global
        self._block_based = [(i, c) for i, c in enumerate(c for c in crons if c.is_block_based)]
        self._time_based = list(enumerate(_v8_sort_by_value([c for c in crons if c.unit == "seconds"])))
        # The reference filters all blocks per boundary pair; when the timestamps are sorted (the
        # normal case) the filter is a contiguous slice that bisect finds.
        stamps = [b.timestamp for b in self.blocks]
        self._stamps: list[Number] | None = (
            stamps
            if all(_is_num(t) for t in stamps) and all(a <= b for a, b in itertools.pairwise(stamps))
            else None
        )
        # Periods that can fire, as exact ints (a finite float period is integral: a floor).
        self._firing = [
            (i, c, int(c.value)) for i, c in self._time_based if _is_num(c.value) and math.isfinite(c.value)
        ]

    def _envelope(
        self, index: int, cron: CronInterval, timestamp: Number, height: Any, ordinate: str
    ) -> Envelope:
        cron_id = f"{index}-{cron.interval}"
        owner = self.ao_global.process_owner
        return Envelope(
            ordinate=ordinate,
            name=f"Cron Message {js_string(timestamp)},{ordinate},{cron_id}",
            cron=cron_id,
            message=Message(
                owner=owner,
                target=self.ao_global.process_id,
                from_=owner,
                tags=cron.tags,
                timestamp=timestamp,
                block_height=UNDEFINED if height is None else height,
                cron=True,
            ),
            ao_global=self.ao_global,
        )

    def between(self, left: Block, left_ordinate: str, right_timestamp: Number) -> Iterator[Envelope]:
        """``cronMessages(left, right)``: the crons of the ticks ``left.timestamp + k*1000 < right``.

        Lazy, and skips from one firing tick (or new block) to the next.
        """
        lt, rt = left.timestamp, right_timestamp
        if not (_is_num(lt) and _is_num(rt)) or not (self._block_based or self._firing) or not lt < rt:
            return
        ticks = -((lt - rt) // 1000)  # number of k with lt + 1000k < rt
        if self._stamps is not None:
            in_range = self.blocks[bisect.bisect_right(self._stamps, lt) : bisect.bisect_left(self._stamps, rt)]
        else:
            in_range = tuple(b for b in self.blocks if b.timestamp > lt and b.timestamp < rt)
        s0 = _seconds(lt)
        origin_s = _seconds(self.origin.timestamp)
        origin_h = self.origin.height
        cur_block = left
        bi = 0
        k = 0
        while True:
            nxt = math.inf
            if bi < len(in_range):
                nxt = max(k, _seconds(in_range[bi].timestamp) - s0)
            if _is_num(origin_s):
                d = s0 + k - origin_s
                for _i, _c, period in self._firing:
                    d2 = d + (-d) % period
                    if d2 == 0:
                        d2 = period
                    nxt = min(nxt, k + d2 - d)
            if nxt >= ticks:
                return
            k = int(nxt)
            second = s0 + k
            t = lt + 1000 * k
            if bi < len(in_range) and second >= _seconds(in_range[bi].timestamp):
                cur_block = in_range[bi]
                bi += 1
                for i, cron in self._block_based:
                    if is_block_on_cron(cur_block.height, origin_h, cron.value):
                        yield self._envelope(i, cron, cur_block.timestamp, cur_block.height, left_ordinate)
            if _is_num(origin_s) and second != origin_s:
                for i, cron, period in self._firing:
                    if (second - origin_s) % period == 0:
                        yield self._envelope(i, cron, t, cur_block.height, left_ordinate)
            k += 1


class CronMerger:
    """Merges generated crons into the SU stream (reference-cu.md §2.8.3).

    Feed every SU envelope (in order) to `push` and exhaust what it returns, then exhaust
    `finish`. Output: crons(left-most, m0), m0, crons(m0, m1), m1, ..., m_last, then the crons up
    to ``right_most_timestamp`` if its second is later than m_last's (the reference's extra
    boundary tuple). A message is released once the next one (or the end) is known, as in the
    reference's boundary tuples. Without crons envelopes pass straight through.

    ``left_most``/``left_ordinate``: the stream's starting point (``{height: fromBlockHeight,
    timestamp: from}`` and the starting ordinate, or the spawn block and ``'0'`` on a cold
    start). ``right_most_timestamp``: the target message's timestamp, else the SU's clock.
    """

    def __init__(
        self,
        schedule: CronSchedule | None,
        *,
        left_most: Block,
        left_ordinate: str,
        right_most_timestamp: Number,
    ) -> None:
        self._schedule = schedule if schedule is not None and schedule.crons else None
        self._left_most = left_most
        self._left_ordinate = left_ordinate
        self._right_most = right_most_timestamp
        self._prev: Envelope | None = None

    def _left(self, prev: Envelope | None) -> tuple[Block, str]:
        if prev is None:
            return self._left_most, self._left_ordinate
        assert prev.block is not None, "SU envelopes carry their block"
        return prev.block, prev.ordinate

    def push(self, envelope: Envelope) -> Iterator[Envelope]:
        """Take the next SU envelope; returns what can be emitted now."""
        if self._schedule is None:
            return iter((envelope,))
        prev, self._prev = self._prev, envelope
        assert envelope.block is not None, "SU envelopes carry their block"
        return self._segment(prev, envelope.block.timestamp, always=True)

    def finish(self) -> Iterator[Envelope]:
        """The end of the SU stream: the last message and the crons after it."""
        if self._schedule is None:
            return iter(())
        prev, self._prev = self._prev, None
        left, _ = self._left(prev)
        late = _is_num(left.timestamp) and _is_num(self._right_most)
        return self._segment(
            prev, self._right_most, always=late and _seconds(left.timestamp) < _seconds(self._right_most)
        )

    def _segment(self, prev: Envelope | None, right_timestamp: Number, *, always: bool) -> Iterator[Envelope]:
        if prev is not None:
            yield prev
        if always:
            assert self._schedule is not None
            block, ordinate = self._left(prev)
            yield from self._schedule.between(block, ordinate, right_timestamp)

    def merge(self, scheduled: Iterable[Envelope]) -> Iterator[Envelope]:
        """The whole merged stream of a synchronous iterable (``push`` each, then ``finish``)."""
        for envelope in scheduled:
            yield from self.push(envelope)
        yield from self.finish()


class CronDeduper:
    """evaluate.js's cron de-duplication (reference-cu.md §2.12 step 1).

    A cron envelope whose ``"<Timestamp>-<cron>"`` key is among the last `CRON_DEDUPE_SIZE`
    keys seen in this stream is skipped (never evaluated). The stream's starting point counts
    as seen when it was itself a cron (``from``/``fromCron``). Keys are only ever added, so the
    reference's LRU evicts oldest-first. It does not catch the duplicate-second quirk of §A.7
    (the two copies have different Timestamps).
    """

    __slots__ = ("_seen",)

    def __init__(self, *, from_timestamp: Any = None, from_cron: str | None = None) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        if from_cron:
            self._remember(f"{js_string(from_timestamp)}-{from_cron}")

    def _remember(self, key: str) -> None:
        self._seen[key] = None
        if len(self._seen) > CRON_DEDUPE_SIZE:
            self._seen.popitem(last=False)

    def is_duplicate(self, envelope: Envelope) -> bool:
        """Whether to skip ``envelope``; a new cron key is remembered. Non-crons are never skipped."""
        if not envelope.cron:
            return False
        key = f"{js_string(envelope.message.timestamp)}-{envelope.cron}"
        if key in self._seen:
            return True
        self._remember(key)
        return False
