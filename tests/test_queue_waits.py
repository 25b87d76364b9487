"""`?wait=true` in queue mode when no worker settles the run in time: the answer says the run is still
queued (202 with `Location`), and a repeat of the request under its Idempotency-Key says so too; and
however many requests are waiting, the server still answers the others."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.api_support import TOKENS, client, live_server, scenario, wait_for
from vetoflow.api import create_app
from vetoflow.config import Settings
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

pytestmark = pytest.mark.slow  # a live HTTP server

WAIT = 0.5  # VETOFLOW_API_WAIT_SECONDS: no worker runs here, so every wait ends at this deadline
WAITERS = 45  # more than the server's thread pool (40): a wait that held a thread would starve everyone else


@pytest.fixture
def queued(postgres_url: str, tmp_path: Path) -> Settings:
    """Queue mode on a fresh PostgreSQL database, with no worker: queued runs stay queued."""
    settings = Settings(home=tmp_path / "home", database_url=postgres_url, executor="queue", api_wait_seconds=WAIT)
    return settings.model_copy(update={"api_tokens": SecretStr(TOKENS)})


@contextmanager
def queue_api(settings: Settings) -> Iterator[str]:
    with open_service(settings) as service, live_server(create_app(settings, service=service)) as url:
        yield url


def test_a_wait_that_outlasts_the_deadline_answers_202_with_location_and_so_does_its_replay(queued: Settings) -> None:
    with queue_api(queued) as url, client(url) as http:
        headers = {"Idempotency-Key": "start-once"}
        first = http.post("/runs", params={"wait": "true"}, json={"scenario": scenario("late")}, headers=headers)
        assert first.status_code == 202, first.text
        run_id = first.json()["run"]["run_id"]
        assert first.json()["run"]["status"] == "queued"
        assert first.headers["Location"] == f"{url}/runs/{run_id}"
        again = http.post("/runs", params={"wait": "true"}, json={"scenario": scenario("late")}, headers=headers)
        assert again.status_code == 202, again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.headers["Location"] == f"{url}/runs/{run_id}"
        assert again.json()["run"]["run_id"] == run_id
        assert [run["run_id"] for run in http.get("/runs").json()["runs"]] == [run_id]  # started once
        listed = {s: http.get("/runs", params={"status": s}).json()["runs"] for s in ("queued", "running")}
        assert ([run["run_id"] for run in listed["queued"]], listed["running"]) == ([run_id], []), "queued: no worker"


def test_a_decision_whose_wait_outlasts_the_deadline_answers_202_with_location(
    queued: Settings, vetoed: Scenario
) -> None:
    with open_service(queued, dispatch=False) as inline:  # paused where it was started: no worker needed
        run_id = inline.start(vetoed).run.run_id
    with queue_api(queued) as url, client(url) as http:
        decided = http.post(f"/runs/{run_id}/decision", params={"wait": "true"}, json={"action": "approve"})
        assert decided.status_code == 202, decided.text
        assert decided.json()["run"]["status"] == "queued"
        assert decided.headers["Location"] == f"{url}/runs/{run_id}"
        retried = http.post(f"/runs/{run_id}/retry", params={"wait": "true"})
        assert retried.status_code == 202, retried.text
        assert retried.headers["Location"] == f"{url}/runs/{run_id}"


def test_a_plain_read_is_answered_while_more_waits_than_the_thread_pool_are_pending(queued: Settings) -> None:
    settings = queued.model_copy(update={"api_wait_seconds": 20.0})  # the waits outlive the read by far
    with open_service(settings) as service, live_server(create_app(settings, service=service)) as url:

        def start_and_wait(i: int) -> int:
            with client(url) as own:
                return own.post("/runs", params={"wait": "true"}, json={"scenario": scenario(f"w{i}")}).status_code

        with ThreadPoolExecutor(WAITERS) as pool:
            waits = [pool.submit(start_and_wait, i) for i in range(WAITERS)]
            wait_for(lambda: len(service.page(("queued",), limit=100).runs) == WAITERS, timeout=60, what="every run")
            with client(url, timeout=60) as http:
                listed = http.get("/runs", params={"limit": 1})
            assert listed.status_code == 200, listed.text
            assert not any(w.done() for w in waits), "the read was answered only once the waits gave up"
            assert [w.result() for w in waits] == [202] * WAITERS  # the deadline passed with no worker
