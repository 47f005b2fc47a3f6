"""Reading a checkpoint's data as it downloads: hashed and decoded in one pass, on two worker threads.

`read_checkpoint_data` takes the body's pieces on the trio thread and hands each to stages, each
a trio task feeding its own worker thread in order: the SHA-384 of the data (what the
signature's deep hash needs of it), the gunzip (`MemoryDecoder`), and the SHA-256 of what the
gunzip produced. hashlib and the inflater release the GIL, so download, hashing and inflating
overlap on the cores there are. Bounded: at most `QUEUE_PIECES` pieces wait per stage, the download pauses meanwhile,
and a piece is dropped once both stages had it; the only thing that grows is the memory.
Nothing decoded is used here: the caller checks the signature and the hash before it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import trio

from aocu.arweave import HashedBlob

from ._codec import MemoryDecoder
from ._format import CheckpointRejected

__all__ = ["QUEUE_PIECES", "read_checkpoint_data"]

T = TypeVar("T")

#: Pieces waiting per stage while the other is busy (with 4 MiB pieces, 16 MiB each at most).
QUEUE_PIECES = 4


async def read_checkpoint_data(pieces: AsyncIterator[bytes], decoder: MemoryDecoder, *,
                               limiter: trio.CapacityLimiter | None = None) -> tuple[HashedBlob, str]:
    """Feed every piece to ``decoder``, hashing the data and the memory; the data's SHA-384 and
    length, and the memory's hex SHA-256.

    ``limiter`` bounds the worker threads (trio's default when None); with one token the stages
    take turns, still each in order. Raises the first failure (`CheckpointRejected` from decoding,
    the download's own error) with nothing left running; ``decoder.finish()`` is the caller's
    (it refuses a truncated stream).
    """
    data_hash, memory_hash = hashlib.sha384(), hashlib.sha256()
    size = 0
    failures: list[Exception] = []

    async with trio.open_nursery() as nursery:
        async def stage(receive: trio.MemoryReceiveChannel[bytes], work: Callable[[bytes], T],
                        then: Callable[[T], Awaitable[None]] | None = None) -> None:
            try:
                async with receive:
                    async for piece in receive:
                        result = await trio.to_thread.run_sync(work, piece, limiter=limiter)
                        if then is not None:
                            await then(result)
            except CheckpointRejected as exc:
                failures.append(exc)
                nursery.cancel_scope.cancel()

        send_data, receive_data = trio.open_memory_channel[bytes](QUEUE_PIECES)
        send_gzip, receive_gzip = trio.open_memory_channel[bytes](QUEUE_PIECES)
        send_memory, receive_memory = trio.open_memory_channel[bytes](QUEUE_PIECES)

        async def pass_on(added: list[bytes]) -> None:
            for piece in added:
                await send_memory.send(piece)

        async def inflate() -> None:
            async with send_memory:
                await stage(receive_gzip, decoder.feed, pass_on)

        # the inflater is the long pole (hashing runs 3-5x faster): it gets a thread to itself
        nursery.start_soon(stage, receive_data, data_hash.update)
        nursery.start_soon(inflate)
        nursery.start_soon(stage, receive_memory, memory_hash.update)
        try:
            async with send_data, send_gzip:
                async for piece in pieces:
                    size += len(piece)
                    await send_data.send(piece)
                    await send_gzip.send(piece)
        except Exception as exc:        # the download failed: stop the stages, report it plainly
            failures.append(exc)
            nursery.cancel_scope.cancel()
    if failures:
        raise failures[0]
    return HashedBlob(data_hash.digest(), size), memory_hash.hexdigest()
