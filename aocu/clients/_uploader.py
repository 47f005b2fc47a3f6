"""The checkpoint uploader client: ``POST {UPLOADER_URL}/tx/arweave`` with one signed data item.

`HttpUploaderClient` implements `Uploader` over one ``httpx.AsyncClient`` on the trio thread.
The reference's ``uploadDataItemWith`` (``servers/cu/src/effects/arweave.js``) sends the raw
ANS-104 bytes with ``Content-Type: application/octet-stream`` and ``Accept: application/json``
and reads ``id`` from the JSON receipt (Turbo/Irys bundlers answer that shape); it does not
retry. Here transient failures (connect errors, 408/429/5xx) are retried with the gateway's
backoff, since re-posting the same signed item is idempotent (same id), and a receipt whose id
is not the item's is an `UpstreamDataError`.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

import httpx

from ._errors import UpstreamDataError
from ._open import make_http_client
from ._parse import ShapeError, as_object, as_str
from ._retry import RetryPolicy, read_json, run_operation, send, shape_error
from .config import ClientsConfig, join_url

__all__ = ["HttpUploaderClient", "Uploader", "open_uploader_client"]

UPLOADER = "uploader"


class Uploader(Protocol):
    async def upload_data_item(self, raw: bytes | Sequence[bytes], *, item_id: str | None = None) -> str:
        """Post one signed data item (its bytes, or its bytes in pieces); returns the id the uploader acknowledged.

        With ``item_id``, a receipt for another id is an `UpstreamDataError`.
        """
        ...


class HttpUploaderClient:
    """`Uploader` over httpx; the caller owns ``http`` (see `open_uploader_client`)."""

    def __init__(self, http: httpx.AsyncClient, config: ClientsConfig, uploader_url: str, *,
                 policy: RetryPolicy | None = None, rng: random.Random | None = None) -> None:
        self.http = http
        self.config = config
        self.url = join_url(uploader_url, "/tx/arweave")
        self.policy = policy if policy is not None else config.gateway_retry
        self._rng = rng if rng is not None else random.Random()

    async def upload_data_item(self, raw: bytes | Sequence[bytes], *, item_id: str | None = None) -> str:
        parts = (raw,) if isinstance(raw, bytes) else tuple(raw)
        # pieces are streamed as they are (a checkpoint's gzip is never joined); the length is
        # declared so the body is not sent chunked
        headers = {"content-type": "application/octet-stream", "accept": "application/json",
                   "content-length": str(sum(map(len, parts)))}

        async def pieces() -> AsyncIterator[bytes]:
            for part in parts:
                yield part

        async def attempt(_: int) -> str:
            async with send(self.http, "POST", self.url, upstream=UPLOADER, content=pieces(), headers=headers,
                            phase_timeouts=self.config.http_timeout()) as response:
                body = await read_json(response, upstream=UPLOADER, max_bytes=self.config.json_max_bytes)
                try:
                    receipt_id = as_str(as_object(body, "receipt").get("id"), "receipt.id", non_empty=True)
                except ShapeError as exc:
                    raise shape_error(exc, response, upstream=UPLOADER, what="upload receipt") from None
                if item_id is not None and receipt_id != item_id:
                    raise UpstreamDataError(f"the uploader acknowledged {receipt_id}, not the item {item_id}",
                                            upstream=UPLOADER, method="POST", url=self.url,
                                            status=response.status_code)
                return receipt_id

        return await run_operation(attempt, policy=self.policy, timeout_s=self.config.download_timeout_s,
                                   rng=self._rng, upstream=UPLOADER, method="POST", url=self.url)


@asynccontextmanager
async def open_uploader_client(config: ClientsConfig, uploader_url: str, *,
                               transport: httpx.AsyncBaseTransport | None = None) -> AsyncIterator[HttpUploaderClient]:
    async with make_http_client(config, transport=transport) as http:
        yield HttpUploaderClient(http, config, uploader_url)
