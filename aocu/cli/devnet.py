"""aocu devnet: a local ao network (SU + gateway + uploader) on 127.0.0.1.

'serve' runs it in the foreground (stop it with Ctrl-C or SIGTERM) and writes its
URLs to <dir>/devnet.json; the other subcommands talk to that running devnet over
HTTP (its /_devnet endpoints), found through --dir or --url.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

DEFAULT_DIR = Path(".aocu-devnet")
DEFAULT_GATEWAY_PORT = 1984         # arlocal's port; the SU takes the next one
STATE_FILE = "devnet.json"
#: Seconds to wait for a running devnet to answer a CLI request.
CLIENT_TIMEOUT_S = 60.0

_SERVE_HELP = """\
Run a devnet in the foreground. Its state (processes, modules, messages, uploads)
lives in --dir and survives restarts. Prints the SU and gateway URLs and the
environment variables that point a CU at them, then serves until Ctrl-C/SIGTERM.
"""

_EPILOG = """\
examples:
  aocu devnet serve --dir ./net
  aocu devnet publish-module process.wasm --format wasm32-unknown-emscripten2
  aocu devnet spawn --module <module id> --tag Name=counter --tag Cron-Interval=10-seconds
  aocu devnet send <process id> --data 'return 1 + 1' --tag Action=Eval
  aocu devnet fault add status --endpoint su.messages --status 503 --times 2
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "devnet", help="a local ao network (SU, gateway, uploader) for tests and demos",
        description=__doc__, epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="devnet_command", metavar="<subcommand>")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    def client_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--dir", type=Path, default=DEFAULT_DIR,
                        help=f"the devnet's directory, to find a running devnet (default {DEFAULT_DIR})")
        sp.add_argument("--url", help="base URL of a running devnet's SU or gateway (instead of --dir)")

    s = sub.add_parser("serve", help="run a devnet (foreground)", description=_SERVE_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"state directory (default {DEFAULT_DIR})")
    s.add_argument("--in-memory", action="store_true", help="keep no state on disk (ignores --dir)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=DEFAULT_GATEWAY_PORT,
                   help=f"gateway port; the SU uses the next one (default {DEFAULT_GATEWAY_PORT}; 0 = any)")
    s.add_argument("--su-port", type=int, default=None,
                   help="SU port (default --port + 1, or any if --port is 0)")
    s.add_argument("--block-interval", type=float, default=None, metavar="SECONDS",
                   help="seconds per block for a new devnet (default 120, like Arweave)")
    s.add_argument("--manual-clock", type=int, default=None, metavar="START_MS",
                   help="freeze time at START_MS (ms since 1970); move it with POST /_devnet/clock")
    s.set_defaults(func=_serve)

    m = sub.add_parser("publish-module", help="publish a .wasm module with ao's module tags",
                       description="Upload a module binary to the devnet's gateway with the tags the "
                                   "CU reads (Module-Format, Memory-Limit, Compute-Limit, Input/Output-"
                                   "Encoding, Data-Protocol ao, Type Module). Prints the module id.")
    m.add_argument("file", type=Path, help="the module binary (.wasm)")
    m.add_argument("--format", default="wasm32-unknown-emscripten2", help="Module-Format tag")
    m.add_argument("--memory-limit", default="1-gb", help="Memory-Limit tag (default 1-gb)")
    m.add_argument("--compute-limit", default="9000000000000", help="Compute-Limit tag (default 9e12)")
    m.add_argument("--tag", action="append", default=[], metavar="NAME=VALUE",
                   help="an extra tag (repeatable)")
    m.add_argument("--signer", default="devnet", help="name of the fake wallet that owns it")
    client_options(m)
    m.set_defaults(func=_publish_module)

    sp = sub.add_parser("spawn", help="spawn a process on the devnet's SU",
                        description="Spawn a process (Data-Protocol ao, Type Process, Module, Scheduler "
                                    "= the devnet SU are added). Prints the process id.")
    sp.add_argument("--module", required=True, help="the module id (from publish-module)")
    sp.add_argument("--tag", action="append", default=[], metavar="NAME=VALUE",
                    help="a process tag, e.g. Cron-Interval=10-seconds, Cron-Tag-Action=Tick (repeatable)")
    _data_options(sp)
    sp.add_argument("--signer", default="devnet", help="name of the fake wallet that owns it")
    client_options(sp)
    sp.set_defaults(func=_spawn)

    se = sub.add_parser("send", help="schedule a message to a process",
                        description="Schedule a message (Data-Protocol ao, Type Message are added). "
                                    "Prints the message id.")
    se.add_argument("process", help="the process id")
    se.add_argument("--tag", action="append", default=[], metavar="NAME=VALUE", help="a tag (repeatable)")
    _data_options(se)
    se.add_argument("--signer", default="devnet", help="name of the fake wallet that signs it")
    client_options(se)
    se.set_defaults(func=_send)

    i = sub.add_parser("info", help="show a running devnet's URLs, CU environment and counts",
                       description="Print a running devnet's URLs, the environment that points a CU at it "
                                   "(under \"env\"), its counts and options, as JSON.")
    client_options(i)
    i.set_defaults(func=_info)

    f = sub.add_parser("fault", help="inject faults into a running devnet",
                       description="Add, list or clear fault rules. Endpoints: su.info su.write "
                                   "su.timestamp su.process su.latest su.messages su.message gw.graphql "
                                   "gw.raw gw.data gw.tx gw.block gw.info gw.upload (globs like 'su.*').")
    fsub = f.add_subparsers(dest="fault_command", metavar="<action>")
    fa = fsub.add_parser("add", help="add a rule")
    fa.add_argument("mode", choices=["latency", "status", "reset", "hang", "truncate", "redirect",
                                     "short_page", "duplicate_page", "reorder_page"], metavar="MODE",
                    help="latency (wait --latency s), status (answer --status), reset (TCP reset), "
                         "hang (never answer), truncate (half a body, then close), redirect (307 to "
                         "--location), short_page, duplicate_page, reorder_page (SU message pages)")
    fa.add_argument("--endpoint", default="*", help="endpoint name or glob (default: all)")
    fa.add_argument("--process", dest="process_id", help="only requests about this process")
    fa.add_argument("--status", type=int, default=500, help="status for mode 'status' (default 500)")
    fa.add_argument("--latency", dest="latency_s", type=float, default=0.0, help="seconds for mode 'latency'")
    fa.add_argument("--location", help="other SU's base URL for mode 'redirect'")
    fa.add_argument("--times", type=int, default=None, help="fire this many times (default: always)")
    fa.add_argument("--after", type=int, default=0, help="let this many matching requests through first")
    client_options(fa)
    fa.set_defaults(func=_fault_add)
    fl = fsub.add_parser("list", help="list the rules")
    client_options(fl)
    fl.set_defaults(func=_fault_list)
    fc = fsub.add_parser("clear", help="remove every rule")
    client_options(fc)
    fc.set_defaults(func=_fault_clear)
    f.set_defaults(func=lambda args: (f.print_help(), 2)[1])


def _data_options(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--data", default="", help="the data, as text")
    g.add_argument("--data-file", type=Path, help="read the data from a file (UTF-8 text)")


def _tags(specs: list[str]) -> list[dict[str, str]]:
    tags = []
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name:
            raise SystemExit(f"aocu devnet: tag {spec!r} is not NAME=VALUE")
        tags.append({"name": name, "value": value})
    return tags


def _data(args: argparse.Namespace) -> str:
    return args.data_file.read_text("utf-8") if args.data_file else args.data


# -- serve ------------------------------------------------------------------------------------

def _serve(args: argparse.Namespace) -> int:
    import trio

    from aocu.devnet import DevnetConfig, ManualClock, open_devnet

    directory = None if args.in_memory else args.dir.resolve()
    su_port = args.su_port if args.su_port is not None else (args.port + 1 if args.port else 0)
    kwargs: dict[str, Any] = {}
    if args.block_interval is not None:
        kwargs["block_interval_s"] = args.block_interval
    config = DevnetConfig(directory=directory, host=args.host, gateway_port=args.port, su_port=su_port,
                          **kwargs)
    clock = ManualClock(args.manual_clock) if args.manual_clock is not None else None

    async def main() -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with open_devnet(config, clock=clock) as devnet:
                urls = devnet.urls
                if directory is not None:
                    state = {"su": urls.su, "gateway": urls.gateway, "su_address": devnet.su_address}
                    await trio.Path(directory / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
                counts = devnet.store.counts()
                out = [
                    f"aocu devnet: SU {urls.su}  gateway {urls.gateway}",
                    f"  SU wallet {devnet.su_address}; state "
                    f"{directory or 'in memory'} ({counts['processes']} processes, "
                    f"{counts['messages']} messages, {counts['transactions']} transactions)",
                    "",
                    "Point a CU at it (it finds the SU through the gateway's Scheduler-Location record):",
                    *(f"export {k}={v}" for k, v in urls.cu_env().items()),
                    "",
                    f"Admin: {urls.gateway}/_devnet/info   Stop: Ctrl-C or SIGTERM",
                ]
                print("\n".join(out), flush=True)
                try:
                    async for _ in signals:
                        break
                finally:
                    if directory is not None:       # the devnet.json of a stopped devnet would mislead
                        (directory / STATE_FILE).unlink(missing_ok=True)
        print("aocu devnet: stopped", flush=True)

    failure = None
    try:
        trio.run(main)
    except* OSError as group:                       # e.g. the port is taken
        failure = group
        while isinstance(failure, BaseExceptionGroup):
            failure = failure.exceptions[0]
    if failure is not None:
        print(f"aocu devnet: cannot serve on {args.host}: {failure}", file=sys.stderr)
        return 1
    return 0


# -- clients of a running devnet --------------------------------------------------------------

def _base_url(args: argparse.Namespace) -> str:
    if args.url:
        return args.url.rstrip("/")
    state = args.dir / STATE_FILE
    try:
        return json.loads(state.read_text())["gateway"]
    except (OSError, ValueError, KeyError):
        raise SystemExit(f"aocu devnet: no running devnet found ({state} missing); start one with "
                         f"`aocu devnet serve --dir {args.dir}` or pass --url") from None


def _request(args: argparse.Namespace, method: str, path: str, **kwargs: Any) -> Any:
    import httpx

    url = _base_url(args) + path
    try:
        # a devnet is local: never route it through a proxy from the environment
        response = httpx.request(method, url, timeout=CLIENT_TIMEOUT_S, trust_env=False, **kwargs)
    except httpx.HTTPError as exc:
        raise SystemExit(f"aocu devnet: cannot reach {url}: {exc}") from None
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text}
    if response.status_code >= 400:
        raise SystemExit(f"aocu devnet: {method} {path} failed ({response.status_code}): "
                         f"{body.get('error', body) if isinstance(body, dict) else body}")
    return body


def _publish_module(args: argparse.Namespace) -> int:
    params: list[tuple[str, str]] = [("format", args.format), ("memory-limit", args.memory_limit),
                                     ("compute-limit", args.compute_limit), ("signer", args.signer)]
    params += [("tag", f"{t['name']}:{t['value']}") for t in _tags(args.tag)]
    body = _request(args, "POST", "/_devnet/modules", params=params, content=args.file.read_bytes())
    print(body["id"])
    return 0


def _spawn(args: argparse.Namespace) -> int:
    body = _request(args, "POST", "/_devnet/processes", json={
        "module": args.module, "tags": _tags(args.tag), "data": _data(args), "signer": args.signer})
    print(body["id"])
    return 0


def _send(args: argparse.Namespace) -> int:
    body = _request(args, "POST", "/_devnet/messages", json={
        "process": args.process, "tags": _tags(args.tag), "data": _data(args), "signer": args.signer})
    print(body["id"])
    return 0


def _info(args: argparse.Namespace) -> int:
    json.dump(_request(args, "GET", "/_devnet/info"), sys.stdout, indent=2)
    print()
    return 0


def _fault_add(args: argparse.Namespace) -> int:
    rule = {k: getattr(args, k) for k in ("mode", "endpoint", "process_id", "status", "latency_s", "location",
                                          "times", "after")}
    rule = {k: v for k, v in rule.items() if v is not None}
    print(_request(args, "POST", "/_devnet/faults", json=rule)["id"])
    return 0


def _fault_list(args: argparse.Namespace) -> int:
    json.dump(_request(args, "GET", "/_devnet/faults")["faults"], sys.stdout, indent=2)
    print()
    return 0


def _fault_clear(args: argparse.Namespace) -> int:
    _request(args, "DELETE", "/_devnet/faults")
    return 0
