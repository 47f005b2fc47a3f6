"""BUSY_THRESHOLD (reference-cu.md §1.9): 202 while the evaluation goes on, ``no-busy`` waits."""

from __future__ import annotations

import trio
import trio.testing

from aocu.api import StateBody
from aocu.config import HttpConfig
from aocu.http import make_app
from aocu.testing import FakeComputeUnitApi
from aocu.testing import open_test_client as serving

PID = "busy-process"
MID = "busy-message"
RESULT = {"Messages": [], "Assignments": [], "Spawns": [], "Output": "done"}
BUSY = HttpConfig(busy_threshold_ms=50)


async def test_result_answers_202_and_the_evaluation_goes_on(fake: FakeComputeUnitApi) -> None:
    fake.results[PID, MID] = RESULT
    fake.gate = trio.Event()
    async with serving(fake, BUSY) as http:
        busy = await http.get(f"/result/{MID}", params={"process-id": PID})
        assert busy.status_code == 202
        assert busy.text == ('{"message":"Evaluation of process \\"busy-process\\" to \\"busy-message\\" '
                             'is in progress."}')
        assert ("read_result", PID, MID) not in fake.evaluated
        fake.gate.set()                          # the evaluation the 202 left behind now finishes
        await trio.testing.wait_all_tasks_blocked()
        assert ("read_result", PID, MID) in fake.evaluated
        with trio.fail_after(1):
            done = await http.get(f"/result/{MID}", params={"process-id": PID})
    assert (done.status_code, done.json()) == (200, RESULT)


async def test_no_busy_waits_for_the_result(fake: FakeComputeUnitApi) -> None:
    fake.results[PID, MID] = RESULT
    fake.gate = trio.Event()
    async with serving(fake, BUSY) as http, trio.open_nursery() as nursery:
        async def release_later() -> None:
            await trio.sleep(0.15)               # three busy thresholds
            assert fake.gate is not None
            fake.gate.set()

        nursery.start_soon(release_later)
        waited = await http.get(f"/result/{MID}", params={"process-id": PID, "no-busy": "0"})
    assert (waited.status_code, waited.json()) == (200, RESULT)


async def test_an_empty_no_busy_does_not_disable_busy(fake: FakeComputeUnitApi) -> None:
    fake.results[PID, MID] = RESULT
    fake.gate = trio.Event()
    async with serving(fake, BUSY) as http:
        response = await http.get(f"/result/{MID}?process-id={PID}&no-busy")
    assert response.status_code == 202


async def test_busy_answers_are_not_cached(fake: FakeComputeUnitApi) -> None:
    fake.results[PID, MID] = RESULT
    fake.gate = trio.Event()
    async with serving(fake, BUSY) as http:
        assert (await http.get(f"/result/{MID}", params={"process-id": PID})).status_code == 202
        fake.gate.set()
        assert (await http.get(f"/result/{MID}", params={"process-id": PID})).status_code == 200


async def test_state_and_dry_run_answer_the_result_style_202(fake: FakeComputeUnitApi) -> None:
    fake.states[PID] = StateBody(memory=b"m")
    fake.gate = trio.Event()
    async with serving(fake, BUSY) as http:
        state = await http.get(f"/state/{PID}", params={"to": "1700000000000"})
        latest = await http.get(f"/state/{PID}")
        dry = await http.post("/dry-run", params={"process-id": PID}, json={"Owner": "o"})
        dry_to = await http.post("/dry-run", params={"process-id": PID, "to": MID}, json={"Owner": "o"})
    assert (state.status_code, state.json()) == (
        202, {"message": f'Evaluation of process "{PID}" to "1700000000000" is in progress.'})
    assert latest.json()["message"] == f'Evaluation of process "{PID}" to "latest" is in progress.'
    assert dry.status_code == 202
    assert dry.json() == {"message": f'Evaluation of process "{PID}" to "latest" is in progress.'}
    assert dry_to.json()["message"] == f'Evaluation of process "{PID}" to "{MID}" is in progress.'


async def test_no_threshold_waits_however_long_it_takes(fake: FakeComputeUnitApi,
                                                        autojump_clock: trio.testing.MockClock) -> None:
    fake.results[PID, MID] = RESULT
    fake.delay_s = 3600                          # an hour of virtual time
    app = make_app(fake, HttpConfig(busy_threshold_ms=0))
    async with app.test_app() as test_app:
        response = await test_app.test_client().get(f"/result/{MID}", query_string={"process-id": PID})
    assert response.status_code == 200
    assert trio.current_time() >= 3600


async def test_busy_threshold_in_virtual_time(fake: FakeComputeUnitApi,
                                              autojump_clock: trio.testing.MockClock) -> None:
    fake.results[PID, MID] = RESULT
    fake.delay_s = 60
    app = make_app(fake, HttpConfig(busy_threshold_ms=30_000))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        start = trio.current_time()
        busy = await client.get(f"/result/{MID}", query_string={"process-id": PID})
        assert busy.status_code == 202
        assert 30 <= trio.current_time() - start < 31
        await trio.sleep(31)                     # the evaluation finishes behind the 202
        done = await client.get(f"/result/{MID}", query_string={"process-id": PID})
    assert done.status_code == 200
    assert await done.get_json() == RESULT
