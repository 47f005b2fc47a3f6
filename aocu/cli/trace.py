"""``aocu trace``: record a CU's progress events, and show where the time went."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("trace", help="record and summarise pipeline progress traces",
                              description=__doc__)
    sub = p.add_subparsers(dest="trace_command", metavar="<action>")
    rec = sub.add_parser("record", help="append /progress events from a running CU to a file")
    rec.add_argument("url", help="websocket URL, e.g. ws://127.0.0.1:6363/progress/<pid>")
    rec.add_argument("-o", "--output", type=Path, required=True, help="JSON-lines file to append to")
    rec.add_argument("--seconds", type=float, default=None, help="stop after this long")
    rec.add_argument("--max-events", type=int, default=None, help="stop after this many events")
    rec.set_defaults(func=_record)
    show = sub.add_parser("show", help="per-stage and per-message table (and an SVG timeline)")
    show.add_argument("trace", type=Path, help="a JSON-lines trace")
    show.add_argument("--svg", type=Path, default=None, help="also write a timeline image here")
    show.add_argument("--slowest", type=int, default=10, help="how many slow messages to list")
    show.set_defaults(func=_show)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _record(args: argparse.Namespace) -> int:
    import trio

    from aocu.tracing import record

    with args.output.open("a") as out:
        count = trio.run(lambda: record(args.url, out, seconds=args.seconds, max_events=args.max_events))
    sys.stderr.write(f"recorded {count} events to {args.output}\n")
    return 0


def _show(args: argparse.Namespace) -> int:
    from aocu.tracing import format_table, load, timeline_svg

    summary = load(args.trace)
    print(format_table(summary, slowest=args.slowest))
    if args.svg is not None:
        args.svg.write_text(timeline_svg(summary))
        print(f"timeline: {args.svg}")
    return 0
