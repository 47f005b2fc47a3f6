"""Run the loader-diff scenarios through aocu.wasm and diff them against record.cjs's recordings.

    AO_TEST_MODULES=/path/to/ao .venv/bin/python tools/loader_diff/compare.py \
        [--golden DIR] [--memdump DIR] [--save DIR] [-v] [scenario.json | name ...]

--golden DIR   recordings written by record.cjs (default $AOCU_LOADER_GOLDEN or /work/loader-golden)
--memdump DIR  memory dumps from `record.cjs --dump-memory DIR`; where a memory hash differs, print
               the first differing offsets
--save DIR     write aocu's own records (same shape as the recordings) for inspection
-v             print every differing message, not only the first one per scenario
-s             one line per differing message (fields that differ)

Exit code 0 when every recorded field matches, 1 on any difference, 2 on a usage error.

Messages are evaluated with the CU's policy, exactly as record.cjs does: the instance continues
while results are good; after a thrown error or a result with a truthy Error the instance is
dropped and the next message runs on `module.instantiate(previous good memory)`.

Values are compared as JSON.stringify would print them (number formatting, key order of
integer-like keys, lone surrogates), so a Python int that JS would have rounded to a double
shows up as a difference. A missing key and a None value are the same ("absent").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
RESULT_FIELDS = ("Output", "Messages", "Spawns", "Assignments", "Patches", "Error", "GasUsed")
ABSENT = "<absent>"


# ------------------------------------------------------------------ JSON.stringify, in Python
def js_number(x: float | int) -> str:
    """Number.prototype.toString / JSON.stringify for a double (ints are printed exactly)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if math.isnan(x) or math.isinf(x):
        return "null"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    _, digits_t, exp = Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, digits_t))
    # value = int(digits) * 10**exp; Python's repr and V8 both give the shortest round-trip digits
    stripped = digits.rstrip("0")
    exp = int(exp) + len(digits) - len(stripped)
    stripped = stripped.lstrip("0")
    s, k = stripped, len(stripped)
    n = exp + k
    if k <= n <= 21:
        out = s + "0" * (n - k)
    elif 0 < n <= 21:
        out = s[:n] + "." + s[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + s
    else:
        e = n - 1
        es = ("+" if e >= 0 else "-") + str(abs(e))
        out = (s if k == 1 else s[0] + "." + s[1:]) + "e" + es
    return sign + out


_ESC = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESC = re.compile(r'["\\\x00-\x1f\ud800-\udfff]')


def _js_string(s: str) -> str:
    def esc(m: re.Match) -> str:
        c = m.group(0)
        return _ESC.get(c) or f"\\u{ord(c):04x}"
    # surrogate pairs arrive from Python as one code point, so any surrogate here is lone
    return '"' + _NEEDS_ESC.sub(esc, s) + '"'


_INDEX_KEY = re.compile(r"^(0|[1-9][0-9]*)$")


def _js_key_order(keys: list[str]) -> list[str]:
    idx = sorted((k for k in keys if _INDEX_KEY.match(k) and int(k) < 2**32 - 1), key=int)
    seen = set(idx)
    return idx + [k for k in keys if k not in seen]


def js_json(v: Any) -> str:
    """JSON.stringify(v) for JSON-shaped Python values (dict/list/str/int/float/bool/None)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return js_number(v)
    if isinstance(v, str):
        return _js_string(v)
    if isinstance(v, bytes | bytearray):
        return _js_string(v.decode("utf-8", "replace")) + "/*bytes*/"
    if isinstance(v, list | tuple):
        return "[" + ",".join(js_json(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = [str(k) for k in v]
        vals = {str(k): x for k, x in v.items()}
        return "{" + ",".join(_js_string(k) + ":" + js_json(vals[k]) for k in _js_key_order(keys)) + "}"
    return f"<unserializable {type(v).__name__}: {v!r}>"


def show(v: Any, limit: int = 300) -> str:
    s = ABSENT if v is ABSENT else js_json(v)
    return s if len(s) <= limit else s[:limit] + f"... ({len(s)} chars)"


# ------------------------------------------------------------------ scenarios and recordings
def default_golden_dir() -> Path:
    return Path(os.environ.get("AOCU_LOADER_GOLDEN", "/work/loader-golden"))


def load_scenarios(selectors: list[str] | None = None) -> list[tuple[Path, dict]]:
    files = sorted(SCENARIOS.glob("*.json"))
    out = []
    for f in files:
        s = json.loads(f.read_text())
        if selectors and not any(sel in (f.name, f.stem, str(f)) or sel in f.stem for sel in selectors):
            continue
        out.append((f, s))
    for sel in selectors or []:
        p = Path(sel)
        if p.suffix == ".json" and p.exists() and p.resolve().parent != SCENARIOS:
            out.append((p, json.loads(p.read_text())))
    return out


def scenario_name(path: Path, s: dict) -> str:
    return s.get("name") or path.stem


class DictDataSource:
    """WeaveDrive data for a scenario: txid -> bytes (the same bytes record.cjs serves).

    Implements aocu.wasm's `WeaveDriveSource` protocol (admissible, size, read). record.cjs runs
    the reference drive (@permaweb/weavedrive) in `mode: 'test'`, which admits every id, so
    `admissible` is always true. `weavedrive_extensions` is the one place to adapt if the
    host's extension API changes.
    """

    def admissible(self, tx_id: str, block_height: Any) -> bool:
        return True

    def __init__(self, files: dict[str, Any]):
        self.files = {k: (v.encode() if isinstance(v, str) else bytes.fromhex(v["hex"]) if "hex" in v
                          else __import__("base64").b64decode(v["base64"])) for k, v in files.items()}

    def __contains__(self, txid: str) -> bool:
        return txid in self.files

    def __getitem__(self, txid: str) -> bytes:
        return self.files[txid]

    def get(self, txid: str, default: bytes | None = None) -> bytes | None:
        return self.files.get(txid, default)

    def size(self, txid: str) -> int | None:
        b = self.files.get(txid)
        return None if b is None else len(b)

    def read(self, txid: str, offset: int, length: int) -> bytes:
        return self.files[txid][offset:offset + length]


def weavedrive_extensions(scenario: dict) -> dict | None:
    wd = scenario.get("weavedrive")
    if not wd:
        return None
    return {"WeaveDrive": DictDataSource(wd.get("files", {}))}


# ------------------------------------------------------------------ running through aocu.wasm
def expected_kind(threw: dict) -> str | None:
    if threw.get("type") == "exit":
        return "exit"
    if threw.get("type") == "value":
        return "response"
    if threw.get("message") == "out of gas!":
        return "out-of-gas"
    return None


def run_host(scenario: dict, modules_dir: Path, memory_hook=None) -> list[dict]:
    from aocu.wasm import HandleError, load_module

    binary = (modules_dir / scenario["module"]).read_bytes()
    opts = scenario.get("options") or {}
    kwargs: dict[str, Any] = {}
    if "computeLimit" in opts:
        kwargs["compute_limit"] = opts["computeLimit"]
    if "memoryLimit" in opts:
        kwargs["memory_limit"] = opts["memoryLimit"]
    ext = weavedrive_extensions(scenario)
    if ext:
        kwargs["extensions"] = ext
    module = load_module(binary, scenario["format"], **kwargs)
    init = scenario.get("initial_memory_utf8")
    prev: bytes | None = init.encode() if init is not None else None
    instance = None
    records: list[dict] = []
    for i, step in enumerate(scenario["messages"]):
        if step.get("new_instance"):
            instance = None
        fresh = instance is None
        t0 = time.perf_counter()
        try:
            if instance is None:
                instance = module.instantiate(prev)
            res = instance.handle(step["msg"], step["env"])
        except HandleError as e:
            records.append({"i": i, "fresh_instance": fresh, "ok": False,
                            "threw": {"value": e.value, "kind": getattr(e, "kind", None)},
                            "next": "reinstantiate", "ms": (time.perf_counter() - t0) * 1000})
            instance = None
            continue
        except Exception as e:  # any other exception is a host bug worth a row
            records.append({"i": i, "fresh_instance": fresh, "ok": False,
                            "host_exception": f"{type(e).__name__}: {e}",
                            "next": "reinstantiate", "ms": (time.perf_counter() - t0) * 1000})
            instance = None
            continue
        ms = (time.perf_counter() - t0) * 1000
        mem = instance.memory_snapshot()
        if memory_hook is not None:
            memory_hook(i, mem)
        r = {"i": i, "fresh_instance": fresh, "ok": True}
        for k in RESULT_FIELDS:
            if res.get(k) is not None:
                r[k] = res[k]
        r["MemoryLength"] = len(mem)
        r["MemorySha256"] = hashlib.sha256(mem).hexdigest()
        r["ms"] = ms
        if res.get("Error"):
            r["next"] = "reinstantiate"
            instance = None
        elif _output_text(res).endswith("not enough memory for buffer allocation"):
            # The CU keeps the instance and copies the previous memory over it; the public host
            # API has no such operation, so this re-instantiates (may differ: see README).
            r["next"] = "restore-previous-memory"
            instance = None
        else:
            r["next"] = "continue"
            prev = mem
        records.append(r)
    return records


def _output_text(res: dict) -> str:
    o = res.get("Output") or ""
    if isinstance(o, str):
        return o
    if isinstance(o, bool):
        return ""
    if isinstance(o, int | float):
        return js_number(o)
    if isinstance(o, dict):
        v = (o.get("data") or {}).get("output") if isinstance(o.get("data"), dict) else None
        return v if isinstance(v, str) else ""
    return ""


# ------------------------------------------------------------------ diffing
@dataclass
class Diff:
    index: int
    field: str
    expected: str
    got: str
    note: str = ""


@dataclass
class ScenarioReport:
    name: str
    fmt: str
    messages: int
    recorded: int = 0
    compared: int = 0
    diffs: list[Diff] = field(default_factory=list)
    node_ms: float = 0.0
    host_ms: float = 0.0
    error: str | None = None

    @property
    def differing_messages(self) -> list[int]:
        return sorted({d.index for d in self.diffs})


def _val(rec: dict, k: str) -> Any:
    v = rec.get(k, ABSENT)
    return ABSENT if v is None else v


def diff_records(expected: list[dict], got: list[dict], compare_memory: bool = True) -> list[Diff]:
    diffs: list[Diff] = []
    for e, g in zip(expected, got, strict=False):
        i = e["i"]
        if e.get("hang"):
            diffs.append(Diff(i, "hang", "no result (recording timed out)", "ok" if g.get("ok") else "threw",
                              "the reference never settled; scenario ends"))
            break
        if "host_exception" in g:
            exp = "result" if e.get("ok") else show(e.get("threw"))
            diffs.append(Diff(i, "exception", exp, g["host_exception"], "not a HandleError"))
            continue
        if e.get("ok") != g.get("ok"):
            exp = "result" if e.get("ok") else "threw " + show(e.get("threw"))
            gv = ("result" if g.get("ok")
                  else "threw " + show(g["threw"]["value"]) + f" (kind {g['threw']['kind']})")
            if g.get("ok"):
                gv += f"; Error={show(_val(g, 'Error'), 120)} Output={show(_val(g, 'Output'), 120)}"
            if e.get("ok"):
                exp += f"; Error={show(_val(e, 'Error'), 120)} Output={show(_val(e, 'Output'), 120)}"
            diffs.append(Diff(i, "ok/threw", exp, gv))
            continue
        if not e.get("ok"):
            t = e["threw"]
            want = t.get("value") if t.get("type") == "value" else t.get("message")
            gv = g["threw"]["value"]
            if js_json(want) != js_json(gv):
                note = f"reference threw {t.get('type')} {t.get('name', '')}"
                diffs.append(Diff(i, "thrown", show(want), show(gv), note))
            kind = expected_kind(t)
            if kind and g["threw"].get("kind") not in (kind, None):
                diffs.append(Diff(i, "thrown.kind", kind, str(g["threw"].get("kind"))))
            continue
        for k in RESULT_FIELDS:
            ev, gv = _val(e, k), _val(g, k)
            es = ABSENT if ev is ABSENT else js_json(ev)
            gs = ABSENT if gv is ABSENT else js_json(gv)
            if es != gs:
                diffs.append(Diff(i, k, show(ev), show(gv)))
        if compare_memory:
            if e.get("MemoryLength") != g.get("MemoryLength"):
                diffs.append(Diff(i, "MemoryLength", str(e.get("MemoryLength")), str(g.get("MemoryLength"))))
            if e.get("MemorySha256") != g.get("MemorySha256"):
                diffs.append(Diff(i, "MemorySha256", str(e.get("MemorySha256"))[:16],
                                  str(g.get("MemorySha256"))[:16]))
        if e.get("next") != g.get("next"):
            diffs.append(Diff(i, "next", str(e.get("next")), str(g.get("next")), "CU policy diverged"))
    if len(got) < len(expected) and not any(d.field == "hang" for d in diffs):
        diffs.append(Diff(len(got), "count", str(len(expected)), str(len(got))))
    return diffs


def memdump_detail(dump_dir: Path, name: str, i: int, host_mem: bytes) -> str:
    p = dump_dir / f"{name}.{i}.bin"
    if not p.exists():
        return ""
    ref = p.read_bytes()
    n = min(len(ref), len(host_mem))
    ranges = []
    j = 0
    # compare in 4 KiB blocks first, then bytes inside differing blocks
    while j < n and len(ranges) < 8:
        if ref[j:j + 4096] == host_mem[j:j + 4096]:
            j += 4096
            continue
        end = min(j + 4096, n)
        k = j
        while k < end:
            if ref[k] != host_mem[k]:
                s = k
                while k < end and ref[k] != host_mem[k]:
                    k += 1
                ranges.append((s, k))
                if len(ranges) >= 8:
                    break
            k += 1
        j = end
    total = sum(1 for a, b in zip(ref, host_mem, strict=False) if a != b) if n <= 64 << 20 else -1
    parts = ", ".join(
        f"[{a:#x}..{b:#x}) ref={ref[a:min(b, a + 8)].hex()} got={host_mem[a:min(b, a + 8)].hex()}"
        for a, b in ranges)
    return f"{total} differing bytes; first ranges: {parts}"


def compare_scenario(path: Path, scenario: dict, golden_dir: Path, modules_dir: Path,
                     save_dir: Path | None = None,
                     memdump_dir: Path | None = None) -> tuple[ScenarioReport, list[dict], list[dict]]:
    name = scenario_name(path, scenario)
    rep = ScenarioReport(name, scenario["format"], len(scenario["messages"]))
    gpath = golden_dir / f"{name}.json"
    if not gpath.exists():
        rep.error = f"no recording {gpath}"
        return rep, [], []
    golden = json.loads(gpath.read_text())
    expected = golden["results"]
    rep.recorded = len(expected)
    details: dict[int, str] = {}

    def hook(i: int, mem: bytes) -> None:
        if memdump_dir is None or i >= len(expected):
            return
        if expected[i].get("MemorySha256") != hashlib.sha256(mem).hexdigest():
            details[i] = memdump_detail(memdump_dir, name, i, mem)

    try:
        got = run_host(scenario, modules_dir, hook)
    except Exception as e:  # load_module / instantiate failures are reported per scenario
        rep.error = f"{type(e).__name__}: {e}"
        return rep, expected, []
    if save_dir:
        save_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"name": name, "results": got}, indent=1, default=repr)
        (save_dir / f"{name}.json").write_text(text)
    rep.compared = min(len(expected), len(got))
    rep.diffs = diff_records(expected, got, scenario.get("compare", {}).get("memory", True))
    for d in rep.diffs:
        if d.field == "MemorySha256" and details.get(d.index):
            d.note = details[d.index]
    rep.node_ms = sum(r.get("ms", 0) for r in expected)
    rep.host_ms = sum(r.get("ms", 0) for r in got)
    return rep, expected, got


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenarios", nargs="*", help="scenario files or names (substring match); default: all")
    ap.add_argument("--golden", type=Path, default=default_golden_dir())
    ap.add_argument("--memdump", type=Path)
    ap.add_argument("--save", type=Path)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-s", "--summary", action="store_true", help="one line per differing message")
    args = ap.parse_args(argv)
    mods = os.environ.get("AO_TEST_MODULES")
    if not mods:
        print("AO_TEST_MODULES is not set", file=sys.stderr)
        return 2
    scen = load_scenarios(args.scenarios)
    if not scen:
        print("no scenarios selected", file=sys.stderr)
        return 2
    any_diff = False
    rows = []
    for path, s in scen:
        rep, _exp, _got = compare_scenario(path, s, args.golden, Path(mods), args.save, args.memdump)
        if rep.error or rep.diffs:
            any_diff = True
        if rep.error:
            status, first = "ERROR", rep.error
        elif not rep.diffs:
            status, first = "MATCH", ""
        else:
            d0 = rep.diffs[0]
            fields = sorted({d.field for d in rep.diffs if d.index == d0.index})
            status = f"DIFF {len(rep.differing_messages)}/{rep.compared}"
            first = f"#{d0.index} {','.join(fields)}"
        rows.append((rep.name, rep.fmt, f"{rep.compared}/{rep.messages}", status, first,
                     f"{rep.node_ms / 1000:.1f}s", f"{rep.host_ms / 1000:.1f}s"))
        print(f"{rep.name:<22} {rep.fmt:<52} {status:<12} {first}", flush=True)
        if args.summary:
            for i in rep.differing_messages:
                fields = ",".join(d.field for d in rep.diffs if d.index == i)
                msg = s["messages"][i].get("msg", {}) if i < len(s["messages"]) else {}
                data = msg.get("Data") if isinstance(msg, dict) else None
                print(f"    #{i} {fields}   Data={show(data, 90) if data is not None else ''}")
        shown = rep.diffs if args.verbose else [d for d in rep.diffs if d.index == rep.diffs[0].index]
        for d in shown:
            msg = s["messages"][d.index] if d.index < len(s["messages"]) else {}
            data = msg.get("msg", {}).get("Data") if isinstance(msg.get("msg"), dict) else None
            print(f"    #{d.index} {d.field}: expected {d.expected}")
            print(f"    #{d.index} {d.field}:      got {d.got}" + (f"   ({d.note})" if d.note else ""))
            if data is not None and d.field != "MemorySha256":
                print(f"       message Data: {show(data, 160)}")
    print()
    hdr = ("scenario", "format", "msgs", "status", "first diff", "node", "aocu")
    w = [max(len(r[c]) for r in [*rows, hdr]) for c in range(7)]
    print("  ".join(h.ljust(w[c]) for c, h in enumerate(hdr)))
    for r in rows:
        print("  ".join(x.ljust(w[c]) for c, x in enumerate(r)))
    total = sum(int(r[2].split("/")[0]) for r in rows)
    bad = sum(1 for r in rows if r[3] != "MATCH")
    print(f"\n{len(rows)} scenarios, {total} messages compared, {bad} scenarios with differences")
    return 1 if any_diff else 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))
    sys.exit(main())
