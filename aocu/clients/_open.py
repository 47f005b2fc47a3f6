"""Constructors that own the httpx clients: ``open_scheduler_client`` and friends.

Each is an async context manager (style.md §6.3) that builds one ``httpx.AsyncClient`` for its
upstream, with the configured phase timeouts on every request, a bounded connection pool,
``trust_env=False`` (no proxy or netrc from the environment) and redirects followed (the
reference's fetch follows them; the SU router answers 307). Closing the context closes the pool.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx

from .. import __version__
from ._gateway import HttpGatewayClient
from ._locator import HttpSchedulerLocator
from ._scheduler import HttpSchedulerClient
from .base import SchedulerLocationStore
from .config import ClientsConfig

__all__ = ["make_http_client", "open_gateway_client", "open_scheduler_client", "open_scheduler_locator"]

USER_AGENT = f"aocu/{__version__}"


def make_http_client(config: ClientsConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` configured from ``config``; ``transport`` replaces the network (tests)."""
    timeout = httpx.Timeout(
        connect=config.connect_timeout_s,
        read=config.read_timeout_s,
        write=config.write_timeout_s,
        pool=config.pool_timeout_s,
    )
    if transport is None:
        limits = httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_connections,
            keepalive_expiry=config.keepalive_expiry_s,
        )
        transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    return httpx.AsyncClient(
        timeout=timeout,
        transport=transport,
        trust_env=False,
        follow_redirects=True,
        headers={"user-agent": USER_AGENT},
    )


@asynccontextmanager
async def open_scheduler_client(
    config: ClientsConfig, *, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[HttpSchedulerClient]:
    async with make_http_client(config, transport=transport) as http:
        yield HttpSchedulerClient(http, config)


@asynccontextmanager
async def open_gateway_client(
    config: ClientsConfig,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    on_query: Callable[[str, str], None] | None = None,
) -> AsyncIterator[HttpGatewayClient]:
    async with make_http_client(config, transport=transport) as http:
        yield HttpGatewayClient(http, config, on_query=on_query)


@asynccontextmanager
async def open_scheduler_locator(
    config: ClientsConfig,
    *,
    store: SchedulerLocationStore | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[HttpSchedulerLocator]:
    async with make_http_client(config, transport=transport) as http:
        yield HttpSchedulerLocator(http, config, store=store, clock=clock)
