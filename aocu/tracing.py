"""Reading pipeline progress traces: where time went, per stage and per message.

A trace is a sequence of progress events (`aocu.pipeline._events`) in their
JSON form, one per line (what ``aocu trace record`` writes from a CU's
``/progress`` websocket, or what a test collects from the bus). This module
only reads and summarises; it never talks to a CU itself except through
`record` (a websocket client, run on the caller's trio loop).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO


@dataclass(slots=True)
class StageTotals:
    count: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0

    def add(self, elapsed_ms: float) -> None:
        self.count += 1
        self.total_ms += elapsed_ms
        self.max_ms = max(self.max_ms, elapsed_ms)


@dataclass(slots=True)
class TraceSummary:
    stages: dict[str, StageTotals] = field(default_factory=lambda: defaultdict(StageTotals))
    messages: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    spans: list[tuple[str, str, float, float]] = field(default_factory=list)  # stage, message, start, ms
    evaluated: int = 0
    errors: int = 0
    streams: int = 0
    failures: list[str] = field(default_factory=list)


def read_events(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        line = line.strip()
        if line:
            yield json.loads(line)


def summarise(events: Iterable[dict[str, Any]]) -> TraceSummary:
    summary = TraceSummary()
    for event in events:
        kind = event.get("type")
        if kind == "stage":
            elapsed = float(event.get("elapsed_ms") or 0.0)
            stage = str(event.get("stage"))
            summary.stages[stage].add(elapsed)
            message = str(event.get("message_id") or "-")
            summary.messages[message][stage] = summary.messages[message].get(stage, 0.0) + elapsed
            summary.spans.append((stage, message, float(event.get("started_ms") or 0.0), elapsed))
        elif kind == "message-evaluated":
            summary.evaluated += 1
            summary.errors += bool(event.get("error"))
        elif kind == "stream-started":
            summary.streams += 1
        elif kind == "stream-failed":
            summary.failures.append(str(event.get("error")))
    return summary


def format_table(summary: TraceSummary, *, slowest: int = 10) -> str:
    lines = [f"streams {summary.streams}, messages evaluated {summary.evaluated}, "
             f"errors {summary.errors}, failed streams {len(summary.failures)}", ""]
    total = sum(t.total_ms for t in summary.stages.values()) or 1.0
    lines.append(f"{'stage':<12} {'count':>7} {'total ms':>11} {'share':>6} {'mean ms':>9} {'max ms':>9}")
    for stage, t in sorted(summary.stages.items(), key=lambda kv: -kv[1].total_ms):
        mean = t.total_ms / t.count if t.count else 0.0
        lines.append(f"{stage:<12} {t.count:7d} {t.total_ms:11.1f} {t.total_ms / total:6.1%} "
                     f"{mean:9.3f} {t.max_ms:9.3f}")
    ranked = sorted(summary.messages.items(), key=lambda kv: -sum(kv[1].values()))[:slowest]
    if ranked:
        lines += ["", f"slowest {len(ranked)} messages (ms per stage)"]
        for message, stages in ranked:
            parts = " ".join(f"{s}={ms:.2f}" for s, ms in sorted(stages.items()))
            lines.append(f"  {message[:43]:<43} total={sum(stages.values()):.2f} {parts}")
    for failure in summary.failures:
        lines.append(f"failed: {failure}")
    return "\n".join(lines)


_COLOURS = {"fetch": "#4e79a7", "hydrate": "#59a14f", "evaluate": "#e15759", "persist": "#f28e2b",
            "checkpoint": "#b07aa1"}


def timeline_svg(summary: TraceSummary, *, width: int = 1200) -> str:
    """A timeline of stage spans, one lane per stage (plain SVG, no plotting dependency)."""
    if not summary.spans:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="20"></svg>'
    start = min(s[2] for s in summary.spans)
    end = max(s[2] + s[3] for s in summary.spans)
    scale = (width - 120) / max(end - start, 1e-6)
    lanes = sorted({s[0] for s in summary.spans})
    lane_height, height = 24, 40 + 24 * len(lanes)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           f'<text x="4" y="14">{len(summary.spans)} spans over {end - start:.1f} ms</text>']
    for i, lane in enumerate(lanes):
        y = 24 + i * lane_height
        out.append(f'<text x="4" y="{y + 15}">{lane}</text>')
        colour = _COLOURS.get(lane, "#888888")
        for stage, message, at, ms in summary.spans:
            if stage == lane:
                x = 110 + (at - start) * scale
                out.append(f'<rect x="{x:.2f}" y="{y}" width="{max(ms * scale, 0.5):.2f}" height="18" '
                           f'fill="{colour}"><title>{message} {ms:.2f} ms</title></rect>')
    out.append("</svg>")
    return "\n".join(out)


async def record(url: str, out: TextIO, *, seconds: float | None = None,
                 max_events: int | None = None) -> int:
    """Append events from a CU's ``/progress`` websocket to ``out``; returns how many."""
    import trio
    from trio_websocket import ConnectionClosed, open_websocket_url

    count = 0
    with trio.move_on_after(seconds if seconds is not None else float("inf")):
        async with open_websocket_url(url) as ws:
            while max_events is None or count < max_events:
                try:
                    message = await ws.get_message()
                except ConnectionClosed:
                    break
                out.write(message if isinstance(message, str) else message.decode())
                out.write("\n")
                count += 1
    return count


def load(path: Path) -> TraceSummary:
    with path.open() as f:
        return summarise(read_events(f))
