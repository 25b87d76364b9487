"""Concurrency through the API: many deciders on one pause, and many runs started at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.api_support import ANA, BOB, ApiEnv, api, client, scenario
from tests.reliability import Tally, duplicated_decisions, tally
from vetoflow.finance import decide as accountant_decide
from vetoflow.finance import financials
from vetoflow.forecasting.montecarlo import run_forecast
from vetoflow.scenario import Scenario

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast


__all__ = ["api", "tally"]


def _race(url: str, count: int, request: Any) -> list[httpx.Response]:
    barrier = threading.Barrier(count)

    def one(i: int) -> httpx.Response:
        with client(url, token=ANA if i % 2 else BOB) as http:
            barrier.wait()
            response: httpx.Response = request(http, i)
            return response

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_twenty_clients_deciding_one_pause(api: ApiEnv, tally: Tally) -> None:
    with client(api.url) as http:
        run_id = http.post("/runs", json={"scenario": scenario("contested", vetoed=True)}).json()["run"]["run_id"]
    responses = _race(
        api.url,
        20,
        lambda http, i: http.post(
            f"/runs/{run_id}/decision",
            json={"action": "approve", "comment": f"c{i}"},
            headers={"Idempotency-Key": f"k{i}"},
        ),
    )
    codes = sorted(r.status_code for r in responses)
    winners = codes.count(200)
    tally.count(deciders=len(responses), decision_winners=winners, decision_llm_calls=api.synthesizer.calls)
    assert codes == [200] + [409] * 19, [r.text for r in responses if r.status_code not in (200, 409)]
    winner = next(r.json() for r in responses if r.status_code == 200)
    who = winner["decisions"][0]["reviewer"]
    for loser in (r for r in responses if r.status_code == 409):
        assert f"by {who}" in loser.json()["error"]
    view = api.service.view(run_id).model_dump(mode="json")
    assert view["run"]["status"] == "completed"
    assert len(view["decisions"]) == 1
    assert api.synthesizer.calls == 1
    tally.record(
        f"20 deciders on one pause [{api.settings.backend_name}]",
        scenarios=1,
        faults=19,
        duplicated=duplicated_decisions(view),
    )


def test_same_idempotency_key_from_many_retries(api: ApiEnv, tally: Tally) -> None:
    with client(api.url) as http:
        run_id = http.post("/runs", json={"scenario": scenario("retried", vetoed=True)}).json()["run"]["run_id"]
    body = {"action": "approve", "comment": "retrying client"}

    def send(http: httpx.Client, _i: int) -> httpx.Response:
        return http.post(f"/runs/{run_id}/decision", json=body, headers={"Idempotency-Key": "one-key"})

    barrier = threading.Barrier(10)

    def one(_i: int) -> httpx.Response:
        with client(api.url, token=ANA) as http:
            barrier.wait()
            return send(http, _i)

    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(one, range(10)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1
    view = api.service.view(run_id).model_dump(mode="json")
    assert len(view["decisions"]) == 1
    assert api.synthesizer.calls == 1
    tally.record(
        f"10 retries, one Idempotency-Key [{api.settings.backend_name}]",
        scenarios=1,
        faults=9,
        duplicated=duplicated_decisions(view),
    )


def expected_financials(data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    plan = Scenario.model_validate(data)
    numbers = financials(run_forecast(plan), plan.investment, plan.discount_rate)
    verdict = accountant_decide(numbers, plan)
    return numbers.model_dump(mode="json"), verdict.veto


def test_fifty_runs_started_at_once(api: ApiEnv, tally: Tally) -> None:
    plans = [
        scenario(f"parallel-{i}", vetoed=i % 3 == 0) | {"investment": 100_000 + 7_919 * i, "seed": i} for i in range(50)
    ]
    responses = _race(api.url, 50, lambda http, i: http.post("/runs", json={"scenario": plans[i]}))
    assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses if r.status_code != 201]
    for plan, response in zip(plans, responses, strict=True):
        run = response.json()
        numbers, veto = expected_financials(plan)
        assert run["state"]["scenario"]["name"] == plan["name"]
        assert run["state"]["financials"] == numbers
        assert run["run"]["status"] == ("paused" if veto else "completed")
        assert api.service.view(run["run"]["run_id"]).state.model_dump(mode="json")["financials"] == numbers
    rows = api.service.list(limit=100)
    assert sorted(r.name for r in rows) == sorted(str(p["name"]) for p in plans)
    assert api.synthesizer.calls == sum(1 for r in responses if r.json()["run"]["status"] == "completed")
    tally.record(f"50 runs started at once [{api.settings.backend_name}]", scenarios=50, lost=50 - len(rows))
