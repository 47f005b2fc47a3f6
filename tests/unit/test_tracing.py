"""Trace summaries from recorded progress events."""

from __future__ import annotations

import json
from pathlib import Path

from aocu.__main__ import main
from aocu.pipeline._events import MessageEvaluated, StageTimed, StreamStarted
from aocu.tracing import format_table, summarise, timeline_svg


def sample_events() -> list[dict[str, object]]:
    events = [StreamStarted(process_id="P", stream_id="s", from_nonce=0, to=None, start="cold").to_json()]
    for n in range(3):
        for stage, ms in (("fetch", 0.5), ("evaluate", 2.0 + n), ("persist", 0.25)):
            events.append(StageTimed(process_id="P", stream_id="s", stage=stage, message_id=f"m{n}", nonce=n,
                                     ordinate=str(n), started_ms=1000.0 + 10 * n, elapsed_ms=ms).to_json())
        events.append(MessageEvaluated(process_id="P", stream_id="s", message_id=f"m{n}", nonce=n,
                                       ordinate=str(n), cron=None, elapsed_ms=2.0, gas_used=0, error=n == 1,
                                       rolled_back=n == 1).to_json())
    return events


def test_summary_counts_stage_time_and_messages() -> None:
    summary = summarise(sample_events())
    assert summary.streams == 1 and summary.evaluated == 3 and summary.errors == 1
    assert summary.stages["evaluate"].count == 3
    assert summary.stages["evaluate"].total_ms == 2.0 + 3.0 + 4.0
    table = format_table(summary)
    assert table.splitlines()[3].startswith("evaluate")        # the biggest stage first
    assert "m2" in table.split("slowest")[1].splitlines()[1]
    assert timeline_svg(summary).count("<rect") == 9


def test_cli_show_writes_table_and_svg(tmp_path: Path, capsys: object) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text("\n".join(json.dumps(e) for e in sample_events()))
    assert main(["trace", "show", str(trace), "--svg", str(tmp_path / "t.svg")]) == 0
    assert (tmp_path / "t.svg").read_text().startswith("<svg")
