"""``aocu wallet``: create an Arweave wallet (JWK) for the CU's WALLET_FILE."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("wallet", help="create an Arweave wallet (JWK) for WALLET_FILE", description=__doc__)
    sub = p.add_subparsers(dest="wallet_command", metavar="<action>")
    new = sub.add_parser("new", help="write a new 4096-bit RSA JWK and print its address")
    new.add_argument("-o", "--output", type=Path, required=True, help="where to write the JWK (mode 600)")
    new.add_argument("--force", action="store_true", help="overwrite an existing file")
    new.set_defaults(func=_new)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _new(args: argparse.Namespace) -> int:
    from aocu.wallet import address_of, new_jwk

    if args.output.exists() and not args.force:
        sys.stderr.write(f"aocu wallet: {args.output} exists (use --force to replace it)\n")
        return 1
    jwk = new_jwk()
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(jwk, f)
    print(address_of(jwk))
    return 0
