"""kill -9 during a long evaluation, then restart: every stored result equals a clean run's.

A CU child process evaluates a 200-message stream from the devnet (served by this test
process) and is killed with SIGKILL at several points; a CU restarted on the same state
directory finishes the stream. Its rows must equal, key for key and byte for byte, the
rows of a CU that ran once without interruption: nothing lost, nothing duplicated.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import apsw
import trio

from aocu.devnet import DevnetConfig, open_devnet

from .test_pipeline_devnet import MODULES

CHILD = """
import json, sys, trio
from pathlib import Path
from tests.integration.test_pipeline_devnet import open_cu

class Net:
    class urls:
        env = json.loads(sys.argv[1])
        @classmethod
        def cu_env(cls): return cls.env

async def main():
    async with open_cu(Net, Path(sys.argv[2])) as cu:
        await cu.read_result(sys.argv[3], sys.argv[4])

trio.run(main)
"""


def rows(state: Path) -> list[tuple[str, str]]:
    db = apsw.Connection(str(state / "cu.sqlite"))
    try:
        return [(k, o) for k, o in db.execute("SELECT key, output FROM evaluations ORDER BY key")]
    finally:
        db.close()


ROOT = Path(__file__).resolve().parents[2]


async def run_child(env: dict[str, str], state: Path, pid: str, mid: str, kill_after: float | None) -> int:
    proc = await trio.lowlevel.open_process([sys.executable, "-c", CHILD, json.dumps(env), str(state), pid, mid],
                                            cwd=ROOT)
    if kill_after is not None:
        with trio.move_on_after(kill_after):
            await proc.wait()
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
    return await proc.wait()


async def test_kill_minus_nine_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),
                                             module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module)
        codes = ["Counter = (Counter or 0) + 1 return Counter", "error('every seventh fails')"]
        mids = [await devnet.send(pid, data=codes[n % 7 == 6], tags={"Action": "Eval"}) for n in range(200)]
        env = devnet.urls.cu_env()

        started = trio.current_time()                  # a clean run first: it also times one
        assert await run_child(env, tmp_path / "clean", pid, mids[-1], kill_after=None) == 0
        clean_s = trio.current_time() - started
        interrupted = tmp_path / "interrupted"
        killed, partial = 0, []
        for fraction in (0.55, 0.7, 0.85, 0.95):      # kills land mid-run on fast and slow machines
            if await run_child(env, interrupted, pid, mids[-1], kill_after=clean_s * fraction) == -signal.SIGKILL:
                killed += 1
                if (interrupted / "cu.sqlite").exists():
                    partial.append(len(rows(interrupted)))
        assert await run_child(env, interrupted, pid, mids[-1], kill_after=None) == 0

    assert killed >= 1, "no run was killed: make the stream longer"
    print("rows after each kill:", partial)
    clean = rows(tmp_path / "clean")
    assert len(clean) == 201                       # the process message and every message
    assert rows(interrupted) == clean
