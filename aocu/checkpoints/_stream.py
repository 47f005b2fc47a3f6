"""Reading a checkpoint's data as it downloads: hashed and decoded in one pass, on two worker threads.

`read_checkpoint_data` takes the body's pieces on the trio thread and hands each to two stages,
each a trio task feeding its own worker thread in order: the SHA-384 of the data (what the
signature's deep hash needs of it), and the gunzip with the memory's SHA-256 (`MemoryDecoder`).
hashlib and the inflater release the GIL, so download, hashing and inflating overlap on two
cores. Bounded: at most `QUEUE_PIECES` pieces wait per stage, the download pauses meanwhile,
and a piece is dropped once both stages had it; the only thing that grows is the memory.
Nothing decoded is used here: the caller checks the signature and the hash before it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable

import trio

from aocu.arweave import HashedBlob

from ._codec import MemoryDecoder
from ._format import CheckpointRejected

__all__ = ["QUEUE_PIECES", "read_checkpoint_data"]

#: Pieces waiting per stage while the other is busy (with 4 MiB pieces, 16 MiB each at most).
QUEUE_PIECES = 4


async def read_checkpoint_data(pieces: AsyncIterator[bytes], decoder: MemoryDecoder, *,
                               limiter: trio.CapacityLimiter | None = None) -> HashedBlob:
    """Feed every piece to ``decoder`` and hash them all; the data's SHA-384 and length.

    ``limiter`` bounds the worker threads (trio's default when None); with one token the two
    stages take turns, still in order.

    Raises the first failure (`CheckpointRejected` from decoding, the download's own error) with
    nothing left running; ``decoder.finish()`` is the caller's (it refuses a truncated stream).
    """
    data_hash = hashlib.sha384()
    size = 0
    failures: list[Exception] = []

    async with trio.open_nursery() as nursery:
        async def stage(receive: trio.MemoryReceiveChannel[bytes], work: Callable[[bytes], None]) -> None:
            try:
                async with receive:
                    async for piece in receive:
                        await trio.to_thread.run_sync(work, piece, limiter=limiter)
            except CheckpointRejected as exc:
                failures.append(exc)
                nursery.cancel_scope.cancel()

        send_hash, receive_hash = trio.open_memory_channel[bytes](QUEUE_PIECES)
        send_decode, receive_decode = trio.open_memory_channel[bytes](QUEUE_PIECES)
        nursery.start_soon(stage, receive_hash, data_hash.update)
        nursery.start_soon(stage, receive_decode, decoder.feed)
        try:
            async with send_hash, send_decode:
                async for piece in pieces:
                    size += len(piece)
                    await send_hash.send(piece)
                    await send_decode.send(piece)
        except Exception as exc:        # the download failed: stop the stages, report it plainly
            failures.append(exc)
            nursery.cancel_scope.cancel()
    if failures:
        raise failures[0]
    return HashedBlob(data_hash.digest(), size)
