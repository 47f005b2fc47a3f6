"""The checkpoint settings reach the pipeline and the finder as the reference's variables say (§4)."""

from __future__ import annotations

from aocu.config import Config
from aocu.pipeline import pipeline_options
from aocu.pipeline._open import finder_settings
from aocu.testing import test_wallet_jwk


def config(**env: str) -> Config:
    return Config.from_env({"WALLET": test_wallet_jwk(), **env})


def test_defaults_create_nothing_automatically_and_trust_only_the_own_wallet() -> None:
    c = config()
    assert not pipeline_options(c).auto_file_checkpoints and not pipeline_options(c).ignore_local_checkpoints
    s = finder_settings(c)
    assert s.owners == (c.wallet.address,) and s.preferred_owners == ()
    assert (s.steps, s.retries, s.threshold, s.ignore_local) == (10, 5, 0.75, False)
    assert s.max_memory_bytes == c.wasm.memory_max_limit


def test_variables_map_to_settings() -> None:
    c = config(DISABLE_PROCESS_FILE_CHECKPOINT_CREATION="false", IGNORE_LOCAL_CHECKPOINTS="true",
               PROCESS_CHECKPOINT_TRUSTED_OWNERS="a, b", PROCESS_CHECKPOINT_PREFERRED_OWNERS="b",
               IGNORE_ARWEAVE_CHECKPOINTS="x,y", PROCESS_IGNORE_ARWEAVE_CHECKPOINTS="p",
               CHECKPONT_VALIDATION_STEPS="4", CHECKPONT_VALIDATION_RETRIES="2", CHECKPONT_VALIDATION_THRESH="0.5",
               PROCESS_MEMORY_CACHE_CHECKPOINT_INTERVAL="60000")
    assert pipeline_options(c).auto_file_checkpoints and pipeline_options(c).ignore_local_checkpoints
    s = finder_settings(c)
    assert s.owners == ("a", "b") and s.preferred_owners == ("b",)
    assert s.ignore_ids == {"x", "y"} and s.ignore_processes == {"p"} and s.ignore_local
    assert (s.steps, s.retries, s.threshold) == (4, 2, 0.5)
    assert c.memory_cache.checkpoint_interval_ms == 60_000
