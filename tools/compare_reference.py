"""Compare aocu with the reference Node CU, request by request, on the same devnet data.

Usage::

    # live: both CUs against one devnet; saves the reference's answers as a capture
    .venv/bin/python tools/compare_reference.py --reference /path/to/permaweb-ao/servers/cu \\
        [--capture /tmp/reference-capture.json] [--modules $AO_TEST_MODULES]
    # replay: aocu alone against a fresh devnet with the same data, checked against a capture
    .venv/bin/python tools/compare_reference.py --replay /tmp/reference-capture.json

The reference is permaweb/ao ``servers/cu`` with ``npm install`` done (``--reference`` or
``$AOCU_REFERENCE_CU``; a repository root containing ``servers/cu`` works too). It runs under
``node --import tools/reference_cu_preload.mjs`` (the su-router probe, Node 20's missing
``Promise.withResolvers``; see that file).

The devnet runs on a manual clock from a fixed start, and its fake signatures are
deterministic, so every id, timestamp and cursor is the same run to run: a capture replays
byte for byte. Both CUs get the same wallet, settings and the same request list in the same
order (the reference first, then aocu). Bodies are compared exactly, except ``GET /``'s
``timestamp`` (wall clock) and, in replay, its ``address``; ``/state`` bodies by SHA-256.
Header names are compared in order (``date``, ``keep-alive`` values ignored). aocu gets
``AOCU_WASM_PROGRAM`` = the reference's evaluation worker script, the program name gen 1-3
modules see in it (their memory depends on it). Differences
listed in README "Differences from the reference" are marked ``documented``.
Exit status: 0 when every difference is documented, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PRELOAD = ROOT / "tools" / "reference_cu_preload.mjs"
FIXTURES = ROOT / "tests" / "fixtures" / "modules"
#: The devnet's frozen start (ms since 1970): fixed so ids and timestamps repeat run to run.
CLOCK_START_MS = 1_767_225_600_000
CAPTURE_VERSION = 1
SETTINGS = {
    "NODE_CONFIG_ENV": "development",
    "DEFAULT_LOG_LEVEL": "info",
    # The dry-run rate limit (6 a minute) would turn most of the list into 429s on both sides.
    "RATE_LIMIT_MAX_REQUESTS": "100000",
    "WASM_EVALUATION_MAX_WORKERS": "2",
}
F2 = "wasm32-unknown-emscripten2"
F4 = "wasm32-unknown-emscripten4"
F2M = "wasm32-unknown-emscripten-metering"
MINUTE_MS = 60_000
#: Longer than the reference's slowest answer here (15.5 s: its SU retries for an unknown message).
REQUEST_TIMEOUT_S = 60


# ---------------------------------------------------------------------------------------------
# processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], what: str, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited ({proc.returncode}); see {log}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not answer on {url}; see {log}")


def start(cmd: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_devnet(work: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    state = work / "net" / "devnet.json"
    proc = start([sys.executable, "-m", "aocu", "devnet", "serve", "--dir", str(work / "net"), "--port", "0",
                  "--manual-clock", str(CLOCK_START_MS)], env=python_env(), cwd=work, log=work / "devnet.log")
    for _ in range(600):
        if state.exists():
            gateway = json.loads(state.read_text())["gateway"]
            return proc, httpx.get(f"{gateway}/_devnet/info", timeout=10).raise_for_status().json()
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    stop(proc)
    raise SystemExit(f"devnet did not start; see {work / 'devnet.log'}")


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def cu_env(devnet: dict[str, Any], wallet: Path, port: int) -> dict[str, str]:
    env = python_env()
    for name in list(env):   # nothing from the caller's shell may configure one CU and not the other
        if name in SETTINGS or name.startswith(("PROCESS_", "WASM_", "DRY_RUN_", "CHECKPOINT", "AOCU_")):
            del env[name]
    env.update(devnet["env"])
    env.update(SETTINGS)
    env.update({"WALLET_FILE": str(wallet), "PORT": str(port)})
    return env


def start_reference(ref_dir: Path, devnet: dict[str, Any], wallet: Path,
                    work: Path) -> tuple[subprocess.Popen[bytes], str]:
    home = work / "reference"
    dirs = {"PROCESS_MEMORY_CACHE_FILE_DIR": "memory", "PROCESS_MEMORY_FILE_CHECKPOINTS_DIR": "file_checkpoints",
            "WASM_BINARY_FILE_DIRECTORY": "wasm"}
    for sub in dirs.values():
        (home / sub).mkdir(parents=True, exist_ok=True)   # the reference does not create them
    port = free_port()
    env = cu_env(devnet, wallet, port)
    env.update({name: str(home / sub) for name, sub in dirs.items()})
    env["DB_URL"] = str(home / "ao-cache")
    app = str(ref_dir / "src" / "app.js")
    proc = start(["node", "--experimental-wasm-memory64", "--import", PRELOAD.as_uri(), app],
                 env=env, cwd=home, log=work / "reference.log")
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", proc, "reference CU", work / "reference.log")
    return proc, url


def worker_program(ref_dir: Path) -> str:
    """Node's ``process.argv[1]`` in the reference's evaluation workers, which gen 1-3 modules see."""
    return str(ref_dir / "src" / "effects" / "worker" / "evaluator" / "index.js")


def start_aocu(devnet: dict[str, Any], wallet: Path, work: Path,
               program: str) -> tuple[subprocess.Popen[bytes], str]:
    home = work / "aocu"
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = cu_env(devnet, wallet, port)
    env.update({"DB_URL": str(home / "ao-cache"), "PROCESS_MEMORY_CACHE_FILE_DIR": str(home / "memory"),
                "PROCESS_MEMORY_FILE_CHECKPOINTS_DIR": str(home / "file_checkpoints"),
                "WASM_BINARY_FILE_DIRECTORY": str(home / "wasm"), "HOST": "127.0.0.1",
                "AOCU_WASM_PROGRAM": program})
    proc = start([sys.executable, "-m", "aocu", "serve", "--env-file", os.devnull], env=env, cwd=home,
                 log=work / "aocu.log")
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", proc, "aocu", work / "aocu.log")
    return proc, url


def find_reference(arg: str | None) -> Path:
    raw = arg or os.environ.get("AOCU_REFERENCE_CU")
    if not raw:
        raise SystemExit("give --reference DIR or set AOCU_REFERENCE_CU (permaweb/ao servers/cu, npm installed)")
    path = Path(raw).resolve()
    for cand in (path, path / "servers" / "cu"):
        if (cand / "src" / "app.js").exists() and (cand / "node_modules").exists():
            return cand
    raise SystemExit(f"{path}: not permaweb/ao servers/cu with node_modules (run npm install there)")


# ---------------------------------------------------------------------------------------------
# the scenario: modules, processes, messages on the devnet


def populate(gateway: str, modules_dir: Path | None) -> dict[str, str]:
    """Publish, spawn and send; returns symbolic name -> id (the same every run)."""
    ids: dict[str, str] = {}
    with httpx.Client(base_url=f"{gateway}/_devnet", timeout=120) as http:
        def module(path: Path, fmt: str, **limits: str) -> str:
            params = {"format": fmt, **{k.replace("_", "-"): v for k, v in limits.items()}}
            answer = http.post("/modules", params=params, content=path.read_bytes()).raise_for_status()
            return answer.json()["id"]

        def spawn(mod: str, tags: dict[str, str] | None = None) -> str:
            body = {"module": mod, "tags": [{"name": k, "value": v} for k, v in (tags or {}).items()]}
            return http.post("/processes", json=body).raise_for_status().json()["id"]

        def send(pid: str, action: str, data: str = "", **tags: str) -> str:
            body = {"process": pid, "data": data,
                    "tags": [{"name": "Action", "value": action}] + [{"name": k, "value": v} for k, v in tags.items()]}
            return http.post("/messages", json=body).raise_for_status().json()["id"]

        def advance(ms: int) -> None:
            http.post("/clock", json={"advance": ms}).raise_for_status()

        ids["M2"] = module(FIXTURES / "lua_process_gen2.wasm", F2)
        ids["M4"] = module(FIXTURES / "lua_process_gen4.wasm", F4)
        # pre-metered at build time, so published with the metering format it is refused: a bad module
        ids["MM"] = module(FIXTURES / "lua_process_gen2_metered.wasm", F2M)
        ids["PA"] = spawn(ids["M2"], {"Name": "compare-a"})
        advance(1000)
        for name, action, data, tags in [
            ("A1", "Count", "", {}), ("A2", "Eval", "return 6*7", {}), ("A3", "Error", "", {}),
            ("A4", "Messages", "", {}), ("A5", "Big", "", {"Size": "1"}), ("A6", "Unicode", "é", {}),
            ("A7", "ErrorTable", "", {}), ("A8", "Numbers", "", {}), ("A9", "Nope", "", {}),
            ("A10", "Count", "", {}), ("A11", "Count", "", {}), ("A12", "Stats", "", {}),
        ]:
            ids[name] = send(ids["PA"], action, data, **tags)
            advance(1000)
        ids["P4"] = spawn(ids["M4"], {"Name": "compare-gen4"})
        ids["B1"] = send(ids["P4"], "Eval", "return 'gen4 ' .. 2^10")
        ids["PM"] = spawn(ids["MM"], {"Name": "compare-metered"})
        ids["C1"] = send(ids["PM"], "Count")
        ids["PC"] = spawn(ids["M2"], {"Name": "compare-cron", "Cron-Interval": "1-minute", "Cron-Tag-Action": "Count"})
        advance(5 * MINUTE_MS + 500)
        ids["D1"] = send(ids["PC"], "Stats")
        advance(3 * MINUTE_MS)
        if modules_dir is not None and (modules_dir / "loader/test/aos/process.wasm").exists():
            ids["MAOS"] = module(modules_dir / "loader/test/aos/process.wasm", F2)
            ids["PAOS"] = spawn(ids["MAOS"], {"Name": "compare-aos"})
            ids["S1"] = send(ids["PAOS"], "Eval", "return 1 + 41")
            ids["S2"] = send(ids["PAOS"], "Eval", "error('aos boom')")
            ids["S3"] = send(ids["PAOS"], "Eval", "Send({Target = ao.id, Data = 'hi'}) return 'sent'")
        # bad modules, and a message of one process assigned to another (hydrated from the gateway)
        ids["MBIG"] = module(FIXTURES / "lua_process_gen2.wasm", F2, memory_limit="16-gb")
        ids["PBIG"] = spawn(ids["MBIG"], {"Name": "compare-too-much-memory"})
        ids["E1"] = send(ids["PBIG"], "Count")
        ids["MFMT"] = module(FIXTURES / "lua_process_gen2.wasm", "wasm32-unknown-emscripten9")
        ids["PFMT"] = spawn(ids["MFMT"], {"Name": "compare-unknown-format"})
        ids["F1"] = send(ids["PFMT"], "Count")
        http.post("/assignments", json={"process": ids["P4"], "message": ids["A2"]}).raise_for_status()
        ids["B2"] = send(ids["P4"], "Stats")
        advance(1000)
    return ids


# ---------------------------------------------------------------------------------------------
# the requests


@dataclass(frozen=True, slots=True)
class Req:
    name: str
    method: str
    path: str            # with {NAME} placeholders for scenario ids
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    kind: str = "json"   # json | state | text


UNKNOWN_ID = "A" * 43
#: Bodies up to this size are kept whole in a capture (the /results pages with the 1 MiB output).
MAX_STORED_BODY = 4 * 1024 * 1024
JSON_HEADERS = {"content-type": "application/json"}


def dry(name: str, path: str, body: Any, **headers: str) -> Req:
    raw = body if isinstance(body, str) else json.dumps(body)
    return Req(name, "POST", path, raw, {**JSON_HEADERS, **headers})


def cursor(timestamp: int, ordinate: str, cron: str | None, sort: str) -> str:
    """A /results cursor as the reference encodes it (standard base64 of its JSON), URL-escaped."""
    text = json.dumps({"timestamp": timestamp, "ordinate": ordinate, "cron": cron, "sort": sort},
                      separators=(",", ":"))
    return base64.b64encode(text.encode()).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def requests_for(ids: dict[str, str]) -> list[Req]:
    msg = {"Id": "1234", "Target": "{PA}", "Owner": "1234", "Anchor": "0", "Data": "1234",
           "Tags": [{"name": "Action", "value": "Count"}, {"name": "Data-Protocol", "value": "ao"},
                    {"name": "Type", "value": "Message"}, {"name": "Variant", "value": "ao.TN.1"}]}
    eval_msg = {**msg, "Data": "return State.count", "Tags": [{"name": "Action", "value": "Eval"}]}
    reqs = [
        Req("root", "GET", "/"),
        Req("head root", "HEAD", "/"),
        Req("options preflight", "OPTIONS", "/result/{A1}?process-id={PA}",
            headers={"origin": "http://example.com", "access-control-request-method": "GET"}),
        Req("result cold (middle)", "GET", "/result/{A4}?process-id={PA}"),
        Req("result repeat", "GET", "/result/{A4}?process-id={PA}"),
        Req("result earlier", "GET", "/result/{A2}?process-id={PA}"),
        Req("result error message", "GET", "/result/{A3}?process-id={PA}"),
        Req("result later (big output)", "GET", "/result/{A5}?process-id={PA}"),
        Req("result unicode", "GET", "/result/{A6}?process-id={PA}"),
        Req("result error table", "GET", "/result/{A7}?process-id={PA}"),
        Req("result numbers", "GET", "/result/{A8}?process-id={PA}"),
        Req("result unknown action", "GET", "/result/{A9}?process-id={PA}"),
        Req("result last", "GET", "/result/{A12}?process-id={PA}&no-busy=1"),
        Req("result process boot", "GET", "/result/{PA}?process-id={PA}"),
        Req("result gen4", "GET", "/result/{B1}?process-id={P4}"),
        Req("result refused module", "GET", "/result/{C1}?process-id={PM}"),
        Req("result unknown message", "GET", f"/result/{UNKNOWN_ID}?process-id={{PA}}"),
        Req("result unknown process", "GET", f"/result/{{A1}}?process-id={UNKNOWN_ID}"),
        Req("result other process's message", "GET", "/result/{B1}?process-id={PA}"),
        Req("result bad message id", "GET", "/result/not-an-id?process-id={PA}"),
        Req("result bad process id", "GET", "/result/{A1}?process-id=not-an-id"),
        Req("result missing process-id", "GET", "/result/{A1}"),
        Req("result empty process-id", "GET", "/result/{A1}?process-id="),
        Req("results default", "GET", "/results/{PA}"),
        Req("results limit 2", "GET", "/results/{PA}?limit=2"),
        Req("results DESC limit 3", "GET", "/results/{PA}?sort=DESC&limit=3"),
        Req("results from timestamp", "GET", f"/results/{{PA}}?from={CLOCK_START_MS + 3000}&limit=3"),
        Req("results from/to", "GET", f"/results/{{PA}}?from={CLOCK_START_MS + 2000}&to={CLOCK_START_MS + 6000}"),
        Req("results limit 0", "GET", "/results/{PA}?limit=0"),
        Req("results from cursor", "GET", f"/results/{{PA}}?from={cursor(CLOCK_START_MS + 3000, '3', None, 'ASC')}"
            "&limit=2"),
        Req("results DESC cursor", "GET", f"/results/{{PA}}?from={cursor(CLOCK_START_MS + 9000, '9', None, 'DESC')}"
            "&limit=3"),
        Req("results to cursor", "GET", f"/results/{{PA}}?to={cursor(CLOCK_START_MS + 3000, '3', None, 'ASC')}"),
        Req("results sort bad", "GET", "/results/{PA}?sort=UP"),
        Req("results limit abc", "GET", "/results/{PA}?limit=abc"),
        Req("results limit -1", "GET", "/results/{PA}?limit=-1"),
        Req("results bad cursor", "GET", "/results/{PA}?from=bm90LWpzb24="),
        Req("results unknown process", "GET", f"/results/{UNKNOWN_ID}"),
        Req("cron", "GET", "/cron/{PC}"),
        Req("cron limit 2", "GET", "/cron/{PC}?limit=2"),
        Req("cron from cursor", "GET",
            f"/cron/{{PC}}?from={cursor(CLOCK_START_MS + 15_000 + 2 * MINUTE_MS, '0', '0-1-minute', 'DESC')}"),
        Req("cron from/to", "GET",
            f"/cron/{{PC}}?from={CLOCK_START_MS}&to={CLOCK_START_MS + 20 * 1000 + 4 * MINUTE_MS}"),
        Req("result cron process message", "GET", "/result/{D1}?process-id={PC}"),
        Req("cron limit abc", "GET", "/cron/{PC}?limit=abc"),
        Req("cron refused module", "GET", "/cron/{PM}"),
        Req("cron unknown process", "GET", f"/cron/{UNKNOWN_ID}"),
        Req("state latest", "GET", "/state/{PA}", kind="state"),
        Req("state to", "GET", f"/state/{{PA}}?to={CLOCK_START_MS + 4000}", kind="state"),
        Req("state to abc", "GET", "/state/{PA}?to=abc"),
        Req("state unknown process", "GET", f"/state/{UNKNOWN_ID}"),
        dry("dry-run good", "/dry-run?process-id={PA}", msg),
        dry("dry-run eval", "/dry-run?process-id={PA}", eval_msg),
        # the reference's dry-run result cache is keyed by the body alone: distinct bodies from here on
        # X-Max-Age 0: the reference's dry-run state cache (any `to`, 100 ms by default) would make this timing-bound
        dry("dry-run to", "/dry-run?process-id={PA}&to={A2}", {**eval_msg, "Data": "return State.count + 0"},
            **{"x-max-age": "0"}),
        dry("dry-run same body, other to", "/dry-run?process-id={PA}&to={A2}", eval_msg),
        dry("dry-run from-process tag", "/dry-run?process-id={PA}",
            {"Target": "{PA}",
             "Tags": [{"name": "From-Process", "value": "{PM}"}, {"name": "Action", "value": "Count"}]}),
        dry("dry-run no owner", "/dry-run?process-id={PA}", {"Target": "{PA}", "Tags": []}),
        dry("dry-run bad json", "/dry-run?process-id={PA}", '{"Target": '),
        dry("dry-run tags not a list", "/dry-run?process-id={PA}", {**msg, "Tags": "x"}),
        dry("dry-run not an object", "/dry-run?process-id={PA}", "[1,2]"),
        dry("dry-run missing process-id", "/dry-run", msg),
        dry("dry-run unknown process", f"/dry-run?process-id={UNKNOWN_ID}", {**msg, "Data": "unknown"}),
        dry("dry-run same body, other process", f"/dry-run?process-id={UNKNOWN_ID}", msg),
        Req("dry-run text/plain", "POST", "/dry-run?process-id={PA}", "hello", {"content-type": "text/plain"}),
        Req("dry-run GET", "GET", "/dry-run?process-id={PA}"),
        Req("unknown route", "GET", "/nope"),
        Req("unknown route POST", "POST", "/result/{A1}?process-id={PA}", "{}", JSON_HEADERS),
        Req("healthcheck", "GET", "/healthcheck"),
        Req("metrics (not enabled)", "GET", "/metrics"),
        Req("result no-busy empty", "GET", "/result/{A10}?process-id={PA}&no-busy="),
        Req("result extra query", "GET", "/result/{A11}?process-id={PA}&foo=bar"),
    ]
    reqs += [
        Req("result memory limit too big", "GET", "/result/{E1}?process-id={PBIG}"),
        Req("result unsupported format", "GET", "/result/{F1}?process-id={PFMT}"),
        Req("result after an assignment", "GET", "/result/{B2}?process-id={P4}"),
        Req("result assigned message", "GET", "/result/{A2}?process-id={P4}"),
        Req("results with an assignment", "GET", "/results/{P4}"),
    ]
    if "PAOS" in ids:
        reqs += [
            Req("aos result", "GET", "/result/{S1}?process-id={PAOS}"),
            Req("aos error", "GET", "/result/{S2}?process-id={PAOS}"),
            Req("aos send", "GET", "/result/{S3}?process-id={PAOS}"),
            dry("aos dry-run", "/dry-run?process-id={PAOS}",
                {**eval_msg, "Target": "{PAOS}", "Data": "return #Inbox"}),
            Req("aos state", "GET", "/state/{PAOS}", kind="state"),
        ]
    return reqs


def fill(text: str, ids: dict[str, str]) -> str:
    for name in sorted(ids, key=len, reverse=True):
        text = text.replace("{" + name + "}", ids[name])
    return text


def exchange(client: httpx.Client, req: Req, ids: dict[str, str]) -> dict[str, Any]:
    body = fill(req.body, ids).encode() if req.body is not None else None
    t0 = time.perf_counter()
    try:
        resp = client.request(req.method, fill(req.path, ids), content=body, headers=req.headers)
    except httpx.HTTPError as exc:   # a hang or a dropped connection is a result to report, not a crash
        return {"status": 0, "headers": [], "elapsed_s": round(time.perf_counter() - t0, 4),
                "body": f"{type(exc).__name__}: {exc}"}
    elapsed = time.perf_counter() - t0
    out: dict[str, Any] = {"status": resp.status_code, "headers": [[k, v] for k, v in resp.headers.multi_items()],
                           "elapsed_s": round(elapsed, 4)}
    if req.kind == "state" and resp.status_code == 200:
        out["body_sha256"] = hashlib.sha256(resp.content).hexdigest()
        out["body_length"] = len(resp.content)
    elif len(resp.content) > MAX_STORED_BODY:
        out["body_sha256"] = hashlib.sha256(resp.content).hexdigest()
        out["body_length"] = len(resp.content)
        out["body_head"] = resp.content[:200].decode("utf-8", "replace")
    else:
        out["body"] = resp.content.decode("utf-8", "replace")
    return out


def run_list(url: str, reqs: list[Req], ids: dict[str, str]) -> list[dict[str, Any]]:
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as client:
        return [exchange(client, r, ids) for r in reqs]


# ---------------------------------------------------------------------------------------------
# comparison

IGNORED_VALUES = {"date", "keep-alive", "connection", "content-length"}
#: README "Differences from the reference", by shape of the two answers.
DOCUMENTED = [
    (lambda r, a: r["status"] == 500 and a["status"] == 400 and body_of(r) == body_of(a),
     "invalid input: 400 instead of 500, same error text"),
    (lambda r, a: r["status"] == 400 and a["status"] == 400 and "JSON" in str(body_of(r)) and "JSON" in str(body_of(a)),
     "malformed JSON body: same shape, Python's parser message"),
]
#: ... and by request, where the README names the case.
DOCUMENTED_REQUESTS = {
    "results limit -1": "limit below 0: 400",
    "result refused module": "a module the loader refuses: 422 with the reason (reference: 500 AbortError)",
    "cron refused module": "a module the loader refuses: 422 with the reason (reference: 500 AbortError)",
    "dry-run same body, other to": "dry-run result cache keyed by process, to and body (reference: body only)",
    "dry-run same body, other process": "dry-run result cache keyed by process, to and body (reference: body only)",
}


def body_of(ans: dict[str, Any]) -> Any:
    if "body" not in ans:
        return {"sha256": ans.get("body_sha256"), "length": ans.get("body_length")}
    try:
        return json.loads(ans["body"])
    except ValueError:
        return ans["body"]


def normalise(req: Req, ans: dict[str, Any], *, replay: bool) -> Any:
    body = body_of(ans)
    if req.path == "/" and req.method == "GET" and isinstance(body, dict):
        body = {k: ("<now>" if k == "timestamp" else "<address>" if k == "address" and replay else v)
                for k, v in body.items()}
    if isinstance(body, dict) and "edges" in body:   # decode cursors so a difference is readable
        for edge in body.get("edges") or []:
            try:
                edge["cursor"] = json.loads(base64.b64decode(edge["cursor"]))
            except (ValueError, KeyError, TypeError):
                pass
    return body


#: Connection management, not the API: Node's http adds these, hypercorn manages its own.
TRANSPORT_HEADERS = {"connection", "keep-alive"}


def header_names(ans: dict[str, Any]) -> list[str]:
    return [k.lower() for k, _ in ans["headers"] if k.lower() not in TRANSPORT_HEADERS]


def header_values(ans: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in ans["headers"] if k.lower() not in IGNORED_VALUES}


def compare(req: Req, ref: dict[str, Any], ours: dict[str, Any], *, replay: bool) -> tuple[str, list[str]]:
    notes = []
    rb, ob = normalise(req, ref, replay=replay), normalise(req, ours, replay=replay)
    if ref["status"] != ours["status"]:
        notes.append(f"status {ref['status']} vs {ours['status']}")
    if json.dumps(rb, ensure_ascii=False) != json.dumps(ob, ensure_ascii=False):   # key order counts
        notes.append(f"body {short(rb)} vs {short(ob)}")
    if header_names(ref) != header_names(ours):
        notes.append(f"header names {header_names(ref)} vs {header_names(ours)}")
    else:
        rv, ov = header_values(ref), header_values(ours)
        diff = [k for k in rv if rv[k] != ov.get(k)]
        if diff:
            notes.append("header values " + ", ".join(f"{k}: {rv[k]!r} vs {ov.get(k)!r}" for k in diff))
    if not notes:
        return "match", []
    for pred, note in DOCUMENTED:
        if pred(ref, ours) and all(n.startswith(("status", "body")) for n in notes):
            return "documented", [note]
    if req.name in DOCUMENTED_REQUESTS and all(n.startswith(("status", "body")) for n in notes):
        return "documented", [DOCUMENTED_REQUESTS[req.name], *notes]
    return "DIFF", notes


def short(value: Any, limit: int = 240) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def report(reqs: list[Req], ref: list[dict[str, Any]], ours: list[dict[str, Any]], *, replay: bool) -> int:
    counts = {"match": 0, "documented": 0, "DIFF": 0}
    print(f"{'#':>3} {'request':36} {'ref':>4} {'aocu':>4}  verdict     ref s  aocu s")
    for i, (req, r, o) in enumerate(zip(reqs, ref, ours, strict=True)):
        verdict, notes = compare(req, r, o, replay=replay)
        counts[verdict] += 1
        print(f"{i:>3} {req.name[:36]:36} {r['status']:>4} {o['status']:>4}  {verdict:10} "
              f"{r.get('elapsed_s', 0):6.3f} {o['elapsed_s']:6.3f}")
        for note in notes:
            print(f"      {note}")
    print(f"\n{len(reqs)} requests: {counts['match']} match, {counts['documented']} documented differences, "
          f"{counts['DIFF']} undocumented differences")
    return 0 if counts["DIFF"] == 0 else 1


# ---------------------------------------------------------------------------------------------
# side-by-side cost of a cold evaluation


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (every thread, the reference's workers included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_scenario(gateway: str, modules_dir: Path | None, n: int) -> list[tuple[str, str, str]]:
    """One process per module with ``n`` counter messages: (label, process id, last message id)."""
    cases = [("lua fixture (gen 2)", FIXTURES / "lua_process_gen2.wasm", "Count", "")]
    if modules_dir is not None and (modules_dir / "loader/test/aos/process.wasm").exists():
        cases.append(("aos (gen 2)", modules_dir / "loader/test/aos/process.wasm", "Eval",
                      "Counter = (Counter or 0) + 1 return Counter"))
    out = []
    with httpx.Client(base_url=f"{gateway}/_devnet", timeout=120) as http:
        for label, path, action, data in cases:
            module = http.post("/modules", params={"format": F2}, content=path.read_bytes()).raise_for_status()
            pid = http.post("/processes", json={"module": module.json()["id"]}).raise_for_status().json()["id"]
            body = {"process": pid, "data": data, "tags": [{"name": "Action", "value": action}]}
            last = ""
            for _ in range(n):
                last = http.post("/messages", json=body).raise_for_status().json()["id"]
            out.append((label, pid, last))
    return out


def peak_rss_mib(pid: int) -> float:
    """``VmHWM``: the process's peak resident set so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(proc: subprocess.Popen[bytes], url: str, pid: str, mid: str) -> tuple[float, float, str, float]:
    """(CPU s, wall s, Output, peak RSS MiB) of a cold ``/result`` for the last of a process's messages."""
    cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
    answer = httpx.get(f"{url}/result/{mid}", params={"process-id": pid}, timeout=3600).raise_for_status().json()
    return cpu_seconds(proc.pid) - cpu0, time.perf_counter() - t0, str(answer.get("Output")), peak_rss_mib(proc.pid)


def bench(ref_dir: Path, modules_dir: Path | None, n: int, work: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    devnet_proc, devnet = start_devnet(work)
    procs.append(devnet_proc)
    cases = bench_scenario(devnet["gateway"], modules_dir, n)
    wallet = work / "wallet.json"
    subprocess.run([sys.executable, "-m", "aocu", "wallet", "new", "-o", str(wallet)], env=python_env(),
                   check=True, stdout=subprocess.DEVNULL)
    rows = []
    for label, pid, mid in cases:
        ref_proc, ref_url = start_reference(ref_dir, devnet, wallet, work / f"ref-{pid[:6]}")
        procs.append(ref_proc)
        ref = measure(ref_proc, ref_url, pid, mid)
        stop(ref_proc)
        ours_proc, ours_url = start_aocu(devnet, wallet, work / f"aocu-{pid[:6]}", worker_program(ref_dir))
        procs.append(ours_proc)
        ours = measure(ours_proc, ours_url, pid, mid)
        stop(ours_proc)
        same = "same" if ref[2] == ours[2] else f"DIFFERENT ({ref[2]!r} vs {ours[2]!r})"
        rows.append((label, ref, ours, same))
    print(f"cold /result of message {n} (CPU of the whole CU process, each CU fresh):")
    print("| module | reference CPU ms/msg | aocu CPU ms/msg | CPU ratio | reference wall s | aocu wall s "
          "| reference peak RSS MiB | aocu peak RSS MiB | output |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, ref, ours, same in rows:
        print(f"| {label} | {ref[0] / n * 1000:.3f} | {ours[0] / n * 1000:.3f} | {ref[0] / max(ours[0], 1e-9):.1f}x "
              f"| {ref[1]:.2f} | {ours[1]:.2f} | {ref[3]:.0f} | {ours[3]:.0f} | {same} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", help="permaweb/ao servers/cu (npm installed); default $AOCU_REFERENCE_CU")
    parser.add_argument("--replay", type=Path, help="check aocu against this capture instead of running Node")
    parser.add_argument("--capture", type=Path, default=Path(tempfile.gettempdir()) / "aocu-reference-capture.json",
                        help="where to save the reference's answers (default: %(default)s)")
    parser.add_argument("--modules", default=os.environ.get("AO_TEST_MODULES"),
                        help="permaweb/ao test modules (adds the real AOS module); default $AO_TEST_MODULES")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    parser.add_argument("--bench", type=int, metavar="N",
                        help="instead: CPU per message of a cold evaluation of N messages, reference vs aocu")
    args = parser.parse_args()
    if args.bench:
        work = Path(tempfile.mkdtemp(prefix="aocu-bench-"))
        procs: list[subprocess.Popen[bytes]] = []
        try:
            bench(find_reference(args.reference), Path(args.modules) if args.modules else None, args.bench, work,
                  procs)
        finally:
            for proc in reversed(procs):
                stop(proc)
            shutil.rmtree(work, ignore_errors=True)
        return 0

    capture = json.loads(args.replay.read_text()) if args.replay else None
    ref_dir = None if capture else find_reference(args.reference)
    modules = Path(args.modules) if args.modules else None
    if capture is not None:
        modules = Path(args.modules) if "PAOS" in capture["ids"] and args.modules else None
        if "PAOS" in capture["ids"] and modules is None:
            raise SystemExit("this capture has the AOS module: give --modules or set AO_TEST_MODULES")
    work = Path(tempfile.mkdtemp(prefix="aocu-compare-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        devnet_proc, devnet = start_devnet(work)
        procs.append(devnet_proc)
        ids = populate(devnet["gateway"], modules)
        if capture is not None and capture["ids"] != ids:
            raise SystemExit("the devnet made different ids than the capture's: the scenario or devnet changed")
        reqs = requests_for(ids)
        wallet = work / "wallet.json"
        subprocess.run([sys.executable, "-m", "aocu", "wallet", "new", "-o", str(wallet)], env=python_env(),
                       check=True, stdout=subprocess.DEVNULL)
        if capture is None:
            assert ref_dir is not None
            ref_proc, ref_url = start_reference(ref_dir, devnet, wallet, work)
            procs.append(ref_proc)
            ref_answers = run_list(ref_url, reqs, ids)
            stop(ref_proc)
            args.capture.write_text(json.dumps({
                "version": CAPTURE_VERSION, "clock_start_ms": CLOCK_START_MS, "ids": ids,
                "settings": SETTINGS, "worker_program": worker_program(ref_dir),
                "exchanges": [{"name": r.name, "method": r.method, "path": r.path, "request_body": r.body,
                               "request_headers": r.headers, **a} for r, a in zip(reqs, ref_answers, strict=True)],
            }, indent=1, ensure_ascii=False))
            print(f"reference answers saved to {args.capture}")
        else:
            names = [e["name"] for e in capture["exchanges"]]
            if names != [r.name for r in reqs]:
                raise SystemExit("the capture's request list differs from this tool's; re-capture")
            ref_answers = capture["exchanges"]
        program = capture["worker_program"] if capture is not None else worker_program(ref_dir)
        aocu_proc, aocu_url = start_aocu(devnet, wallet, work, program)
        procs.append(aocu_proc)
        ours = run_list(aocu_url, reqs, ids)
        (work / "aocu-answers.json").write_text(json.dumps(ours, indent=1, ensure_ascii=False))
        return report(reqs, ref_answers, ours, replay=capture is not None)
    finally:
        for proc in reversed(procs):
            stop(proc)
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
