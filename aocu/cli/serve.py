"""``aocu serve``: run the compute unit (the reference CU's ``npm start``).

Reads the configuration from the environment over ``.env`` (``DOTENV_CONFIG_PATH`` or ``./.env``;
set variables win, as with dotenv), validates it, and runs `aocu.app.run_cu` in a fresh
``trio.run`` until SIGTERM or SIGINT (a second one stops at once). SIGUSR2 checkpoints every
process in memory. Exit status: 0 after a graceful stop, 2 for a configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("serve", help="run the compute unit's HTTP server",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env-file", type=Path, default=None,
                   help="the .env file to read (default: $DOTENV_CONFIG_PATH or ./.env)")
    p.add_argument("--host", default=None, help="listen address (overrides HOST)")
    p.add_argument("--port", type=int, default=None, help="listen port (overrides PORT)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import trio

    from aocu.app import run_cu
    from aocu.config import Config, ConfigError, load_dotenv

    environ = load_dotenv(os.environ, args.env_file)
    if args.host is not None:
        environ["HOST"] = args.host
    if args.port is not None:
        environ["PORT"] = str(args.port)
    try:
        config = Config.from_env(environ)
    except ConfigError as exc:
        sys.stderr.write(f"aocu serve: invalid configuration: {exc}\n")
        return 2
    trio.run(run_cu, config)
    return 0
