"""``aocu serve``: run the compute unit (the reference CU's ``npm start``).

Reads the configuration from the environment over ``.env`` (``DOTENV_CONFIG_PATH`` or ``./.env``;
set variables win, as with dotenv), validates it, and runs `aocu.app.run_cu` in a fresh
``trio.run`` until SIGTERM or SIGINT (a second one stops at once). SIGUSR2 checkpoints every
process in memory. Exit status: 0 after a graceful stop, 2 for a configuration error.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("serve", help="run the compute unit's HTTP server",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env-file", type=Path, default=None,
                   help="the .env file to read (default: $DOTENV_CONFIG_PATH or ./.env)")
    p.add_argument("--host", default=None, help="listen address (overrides HOST)")
    p.add_argument("--port", type=int, default=None, help="listen port (overrides PORT)")
    p.add_argument("--devnet", type=Path, default=None, metavar="DIR",
                   help="also run a local ao network (aocu devnet) with its state in DIR and point the CU "
                        "at it; without WALLET/WALLET_FILE a wallet is created at DIR/cu-wallet.json")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import trio

    from aocu.config import Config, ConfigError, load_dotenv

    environ = load_dotenv(os.environ, args.env_file)
    if args.host is not None:
        environ["HOST"] = args.host
    if args.port is not None:
        environ["PORT"] = str(args.port)
    if getattr(args, "devnet", None) is not None:
        from aocu.cli.devnet import STATE_FILE
        _prepare_devnet_dir(args.devnet, environ)
        ports = _previous_ports(args.devnet / "network" / STATE_FILE)
        return _reporting_bind_errors(lambda: trio.run(_serve_with_devnet, args.devnet, environ, ports))
    try:
        config = Config.from_env(environ)
    except ConfigError as exc:
        sys.stderr.write(f"aocu serve: invalid configuration: {exc}\n")
        return 2
    return _reporting_bind_errors(lambda: trio.run(_serve, config) or 0)


def _reporting_bind_errors(serve: Callable[[], int]) -> int:
    """Run ``serve``; a port already in use is a one-line message and exit status 1, not a traceback."""
    try:
        return serve()
    except (OSError, BaseExceptionGroup) as exc:
        cause = _bind_error(exc)
        if cause is None:
            raise
        sys.stderr.write(f"aocu serve: cannot listen: {cause.strerror} (is another CU or devnet running? "
                         "choose another --port / PORT)\n")
        return 1


def _bind_error(exc: BaseException) -> OSError | None:
    if isinstance(exc, OSError) and exc.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        return next((e for e in map(_bind_error, exc.exceptions) if e is not None), None)
    return None


async def _serve(config: Any) -> None:
    import trio

    from aocu.app import run_cu, tune_gc_for_serving

    async with trio.open_nursery() as nursery:
        await nursery.start(run_cu, config)
        tune_gc_for_serving()


def _previous_ports(state_file: Path) -> tuple[int, int]:
    """The SU and gateway ports of the devnet's last run in this directory, or (0, 0) for any free ones.

    The CU caches each process's SU URL for the Scheduler-Location's Time-To-Live (a day), in its
    database: a restart on other ports would leave every process spawned before unreachable.
    """
    try:
        state = json.loads(state_file.read_text())
        ports = urlsplit(state["su"]).port or 0, urlsplit(state["gateway"]).port or 0
    except (OSError, ValueError, KeyError, TypeError):
        return 0, 0
    for port in ports:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as hypercorn binds (TIME_WAIT is fine)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                sys.stderr.write(f"aocu serve: the devnet's previous port {port} is taken; processes spawned "
                                 "before will not reach their SU until the CU's cached location expires\n")
                return 0, 0
    return ports


def _prepare_devnet_dir(directory: Path, environ: dict[str, str]) -> None:
    """State directory, a wallet if none is configured, and the CU's database inside it."""
    directory.mkdir(parents=True, exist_ok=True)
    if not environ.get("WALLET") and not environ.get("WALLET_FILE"):
        wallet = directory / "cu-wallet.json"
        if not wallet.exists():
            from aocu.wallet import new_jwk_text
            fd = os.open(wallet, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(new_jwk_text())
        environ["WALLET_FILE"] = str(wallet)
    from aocu.devnet import cu_state_env

    for name, value in cu_state_env(directory).items():
        environ.setdefault(name, value)


async def _serve_with_devnet(directory: Path, environ: dict[str, str], ports: tuple[int, int]) -> int:
    """A devnet and a CU pointed at it, in one trio run (a developer's one-command network)."""
    import trio

    from aocu.app import run_cu, tune_gc_for_serving
    from aocu.cli.devnet import STATE_FILE
    from aocu.config import Config, ConfigError
    from aocu.devnet import DevnetConfig, open_devnet

    network = directory / "network"
    su_port, gateway_port = ports
    async with open_devnet(DevnetConfig(directory=network, su_port=su_port, gateway_port=gateway_port)) as devnet:
        environ.update(devnet.urls.cu_env())
        # what `aocu devnet ... --dir DIR/network` reads to find this devnet
        state = {"su": devnet.urls.su, "gateway": devnet.urls.gateway, "su_address": devnet.su_address}
        await trio.Path(network / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
        try:
            config = Config.from_env(environ)
        except ConfigError as exc:
            sys.stderr.write(f"aocu serve: invalid configuration: {exc}\n")
            return 2
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(run_cu, config)
            tune_gc_for_serving()
            sys.stderr.write(
                f"aocu serve: CU on {', '.join(binds)}\n"
                f"  devnet SU {devnet.urls.su}  gateway {devnet.urls.gateway}\n"
                f"  try: aocu devnet publish-module FILE.wasm --format FORMAT --dir {network} "
                f"(see aocu devnet --help)\n")
    return 0
