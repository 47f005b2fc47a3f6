"""The composition root: `run_cu` opens the root nursery, the port, and the HTTP server.

Owns the process-wide pieces: the root nursery, the signal task (SIGTERM/SIGINT: graceful stop,
a second one stops at once; SIGUSR2: ``api.checkpoint_all()`` when the port has it), the log
configuration with the reference's npm levels and its dynamic ``LOG_CONFIG_PATH`` file
(reference-cu.md §6.2), the periodic ``Stats Usage`` line, and the order of start and stop
(style.md §6.4): the port first, HTTP last; on stop HTTP drains first
(``HttpConfig.shutdown_grace_s``), then the port closes under the same grace. Runs on the trio
thread; reads no environment (it is given a `Config`).
"""

from __future__ import annotations

import gc
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Final, TextIO

import trio

from aocu import jsjson
from aocu.config import LOG_LEVELS, MILLISECONDS, SECONDS, Config, LogConfig
from aocu.http import ServiceMetrics, serve_http

if TYPE_CHECKING:
    from aocu.api import ComputeUnitApi

__all__ = ["LogLevels", "configure_logging", "default_api_factory", "run_cu", "tune_gc_for_serving",
           "watch_log_level"]

ApiFactory = Callable[[Config], AbstractAsyncContextManager["ComputeUnitApi"]]

log = logging.getLogger("aocu.app")

# winston's npm levels onto Python's numbers (more severe = higher). `off` silences everything.
NPM_LEVELS: Final = {
    "error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO, "http": 15,
    "verbose": 13, "debug": logging.DEBUG, "silly": 5,
}
_NAMES_BY_NUMBER: Final = sorted(((n, name) for name, n in NPM_LEVELS.items()), reverse=True)
OFF: Final = logging.CRITICAL + 10
# fs.watchFile's default polling interval (the reference watches LOG_CONFIG_PATH with it).
LOG_CONFIG_POLL_S: Final = 5.007 * SECONDS


class _NpmFormatter(logging.Formatter):
    """``<ISO timestamp> <name> [<level>]: <message>``, the reference's winston line (§6.2)."""

    def __init__(self, root_name: str) -> None:
        super().__init__()
        self.root_name = root_name

    def format(self, record: logging.LogRecord) -> str:
        level = next((name for n, name in _NAMES_BY_NUMBER if record.levelno >= n), "silly")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        child = record.name.removeprefix("aocu").lstrip(".").replace(".", ":")
        name = f"{self.root_name}:{child}" if child else self.root_name
        line = f"{stamp}.{int(record.msecs):03d}Z {name} [{level}]: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class LogLevels:
    """The one log level of every aocu logger, changed at run time (the ``.loglevel`` file)."""

    def __init__(self, logger: logging.Logger, default: str, handler: logging.Handler | None = None) -> None:
        self.logger = logger
        self.default = default
        self.level = default
        self._handler = handler
        self._apply(default)

    def restore(self) -> None:
        """Undo `configure_logging` (aocu's loggers propagate to the root logger again)."""
        if self._handler is not None:
            self.logger.removeHandler(self._handler)
        self.logger.propagate = True
        self.logger.setLevel(logging.NOTSET)

    def set(self, level: str) -> None:
        if level == self.level:
            return
        # "Technically not an error, but lowest log level, and so will always be logged"
        # (servers/cu/src/domain/logger.js).
        self.logger.error('Logger Configuration Change: updating log level "%s" -> "%s"', self.level, level)
        self.level = level
        self._apply(level)

    def _apply(self, level: str) -> None:
        self.logger.setLevel(OFF if level == "off" else NPM_LEVELS[level])


def configure_logging(config: LogConfig, stream: TextIO | None = None) -> LogLevels:
    """Send aocu's loggers (``aocu.*``) to ``stream`` (stdout, like winston's Console) as npm levels."""
    logger = logging.getLogger("aocu")
    for handler in [h for h in logger.handlers if getattr(h, "aocu_console", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(_NpmFormatter(f"ao-cu:{socket.gethostname()}"))
    handler.aocu_console = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.propagate = False
    return LogLevels(logger, config.default_level, handler)


async def watch_log_level(config: LogConfig, levels: LogLevels, *,
                          poll_s: float = LOG_CONFIG_POLL_S,
                          task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Poll ``LOG_CONFIG_PATH``: on a new mtime its trimmed text is the level; missing or empty
    means ``DEFAULT_LOG_LEVEL`` (createLogger's checkConfig, §6.2). Runs until cancelled."""
    if not config.config_path:
        task_status.started()
        return
    path = await trio.Path(config.config_path).absolute()   # resolved once, at start
    last_mtime: float | None = -1.0
    started = False
    while True:
        try:
            mtime: float | None = (await path.stat()).st_mtime
        except OSError:
            mtime = None
        if mtime != last_mtime:
            last_mtime = mtime
            try:
                text = (await path.read_text("utf-8")).strip() if mtime is not None else ""
            except (OSError, UnicodeDecodeError):
                text = ""
            level = text or levels.default
            if level in LOG_LEVELS or level == "off":
                levels.set(level)
            else:
                log.warning("ignoring unknown log level %r in %s", level, path)
        if not started:
            started = True
            task_status.started()
        await trio.sleep(poll_s)


class _Port:
    """The live port, for the signal task (set once the api is open, cleared when it closes)."""

    api: Any = None


async def _checkpoint_all(port: _Port) -> None:
    checkpoint = getattr(port.api, "checkpoint_all", None)
    if checkpoint is None:
        log.warning("SIGUSR2: this compute unit cannot checkpoint on demand")
        return
    log.info("Received SIGUSR2. Checkpointing all processes in memory...")
    try:
        await checkpoint()
    except Exception:
        log.exception("SIGUSR2: checkpointing failed")
    else:
        log.info("SIGUSR2 Done. Checkpointed all processes in memory.")


async def _handle_signals(stop: trio.Event, root: trio.Nursery, port: _Port, *,
                          task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGUSR2) as signals:
        task_status.started()
        async for signum in signals:
            if signum == signal.SIGUSR2:
                root.start_soon(_checkpoint_all, port)
            elif stop.is_set():
                log.warning("Received %s again. Stopping now.", signal.Signals(signum).name)
                root.cancel_scope.cancel(reason="second stop signal")
            else:
                log.info("Received %s. Gracefully shutting down server...", signal.Signals(signum).name)
                stop.set()


async def _log_stats(api: Any, interval_s: float) -> None:
    """``Stats Usage: {...}`` every ``MEM_MONITOR_INTERVAL`` when the port has ``stats()`` (§6.2)."""
    stats = getattr(api, "stats", None)
    if stats is None or interval_s <= 0:
        return
    while True:
        await trio.sleep(interval_s)
        try:
            log.info("Stats Usage: %s", jsjson.stringify(stats()))
        except Exception:
            log.exception("the port's stats() failed")


#: Allocations between young-generation collections (CPython's default is 700). Evaluating a
#: message allocates a few hundred short-lived objects on the trio thread; at 700 the collector
#: ran ~90 times per 1000 AOS messages (docs/performance.md).
GC_YOUNG_THRESHOLD: Final = 5_000


def tune_gc_for_serving() -> None:
    """Set the garbage collector up for a long-running CU; call once the CU listens.

    Everything alive at that point (the libraries' and the app's ~100k objects) lives as long as
    the process: frozen out of the collector's sight, full collections no longer walk it (they
    were 100-200 ms pauses of the trio thread under HTTP load, and ~40 ms per 1000 evaluated
    messages). Young collections run every `GC_YOUNG_THRESHOLD` allocations instead of 700.
    Only the process entry (``aocu serve``) and the benchmarks call it; tests that run
    `run_cu` in-process keep a normal collector.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def default_api_factory(config: Config) -> AbstractAsyncContextManager[ComputeUnitApi]:
    """The real pipeline: ``aocu.pipeline.open_compute_unit(config)`` (written by the integrator)."""
    import aocu.pipeline

    opener = getattr(aocu.pipeline, "open_compute_unit", None)
    if opener is None:
        raise RuntimeError("this build has no evaluation pipeline yet (aocu.pipeline.open_compute_unit)")
    # the pipeline feeds the same metrics that /metrics serves (reference-cu.md §6.1)
    metrics = ServiceMetrics() if config.http.enable_metrics else None
    return opener(config, metrics=metrics)  # type: ignore[no-any-return]


async def run_cu(config: Config, api_factory: ApiFactory | None = None, *,
                 log_stream: TextIO | None = None,
                 task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
    """Run the compute unit until SIGTERM/SIGINT (or cancellation); ``task_status`` gets the binds.

    ``api_factory(config)`` is an async context manager yielding the `ComputeUnitApi`; if the
    port has a ``metrics`` attribute (a `ServiceMetrics`), ``/metrics`` exposes that registry.
    """
    opened = (api_factory or default_api_factory)(config)      # fails fast, before any task starts
    levels = configure_logging(config.log, log_stream)
    try:
        await _run(config, opened, levels, task_status)
    finally:
        levels.restore()


async def _run(config: Config, opened: AbstractAsyncContextManager[ComputeUnitApi], levels: LogLevels,
               task_status: trio.TaskStatus[list[str]]) -> None:
    stop = trio.Event()
    port = _Port()
    async with trio.open_nursery() as root:
        await root.start(watch_log_level, config.log, levels)
        await root.start(_handle_signals, stop, root, port)
        with trio.CancelScope() as port_scope:
            async with opened as api:
                port.api = api
                metrics = getattr(api, "metrics", None)
                if not isinstance(metrics, ServiceMetrics):
                    metrics = ServiceMetrics() if config.http.enable_metrics else None
                async with trio.open_nursery() as http:
                    async def serve(task_status: trio.TaskStatus[list[str]]) -> None:
                        await serve_http(api, config.http, metrics=metrics, shutdown_trigger=stop.wait,
                                         task_status=task_status)
                        http.cancel_scope.cancel(reason="the HTTP server stopped")

                    binds = await http.start(serve)
                    http.start_soon(_log_stats, api, config.log.monitor_interval_ms * MILLISECONDS)
                    for bind in binds:
                        log.info("Server is running on %s", bind)
                    log.info('Server in unit mode: "%s"', config.unit_mode)
                    log.info("Wallet address: %s", config.wallet.address)
                    task_status.started(binds)
                log.info("Server shut down.")
                port.api = None
                # The port drains its work under the same grace as HTTP had (style.md §6.4);
                # hot processes are written to file checkpoints first, so a restart starts there.
                port_scope.deadline = trio.current_time() + config.http.shutdown_grace_s
                if stop.is_set() and getattr(api, "checkpoint_all", None) is not None:
                    try:
                        written = await api.checkpoint_all(upload=False)     # files only: exit fast
                        log.info("Checkpointed %s processes in memory before exiting.", written)
                    except Exception:
                        log.exception("checkpointing hot processes at shutdown failed")
        root.cancel_scope.cancel(reason="the compute unit stopped")
