"""`Config.from_env`: every reference variable's default and parsing (reference-cu.md §4), and .env."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from aocu.config import DEFAULT_WASM_FORMATS, Config, ConfigError, GiB, load_dotenv, parse_dotenv
from aocu.testing import test_wallet_jwk

WALLET = test_wallet_jwk()      # a public key only: enough unless checkpoint creation signs with it
SIGNING_WALLET = (Path(__file__).parents[1] / "fixtures" / "ans104" / "test_jwk.json").read_text()


def config(**env: str) -> Config:
    return Config.from_env({"WALLET": WALLET, **env}, cpu_count=8)


def test_defaults_are_the_references() -> None:
    c = Config.from_env({"WALLET": WALLET}, cpu_count=8)
    assert (c.mode, c.unit_mode) == ("development", "cu")
    h = c.http
    assert (h.host, h.port, h.busy_threshold_ms, h.enable_metrics) == ("0.0.0.0", 6363, 0, False)
    assert (h.restrict_processes, h.allow_processes, h.allow_owners) == ((), (), ())
    assert (h.rate_limit.window_ms, h.rate_limit.max_requests, h.rate_limit.cleanup_interval_ms) == (
        60_000, 6, 1_000_000)
    assert h.max_body_bytes == 1024 * 1024 and h.result_cache_max_size == 10_000_000
    assert (c.log.default_level, c.log.config_path, c.log.monitor_interval_ms) == ("debug", ".loglevel", 10_000)
    w = c.wasm
    assert (w.memory_max_limit, w.compute_max_limit) == (GiB, 9_000_000_000_000)
    assert w.supported_formats == DEFAULT_WASM_FORMATS and w.supported_extensions == ()
    assert (w.max_workers, w.primary_workers_percentage, w.dry_run_max_queue) == (7, 70, 3000)
    assert (w.instance_cache_max_size, w.module_cache_max_size, w.module_mode) == (5, 5, None)
    assert c.store.db_url == "ao-cache" and c.store.db_path == Path("ao-cache.sqlite")
    assert not c.store.disable_evaluation_cache
    assert (c.memory_cache.max_bytes, c.memory_cache.ttl_ms, c.memory_cache.checkpoint_interval_ms) == (
        GiB, 86_400_000, 0)
    k = c.checkpoint
    assert (k.creation_throttle_ms, k.disable_arweave_creation, k.disable_file_creation) == (1_800_000, True, True)
    assert (k.eager_gas_threshold, k.eager_eval_time_threshold_ms) == (300_000_000_000_000, 900_000)
    assert (k.validation_steps, k.validation_thresh, k.validation_retries, k.ignore_local) == (10, 0.75, 5, False)
    assert k.uploader_url == "https://up.arweave.net"
    assert (c.dry_run.default_max_process_age_ms, c.dry_run.process_cache_ttl_ms,
            c.dry_run.result_max_age_ms) == (100, 2000, 60_000)
    assert (c.pipeline.hydration_nonce_limit, c.pipeline.enable_memory_reset) == (200, False)
    assert c.clients().graphql_url == "https://arweave.net/graphql"
    assert c.clients().load_messages_page_size == 1000


@pytest.mark.parametrize(("text", "value"), [
    ("8080", 8080), ("1_000", 1000), ("10s", 10), ("1gb", 1), ("0x10", 16), ("  42", 42), ("", 6363),
])
def test_integers_parse_like_parse_int(text: str, value: int) -> None:
    assert config(PORT=text).http.port == value


@pytest.mark.parametrize("text", ["abc", "-5", "s10", "99999"])
def test_bad_integers_stop_start_up_naming_the_variable(text: str) -> None:
    with pytest.raises(ConfigError, match="PORT"):
        config(PORT=text)


def test_lists_split_on_commas_and_trim() -> None:
    c = config(RESTRICT_PROCESSES=" a, b ,c", ALLOW_OWNERS="o1",
               PROCESS_WASM_SUPPORTED_FORMATS="wasm32-unknown-emscripten2")
    assert c.http.restrict_processes == ("a", "b", "c")
    assert c.http.allow_owners == ("o1",)
    assert c.wasm.supported_formats == ("wasm32-unknown-emscripten2",)


def test_the_three_kinds_of_boolean() -> None:
    # truthy strings: "false" turns the feature on (reference quirk, §8.1 item 10)
    assert config(ENABLE_METRICS_ENDPOINT="false").http.enable_metrics
    assert not config(ENABLE_METRICS_ENDPOINT="").http.enable_metrics
    assert config(DISABLE_PROCESS_EVALUATION_CACHE="0").store.disable_evaluation_cache
    assert config(ENABLE_MEMORY_RESET="no").pipeline.enable_memory_reset
    # true unless exactly "false"
    assert not config(DISABLE_PROCESS_CHECKPOINT_CREATION="false",
                      WALLET=SIGNING_WALLET).checkpoint.disable_arweave_creation
    assert config(DISABLE_PROCESS_CHECKPOINT_CREATION="FALSE").checkpoint.disable_arweave_creation
    assert not config(DISABLE_PROCESS_FILE_CHECKPOINT_CREATION="false").checkpoint.disable_file_creation
    # true only if exactly "true"
    assert config(IGNORE_LOCAL_CHECKPOINTS="true").checkpoint.ignore_local
    assert not config(IGNORE_LOCAL_CHECKPOINTS="1").checkpoint.ignore_local


def test_a_read_unit_forces_its_settings() -> None:
    c = config(UNIT_MODE="ru", DISABLE_PROCESS_CHECKPOINT_CREATION="false",
               DISABLE_PROCESS_FILE_CHECKPOINT_CREATION="false", PROCESS_MEMORY_CACHE_CHECKPOINT_INTERVAL="5")
    assert c.unit_mode == c.http.unit_mode == "ru"
    assert c.store.disable_evaluation_cache
    assert c.checkpoint.disable_arweave_creation and c.checkpoint.disable_file_creation
    assert c.memory_cache.checkpoint_interval_ms == 0


@pytest.mark.parametrize(("env", "variable"), [
    ({"UNIT_MODE": "xu"}, "UNIT_MODE"),
    ({"NODE_CONFIG_ENV": "test"}, "NODE_CONFIG_ENV"),
    ({"DEFAULT_LOG_LEVEL": "trace"}, "DEFAULT_LOG_LEVEL"),
    ({"CHECKPONT_VALIDATION_THRESH": "most"}, "CHECKPONT_VALIDATION_THRESH"),
    ({"GATEWAY_URL": "not a url"}, "GATEWAY_URL"),
    ({"UPLOADER_URL": "nope"}, "UPLOADER_URL"),
    ({"DB_URL": "postgres://u@h/db"}, "DB_URL"),
])
def test_invalid_settings_name_their_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        config(**env)


def test_profile_and_derived_defaults() -> None:
    assert config(NODE_CONFIG_ENV="production").log.monitor_interval_ms == 30_000
    assert config(CHECKPONT_VALIDATION_THRESH="0.5x").checkpoint.validation_thresh == 0.5
    assert Config.from_env({"WALLET": WALLET}, cpu_count=1).wasm.max_workers == 1
    c = config(TMPDIR="/var/tmp/")
    assert c.wasm.binary_dir == c.store.drain_dir == Path("/var/tmp")
    assert c.store.checkpoint_dir == Path("/var/tmp/file_checkpoints")
    options = c.stores()
    assert (options.drain_dir, options.checkpoint_dir, options.module_dir) == (
        Path("/var/tmp"), Path("/var/tmp/file_checkpoints"), Path("/var/tmp"))
    gateway = config(GATEWAY_URL="http://gw.test").clients()
    assert (gateway.arweave_url, gateway.graphql_url) == ("http://gw.test", "http://gw.test/graphql")


def test_the_wallet_address_is_the_sha256_of_the_modulus() -> None:
    n = json.loads(WALLET)["n"]
    digest = hashlib.sha256(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))).digest()
    c = config()
    assert c.wallet.address == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert len(c.wallet.address) == 43
    assert n not in repr(c), "the key never shows in a repr"


def test_wallet_file_is_read_relative_to_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "wallet.json").write_text(WALLET)
    from_file = Config.from_env({"WALLET_FILE": "wallet.json"}, cwd=tmp_path)
    assert from_file.wallet.address == config().wallet.address
    with pytest.raises(ConfigError, match="WALLET_FILE does not exist"):
        Config.from_env({"WALLET_FILE": "missing.json"}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="One of WALLET or WALLET_FILE is required"):
        Config.from_env({})
    with pytest.raises(ConfigError, match="WALLET"):
        Config.from_env({"WALLET": "{}"})


def test_checkpoint_creation_needs_a_wallet_that_can_sign() -> None:
    assert config(DISABLE_PROCESS_CHECKPOINT_CREATION="false", WALLET=SIGNING_WALLET).wallet.address
    assert config().wallet.address           # a public key is enough while creation is off
    with pytest.raises(ConfigError, match=r"^WALLET cannot sign checkpoints .*: the JWK has no 'd'"):
        config(DISABLE_PROCESS_CHECKPOINT_CREATION="false")
    wrong_d = json.loads(SIGNING_WALLET) | {"d": "AQAB", "p": ""}
    with pytest.raises(ConfigError, match=r"^WALLET cannot sign checkpoints .*: n, d, e don't match"):
        config(DISABLE_PROCESS_CHECKPOINT_CREATION="false", WALLET=json.dumps(wrong_d))


def test_dotenv_parses_like_dotenv() -> None:
    text = (
        "# a comment\n"
        "export PORT=8080\n"
        "BUSY_THRESHOLD = 500 # inline comment\n"
        "SINGLE='a # not a comment'\n"
        'DOUBLE="line1\\nline2"\n'
        "MULTI=\"first\nsecond\"\n"
        "COLON: value\n"
        "EMPTY=\r\n"
        "BACKTICK=`x`\n"
    )
    assert parse_dotenv(text) == {
        "PORT": "8080", "BUSY_THRESHOLD": "500", "SINGLE": "a # not a comment", "DOUBLE": "line1\nline2",
        "MULTI": "first\nsecond", "COLON": "value", "EMPTY": "", "BACKTICK": "x"}


def test_set_variables_win_over_the_dotenv_file(tmp_path: Path) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("PORT=1111\nBUSY_THRESHOLD=7\n")
    merged = load_dotenv({"PORT": "2222", "DOTENV_CONFIG_PATH": str(env_file)})
    assert (merged["PORT"], merged["BUSY_THRESHOLD"]) == ("2222", "7")
    assert load_dotenv({"A": "1"}, tmp_path / "absent.env") == {"A": "1"}


def test_wasm_program_defaults_to_the_reference_images_worker_and_reaches_the_pipeline() -> None:
    from aocu.pipeline._open import pipeline_options

    default, given = config(), config(AOCU_WASM_PROGRAM="/opt/cu/src/effects/worker/evaluator/index.js")
    assert default.wasm.program == "/usr/app/src/effects/worker/evaluator/index.js"
    assert pipeline_options(given).wasm_program == "/opt/cu/src/effects/worker/evaluator/index.js"
