"""Async clients for the CU's upstreams: the Scheduler Unit, SU discovery, the Arweave gateway.

Layout: ``base.py`` holds the ports (``SchedulerClient``, ``SchedulerLocator``,
``GatewayClient``, ``SchedulerLocationStore``) and the frozen values they return; the httpx
implementations live in ``_scheduler.py``, ``_locator.py`` and ``_gateway.py``, built by the
``open_*`` context managers in ``_open.py``; ``_retry.py`` gives every call its deadline, retries
and error translation; ``_errors.py`` the error tree; ``config.py`` the settings.

    config = ClientsConfig.from_env(os.environ)
    async with open_scheduler_locator(config) as locator, open_scheduler_client(config) as su:
        where = await locator.locate(process_id)
        process = await su.load_process(where.url, process_id)
        async for page in su.message_pages(where.url, process_id, to_timestamp=ts):
            ...
"""

from ._breaker import CircuitBreaker
from ._errors import (
    CircuitOpenError,
    InvalidSchedulerLocationError,
    NotFoundError,
    ResponseTooLargeError,
    SchedulerTagNotFoundError,
    TransactionNotFoundError,
    UpstreamConnectionError,
    UpstreamDataError,
    UpstreamError,
    UpstreamSequenceError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from ._gateway import HttpGatewayClient
from ._locator import HttpSchedulerLocator, MemorySchedulerLocationStore
from ._open import make_http_client, open_gateway_client, open_scheduler_client, open_scheduler_locator
from ._retry import RetryPolicy
from ._scheduler import HttpSchedulerClient
from ._uploader import HttpUploaderClient, Uploader, open_uploader_client
from .base import (
    Assignment,
    Block,
    CachedLocation,
    CheckpointRecord,
    GatewayClient,
    LocationKind,
    MessageMeta,
    MessagePage,
    Owner,
    ProcessMeta,
    ScheduledMessage,
    SchedulerClient,
    SchedulerLocation,
    SchedulerLocationStore,
    SchedulerLocator,
    SchedulerTimestamp,
    SuMessage,
    Tag,
    TransactionMeta,
)
from .config import ClientsConfig, ClientsConfigError

__all__ = [
    "Assignment",
    "Block",
    "CachedLocation",
    "CheckpointRecord",
    "CircuitBreaker",
    "CircuitOpenError",
    "ClientsConfig",
    "ClientsConfigError",
    "GatewayClient",
    "HttpGatewayClient",
    "HttpSchedulerClient",
    "HttpSchedulerLocator",
    "HttpUploaderClient",
    "InvalidSchedulerLocationError",
    "LocationKind",
    "MemorySchedulerLocationStore",
    "MessageMeta",
    "MessagePage",
    "NotFoundError",
    "Owner",
    "ProcessMeta",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ScheduledMessage",
    "SchedulerClient",
    "SchedulerLocation",
    "SchedulerLocationStore",
    "SchedulerLocator",
    "SchedulerTagNotFoundError",
    "SchedulerTimestamp",
    "SuMessage",
    "Tag",
    "TransactionMeta",
    "TransactionNotFoundError",
    "Uploader",
    "UpstreamConnectionError",
    "UpstreamDataError",
    "UpstreamError",
    "UpstreamSequenceError",
    "UpstreamStatusError",
    "UpstreamTimeoutError",
    "make_http_client",
    "open_gateway_client",
    "open_scheduler_client",
    "open_scheduler_locator",
    "open_uploader_client",
]
