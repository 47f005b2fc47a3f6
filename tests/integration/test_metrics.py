"""``GET /metrics`` after evaluation: every reference family is fed by the pipeline (reference-cu.md §6.1).

The real pipeline behind `run_cu` against the devnet: evaluations (primary and dry-run, with and
without ``Error``), the gateway's GraphQL queries, the process cache and the worker gauges.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import trio
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from aocu.app import run_cu
from aocu.config import Config
from aocu.devnet import DevnetConfig, cu_state_env, open_devnet
from aocu.testing import test_wallet_jwk

from .test_pipeline_devnet import MODULES


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], Any]:
    """``{(sample name, sorted labels): sample}`` of an OpenMetrics exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_the_pipeline_feeds_every_reference_metric(tmp_path: Path) -> None:
    async with open_devnet(DevnetConfig(directory=tmp_path / "net")) as devnet:
        module = await devnet.publish_module((MODULES / "lua_process_gen2.wasm").read_bytes(),
                                             module_format="wasm32-unknown-emscripten2")
        pid = await devnet.spawn(module)
        for action in ("Count", "Count", "Nope", "Count"):        # Nope: the module answers an Error
            last = await devnet.send(pid, data="x", tags={"Action": action})
        env = {**devnet.urls.cu_env(), "WALLET": test_wallet_jwk(), "HOST": "127.0.0.1", "PORT": "0",
               **cu_state_env(tmp_path), "DEFAULT_LOG_LEVEL": "error",
               "ENABLE_METRICS_ENDPOINT": "1", "WASM_EVALUATION_MAX_WORKERS": "4"}
        config = Config.from_env(env, cwd=tmp_path)
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(run_cu, config)
            async with httpx.AsyncClient(base_url=binds[0], timeout=60) as http:
                assert (await http.get(f"/result/{last}", params={"process-id": pid})).status_code == 200
                dry = await http.post("/dry-run", params={"process-id": pid},
                                      json={"Owner": "someone", "Tags": [{"name": "Action", "value": "Count"}]})
                assert dry.status_code == 200, dry.text
                text = (await http.get("/metrics")).text
            nursery.cancel_scope.cancel()
    got = samples(text)

    def value(name: str, **labels: str) -> float:
        return float(got[name, tuple(sorted(labels.items()))].value)

    evaluations = "ao_cu_ao_process_total_evaluations_total"
    # the boot message and four scheduled ones in the primary stream, one of them an Error; one dry-run
    assert value(evaluations) == 6
    assert value(evaluations, stream_type="primary", message_type="scheduled", process_error="false") == 4
    assert value(evaluations, stream_type="primary", message_type="scheduled", process_error="true") == 1
    assert value(evaluations, stream_type="dry-run", message_type="dry-run", process_error="false") == 1
    exemplar = got[evaluations, (("message_type", "dry-run"), ("process_error", "false"),
                                 ("stream_type", "dry-run"))].exemplar
    assert exemplar is not None and exemplar.labels == {"processId": pid}
    # the module's metadata came from the gateway's GraphQL
    assert value("ao_cu_ao_process_total_graphql_queries_total", query_name="GetTransactionMeta",
                 result="success") >= 1
    assert (value("ao_cu_ao_process_total", cache_type="memory"), value("ao_cu_ao_process_total", cache_type="file"),
            value("ao_cu_ao_process_total")) == (1, 0, 1)
    # 4 workers, 70 % primary (WASM_EVALUATION_PRIMARY_WORKERS_PERCENTAGE), all idle after the answers
    assert (value("ao_cu_worker_total", worker_type="primary"), value("ao_cu_worker_total", worker_type="dry-run"),
            value("ao_cu_worker_total")) == (2, 2, 4)
    assert value("ao_cu_worker_tasks_total", worker_type="primary", task_type="active") == 0
    assert value("ao_cu_worker_tasks_total", worker_type="dry-run", task_type="pending") == 0
    route = {"method": "GET", "route": "/result/:messageTxId", "status": "200", "statusGroup": "2xx"}
    assert value("ao_cu_http_request_duration_seconds_count", **route) == 1
