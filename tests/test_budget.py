"""One size budget for simulations (issue 12, defect 8): per run wherever a run starts or changes, and for
all runs in flight in one process."""

from __future__ import annotations

import threading
import tracemalloc
from pathlib import Path

import pytest
from gradio_client import Client

from tests.api_support import ApiEnv, api, client, scenario
from tests.conftest import EXAMPLES
from tests.console_helpers import ANA, serve_console
from tests.reliability import Tally, tally
from tests.test_cli import as_json, vetoflow
from tests.test_console import form
from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.errors import VetoflowError
from vetoflow.forecasting.budget import BYTES_PER_CELL, SizeBudget, cells
from vetoflow.forecasting.montecarlo import run_forecast
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario, load_scenario

__all__ = ["api", "tally"]

LIMIT = "over this server's limit of 5,000,000 per run"


def _wide(base: Scenario, paths: int = 100_000, horizon: int = 120) -> Scenario:
    return base.model_copy(update={"paths": paths, "horizon": horizon, "name": "wide"})


def test_the_memory_per_cell_the_budget_assumes_is_measured() -> None:
    plan = _wide(load_scenario(EXAMPLES / "vetoed.yaml"), paths=20_000, horizon=60)
    tracemalloc.start()
    try:
        run_forecast(plan)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak / cells(plan) <= BYTES_PER_CELL * 1.15, f"{peak / cells(plan):.1f} bytes per cell"


@pytest.mark.slow  # whole `vetoflow` processes (or a browser): the full suite runs it
def test_cli_run_revise_and_replay_respect_the_budget(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=None)
    data = _wide(load_scenario(EXAMPLES / "vetoed.yaml")).model_dump_json()
    (tmp_path / "wide.json").write_text(data)
    refused = vetoflow(settings, "run", tmp_path / "wide.json")
    assert refused.returncode == 1
    assert "100,000 x 120 x 2 = 24,000,000 cells is " + LIMIT in refused.stderr
    assert as_json(vetoflow(settings, "runs", "--json")) == []  # nothing was stored

    run_id = as_json(vetoflow(settings, "run", EXAMPLES / "vetoed.yaml", "--json"))["run"]["run_id"]
    revise = vetoflow(settings, "revise", run_id, "--set", "paths=100000", "--set", "horizon=120")
    assert revise.returncode == 1
    assert LIMIT in revise.stderr
    assert as_json(vetoflow(settings, "show", run_id, "--json"))["decisions"] == []  # still paused, undecided
    replay = vetoflow(
        settings, "replay", run_id, "--from", "forecaster", "--set", "paths=100000", "--set", "horizon=120"
    )
    assert replay.returncode == 1
    assert LIMIT in replay.stderr
    assert len(as_json(vetoflow(settings, "runs", "--json"))) == 1


def test_api_start_revise_and_replay_respect_the_budget(api: ApiEnv) -> None:
    wide = scenario("wide", vetoed=True, paths=100_000) | {"horizon": 120}
    with client(api.url) as http:
        started = http.post("/runs", json={"scenario": wide})
        assert started.status_code == 422
        assert LIMIT in started.json()["error"]
        run_id = http.post("/runs", json={"scenario": scenario("p", vetoed=True)}).json()["run"]["run_id"]
        overrides = {"paths": 100_000, "horizon": 120}
        revised = http.post(f"/runs/{run_id}/decision", json={"action": "revise", "overrides": overrides})
        assert revised.status_code == 422
        assert LIMIT in revised.json()["error"]
        replayed = http.post(f"/runs/{run_id}/replay", json={"from_node": "forecaster", "overrides": overrides})
        assert replayed.status_code == 422
        assert LIMIT in replayed.json()["error"]
    assert [r.status for r in api.service.list()] == ["paused"]


@pytest.mark.slow  # a launched console and its HTTP client: left out of make test-fast
def test_console_new_run_respects_the_budget(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=None)
    with serve_console(settings) as console:
        ana = Client(console.url, auth=ANA, verbose=False)
        text, run_id = ana.predict(*form(_wide(load_scenario(EXAMPLES / "vetoed.yaml"))), api_name="/start_run")
        assert LIMIT in text
        assert "No run was started" in text
        assert run_id == ""
        assert console.service.list() == []


def test_concurrent_runs_share_the_budget_in_flight(tmp_path: Path, tally: Tally) -> None:
    budget = SizeBudget(max_cells=3_000_000, max_cells_in_flight=4_000_000, wait_seconds=120)
    plan = _wide(load_scenario(EXAMPLES / "profitable.yaml"), paths=100_000, horizon=15)  # 3,000,000 cells
    settings = Settings(home=tmp_path / "home", database_url=None)
    with open_service(settings, Context(budget=budget)) as service:
        views = []
        threads = [threading.Thread(target=lambda: views.append(service.start(plan))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    assert sorted(v.status for v in views) == ["completed"] * 3
    assert budget.peak_in_flight == 3_000_000  # one at a time: two would be 6 M, over the 4 M in flight
    assert budget.in_flight == 0
    tally.record("concurrent oversized runs: queued by the size budget, none lost", scenarios=3)


def test_a_run_that_cannot_get_room_fails_with_a_message_and_retries() -> None:
    budget = SizeBudget(max_cells=3_000_000, max_cells_in_flight=3_000_000, wait_seconds=0.2)
    plan = _wide(load_scenario(EXAMPLES / "profitable.yaml"), paths=100_000, horizon=15)
    with budget.hold(plan), pytest.raises(VetoflowError, match="simulating 3,000,000 cells already"):  # noqa: SIM117
        with budget.hold(plan):
            pass
    with budget.hold(plan):
        assert budget.in_flight == 3_000_000
    assert budget.in_flight == 0
