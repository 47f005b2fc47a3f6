"""The ``aocu`` command line: one subcommand per module in `aocu.cli`.

Each ``aocu/cli/<name>.py`` defines ``register(subparsers)``, which adds its
parser and sets ``func`` (a callable taking the parsed args and returning an
exit code). Subcommands are discovered, so adding one touches no other file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import aocu.cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aocu",
        description="aocu: an ao Compute Unit. Run `aocu <command> --help` for each command.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    for info in sorted(pkgutil.iter_modules(aocu.cli.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"aocu.cli.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
