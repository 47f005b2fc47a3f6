"""``aocu eval``: evaluate a process up to a message (or its latest) without serving HTTP.

Uses the same configuration as ``aocu serve`` (environment and ``.env``), so the results are
stored where a CU started later will find them. Shows progress while it evaluates and a summary
at the end; prints the target message's result as JSON on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("eval", help="evaluate a process to a message, with progress (no HTTP)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("process", help="the process id")
    p.add_argument("--to", default=None, help="evaluate up to this message id (default: the latest)")
    p.add_argument("--env-file", type=Path, default=None, help="the .env file to read")
    p.add_argument("--devnet", type=Path, default=None, metavar="DIR",
                   help="use the devnet and CU state of `aocu serve --devnet DIR` (the devnet must be running)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    import trio

    from aocu.config import Config, ConfigError, load_dotenv

    environ = load_dotenv(os.environ, args.env_file)
    if args.devnet is not None:
        from aocu.cli.serve import _prepare_devnet_dir

        _prepare_devnet_dir(args.devnet, environ)
        state = args.devnet / "network" / "devnet.json"
        from aocu.devnet import DevnetUrls

        try:
            saved = json.loads(state.read_text())
            urls = DevnetUrls(su=saved["su"], gateway=saved["gateway"])
        except (OSError, ValueError, KeyError):
            sys.stderr.write(f"aocu eval: no running devnet at {state}\n")
            return 2
        environ.update(urls.cu_env())
    try:
        config = Config.from_env(environ)
    except ConfigError as exc:
        sys.stderr.write(f"aocu eval: invalid configuration: {exc}\n")
        return 2
    return trio.run(_evaluate, config, args.process, args.to)


async def _evaluate(config: Any, process_id: str, to: str | None) -> int:
    import trio

    from aocu.errors import AocuError
    from aocu.jsjson import stringify
    from aocu.pipeline import Target, open_compute_unit

    started = time.perf_counter()
    counts = {"messages": 0, "errors": 0}

    async def show_progress(events: Any) -> None:
        async for event in events:
            if event.type == "message-evaluated":
                counts["messages"] += 1
                counts["errors"] += bool(event.error)
                rate = counts["messages"] / max(time.perf_counter() - started, 1e-9)
                sys.stderr.write(f"\r  evaluated {counts['messages']} messages ({rate:.0f}/s), "
                                 f"{counts['errors']} errors, nonce {event.nonce}   ")
                sys.stderr.flush()

    async with open_compute_unit(config) as cu, cu.events.subscribe(process_id) as events:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(show_progress, events)
            try:
                if to is None:
                    await cu.evaluate_to(process_id, Target())
                    result: Any = None
                else:
                    result = await cu.read_result(process_id, to)
            except AocuError as exc:
                sys.stderr.write(f"\naocu eval: {exc}\n")
                return 1
            finally:
                nursery.cancel_scope.cancel()
    elapsed = time.perf_counter() - started
    sys.stderr.write(f"\naocu eval: {counts['messages']} messages evaluated ({counts['errors']} errors) "
                     f"in {elapsed:.2f} s\n")
    if result is not None:
        print(stringify(result))
    return 0
