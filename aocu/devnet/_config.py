"""Devnet configuration and the URLs a running devnet answers on.

Frozen values, no I/O; any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ._clock import SECONDS

MS = 1

#: The block height a new devnet starts at: above the 1,440,000 from which the
#: reference CU verifies hash chains (reference-cu.md §2.7), as on the live network.
DEFAULT_BASE_HEIGHT = 1_500_000
#: Arweave's target block time.
DEFAULT_BLOCK_INTERVAL_S = 120 * SECONDS
#: The Scheduler-Location record's Time-To-Live tag (ms; ao SUs publish one day).
DEFAULT_SCHEDULER_TTL_MS = 86_400_000 * MS
#: How long hypercorn lets in-flight requests finish after shutdown starts.
DEFAULT_GRACEFUL_TIMEOUT_S = 1 * SECONDS
#: Request bodies up to this size (module binaries, uploads).
DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class DevnetConfig:
    """How to run a devnet. ``directory=None`` keeps all state in memory.

    ``base_height`` and ``block_interval_s`` only matter when the directory is new:
    a devnet keeps the chain it started with.
    """

    directory: Path | None = None
    host: str = "127.0.0.1"
    su_port: int = 0
    gateway_port: int = 0
    base_height: int = DEFAULT_BASE_HEIGHT
    block_interval_s: float = DEFAULT_BLOCK_INTERVAL_S
    scheduler_ttl_ms: int = DEFAULT_SCHEDULER_TTL_MS
    su_wallet: str = "devnet-su"
    graceful_timeout_s: float = DEFAULT_GRACEFUL_TIMEOUT_S
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def __post_init__(self) -> None:
        if self.block_interval_s <= 0:
            raise ValueError("block_interval_s must be positive")
        if self.base_height < 0:
            raise ValueError("base_height must not be negative")


@dataclass(frozen=True, slots=True)
class DevnetUrls:
    """Base URLs (no trailing slash) of a running devnet's two servers."""

    su: str
    gateway: str

    @property
    def graphql(self) -> str:
        return f"{self.gateway}/graphql"

    def cu_env(self) -> dict[str, str]:
        """The reference CU's environment variables pointing at this devnet (config.js).

        The CU finds the SU itself, through the gateway's Scheduler-Location record.
        """
        return {
            "GATEWAY_URL": self.gateway,
            "GRAPHQL_URL": self.graphql,
            "GRAPHQL_URLS": self.graphql,
            "CHECKPOINT_GRAPHQL_URL": self.graphql,
            "ARWEAVE_URL": self.gateway,
            "UPLOADER_URL": self.gateway,
        }


def cu_state_env(directory: Path) -> dict[str, str]:
    """The CU variables that keep all of its state under ``directory`` (``aocu serve --devnet``, tests).

    The database ``cu.sqlite``, drained memories, file checkpoints and module binaries.
    """
    return {
        "DB_URL": str(directory / "cu"),
        "PROCESS_MEMORY_CACHE_FILE_DIR": str(directory / "memory"),
        "PROCESS_MEMORY_FILE_CHECKPOINTS_DIR": str(directory / "checkpoints"),
        "WASM_BINARY_FILE_DIRECTORY": str(directory / "modules"),
    }
