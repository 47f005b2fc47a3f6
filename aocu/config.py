"""The CU's configuration: one frozen tree, built once from the environment by `Config.from_env`.

Owns no tasks or threads. `Config.from_env(environ)` reads only the mapping it is given (plus the
``WALLET_FILE`` it names) and validates everything, so a bad setting stops start-up with a
`ConfigError` naming the variable; nothing else in aocu reads ``os.environ``. Every variable of the
reference CU keeps its name, default and parsing (reference-cu.md §4, ``servers/cu/src/config.js``,
``domainConfigSchema`` in ``servers/cu/src/domain/model.js``); the ``AOCU_*`` variables and ``HOST``
are ours. `load_dotenv` reads a ``.env`` file the way the reference's ``dotenv`` does. Sections go to
their owners: ``config.http`` to `aocu.http`, `Config.clients` to `aocu.clients`, `Config.stores`
to `aocu.stores`. Start with `Config.from_env`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from aocu.clients import ClientsConfig, ClientsConfigError
from aocu.domain import DEFAULT_MODULE_FORMATS

if TYPE_CHECKING:
    from aocu.stores import StoreOptions

__all__ = [
    "BYTES",
    "LOG_LEVELS",
    "MILLISECONDS",
    "SECONDS",
    "CheckpointConfig",
    "Config",
    "ConfigError",
    "DryRunConfig",
    "GiB",
    "HttpConfig",
    "KiB",
    "LogConfig",
    "MemoryCacheConfig",
    "MiB",
    "PipelineConfig",
    "RateLimitConfig",
    "StoreConfig",
    "Wallet",
    "WasmConfig",
    "load_dotenv",
    "parse_dotenv",
]

# --- units (hypercorn's habit: defaults read `3 * SECONDS`) ---------------------------------------

SECONDS: Final = 1.0
MILLISECONDS: Final = SECONDS / 1000
BYTES: Final = 1
KiB: Final = 1024 * BYTES
MiB: Final = 1024 * KiB
GiB: Final = 1024 * MiB

#: winston's npm levels, most severe first (reference-cu.md §6.2); ``off`` silences (tests only).
LOG_LEVELS: Final = ("error", "warn", "info", "http", "verbose", "debug", "silly")

#: ``DEFAULT_PROCESS_WASM_MODULE_FORMATS`` in servers/cu/src/config.js (the domain's list).
DEFAULT_WASM_FORMATS: Final = DEFAULT_MODULE_FORMATS

# Fastify's default body limit (reference-cu.md §1.0); larger dry-run bodies answer 413.
DEFAULT_MAX_BODY_BYTES: Final = 1 * MiB
# withInMemoryCache's maxSize: the sum of len(JSON.stringify(result)) over entries (§1.10).
DEFAULT_RESULT_CACHE_MAX_SIZE: Final = 10_000_000
#: Node's ``process.argv[1]`` in the reference CU's evaluation workers when it runs from its Docker
#: image (WORKDIR /usr/app): gen 1-3 modules see it (env ``_``, gen 2 ``main``'s argv), so their
#: memory, GasUsed and Lua's table order depend on it. Measured side by side with the reference
#: (tools/compare_reference.py): with its worker's path, AOS answers and memory are identical.
REFERENCE_WORKER_PROGRAM: Final = "/usr/app/src/effects/worker/evaluator/index.js"
# Node's http server keepAliveTimeout as fastify sets it (the capture's `Keep-Alive: timeout=72`,
# upstream.md §2).
DEFAULT_KEEP_ALIVE_TIMEOUT_S: Final = 72 * SECONDS
# How long in-flight requests may finish after SIGTERM before they are cancelled. The reference
# exits at once (§6.3); a short grace loses nothing a client would not retry anyway.
DEFAULT_SHUTDOWN_GRACE_S: Final = 10 * SECONDS
# A websocket send that cannot complete in this long means the client stopped reading.
DEFAULT_PROGRESS_SEND_TIMEOUT_S: Final = 10 * SECONDS
# Events a progress websocket may have unsent before the bus drops it (aocu.pipeline._bus).
DEFAULT_PROGRESS_BUFFER: Final = 1024


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable (start-up stops)."""


# --- the reference's parsers (reference-cu.md §4) -------------------------------------------------

_JS_SPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_PARSE_INT: Final = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)")
_PARSE_FLOAT: Final = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")


def _js_parse_int(text: str) -> float:
    """JS ``parseInt(text)`` (radix 10, or 16 after ``0x``): NaN when no digits lead."""
    match = _PARSE_INT.match(text.lstrip(_JS_SPACE))
    if match is None:
        return math.nan
    sign, digits = match.groups()
    number = int(digits, 16) if digits[:2] in ("0x", "0X") else int(digits)
    return float(-number if sign == "-" else number) if number > 2**53 else (-number if sign == "-" else number)


def _js_parse_float(text: str) -> float:
    """JS ``parseFloat(text)``: the longest decimal prefix, NaN when none."""
    match = _PARSE_FLOAT.match(text.lstrip(_JS_SPACE))
    if match is None:
        return math.nan
    return float(match.group(0).replace("Infinity", "inf"))


class _Env:
    """The reference's ``process.env.X || default`` reads and zod schemas, one method per parser."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        return value if value else None  # `||`: an empty value is unset

    def int(self, name: str, default: int) -> int:
        # positiveIntSchema: '_' removed, parseInt, must be >= 0 ("10s" -> 10, "1gb" -> 1).
        value = self.raw(name)
        if value is None:
            return default
        number = _js_parse_int(value.replace("_", ""))
        if math.isnan(number) or number < 0 or math.isinf(number):
            raise ConfigError(f"{name}: {value!r} is not a non-negative integer")
        return int(number)

    def decimal(self, name: str, default: float) -> float:
        # decimalSchema: '_' removed, parseFloat, NaN -> -1, must be >= 0.
        value = self.raw(name)
        if value is None:
            return default
        number = _js_parse_float(value.replace("_", ""))
        if math.isnan(number) or number < 0:
            raise ConfigError(f"{name}: {value!r} is not a non-negative number")
        return number

    def list(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        # commaDelimitedArraySchema: split on ',' and trim each item.
        value = self.raw(name)
        if value is None:
            return default
        return tuple(item.strip(_JS_SPACE) for item in value.split(","))

    def truthy(self, name: str) -> bool:
        # z.preprocess((val) => !!val, z.boolean()): any non-empty string, "false" and "0" too.
        return bool(self.environ.get(name))

    def enum(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.raw(name) or default
        if value not in allowed:
            raise ConfigError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
        return value

    def url(self, name: str, default: str) -> str:
        value = self.raw(name) or default
        text = value.strip(" \t\n\r\f")
        scheme, _, rest = text.partition("://")
        if not scheme or not rest or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
            raise ConfigError(f"{name}: {value!r} is not a valid URL")
        return text

    def seconds(self, name: str, default: float) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{name}: {value!r} is not a number of seconds") from None
        if not (number >= 0 and math.isfinite(number)):
            raise ConfigError(f"{name}: {value!r} must be a finite number >= 0")
        return number


def _node_tmpdir(environ: Mapping[str, str]) -> str:
    """Node's ``os.tmpdir()`` on POSIX: ``TMPDIR || TMP || TEMP || '/tmp'``, trailing slash dropped."""
    path = environ.get("TMPDIR") or environ.get("TMP") or environ.get("TEMP") or "/tmp"
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


# --- sections -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Wallet:
    """The CU's Arweave key. `repr` shows only the address (httpx's ``Proxy`` masks passwords)."""

    jwk_json: str = field(repr=False)
    address: str

    @classmethod
    def from_jwk_text(cls, text: str, *, source: str = "WALLET") -> Wallet:
        """Parse a JWK; the address is base64url(sha256(base64url-decode(n))) (§A.6)."""
        try:
            jwk = json.loads(text)
        except ValueError:
            raise ConfigError(f"{source}: not a JSON JWK") from None
        n = jwk.get("n") if isinstance(jwk, dict) else None
        if not isinstance(n, str) or not n:
            raise ConfigError(f"{source}: the JWK has no public modulus 'n'")
        try:
            modulus = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
        except ValueError:
            raise ConfigError(f"{source}: the JWK's 'n' is not base64url") from None
        digest = hashlib.sha256(modulus).digest()
        return cls(jwk_json=text, address=base64.urlsafe_b64encode(digest).rstrip(b"=").decode())

    def jwk(self) -> dict[str, Any]:
        return json.loads(self.jwk_json)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitConfig:
    """The dry-run rate limiter (§1.11); any of the three at 0 disables it."""

    window_ms: int = 60_000                 # RATE_LIMIT_WINDOW
    max_requests: int = 6                   # RATE_LIMIT_MAX_REQUESTS
    cleanup_interval_ms: int = 1_000_000    # RATE_LIMIT_CLEANUP_INTERVAL

    @property
    def enabled(self) -> bool:
        return bool(self.window_ms and self.max_requests and self.cleanup_interval_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpConfig:
    """What `aocu.http` needs: the listener, access lists, busy threshold, limits (§1)."""

    host: str = "0.0.0.0"                   # HOST (ours; the reference always binds 0.0.0.0)
    port: int = 6363                        # PORT; 0 picks a free port
    unit_mode: Literal["cu", "ru"] = "cu"   # UNIT_MODE
    busy_threshold_ms: int = 0              # BUSY_THRESHOLD; 0 disables (§1.9)
    restrict_processes: tuple[str, ...] = ()    # RESTRICT_PROCESSES (deny list)
    allow_processes: tuple[str, ...] = ()       # ALLOW_PROCESSES (allow list when non-empty)
    allow_owners: tuple[str, ...] = ()          # ALLOW_OWNERS (owner allow list when non-empty)
    enable_metrics: bool = False            # ENABLE_METRICS_ENDPOINT (truthy string)
    rate_limit: RateLimitConfig = RateLimitConfig()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES            # AOCU_MAX_BODY_BYTES
    result_cache_max_size: int = DEFAULT_RESULT_CACHE_MAX_SIZE   # AOCU_RESULT_CACHE_MAX_SIZE
    keep_alive_timeout_s: float = DEFAULT_KEEP_ALIVE_TIMEOUT_S
    shutdown_grace_s: float = DEFAULT_SHUTDOWN_GRACE_S      # AOCU_SHUTDOWN_GRACE_S
    progress_buffer: int = DEFAULT_PROGRESS_BUFFER          # AOCU_PROGRESS_BUFFER
    progress_send_timeout_s: float = DEFAULT_PROGRESS_SEND_TIMEOUT_S

    @property
    def busy_threshold_s(self) -> float:
        return self.busy_threshold_ms * MILLISECONDS


@dataclass(frozen=True, slots=True, kw_only=True)
class LogConfig:
    default_level: str = "debug"            # DEFAULT_LOG_LEVEL
    config_path: str = ".loglevel"          # LOG_CONFIG_PATH: polled for a dynamic level (§6.2)
    monitor_interval_ms: int = 10_000       # MEM_MONITOR_INTERVAL (30 s in production)
    debug_timers: bool = False              # DEBUG (any value)


@dataclass(frozen=True, slots=True, kw_only=True)
class WasmConfig:
    memory_max_limit: int = 1 * GiB                     # PROCESS_WASM_MEMORY_MAX_LIMIT
    compute_max_limit: int = 9_000_000_000_000          # PROCESS_WASM_COMPUTE_MAX_LIMIT
    supported_formats: tuple[str, ...] = DEFAULT_WASM_FORMATS   # PROCESS_WASM_SUPPORTED_FORMATS
    supported_extensions: tuple[str, ...] = ()          # PROCESS_WASM_SUPPORTED_EXTENSIONS
    max_workers: int = 1                                # WASM_EVALUATION_MAX_WORKERS
    primary_workers_percentage: int = 70                # WASM_EVALUATION_PRIMARY_WORKERS_PERCENTAGE
    dry_run_max_queue: int = 3000                       # WASM_EVALUATION_WORKERS_DRY_RUN_MAX_QUEUE
    instance_cache_max_size: int = 5                    # WASM_INSTANCE_CACHE_MAX_SIZE
    module_cache_max_size: int = 5                      # WASM_MODULE_CACHE_MAX_SIZE
    binary_dir: Path = Path("/tmp")                     # WASM_BINARY_FILE_DIRECTORY
    module_mode: str | None = None                      # MODULE_MODE ("llama")
    program: str = REFERENCE_WORKER_PROGRAM             # AOCU_WASM_PROGRAM


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreConfig:
    db_url: str = "ao-cache"                            # DB_URL
    drain_dir: Path = Path("/tmp")                      # PROCESS_MEMORY_CACHE_FILE_DIR
    checkpoint_dir: Path = Path("/tmp/file_checkpoints")    # PROCESS_MEMORY_FILE_CHECKPOINTS_DIR
    disable_evaluation_cache: bool = False              # DISABLE_PROCESS_EVALUATION_CACHE

    @property
    def db_path(self) -> Path:
        """The SQLite file: ``<DB_URL>.sqlite`` (§3.1)."""
        return Path(self.db_url + ".sqlite")


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryCacheConfig:
    max_bytes: int = 1 * GiB                # PROCESS_MEMORY_CACHE_MAX_SIZE
    ttl_ms: int = 24 * 3600 * 1000          # PROCESS_MEMORY_CACHE_TTL
    checkpoint_interval_ms: int = 0         # PROCESS_MEMORY_CACHE_CHECKPOINT_INTERVAL (unused, §4)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckpointConfig:
    creation_throttle_ms: int = 30 * 60 * 1000          # PROCESS_CHECKPOINT_CREATION_THROTTLE
    disable_arweave_creation: bool = True               # DISABLE_PROCESS_CHECKPOINT_CREATION
    disable_file_creation: bool = True                  # DISABLE_PROCESS_FILE_CHECKPOINT_CREATION
    eager_gas_threshold: int = 300_000_000_000_000      # EAGER_CHECKPOINT_ACCUMULATED_GAS_THRESHOLD
    eager_eval_time_threshold_ms: int = 15 * 60 * 1000  # EAGER_CHECKPOINT_EVAL_TIME_THRESHOLD
    ignore_processes: tuple[str, ...] = ()              # PROCESS_IGNORE_ARWEAVE_CHECKPOINTS
    ignore_ids: tuple[str, ...] = ()                    # IGNORE_ARWEAVE_CHECKPOINTS
    trusted_owners: tuple[str, ...] = ()                # PROCESS_CHECKPOINT_TRUSTED_OWNERS
    preferred_owners: tuple[str, ...] = ()              # PROCESS_CHECKPOINT_PREFERRED_OWNERS
    validation_steps: int = 10                          # CHECKPONT_VALIDATION_STEPS (sic)
    validation_thresh: float = 0.75                     # CHECKPONT_VALIDATION_THRESH (sic)
    validation_retries: int = 5                         # CHECKPONT_VALIDATION_RETRIES (sic)
    ignore_local: bool = False                          # IGNORE_LOCAL_CHECKPOINTS
    uploader_url: str = "https://up.arweave.net"        # UPLOADER_URL


@dataclass(frozen=True, slots=True, kw_only=True)
class DryRunConfig:
    default_max_process_age_ms: int = 100   # DRY_RUN_DEFAULT_MAX_PROCESS_AGE (X-Max-Age default)
    process_cache_ttl_ms: int = 2000        # DRY_RUN_PROCESS_CACHE_TTL
    result_max_age_ms: int = 60_000         # DRY_RUN_RESULT_MAX_AGE


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineConfig:
    hydration_nonce_limit: int = 200        # HYDRATION_MODE_NONCE_LIMIT (0 disables)
    enable_memory_reset: bool = False       # ENABLE_MEMORY_RESET (truthy string)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """Everything, by concern. Build with `from_env`; pass each component its own section."""

    mode: Literal["development", "production"] = "development"     # NODE_CONFIG_ENV
    unit_mode: Literal["cu", "ru"] = "cu"                           # UNIT_MODE
    wallet: Wallet
    http: HttpConfig = HttpConfig()
    log: LogConfig = LogConfig()
    wasm: WasmConfig = WasmConfig()
    store: StoreConfig = StoreConfig()
    memory_cache: MemoryCacheConfig = MemoryCacheConfig()
    checkpoint: CheckpointConfig = CheckpointConfig()
    dry_run: DryRunConfig = DryRunConfig()
    pipeline: PipelineConfig = PipelineConfig()
    upstream: ClientsConfig = field(default_factory=ClientsConfig)

    def clients(self) -> ClientsConfig:
        """The upstream clients' section (parsed by `ClientsConfig.from_env` from the same env)."""
        return self.upstream

    def stores(self) -> StoreOptions:
        """`aocu.stores.StoreOptions` for `open_stores(config.store.db_path, config.stores())`."""
        from aocu.stores import StoreOptions

        return StoreOptions(drain_dir=self.store.drain_dir, checkpoint_dir=self.store.checkpoint_dir,
                            module_dir=self.wasm.binary_dir)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, cwd: Path | None = None,
                 cpu_count: int | None = None,
                 read_text: Callable[[Path], str] = lambda p: p.read_text("utf-8")) -> Config:
        """Validate every variable of reference-cu.md §4 (plus ours); raises `ConfigError`.

        ``cwd`` resolves ``WALLET_FILE`` (default: the process's); ``cpu_count`` sizes the
        ``WASM_EVALUATION_MAX_WORKERS`` default, ``max(cpus - 1, 1)`` as in the reference.
        """
        env = _Env(environ)
        mode_name = environ.get("NODE_CONFIG_ENV")
        if not mode_name:
            # The reference throws 'NODE_CONFIG_ENV must be defined'; the two profiles differ only
            # in MEM_MONITOR_INTERVAL, so aocu defaults to development (docs/differences.md).
            mode_name = "development"
        if mode_name not in ("development", "production"):
            raise ConfigError(f"NODE_CONFIG_ENV: {mode_name!r} is not development or production")
        mode: Literal["development", "production"] = mode_name  # type: ignore[assignment]
        unit_mode: Literal["cu", "ru"] = env.enum("UNIT_MODE", "cu", ("cu", "ru"))  # type: ignore[assignment]
        read_unit = unit_mode == "ru"
        tmp = _node_tmpdir(environ)
        cpus = cpu_count if cpu_count is not None else (os.cpu_count() or 1)

        rate_limit = RateLimitConfig(
            window_ms=env.int("RATE_LIMIT_WINDOW", 60_000),
            max_requests=env.int("RATE_LIMIT_MAX_REQUESTS", 6),
            cleanup_interval_ms=env.int("RATE_LIMIT_CLEANUP_INTERVAL", 1_000_000),
        )
        http = HttpConfig(
            host=env.raw("HOST") or "0.0.0.0",
            port=env.int("PORT", 6363),
            unit_mode=unit_mode,
            busy_threshold_ms=env.int("BUSY_THRESHOLD", 0),
            restrict_processes=env.list("RESTRICT_PROCESSES"),
            allow_processes=env.list("ALLOW_PROCESSES"),
            allow_owners=env.list("ALLOW_OWNERS"),
            enable_metrics=env.truthy("ENABLE_METRICS_ENDPOINT"),
            rate_limit=rate_limit,
            max_body_bytes=env.int("AOCU_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            result_cache_max_size=env.int("AOCU_RESULT_CACHE_MAX_SIZE", DEFAULT_RESULT_CACHE_MAX_SIZE),
            shutdown_grace_s=env.seconds("AOCU_SHUTDOWN_GRACE_S", DEFAULT_SHUTDOWN_GRACE_S),
            progress_buffer=max(1, env.int("AOCU_PROGRESS_BUFFER", DEFAULT_PROGRESS_BUFFER)),
        )
        if http.port > 65535:
            raise ConfigError(f"PORT: {http.port} is not a TCP port")
        log = LogConfig(
            default_level=env.enum("DEFAULT_LOG_LEVEL", "debug", LOG_LEVELS),
            config_path=env.raw("LOG_CONFIG_PATH") or ".loglevel",
            monitor_interval_ms=env.int("MEM_MONITOR_INTERVAL", 30_000 if mode == "production" else 10_000),
            debug_timers=env.truthy("DEBUG"),
        )
        wasm = WasmConfig(
            memory_max_limit=env.int("PROCESS_WASM_MEMORY_MAX_LIMIT", 1 * GiB),
            compute_max_limit=env.int("PROCESS_WASM_COMPUTE_MAX_LIMIT", 9_000_000_000_000),
            supported_formats=env.list("PROCESS_WASM_SUPPORTED_FORMATS", DEFAULT_WASM_FORMATS),
            supported_extensions=env.list("PROCESS_WASM_SUPPORTED_EXTENSIONS"),
            max_workers=env.int("WASM_EVALUATION_MAX_WORKERS", max(cpus - 1, 1)),
            primary_workers_percentage=env.int("WASM_EVALUATION_PRIMARY_WORKERS_PERCENTAGE", 70),
            dry_run_max_queue=env.int("WASM_EVALUATION_WORKERS_DRY_RUN_MAX_QUEUE", 3000),
            instance_cache_max_size=env.int("WASM_INSTANCE_CACHE_MAX_SIZE", 5),
            module_cache_max_size=env.int("WASM_MODULE_CACHE_MAX_SIZE", 5),
            binary_dir=Path(env.raw("WASM_BINARY_FILE_DIRECTORY") or tmp),
            module_mode=environ.get("MODULE_MODE"),
            program=env.raw("AOCU_WASM_PROGRAM") or REFERENCE_WORKER_PROGRAM,
        )
        db_url = env.raw("DB_URL") or "ao-cache"
        if db_url.startswith(("postgres://", "postgresql://")):
            raise ConfigError("DB_URL: Postgres is not supported by aocu; give a SQLite path prefix")
        store = StoreConfig(
            db_url=db_url,
            drain_dir=Path(env.raw("PROCESS_MEMORY_CACHE_FILE_DIR") or tmp),
            checkpoint_dir=Path(env.raw("PROCESS_MEMORY_FILE_CHECKPOINTS_DIR")
                                or os.path.join(tmp, "file_checkpoints")),
            # UNIT_MODE=ru forces it (preprocessUnitMode in config.js).
            disable_evaluation_cache=read_unit or env.truthy("DISABLE_PROCESS_EVALUATION_CACHE"),
        )
        memory_cache = MemoryCacheConfig(
            max_bytes=env.int("PROCESS_MEMORY_CACHE_MAX_SIZE", 1 * GiB),
            ttl_ms=env.int("PROCESS_MEMORY_CACHE_TTL", 24 * 3600 * 1000),
            checkpoint_interval_ms=0 if read_unit else env.int("PROCESS_MEMORY_CACHE_CHECKPOINT_INTERVAL", 0),
        )
        checkpoint = CheckpointConfig(
            creation_throttle_ms=env.int("PROCESS_CHECKPOINT_CREATION_THROTTLE", 30 * 60 * 1000),
            # true unless exactly 'false'; forced true in a Read Unit.
            disable_arweave_creation=read_unit or environ.get("DISABLE_PROCESS_CHECKPOINT_CREATION") != "false",
            disable_file_creation=read_unit
            or environ.get("DISABLE_PROCESS_FILE_CHECKPOINT_CREATION") != "false",
            eager_gas_threshold=env.int("EAGER_CHECKPOINT_ACCUMULATED_GAS_THRESHOLD", 300_000_000_000_000),
            eager_eval_time_threshold_ms=env.int("EAGER_CHECKPOINT_EVAL_TIME_THRESHOLD", 15 * 60 * 1000),
            ignore_processes=env.list("PROCESS_IGNORE_ARWEAVE_CHECKPOINTS"),
            ignore_ids=env.list("IGNORE_ARWEAVE_CHECKPOINTS"),
            trusted_owners=env.list("PROCESS_CHECKPOINT_TRUSTED_OWNERS"),
            preferred_owners=env.list("PROCESS_CHECKPOINT_PREFERRED_OWNERS"),
            validation_steps=env.int("CHECKPONT_VALIDATION_STEPS", 10),
            validation_thresh=env.decimal("CHECKPONT_VALIDATION_THRESH", 0.75),
            validation_retries=env.int("CHECKPONT_VALIDATION_RETRIES", 5),
            ignore_local=environ.get("IGNORE_LOCAL_CHECKPOINTS") == "true",   # true only if exactly 'true'
            uploader_url=env.url("UPLOADER_URL", "https://up.arweave.net"),
        )
        dry_run = DryRunConfig(
            default_max_process_age_ms=env.int("DRY_RUN_DEFAULT_MAX_PROCESS_AGE", 100),
            process_cache_ttl_ms=env.int("DRY_RUN_PROCESS_CACHE_TTL", 2000),
            result_max_age_ms=env.int("DRY_RUN_RESULT_MAX_AGE", 60_000),
        )
        pipeline = PipelineConfig(
            hydration_nonce_limit=env.int("HYDRATION_MODE_NONCE_LIMIT", 200),
            enable_memory_reset=env.truthy("ENABLE_MEMORY_RESET"),
        )
        try:
            upstream = ClientsConfig.from_env(environ)
        except ClientsConfigError as exc:
            raise ConfigError(str(exc)) from None
        wallet = _wallet(environ, cwd, read_text)
        if not checkpoint.disable_arweave_creation:
            _check_signing_key(wallet)
        return cls(mode=mode, unit_mode=unit_mode, wallet=wallet, http=http,
                   log=log, wasm=wasm, store=store, memory_cache=memory_cache, checkpoint=checkpoint,
                   dry_run=dry_run, pipeline=pipeline, upstream=upstream)


def _check_signing_key(wallet: Wallet) -> None:
    """Checkpoint creation signs with the wallet: refuse at start-up a key that cannot sign an Arweave item."""
    from aocu.arweave import ArweaveSigner

    try:
        ArweaveSigner.from_jwk(wallet.jwk())
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"WALLET cannot sign checkpoints (DISABLE_PROCESS_CHECKPOINT_CREATION=false): {exc}") \
            from None


def _wallet(environ: Mapping[str, str], cwd: Path | None, read_text: Callable[[Path], str]) -> Wallet:
    # preprocessWallet in config.js: WALLET wins; else WALLET_FILE (resolved against cwd) is read.
    if environ.get("WALLET"):
        return Wallet.from_jwk_text(environ["WALLET"])
    wallet_file = environ.get("WALLET_FILE")
    if not wallet_file:
        raise ConfigError("One of WALLET or WALLET_FILE is required")
    path = (cwd or Path.cwd()) / wallet_file
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise ConfigError(f"WALLET_FILE does not exist: {path}") from None
    except OSError as exc:
        raise ConfigError(f"An error occurred while reading WALLET_FILE from {path}\n{exc}") from None
    if not text:
        raise ConfigError("WALLET must be a Wallet JWK Inteface")
    return Wallet.from_jwk_text(text, source="WALLET_FILE")


# --- .env (dotenv 16's parser, which `node -r dotenv/config` runs before the reference starts) ----

_DOTENV_LINE: Final = re.compile(
    r"(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*\"(?:\\\"|[^\"])*\""
    r"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)",
    re.MULTILINE,
)
_DOTENV_QUOTED: Final = re.compile(r"^(['\"`])([\s\S]*)\1$", re.MULTILINE)


def parse_dotenv(text: str) -> dict[str, str]:
    """Variables of a ``.env`` text: ``KEY=value``, ``export``, quotes, ``#`` comments, as dotenv."""
    out: dict[str, str] = {}
    for match in _DOTENV_LINE.finditer(text.replace("\r\n", "\n").replace("\r", "\n")):
        value = (match.group(2) or "").strip()
        quote = value[:1]
        value = _DOTENV_QUOTED.sub(r"\2", value)
        if quote == '"':
            value = value.replace("\\n", "\n").replace("\\r", "\r")
        out[match.group(1)] = value
    return out


def load_dotenv(environ: Mapping[str, str], path: Path | None = None) -> dict[str, str]:
    """``environ`` over the ``.env`` file's variables (set variables win, as dotenv's default).

    The file is ``DOTENV_CONFIG_PATH`` or ``./.env``; a missing file adds nothing.
    """
    target = path or Path(environ.get("DOTENV_CONFIG_PATH") or ".env")
    try:
        text = target.read_text("utf-8")
    except (FileNotFoundError, IsADirectoryError):
        return dict(environ)
    return {**parse_dotenv(text), **environ}
