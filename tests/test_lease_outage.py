"""A lease lost mid-run answers by its cause: 503 with Retry-After when the database could not be reached to
renew it (clients retry a 503), 409 when another executor took the run over (a conflict, final).

The outage is real: PostgreSQL behind a loopback TCP proxy that the test cuts while the Forecaster works.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import update

from tests.api_support import ANA, BOB, TOKENS, scenario
from tests.helpers import CountingSynthesizer
from tests.tcp_proxy import proxied_database
from vetoflow.api import create_app
from vetoflow.clock import utcnow
from vetoflow.config import Settings
from vetoflow.db.tables import runs_table
from vetoflow.forecasting.montecarlo import run_forecast
from vetoflow.graph import Context
from vetoflow.runs.comments import thread
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario
from vetoflow.state import Forecast, RunState, Summary

LEASE = 3.0  # renewed every second; lapsed (for the fence) after 2.5 s without a renewal
CUT_AFTER = 1.0  # into the Forecaster: the step's opening checkpoint is written by then
SLOW = 4.5  # the Forecaster outlasts the lease by more than the last renewal before the cut


def _slow_forecast(started: threading.Event) -> Callable[[Scenario], Forecast]:
    def forecast(plan: Scenario) -> Forecast:
        started.set()
        time.sleep(SLOW)
        return run_forecast(plan)

    return forecast


@contextmanager
def _api(settings: Settings, started: threading.Event) -> Iterator[tuple[TestClient, RunService]]:
    settings = settings.model_copy(update={"lease_seconds": LEASE, "api_tokens": SecretStr(TOKENS)})
    context = Context(synthesizer=CountingSynthesizer(), forecast=_slow_forecast(started))
    with open_service(settings, context) as service:
        app = create_app(settings, service=service, bind_host="127.0.0.1")
        headers = {"Authorization": f"Bearer {ANA}"}
        with TestClient(app, base_url="http://127.0.0.1", headers=headers) as http:
            yield http, service


def _when(event: threading.Event, then: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=lambda: event.wait(30) and then(), daemon=True)
    thread.start()
    return thread


@pytest.mark.slow  # a lease left to lapse
def test_a_run_whose_database_went_away_mid_run_answers_503_with_retry_after(tmp_path: Path, postgres_url: str) -> None:
    with proxied_database(postgres_url) as (proxy, through):
        started = threading.Event()
        with _api(Settings(home=tmp_path / "home", database_url=through), started) as (http, _service):

            def outage_soon() -> None:
                time.sleep(CUT_AFTER)
                proxy.cut()

            outage = _when(started, outage_soon)
            answer = http.post("/runs", json={"scenario": scenario("outage")})
            outage.join(10)
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "5"
    error = answer.json()["error"]
    assert "the run database could not be reached to renew its lease" in error
    assert "vetoflow retry` resumes it" in error


@pytest.mark.slow  # a lease left to lapse
def test_repeating_a_start_that_answered_503_under_its_idempotency_key_carries_on_the_same_run(
    tmp_path: Path, postgres_url: str
) -> None:
    with proxied_database(postgres_url) as (proxy, through):
        started = threading.Event()
        with _api(Settings(home=tmp_path / "home", database_url=through), started) as (http, service):

            def outage_soon() -> None:
                time.sleep(CUT_AFTER)
                proxy.cut()

            outage = _when(started, outage_soon)
            key = {"Idempotency-Key": "start-once"}
            first = http.post("/runs", json={"scenario": scenario("outage")}, headers=key)
            outage.join(10)
            assert first.status_code == 503, first.text
            proxy.restore()
            time.sleep(LEASE)  # the first executor's lease lapses: the repeat takes the run over
            repeat = http.post("/runs", json={"scenario": scenario("outage")}, headers=key)
            assert repeat.status_code == 201, repeat.text
            assert repeat.json()["run"]["status"] == "completed"
            runs = service.list()
            synthesized = service.context.synthesizer
    assert [run.run_id for run in runs] == [repeat.json()["run"]["run_id"]]
    assert isinstance(synthesized, CountingSynthesizer)
    assert synthesized.calls == 1


class _SlowSynthesizer(CountingSynthesizer):
    """The Synthesizer outlasting the lease (it runs once a human approved): the outage comes meanwhile."""

    def __init__(self, started: threading.Event) -> None:
        super().__init__()
        self.started = started

    def summarize(self, state: RunState) -> Summary:
        self.started.set()
        time.sleep(SLOW)
        return super().summarize(state)


@pytest.mark.slow  # a lease left to lapse
def test_repeating_a_decision_that_answered_503_under_its_idempotency_key_carries_on_the_run(
    tmp_path: Path, postgres_url: str
) -> None:
    with proxied_database(postgres_url) as (proxy, through):
        tokens = SecretStr(TOKENS)
        settings = Settings(home=tmp_path / "home", database_url=through, lease_seconds=LEASE, api_tokens=tokens)
        started = threading.Event()
        with open_service(settings, Context(synthesizer=_SlowSynthesizer(started))) as service:
            app = create_app(settings, service=service, bind_host="127.0.0.1")
            with TestClient(app, base_url="http://127.0.0.1", headers={"Authorization": f"Bearer {ANA}"}) as http:
                run_id = http.post("/runs", json={"scenario": scenario("decided", vetoed=True)}).json()["run"]["run_id"]

                def outage_soon() -> None:
                    time.sleep(CUT_AFTER)
                    proxy.cut()

                outage = _when(started, outage_soon)
                bob = {"Authorization": f"Bearer {BOB}", "Idempotency-Key": "approve-once"}
                body = {"action": "approve", "comment": "worth it"}
                first = http.post(f"/runs/{run_id}/decision", json=body, headers=bob)
                outage.join(10)
                assert first.status_code == 503, first.text
                proxy.restore()
                time.sleep(LEASE)  # the first executor's lease lapses: the repeat takes the run over
                repeat = http.post(f"/runs/{run_id}/decision", json=body, headers=bob)
                assert repeat.status_code == 200, repeat.text
                assert repeat.json()["run"]["status"] == "completed"
                decisions = service.index.decisions(run_id)
                comments = thread(service.database.engine, run_id)
    assert [(d.reviewer, d.action) for d in decisions] == [("bob", "approve")]
    assert not any(c.lost_race for c in comments), comments


def test_a_run_taken_over_by_another_executor_still_answers_409(settings: Settings) -> None:
    started = threading.Event()
    with _api(settings, started) as (http, service):

        def take_over() -> None:
            [row] = service.list(["running"])
            taken = {"lease_owner": "elsewhere:1:0badc0de", "lease_expires_at": utcnow() + timedelta(minutes=5)}
            with service.leases.engine.begin() as conn:
                conn.execute(update(runs_table).where(runs_table.c.run_id == row.run_id).values(**taken))

        stealer = _when(started, take_over)
        answer = http.post("/runs", json={"scenario": scenario("taken over")})
        stealer.join(10)
    assert answer.status_code == 409, answer.text
    assert "retry-after" not in answer.headers
    assert "another executor took it over" in answer.json()["error"]
