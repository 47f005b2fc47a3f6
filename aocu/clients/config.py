"""Settings of the upstream clients: one frozen value, built once by `ClientsConfig.from_env`.

Reads only the mapping it is given (never ``os.environ`` itself). The reference's variables
(``GATEWAY_URL``, ``ARWEAVE_URL``, ``GRAPHQL_URL``, ``CHECKPOINT_GRAPHQL_URL``, ``GRAPHQL_URLS``,
``LOAD_MESSAGES_PAGE_SIZE``) keep their defaults and derivations (reference-cu.md §4;
``preprocessUrls`` and ``joinUrl`` in ``servers/cu/src/domain/utils.js``, ``servers/cu/src/config.js``);
the ``AOCU_*`` variables are ours. The SU-router probe of scheduler-utils is off unless
``AOCU_SU_ROUTER_URL`` is set (reference-cu.md §2.4 port note; nothing may reach it by default).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from ._parse import js_parse_int
from ._retry import RetryPolicy

__all__ = [
    "BYTES",
    "DEFAULT_GATEWAY_URL",
    "DEFAULT_GRAPHQL_URLS",
    "SECONDS",
    "ClientsConfig",
    "ClientsConfigError",
    "GiB",
    "MiB",
    "join_url",
]

SECONDS = 1.0
BYTES = 1
MiB = 1024 * 1024 * BYTES
GiB = 1024 * MiB

DEFAULT_GATEWAY_URL = "https://arweave.net"
DEFAULT_GRAPHQL_URLS = ("https://arweave.net/graphql", "https://arweave-search.goldsky.com/graphql")
# LOAD_MESSAGES_PAGE_SIZE default, and what 0 means (reference-cu.md §4).
DEFAULT_PAGE_SIZE = 1000
# The reference's backoff settings (reference-cu.md §2.20): SU and gateway calls 5 retries from
# 500 ms (ao-su.js, arweave.js), scheduler-utils' GraphQL 5 from 300 ms (bootstrap.js),
# GetBlocks 4 from 300 ms (ao-block.js).
SU_RETRY = RetryPolicy(max_retries=5, initial_delay_s=0.5)
GATEWAY_RETRY = RetryPolicy(max_retries=5, initial_delay_s=0.5)
LOCATOR_RETRY = RetryPolicy(max_retries=5, initial_delay_s=0.3)
BLOCKS_RETRY = RetryPolicy(max_retries=4, initial_delay_s=0.3)


class ClientsConfigError(ValueError):
    """An upstream setting is invalid; the message names the variable."""


def join_url(url: str, path: str) -> str:
    """The reference's ``joinUrl({url, path})``: append ``path`` to the URL's path, keep the query.

    Exactly as there, the path is appended without adding a slash (``https://gw/base`` +
    ``/graphql`` is ``https://gw/basegraphql``), and a query string stays after the new path
    (``arweave.test.js``: ``{ARWEAVE_URL}/raw/{id}?foo=bar``).
    """
    if not path:
        return url
    path = path.lstrip("/") if path.startswith("/") else path
    parts = urlsplit(url)
    base = parts.path or "/"  # WHATWG URLs of http(s) always have at least "/"
    return urlunsplit((parts.scheme, parts.netloc, base + path, parts.query, parts.fragment))


def _url(name: str, value: str) -> str:
    # zod's .url() accepts what `new URL()` parses; the WHATWG parser drops surrounding spaces.
    text = value.strip(" \t\n\r\f")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ClientsConfigError(f"{name}: {value!r} is not an http(s) URL")
    return text


def _positive_int(name: str, value: str) -> int:
    # positiveIntSchema: '_' removed, then parseInt; must be >= 0 (reference-cu.md §4).
    number = js_parse_int(value.replace("_", ""))
    if number is None or number < 0:
        raise ClientsConfigError(f"{name}: {value!r} is not a non-negative integer")
    return number


def _positive_float(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ClientsConfigError(f"{name}: {value!r} is not a number") from None
    if not number > 0:
        raise ClientsConfigError(f"{name}: {value!r} must be positive")
    return number


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ClientsConfigError(f"{name}: {value!r} is not a boolean")


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientsConfig:
    """Everything the SU, locator and gateway clients need. Durations in seconds, sizes in bytes.

    The retry policies mirror the reference's (``SU_RETRY`` etc. above). The reference sets no
    request timeouts (undici's 300 s); ours bound each phase of a request (``*_timeout_s``) and
    each whole operation, retries included (``operation_timeout_s``, ``download_timeout_s``).
    """

    gateway_url: str = DEFAULT_GATEWAY_URL
    arweave_url: str = DEFAULT_GATEWAY_URL
    graphql_url: str = DEFAULT_GATEWAY_URL + "/graphql"
    checkpoint_graphql_url: str = DEFAULT_GATEWAY_URL + "/graphql"
    graphql_urls: tuple[str, ...] = DEFAULT_GRAPHQL_URLS
    su_router_url: str | None = None

    load_messages_page_size: int = DEFAULT_PAGE_SIZE
    # Consecutive SU nonces are a guarantee of the SU ("no conflicts or missing nonces",
    # servers/su/src/domain/core/scheduler.rs); a gap means a lost or truncated page.
    require_contiguous_nonces: bool = True
    blocks_page_size: int = 90
    locator_cache_size: int = 100

    connect_timeout_s: float = 10 * SECONDS
    read_timeout_s: float = 60 * SECONDS
    write_timeout_s: float = 60 * SECONDS
    pool_timeout_s: float = 30 * SECONDS
    operation_timeout_s: float = 120 * SECONDS
    download_timeout_s: float = 900 * SECONDS
    # opossum's per-fire timeout around one GetBlocks page (ao-block.js breakerOptions.timeout),
    # and a bound on a whole load_blocks (a cold cron process may need many pages).
    blocks_page_timeout_s: float = 10 * SECONDS
    blocks_timeout_s: float = 600 * SECONDS

    json_max_bytes: int = 512 * MiB
    data_max_bytes: int = 256 * MiB
    download_max_bytes: int = 2 * GiB

    max_connections: int = 64
    keepalive_expiry_s: float = 30 * SECONDS

    su_retry: RetryPolicy = SU_RETRY
    gateway_retry: RetryPolicy = GATEWAY_RETRY
    locator_retry: RetryPolicy = LOCATOR_RETRY
    blocks_retry: RetryPolicy = BLOCKS_RETRY

    def __post_init__(self) -> None:
        if not self.graphql_urls:
            raise ClientsConfigError("GRAPHQL_URLS: at least one URL is needed")
        if self.load_messages_page_size < 1 or self.blocks_page_size < 1:
            raise ClientsConfigError("page sizes must be at least 1")

    def http_timeout(self) -> httpx.Timeout:
        """The per-phase timeout every request carries (set per request, whoever built the client)."""
        return httpx.Timeout(
            connect=self.connect_timeout_s,
            read=self.read_timeout_s,
            write=self.write_timeout_s,
            pool=self.pool_timeout_s,
        )

    def replace(self, **changes: object) -> ClientsConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ClientsConfig:
        """Build from environment variables, validating every one; raises `ClientsConfigError`."""

        def get(name: str) -> str | None:
            value = environ.get(name)
            return value if value else None  # `process.env.X || default`: '' is unset

        # config.js: GATEWAY_URL || 'https://arweave.net'; then preprocessUrls derives the rest.
        gateway = _url("GATEWAY_URL", get("GATEWAY_URL") or DEFAULT_GATEWAY_URL)
        arweave = _url("ARWEAVE_URL", get("ARWEAVE_URL") or gateway)
        graphql = _url("GRAPHQL_URL", get("GRAPHQL_URL") or join_url(gateway, "/graphql"))
        checkpoint = _url("CHECKPOINT_GRAPHQL_URL", get("CHECKPOINT_GRAPHQL_URL") or graphql)
        # GRAPHQL_URLS?.split(',') without trimming; an empty item fails URL validation.
        raw_urls = environ.get("GRAPHQL_URLS")
        urls = (
            tuple(_url("GRAPHQL_URLS", item) for item in raw_urls.split(","))
            if raw_urls is not None
            else DEFAULT_GRAPHQL_URLS
        )
        router = get("AOCU_SU_ROUTER_URL")
        page_size = DEFAULT_PAGE_SIZE
        if (raw := get("LOAD_MESSAGES_PAGE_SIZE")) is not None:
            page_size = _positive_int("LOAD_MESSAGES_PAGE_SIZE", raw) or DEFAULT_PAGE_SIZE

        extra: dict[str, object] = {}
        for name, attr in (
            ("AOCU_UPSTREAM_CONNECT_TIMEOUT_S", "connect_timeout_s"),
            ("AOCU_UPSTREAM_READ_TIMEOUT_S", "read_timeout_s"),
            ("AOCU_UPSTREAM_OPERATION_TIMEOUT_S", "operation_timeout_s"),
            ("AOCU_UPSTREAM_DOWNLOAD_TIMEOUT_S", "download_timeout_s"),
        ):
            if (raw := get(name)) is not None:
                extra[attr] = _positive_float(name, raw)
        for name, attr in (
            ("AOCU_UPSTREAM_DATA_MAX_BYTES", "data_max_bytes"),
            ("AOCU_UPSTREAM_DOWNLOAD_MAX_BYTES", "download_max_bytes"),
        ):
            if (raw := get(name)) is not None:
                extra[attr] = _positive_int(name, raw)
        if (raw := environ.get("AOCU_REQUIRE_CONTIGUOUS_NONCES")) is not None:
            extra["require_contiguous_nonces"] = _flag("AOCU_REQUIRE_CONTIGUOUS_NONCES", raw)

        return cls(
            gateway_url=gateway,
            arweave_url=arweave,
            graphql_url=graphql,
            checkpoint_graphql_url=checkpoint,
            graphql_urls=urls,
            su_router_url=_url("AOCU_SU_ROUTER_URL", router) if router is not None else None,
            load_messages_page_size=page_size,
            **extra,  # type: ignore[arg-type]
        )
