"""A decided run still standing at its pause (queued for a worker, or its executor died before resuming it)
asks nobody for a decision: the service's view closes the pause, and the CLI, the API and the console
say who decided and who carries the run on, instead of "Waiting for a decision"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.api_support import TOKENS, client, live_server
from tests.conftest import ROOT, env_for
from vetoflow.api import create_app
from vetoflow.config import Settings
from vetoflow.console.present import headline
from vetoflow.render import run_panel
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

DECIDED = "Decided by ana; queued for a worker"


@pytest.fixture
def queued(postgres_url: str, tmp_path: Path) -> Settings:
    """Queue mode with no worker: a decided run stays queued at its pause."""
    settings = Settings(home=tmp_path / "home", database_url=postgres_url, executor="queue")
    settings.home.mkdir(parents=True)
    return settings


def paused_run(settings: Settings, scenario: Scenario) -> str:
    with open_service(settings, dispatch=False) as inline:  # paused where it was started: no worker needed
        return inline.start(scenario).run.run_id


def printed(view_panel: object) -> str:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(view_panel)
    return console.export_text()


def test_a_decision_queued_for_a_worker_closes_the_pause_in_the_view(queued: Settings, vetoed: Scenario) -> None:
    run_id = paused_run(queued, vetoed)
    with open_service(queued) as service:
        assert service.view(run_id).pending is not None  # open: it asks for a decision
        answered = service.decide(run_id, "approve", reviewer="ana", comment="ok", via="cli")
        for view in (answered, service.view(run_id)):
            assert view.status == "queued"
            assert view.pending is None
            assert view.resumes_with is not None
            assert (view.resumes_with.reviewer, view.resumes_with.action) == ("ana", "approve")
            assert view.approval is not None
            assert view.approval["status"] == "decided"
            assert view.pause_id == view.resumes_with.pause_id
        shown = printed(run_panel(view))
        assert DECIDED in shown
        assert "Waiting for a decision" not in shown
        assert "vetoflow approve" not in shown
        assert DECIDED in headline(view)  # the console's run view


def test_a_decision_whose_executor_died_before_resuming_points_to_retry(service: RunService, vetoed: Scenario) -> None:
    run_id = service.start(vetoed).run.run_id
    pause_id = service.view(run_id).pause_id
    assert pause_id is not None
    service.index.claim_decision(run_id, pause_id, {"action": "reject", "reviewer": "ana", "comment": ""})  # then died
    view = service.view(run_id)
    assert view.pending is None
    assert view.resumes_with is not None
    assert view.resumes_with.action == "reject"
    assert f"Decided by ana; resume it with: vetoflow retry {run_id}" in printed(run_panel(view))
    assert service.retry(run_id).status == "rejected"


def test_the_cli_says_a_decided_run_is_queued_for_a_worker_not_waiting(queued: Settings, vetoed: Scenario) -> None:
    run_id = paused_run(queued, vetoed)
    env = env_for(queued) | {"VETOFLOW_EXECUTOR": "queue"}

    def vetoflow(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "vetoflow", *args]
        return subprocess.run(command, check=False, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)

    approved = vetoflow("approve", run_id, "--reviewer", "ana", "-m", "ok")
    assert approved.returncode == 8, approved.stderr  # queued
    shown = vetoflow("show", run_id)
    assert shown.returncode == 0, shown.stderr
    for result in (approved, shown):
        assert DECIDED in result.stdout
        assert "Waiting for a decision" not in result.stdout
        assert "vetoflow approve" not in result.stdout


def test_the_api_shows_no_pause_and_no_decide_link_once_decided(queued: Settings, vetoed: Scenario) -> None:
    run_id = paused_run(queued, vetoed)
    settings = queued.model_copy(update={"api_tokens": SecretStr(TOKENS)})
    with (
        open_service(settings) as service,
        live_server(create_app(settings, service=service)) as url,
        client(url) as http,
    ):
        before = http.get(f"/runs/{run_id}").json()
        assert before["links"]["decide"] == f"/runs/{run_id}/decision"
        assert http.post(f"/runs/{run_id}/decision", json={"action": "approve"}).status_code == 202
        after = http.get(f"/runs/{run_id}").json()
    assert after["run"]["status"] == "queued"
    assert after["pending"] is None
    assert after["links"]["decide"] is None
    assert after["approval"]["status"] == "decided"
    assert after["resumes_with"]["reviewer"] == "ana"
