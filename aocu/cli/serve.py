"""``aocu serve``: run the compute unit (the reference CU's ``npm start``).

Reads the configuration from the environment over ``.env`` (``DOTENV_CONFIG_PATH`` or ``./.env``;
set variables win, as with dotenv), validates it, and runs `aocu.app.run_cu` in a fresh
``trio.run`` until SIGTERM or SIGINT (a second one stops at once). SIGUSR2 checkpoints every
process in memory. Exit status: 0 after a graceful stop, 2 for a configuration error.
"""

from __future__ import annotations

import argparse
import json
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
        _prepare_devnet_dir(args.devnet, environ)
        return trio.run(_serve_with_devnet, args.devnet, environ)
    try:
        config = Config.from_env(environ)
    except ConfigError as exc:
        sys.stderr.write(f"aocu serve: invalid configuration: {exc}\n")
        return 2
    trio.run(_serve, config)
    return 0


async def _serve(config: Any) -> None:
    import trio

    from aocu.app import run_cu

    async with trio.open_nursery() as nursery:
        await nursery.start(run_cu, config)
        _freeze_startup_objects()


def _freeze_startup_objects() -> None:
    """Move everything alive once the CU listens out of the garbage collector's sight.

    The libraries' and the app's ~100k objects live as long as the process; left in the oldest
    generation, every full collection walks them all: 100-200 ms pauses of the trio thread under
    HTTP load, each one seen by every request in flight (docs/performance.md, HTTP under load).
    Only this process entry does it; tests that run `run_cu` in-process keep a normal collector.
    """
    import gc

    gc.collect()
    gc.freeze()


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
    environ.setdefault("DB_URL", str(directory / "cu"))
    environ.setdefault("PROCESS_MEMORY_CACHE_FILE_DIR", str(directory / "memory"))
    environ.setdefault("PROCESS_MEMORY_FILE_CHECKPOINTS_DIR", str(directory / "checkpoints"))
    environ.setdefault("WASM_BINARY_FILE_DIRECTORY", str(directory / "modules"))


async def _serve_with_devnet(directory: Path, environ: dict[str, str]) -> int:
    """A devnet and a CU pointed at it, in one trio run (a developer's one-command network)."""
    import trio

    from aocu.app import run_cu
    from aocu.cli.devnet import STATE_FILE
    from aocu.config import Config, ConfigError
    from aocu.devnet import DevnetConfig, open_devnet

    network = directory / "network"
    async with open_devnet(DevnetConfig(directory=network, su_port=0, gateway_port=0)) as devnet:
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
            _freeze_startup_objects()
            sys.stderr.write(
                f"aocu serve: CU on {', '.join(binds)}\n"
                f"  devnet SU {devnet.urls.su}  gateway {devnet.urls.gateway}\n"
                f"  try: aocu devnet publish-module FILE.wasm --format FORMAT --dir {network} "
                f"(see aocu devnet --help)\n")
    return 0
