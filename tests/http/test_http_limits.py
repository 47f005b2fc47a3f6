"""The dry-run rate limiter (§1.11), the /result cache (§1.10) and the metrics endpoint (§1.8)."""

from __future__ import annotations

import trio
import trio.testing

from aocu.api import PipelineGauges
from aocu.config import HttpConfig, RateLimitConfig
from aocu.http import METRICS_CONTENT_TYPE, ServiceMetrics, make_app
from aocu.http._limits import RateLimiter, ResultCache, client_ip
from aocu.testing import FakeComputeUnitApi
from aocu.testing import open_test_client as serving

PID = "limited-process"


async def test_the_seventh_uncached_dry_run_a_minute_is_refused(fake: FakeComputeUnitApi) -> None:
    async with serving(fake) as http:              # the reference's defaults: 6 per 60 s per client
        answers = [(await http.post("/dry-run", params={"process-id": PID}, json={})).status_code
                   for _ in range(7)]
        other = await http.post("/dry-run", params={"process-id": PID}, json={},
                                headers={"X-Forwarded-For": "203.0.113.9, 10.0.0.1"})
        limited = await http.post("/dry-run", params={"process-id": PID}, json={})
    assert answers == [200] * 6 + [429]
    assert (limited.status_code, limited.json()) == (429, {"error": "Rate limit exceeded"})
    assert other.status_code == 200, "another client (X-Forwarded-For's first entry) has its own window"
    assert len(fake.calls_to("dry_run")) == 7


async def test_failed_dry_runs_count_and_invalid_ones_do_not(fake: FakeComputeUnitApi) -> None:
    fake.failures["dry_run"] = RuntimeError("boom")
    config = HttpConfig(rate_limit=RateLimitConfig(max_requests=2))
    async with serving(fake, config) as http:
        invalid = [(await http.post("/dry-run", json={})).status_code for _ in range(3)]
        failing = [(await http.post("/dry-run", params={"process-id": PID}, json={})).status_code
                   for _ in range(3)]
    assert invalid == [400, 400, 400]     # refused before recordRequest
    assert failing == [500, 500, 429]     # recorded before the evaluation failed


async def test_answers_from_the_dry_run_cache_are_not_counted(fake: FakeComputeUnitApi) -> None:
    fake.dry_run_cached = True
    config = HttpConfig(rate_limit=RateLimitConfig(max_requests=1))
    async with serving(fake, config) as http:
        answers = [(await http.post("/dry-run", params={"process-id": PID}, json={})).status_code
                   for _ in range(5)]
    assert answers == [200] * 5


async def test_any_zero_setting_disables_the_limiter(fake: FakeComputeUnitApi) -> None:
    config = HttpConfig(rate_limit=RateLimitConfig(max_requests=1, cleanup_interval_ms=0))
    async with serving(fake, config) as http:
        answers = [(await http.post("/dry-run", params={"process-id": PID}, json={})).status_code
                   for _ in range(3)]
    assert answers == [200, 200, 200]


async def test_the_window_slides(autojump_clock: trio.testing.MockClock) -> None:
    limiter = RateLimiter(RateLimitConfig(window_ms=60_000, max_requests=2, cleanup_interval_ms=1_000))
    limiter.record("a")
    await trio.sleep(30)
    limiter.record("a")
    assert limiter.is_limited("a") and not limiter.is_limited("b")
    await trio.sleep(30.001)                       # the first request left the window
    assert not limiter.is_limited("a")
    await trio.sleep(61)
    limiter.is_limited("c")                        # a sweep drops clients with no recent request
    assert limiter.tracked_clients() == 0


def test_forget_removes_exactly_one_request() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimitConfig(max_requests=2), clock_ms=lambda: now[0])
    first = limiter.record("a")
    now[0] = 5.0
    limiter.record("a")
    limiter.forget("a", first)
    limiter.forget("a", first)                     # a second forget of the same request is a no-op
    assert not limiter.is_limited("a")
    limiter.record("a")
    assert limiter.is_limited("a")


def test_client_ip_prefers_forwarded_then_real_ip_then_the_socket() -> None:
    assert client_ip({"X-Forwarded-For": " 1.2.3.4 , 5.6.7.8", "X-Real-IP": "9.9.9.9"}, "127.0.0.1") == "1.2.3.4"
    assert client_ip({"X-Real-IP": "9.9.9.9"}, "127.0.0.1") == "9.9.9.9"
    assert client_ip({"X-Forwarded-For": ""}, "127.0.0.1") == "127.0.0.1"


def test_result_cache_is_lru_by_serialized_size() -> None:
    cache = ResultCache(max_size=10)
    cache.put(("p", "a"), '"aaaa"')                # 6 UTF-16 units
    cache.put(("p", "b"), '"b"')                   # 3
    assert cache.get(("p", "a")) == b'"aaaa"'       # a is now the most recent
    cache.put(("p", "c"), '"cc"')                  # 4: b, the least recent, goes
    assert cache.get(("p", "b")) is None and cache.get(("p", "c")) == b'"cc"'
    cache.put(("p", "huge"), '"' + "x" * 20 + '"')  # larger than the whole cache: not kept
    assert cache.get(("p", "huge")) is None and cache.size == 10 and len(cache) == 2


async def test_metrics_route_exists_only_when_enabled(fake: FakeComputeUnitApi) -> None:
    async with serving(fake) as http:
        assert (await http.get("/metrics")).status_code == 404


async def test_metrics_count_requests_by_route_pattern_and_status(fake: FakeComputeUnitApi) -> None:
    fake.results[PID, "m"] = {"Messages": [], "Assignments": [], "Spawns": [], "Output": ""}
    config = HttpConfig(enable_metrics=True, restrict_processes=("denied",))
    async with serving(fake, config) as http:
        await http.get("/result/m", params={"process-id": PID})
        await http.get("/result/m")                                   # 400
        await http.get("/result/m", params={"process-id": "denied"})  # 403 outside metrics
        await http.post("/dry-run", params={"process-id": "denied"}, json={})  # 403 inside metrics
        await http.get("/")                                           # never measured
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == METRICS_CONTENT_TYPE
    text = response.text
    route = 'method="GET",route="/result/:messageTxId"'
    assert f'ao_cu_http_request_duration_seconds_count{{{route},status="200",statusGroup="2xx"}} 1.0' in text
    assert f'ao_cu_http_request_duration_seconds_count{{{route},status="400",statusGroup="4xx"}} 1.0' in text
    assert f'{route},status="403"' not in text
    assert ('ao_cu_http_request_summary_seconds_count{method="POST",route="/dry-run",status="403",'
            'statusGroup="4xx"} 1.0') in text
    assert f'# {{process_id="{PID}"}}' in text, "the process id rides along as an exemplar"
    for family in ("ao_cu_ao_process_total_evaluations", "ao_cu_ao_process_total_graphql_queries",
                   "ao_cu_ao_process_total", "ao_cu_worker_total", "ao_cu_worker_tasks_total",
                   "ao_cu_process_resident_memory_bytes"):
        assert f"# TYPE {family} " in text
    assert text.endswith("# EOF\n")


async def test_shared_metrics_refresh_gauges_on_scrape(fake: FakeComputeUnitApi) -> None:
    metrics = ServiceMetrics()
    sizes = iter([3, 4])
    metrics.gauges_from(lambda: PipelineGauges(processes_in_memory=next(sizes), processes_in_files=2))
    app = make_app(fake, HttpConfig(enable_metrics=True), metrics=metrics)
    async with app.test_app() as test_app:
        await test_app.test_client().get("/metrics")
        response = await test_app.test_client().get("/metrics")
    text = await response.get_data(as_text=True)
    # prom-client's unlabelled total next to the labelled series
    assert 'ao_cu_ao_process_total{cache_type="memory"} 4.0' in text
    assert 'ao_cu_ao_process_total{cache_type="file"} 2.0' in text
    assert "\nao_cu_ao_process_total 6.0\n" in text
