"""``ENABLE_MEMORY_RESET``: the owner's ``Action: Reset-Memory`` re-boots a process (reference-cu.md §2.13 item 1).

When the option is on and a message carries the tag ``Action: Reset-Memory`` and its ``Owner``
is the process owner (``AoGlobal.Process.Owner``), the reference does not hand that message to
the module: it evaluates, on a fresh instance with empty memory, an init message built from the
first edge of the process's SU stream, and that result *replaces* the reset message's result
(which is saved under the reset message as usual). A dry run can do it too: its ``Owner`` is
whatever the caller sent (§8.4 item 27).

This module owns the two rules: whether a message asks for a reset, and the init message. The
live instance's side (swap in the fresh instance, or roll back on an ``Error``) is
`LiveProcess.reset`. Pure functions, no I/O; the SU page is fetched by the caller.

One difference: the reference locates the SU through a fixed scheduler address
(``_GQ33BkPtZrqxA84vM8Zk-N2aO0toNNu_C-l-rawrBA``, legacynet's SU) as its hint; aocu asks the
process's own SU, which is that one on legacynet and the only one on any other network.
"""

from __future__ import annotations

from typing import Any

from aocu.clients import ScheduledMessage
from aocu.errors import InvalidMessageError

__all__ = ["RESET_ACTION", "memory_reset_message", "wants_memory_reset"]

RESET_ACTION = "Reset-Memory"


def wants_memory_reset(message_js: dict[str, Any], env_js: dict[str, Any]) -> bool:
    """``shouldReset`` of the reference's worker, less the ``ENABLE_MEMORY_RESET`` switch."""
    tags = message_js.get("Tags")
    if not isinstance(tags, list):
        return False
    owner = env_js.get("Process", {}).get("Owner")
    return message_js.get("Owner") == owner and any(
        isinstance(tag, dict) and tag.get("name") == "Action" and tag.get("value") == RESET_ACTION
        for tag in tags)


def memory_reset_message(first: ScheduledMessage | None, process_id: str) -> dict[str, Any]:
    """``evalInitialMemory``'s message, from the first edge of ``GET {su}/{pid}?limit=1``.

    Keys in the reference's order (``Forwarded-By`` is undefined there, so absent); the tags are
    the process message's own, unfiltered. Where the reference would crash reading a missing
    field (no edge, an assignment edge, no ``Hash-Chain`` tag) the stream fails with a clear error.
    """
    if first is None or first.message is None:
        raise InvalidMessageError(f"Cannot reset the memory of process {process_id}: "
                                  "its first Scheduler message is not the process message")
    assignment = first.assignment
    if assignment.hash_chain is None:
        raise InvalidMessageError(f"Cannot reset the memory of process {process_id}: "
                                  "its first assignment has no Hash-Chain tag")
    message = first.message
    return {
        "Id": process_id,
        "Signature": message.signature,
        "Data": message.data,
        "Owner": message.owner.address,
        "Target": process_id,
        "Anchor": message.anchor,
        "From": message.owner.address,
        "Tags": [{"name": t.name, "value": t.value} for t in message.tags],
        "Epoch": 0,
        "Nonce": 0,
        "Timestamp": assignment.timestamp,
        "Block-Height": assignment.block_height,
        "Hash-Chain": assignment.hash_chain,
        "Cron": False,
        "Read-Only": False,
    }
