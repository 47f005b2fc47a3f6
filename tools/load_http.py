"""Load test: many concurrent clients reading ``/result`` of many processes from ``aocu serve``.

Usage::

    .venv/bin/python tools/load_http.py [--processes 20] [--messages 10] [--connections 1,20,200]
                                        [--seconds 15] [--think-ms 0] [--generator auto|wrk|python]

Sets up what issue 5's load target describes, each piece in its own process:

1. ``aocu devnet serve`` (a local SU and gateway) in a subprocess;
2. ``aocu serve`` (the real CU: pipeline, apsw stores, HTTP) in another, pointed at that devnet,
   logging at the default level unless ``--log-level`` says otherwise;
3. publishes a Lua module, spawns ``--processes`` processes and schedules ``--messages`` messages
   each, then warms: every message's ``/result`` is requested once with ``no-busy`` (evaluates
   and stores it) and once more (so every later read is a *repeat*: an answer from the store or
   the result cache, reference-cu.md §1.10);
4. drives the CU with ``wrk`` (a C load generator; ``apt-get install wrk``) and a Lua script that
   spreads requests over all stored message ids, for each ``--connections`` count, and prints
   wrk's latency distribution, requests/s and every error it counted, the CU process's CPU time
   per request (all threads; robust to other work on the machine, unlike latency) and the load
   average. ``--think-ms`` makes each connection wait a random (exponential) time between an
   answer and its next request, i.e. independent clients polling at a given rate, instead of
   the closed loop where every connection always has a request in flight. Without wrk (or with
   ``--generator python``) an httpx generator in this process does the same, at much lower
   throughput: it competes with the CU for the CPU.

Exit status 1 when any request failed (socket error, timeout or a status other than 200).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import trio

from aocu.cli.serve import _prepare_devnet_dir
from aocu.devnet import DevnetUrls

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "tests/fixtures/modules/lua_process_gen2.wasm"
STARTUP_TIMEOUT_S = 60.0

# wrk's script: a random stored /result path per request; at the end one JSON line with the
# latency percentiles (µs), request count and the errors wrk counted (status = non-2xx/3xx).
WRK_SCRIPT = """
local paths = {%(paths)s}
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
%(delay)sdone = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,"status":%%d,'
    .. '"timeout":%%d,"p50":%%d,"p90":%%d,"p99":%%d,"p999":%%d,"max":%%d,"mean":%%.1f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
"""


@dataclass
class Figures:
    connections: int
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    note: str = ""
    cu_cpu_s: float = float("nan")

    def line(self) -> str:
        cpu_ms = self.cu_cpu_s * 1000 / self.requests if self.requests else float("nan")
        return (f"{self.connections:>4} conns  {self.requests / self.seconds:6.0f} req/s  errors {self.errors}  "
                f"p50 {self.p50_ms:7.2f} ms  p90 {self.p90_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms  "
                f"p99.9 {self.p999_ms:7.2f} ms  max {self.max_ms:7.2f} ms  CU CPU {cpu_ms:.3f} ms/req  "
                f"load {os.getloadavg()[0]:.1f}{self.note}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _aocu(*args: str, env: dict[str, str], stdout: int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "aocu", *args], stdout=stdout, stderr=subprocess.DEVNULL,
                            env=env, cwd=ROOT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _wait_for_file(path: Path, proc: subprocess.Popen[bytes]) -> None:
    with trio.fail_after(STARTUP_TIMEOUT_S):
        while not await trio.Path(path).exists():
            if proc.poll() is not None:
                raise SystemExit(f"{proc.args} exited with {proc.returncode}")
            await trio.sleep(0.1)


async def _populate(gateway: str, processes: int, messages: int) -> list[tuple[str, str]]:
    """Publish the module, spawn the processes, schedule the messages: (process id, message id)."""
    targets = []
    async with httpx.AsyncClient(base_url=f"{gateway}/_devnet", timeout=60) as admin:
        module = (await admin.post("/modules", params={"format": "wasm32-unknown-emscripten2"},
                                   content=MODULE.read_bytes())).json()["id"]
        for _ in range(processes):
            pid = (await admin.post("/processes", json={"module": module})).json()["id"]
            for _ in range(messages):
                body = {"process": pid, "data": "x", "tags": [{"name": "Action", "value": "Count"}]}
                targets.append((pid, (await admin.post("/messages", json=body)).json()["id"]))
    return targets


async def _warm(base: str, targets: Sequence[tuple[str, str]]) -> None:
    """Evaluate and store every target (``no-busy`` waits), then read each once more."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        with trio.fail_after(STARTUP_TIMEOUT_S):
            while True:
                try:
                    if (await http.get("/")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await trio.sleep(0.1)
        for params in ({"no-busy": "1"}, {}):
            async with trio.open_nursery() as nursery:
                for pid, mid in targets:
                    nursery.start_soon(_expect_ok, http, mid, {"process-id": pid, **params})


async def _expect_ok(http: httpx.AsyncClient, mid: str, params: dict[str, str]) -> None:
    r = await http.get(f"/result/{mid}", params=params)
    if r.status_code != 200:
        raise SystemExit(f"warming /result/{mid}: {r.status_code} {r.text[:200]}")


def _path(pid: str, mid: str) -> str:
    return f"/result/{mid}?process-id={pid}"


def run_wrk(base: str, targets: Sequence[tuple[str, str]], connections: int, seconds: float,
            threads: int, think_ms: int, script_dir: Path) -> Figures:
    script = script_dir / "result.lua"
    # Exponential think times (clients polling independently); equal delays would keep every
    # connection in step and measure bursts of `connections` requests at once.
    delay = f"delay = function() return math.floor(-{think_ms} * math.log(1 - math.random())) end\n" \
        if think_ms else ""
    script.write_text(WRK_SCRIPT % {"paths": ",".join(json.dumps(_path(p, m)) for p, m in targets), "delay": delay})
    threads = max(1, min(threads, connections))
    duration = f"{max(1, round(seconds))}s"      # wrk takes whole seconds only
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", duration, "--latency",
                          "--timeout", "10s", "-s", str(script), base],
                         capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    s = json.loads(line.removeprefix("WRKJSON "))
    errors = s["connect"] + s["read"] + s["write"] + s["status"] + s["timeout"]
    detail = {k: s[k] for k in ("connect", "read", "write", "status", "timeout") if s[k]}
    return Figures(connections, s["requests"], s["duration_us"] / 1e6, errors, s["p50"] / 1000, s["p90"] / 1000,
                   s["p99"] / 1000, s["p999"] / 1000, s["max"] / 1000,
                   f"  ({detail})" if detail else "")


async def run_python(base: str, targets: Sequence[tuple[str, str]], connections: int, seconds: float,
                     think_ms: int) -> Figures:
    """The fallback generator: ``connections`` httpx clients in this process (CPU-bound here)."""
    latencies: list[float] = []
    errors: list[str] = []
    rng = random.Random(7)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        deadline = trio.current_time() + seconds

        async def client() -> None:
            while trio.current_time() < deadline:
                t0 = time.perf_counter()
                try:
                    r = await http.get(_path(*rng.choice(targets)))
                    if r.status_code != 200:
                        errors.append(f"{r.status_code} {r.text[:100]}")
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))
                latencies.append(time.perf_counter() - t0)
                if think_ms:
                    await trio.sleep(rng.expovariate(1000 / think_ms))

        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(connections):
                nursery.start_soon(client)
        elapsed = time.perf_counter() - started
    xs = sorted(latencies)

    def pct(p: float) -> float:
        return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000 if xs else float("nan")

    return Figures(connections, len(xs), elapsed, len(errors), pct(0.5), pct(0.9), pct(0.99), pct(0.999),
                   xs[-1] * 1000 if xs else float("nan"), f"  (first error: {errors[0]})" if errors else "")


async def main(args: argparse.Namespace) -> int:
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    tmp = Path(tempfile.mkdtemp(prefix="aocu-load-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    devnet = _aocu("devnet", "serve", "--dir", str(tmp / "network"), "--port", "0", env=env)
    cu: subprocess.Popen[bytes] | None = None
    try:
        await _wait_for_file(tmp / "network" / "devnet.json", devnet)
        urls = json.loads((tmp / "network" / "devnet.json").read_text())
        cu_env = {**env, **DevnetUrls(su=urls["su"], gateway=urls["gateway"]).cu_env()}
        _prepare_devnet_dir(tmp, cu_env)
        if args.log_level:
            cu_env["DEFAULT_LOG_LEVEL"] = args.log_level
        cu = _aocu("serve", "--host", "127.0.0.1", "--port", str(args.port), env=cu_env)
        targets = await _populate(urls["gateway"], args.processes, args.messages)
        base = f"http://127.0.0.1:{args.port}"
        await _warm(base, targets)
        print(f"CU pid {cu.pid}; {len(targets)} stored results ({args.processes} processes x {args.messages}); "
              f"generator {generator}; {args.seconds:g} s per run", flush=True)
        failed = False
        for connections in args.connections:
            cpu = _cpu_seconds(cu.pid)
            if generator == "wrk":
                figures = await trio.to_thread.run_sync(run_wrk, base, targets, connections, args.seconds,
                                                        args.threads, args.think_ms, tmp)
            else:
                figures = await run_python(base, targets, connections, args.seconds, args.think_ms)
            figures.cu_cpu_s = _cpu_seconds(cu.pid) - cpu
            print(figures.line(), flush=True)
            failed = failed or figures.errors > 0
        if cu.poll() is not None:
            print(f"the CU exited with {cu.returncode}")
            failed = True
        return 1 if failed else 0
    finally:
        if cu is not None:
            _stop(cu)
        _stop(devnet)
        shutil.rmtree(tmp, ignore_errors=True)


def _counts(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10, help="messages per process")
    parser.add_argument("--connections", type=_counts, default=[1, 20, 200],
                        help="comma-separated concurrent connection counts, one run each (default 1,20,200)")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (capped at the connections)")
    parser.add_argument("--think-ms", type=int, default=0,
                        help="mean wait of each connection between an answer and its next request "
                             "(exponentially distributed; default 0: closed loop, every connection always "
                             "has a request in flight)")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--log-level", default=None,
                        help="the CU's DEFAULT_LOG_LEVEL (default: the CU's own default)")
    parser.add_argument("--port", type=int, default=6391)
    sys.exit(trio.run(main, parser.parse_args()))
