"""``aocu watch [PROCESS_ID] [--url URL]``: print a CU's live progress events, one JSON per line.

Connects to ``/progress/<pid>`` (or ``/progress`` for every process) with trio-websocket and
writes each event to stdout until the server closes the stream (1013: this watcher fell too far
behind and was dropped; 1001: the server is shutting down) or Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO
from urllib.parse import quote, urlsplit, urlunsplit

DEFAULT_URL = "http://localhost:6363"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("watch", help="print a compute unit's live progress events",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("process_id", nargs="?", default=None, help="the process (default: every process)")
    p.add_argument("--url", default=DEFAULT_URL, help=f"the CU's base URL (default {DEFAULT_URL})")
    p.set_defaults(func=run)


def progress_url(base: str, process_id: str | None) -> str:
    """``http(s)://host[:port][/prefix]`` → ``ws(s)://host[:port][/prefix]/progress[/<pid>]``."""
    parts = urlsplit(base if "://" in base else f"http://{base}")
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/") + "/progress" + (f"/{quote(process_id, safe='')}" if process_id else "")
    return urlunsplit((scheme, parts.netloc, path, "", ""))


async def watch(url: str, out: TextIO) -> int:
    """Print every message of the websocket at ``url``; returns the close code (0 if none)."""
    from trio_websocket import ConnectionClosed, open_websocket_url

    async with open_websocket_url(url) as ws:
        while True:
            try:
                message = await ws.get_message()
            except ConnectionClosed as closed:
                reason = closed.reason
                if reason is not None and reason.code not in (1000, 1001):
                    sys.stderr.write(f"aocu watch: closed {reason.code} {reason.reason or ''}\n")
                return reason.code if reason is not None else 0
            out.write(message if isinstance(message, str) else message.decode("utf-8", "replace"))
            out.write("\n")
            out.flush()


def run(args: argparse.Namespace) -> int:
    import trio
    from trio_websocket import HandshakeError

    url = progress_url(args.url, args.process_id)
    try:
        code = trio.run(watch, url, sys.stdout)
    except KeyboardInterrupt:
        return 130
    except (HandshakeError, OSError) as exc:
        sys.stderr.write(f"aocu watch: cannot connect to {url}: {exc}\n")
        return 1
    return 0 if code in (0, 1000, 1001) else 1
