"""`aocu.app.run_cu` (signals, graceful stop, log levels) and the ``aocu serve``/``aocu watch`` commands."""

from __future__ import annotations

import argparse
import errno
import io
import json
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio
import trio.testing

from aocu.__main__ import build_parser
from aocu.app import LogLevels, configure_logging, run_cu, watch_log_level
from aocu.cli import serve as serve_cli
from aocu.cli.watch import progress_url, watch
from aocu.config import Config, LogConfig
from aocu.pipeline._events import StreamFinished
from aocu.testing import (
    FakeComputeUnitApi,
    open_fake_api,
    open_test_server,
    test_wallet_jwk,
    wait_until,
)


def cu_config(tmp_path: Path, **env: str) -> Config:
    return Config.from_env({"WALLET": test_wallet_jwk(), "HOST": "127.0.0.1", "PORT": "0",
                            "LOG_CONFIG_PATH": str(tmp_path / ".loglevel"), "AOCU_SHUTDOWN_GRACE_S": "5",
                            "DEFAULT_LOG_LEVEL": "error", **env})


class Factory:
    """An api_factory that keeps the fake it opened, for the test to steer."""

    def __init__(self) -> None:
        self.api: FakeComputeUnitApi | None = None
        self.closed = False

    @asynccontextmanager
    async def __call__(self, config: Config) -> AsyncIterator[FakeComputeUnitApi]:
        async with open_fake_api(address=config.wallet.address) as api:
            self.api = api
            yield api
        self.closed = True


async def test_run_cu_serves_logs_stats_checkpoints_on_sigusr2_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    config = cu_config(tmp_path, DEFAULT_LOG_LEVEL="info", MEM_MONITOR_INTERVAL="20")
    factory = Factory()
    log = io.StringIO()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(run_cu, config, factory, log_stream=log))
        api = factory.api
        assert api is not None
        api.results["P", "M"] = {"Messages": [], "Assignments": [], "Spawns": [], "Output": "late"}
        api.gate = trio.Event()
        async with httpx.AsyncClient(base_url=binds[0], timeout=10) as http:
            identity = await http.get("/")
            assert identity.json()["address"] == config.wallet.address

            await wait_until(lambda: "[info]: Stats Usage: {" in log.getvalue())
            os.kill(os.getpid(), signal.SIGUSR2)
            await wait_until(lambda: api.checkpoints > 0)

            answers: list[httpx.Response] = []

            async def in_flight() -> None:
                answers.append(await http.get("/result/M", params={"process-id": "P"}))

            nursery.start_soon(in_flight)
            await wait_until(lambda: api.calls_to("read_result"))
            os.kill(os.getpid(), signal.SIGTERM)           # stop accepting, let the request finish
            await trio.sleep(0.1)
            with pytest.raises(httpx.TransportError):
                await httpx.AsyncClient(timeout=2).get(binds[0] + "/")
            api.gate.set()
            await wait_until(lambda: answers)
    assert [a.status_code for a in answers] == [200]
    assert answers[0].json()["Output"] == "late"
    assert factory.closed
    assert "[info]: Received SIGTERM. Gracefully shutting down server..." in log.getvalue()


async def test_run_cu_without_a_pipeline_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import aocu.pipeline

    monkeypatch.delattr(aocu.pipeline, "open_compute_unit", raising=False)
    with pytest.raises(RuntimeError, match="pipeline"):
        await run_cu(cu_config(tmp_path))


async def test_the_log_level_follows_the_loglevel_file(tmp_path: Path) -> None:
    out = io.StringIO()
    levels = configure_logging(LogConfig(default_level="info", config_path=str(tmp_path / "level")), out)
    logger = logging.getLogger("aocu.http")
    async with trio.open_nursery() as nursery:
        await nursery.start(partial(watch_log_level, LogConfig(default_level="info",
                                                               config_path=str(tmp_path / "level")),
                                    levels, poll_s=0.01))
        logger.debug("hidden")
        (tmp_path / "level").write_text(" debug\n")
        await wait_until(lambda: levels.level == "debug")
        logger.debug("shown")
        (tmp_path / "level").unlink()                 # missing file: back to DEFAULT_LOG_LEVEL
        await wait_until(lambda: levels.level == "info")
        nursery.cancel_scope.cancel()
    levels.restore()
    text = out.getvalue()
    assert "hidden" not in text and "shown" in text
    assert 'Logger Configuration Change: updating log level "info" -> "debug"' in text
    line = next(line for line in text.splitlines() if "shown" in line)
    assert ":http [debug]: shown" in line and line.split(" ")[1].startswith("ao-cu:")


def test_log_levels_are_npms() -> None:
    out = io.StringIO()
    levels = configure_logging(LogConfig(default_level="warn"), out)
    logger = logging.getLogger("aocu.test")
    logger.info("quiet")
    logger.warning("loud")
    levels.set("off")
    logger.error("silenced")
    levels.restore()
    assert isinstance(levels, LogLevels)
    assert logging.getLogger("aocu").propagate
    lines = out.getvalue().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "[warn]: loud", '[error]: Logger Configuration Change: updating log level "warn" -> "off"']


def test_the_cli_has_serve_and_watch() -> None:
    parser = build_parser()
    args = parser.parse_args(["serve", "--port", "0"])
    assert args.func is serve_cli.run and args.port == 0
    args = parser.parse_args(["watch", "pid", "--url", "http://cu:6363"])
    assert args.process_id == "pid"


def test_serve_refuses_a_bad_configuration(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    monkeypatch.setenv("WALLET", test_wallet_jwk())
    monkeypatch.setenv("UNIT_MODE", "xu")
    args = argparse.Namespace(env_file=tmp_path / "none.env", host=None, port=None)
    assert serve_cli.run(args) == 2
    assert "UNIT_MODE" in capsys.readouterr().err


def test_serve_devnet_restarts_on_its_previous_ports(tmp_path: Path) -> None:
    """The CU caches each process's SU URL for a day: a restarted devnet must come back where it was."""
    state = tmp_path / "devnet.json"
    assert serve_cli._previous_ports(state) == (0, 0)           # first run: any free ports
    with socket.socket() as su, socket.socket() as gateway:
        su.bind(("127.0.0.1", 0))
        gateway.bind(("127.0.0.1", 0))
        su_port, gateway_port = su.getsockname()[1], gateway.getsockname()[1]
        state.write_text(json.dumps({"su": f"http://127.0.0.1:{su_port}",
                                     "gateway": f"http://127.0.0.1:{gateway_port}"}))
        su.listen()
        assert serve_cli._previous_ports(state) == (0, 0)       # taken: any free ports, with a warning
    assert serve_cli._previous_ports(state) == (su_port, gateway_port)
    state.write_text("{not json")
    assert serve_cli._previous_ports(state) == (0, 0)


def test_serve_reports_a_port_in_use_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def in_use() -> int:
        raise ExceptionGroup("nursery", [ExceptionGroup("hypercorn", [OSError(errno.EADDRINUSE, "Address in use")])])

    assert serve_cli._reporting_bind_errors(in_use) == 1
    assert "cannot listen: Address in use" in capsys.readouterr().err

    def other() -> int:
        raise ExceptionGroup("nursery", [OSError(errno.ENOENT, "No such file")])

    with pytest.raises(ExceptionGroup):
        serve_cli._reporting_bind_errors(other)


def test_progress_urls() -> None:
    assert progress_url("http://localhost:6363", None) == "ws://localhost:6363/progress"
    assert progress_url("https://cu.example/base/", "a/b") == "wss://cu.example/base/progress/a%2Fb"
    assert progress_url("127.0.0.1:1", "p") == "ws://127.0.0.1:1/progress/p"


async def test_watch_prints_events_until_the_server_closes(fake: FakeComputeUnitApi) -> None:
    out = io.StringIO()
    stop = trio.Event()
    async with open_test_server(fake) as url, trio.open_nursery() as nursery:
        async def run_watch() -> None:
            await watch(progress_url(url, "P"), out)
            stop.set()

        nursery.start_soon(run_watch)
        await wait_until(lambda: fake.events.subscriber_count > 0)
        for n in range(3):
            fake.events.publish(StreamFinished(process_id="P", stream_id="s", messages=n, errors=0,
                                               elapsed_ms=1.0, at_ms=2.0))
        await wait_until(lambda: out.getvalue().count("\n") >= 3)
        nursery.cancel_scope.cancel()
    lines = out.getvalue().splitlines()
    assert lines[0] == ('{"type":"stream-finished","process_id":"P","stream_id":"s","at_ms":2,"messages":0,'
                        '"errors":0,"elapsed_ms":1}')
    assert len(lines) == 3
