"""The reference CU's domain rules, bit for bit: pure functions and frozen data, no I/O.

Owns no tasks, threads or connections; everything here runs on the caller's thread, and the one
coroutine (`hydrate_envelope`) only awaits the gateway it is given. It must never fetch, store
or sleep. Where to start, in stream order (reference-cu.md §2.7-§2.11):

* `process_meta_from_su`, `verify_process_tags`: the process record (§2.3);
* `module_options`: module metadata validation, 413/422 errors (§2.6);
* `envelope_from_su_node`, then `HashChainVerifier.check`: SU messages and their hash chain, in
  SU order and before crons are merged in (crons are not chained) (§2.7);
* `parse_crons`, `CronSchedule`, `CronMerger` (`left_most_block`, `find_missing_blocks`,
  `merge_blocks`): generated crons merged into the stream (§2.8);
* `needs_process_message`, `process_message`: the cold-start process message (§2.9);
* `hydrate_envelope` (`with_deep_hash`, `apply_transaction`, `validate_envelope`) on every
  envelope of the merged stream, crons and the process message included (§2.10);
* `CronDeduper`: the evaluation loop's cron de-duplication (§2.12);
* `module_message_js`, `AoGlobal.to_js`: the exact ``handle(message, env)`` objects (§2.11).
"""

from ._cron import (
    BLOCK_GAP_TOLERANCE_S,
    BlockRange,
    CronDeduper,
    CronMerger,
    CronSchedule,
    find_missing_blocks,
    is_block_on_cron,
    is_timestamp_on_cron,
    left_most_block,
    merge_blocks,
    parse_cron_interval,
    parse_crons,
)
from ._hashchain import (
    HASH_CHAIN_MIN_BLOCK_HEIGHT,
    HashChainVerifier,
    compute_hash_chain,
    is_hash_chain_valid,
)
from ._hydrate import (
    TransactionLoader,
    apply_transaction,
    assignment_request,
    forwarded_deep_hash,
    hydrate_envelope,
    with_deep_hash,
)
from ._js import js_parse_int, js_string, js_truthy
from ._message import (
    dry_run_message,
    envelope_from_su_node,
    module_message_js,
    needs_process_message,
    process_message,
    validate_envelope,
)
from ._model import (
    MESSAGE_KEYS,
    AoGlobal,
    Block,
    CronInterval,
    Envelope,
    GatewaySkip,
    Message,
    ModuleMeta,
    ModuleOptions,
    Owner,
    ProcessMeta,
    Tag,
    Tags,
    TransactionMeta,
    Undefined,
    tags_from_js,
    tags_to_js,
)
from ._module_meta import (
    DEFAULT_MODULE_FORMATS,
    DEFAULT_PROCESS_WASM_COMPUTE_MAX_LIMIT,
    DEFAULT_PROCESS_WASM_MEMORY_MAX_LIMIT_BYTES,
    LLAMA_ADMISSABLE,
    MODULE_OPTIONS_BLOCK_HEIGHT,
    module_options,
    parse_compute_limit,
    parse_memory_limit,
)
from ._process_meta import process_meta_from_su, verify_process_tags
from ._tags import (
    eq_or_includes,
    find_raw_tag,
    map_forwarded_by,
    map_from,
    map_sender,
    parse_tags,
    remove_tags_by_name,
)

__all__ = [
    "BLOCK_GAP_TOLERANCE_S",
    "DEFAULT_MODULE_FORMATS",
    "DEFAULT_PROCESS_WASM_COMPUTE_MAX_LIMIT",
    "DEFAULT_PROCESS_WASM_MEMORY_MAX_LIMIT_BYTES",
    "HASH_CHAIN_MIN_BLOCK_HEIGHT",
    "LLAMA_ADMISSABLE",
    "MESSAGE_KEYS",
    "MODULE_OPTIONS_BLOCK_HEIGHT",
    "AoGlobal",
    "Block",
    "BlockRange",
    "CronDeduper",
    "CronInterval",
    "CronMerger",
    "CronSchedule",
    "Envelope",
    "GatewaySkip",
    "HashChainVerifier",
    "Message",
    "ModuleMeta",
    "ModuleOptions",
    "Owner",
    "ProcessMeta",
    "Tag",
    "Tags",
    "TransactionLoader",
    "TransactionMeta",
    "Undefined",
    "apply_transaction",
    "assignment_request",
    "compute_hash_chain",
    "dry_run_message",
    "envelope_from_su_node",
    "eq_or_includes",
    "find_missing_blocks",
    "find_raw_tag",
    "forwarded_deep_hash",
    "hydrate_envelope",
    "is_block_on_cron",
    "is_hash_chain_valid",
    "is_timestamp_on_cron",
    "js_parse_int",
    "js_string",
    "js_truthy",
    "left_most_block",
    "map_forwarded_by",
    "map_from",
    "map_sender",
    "merge_blocks",
    "module_message_js",
    "module_options",
    "needs_process_message",
    "parse_compute_limit",
    "parse_cron_interval",
    "parse_crons",
    "parse_memory_limit",
    "parse_tags",
    "process_message",
    "process_meta_from_su",
    "remove_tags_by_name",
    "tags_from_js",
    "tags_to_js",
    "validate_envelope",
    "verify_process_tags",
    "with_deep_hash",
]
