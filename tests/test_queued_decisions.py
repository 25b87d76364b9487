"""A decided run still standing at its pause (queued for a worker, or its executor died before resuming it)
asks nobody for a decision: the service's view closes the pause, and the CLI, the API and the console
say who decided and who carries the run on, instead of "Waiting for a decision"."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.api_support import TOKENS, client, live_server
from tests.conftest import ROOT, env_for
from tests.governance_support import governed_settings, people
from tests.worker_support import QueueEnv, queue_env
from vetoflow.api import create_app
from vetoflow.config import Settings
from vetoflow.console.present import headline
from vetoflow.render import run_panel
from vetoflow.runs import audit
from vetoflow.runs.gate import DeadlinePassedError
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

__all__ = ["queue_env"]  # the fixture
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
            assert view.approval.status == "decided"
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


EXPIRES = """\
tiers:
  - name: standard
    approvers: {roles: [approver], count: 1}
    due: 48h
    at_deadline: expire
"""


@pytest.mark.slow  # a real worker process
def test_a_queued_decision_after_an_expiring_deadline_is_refused_and_a_worker_ends_the_run_rejected(
    queue_env: QueueEnv, vetoed: Scenario
) -> None:
    settings = governed_settings(queue_env.settings, queue_env.settings.home.parent, EXPIRES)
    users = people(settings)
    run_id = paused_run(settings, vetoed)
    with open_service(settings) as service:
        assert service.gate is not None
        service.gate.clock = lambda: datetime.now(UTC) + timedelta(hours=49)  # no sweep ran meanwhile
        with pytest.raises(DeadlinePassedError, match=r"the deadline passed at .*system"):
            service.decide(run_id, "approve", reviewer="ap1", user=users["ap1"], comment="fine", via="cli")
        refused = service.view(run_id)
        assert refused.status == "queued", "the expiry's rejection waits for a worker, as the sweep's would"
        assert refused.pending is None
        assert refused.resumes_with is not None
        assert (refused.resumes_with.reviewer, refused.resumes_with.action) == ("system", "reject")
    assert queue_env.queue.live_runs([run_id]) == {run_id}, "a job is deferred for it"
    queue_env.env["VETOFLOW_POLICY"] = str(settings.policy)
    queue_env.worker("a")  # it carries the recorded rejection on from the job the refusal deferred
    queue_env.wait_status([run_id], {"rejected"}, timeout=60)
    ended = queue_env.service.view(run_id)
    assert [(d.reviewer, d.action, d.comment) for d in ended.decisions] == [("system", "reject", "expired")]
    counts = Counter(e["event"] for e in audit.entries(queue_env.service.index.engine, run_id=run_id))
    assert (counts["run.expired"], counts["run.approved"], counts["run.decided"]) == (1, 0, 0)
    assert [e.kind for e in queue_env.service.events_since(run_id, 0)].count("rejected") == 1
    assert [(c.author, c.lost_race) for c in ended.comments] == [("ap1", True)], "the late comment is kept"
    assert queue_env.bedrock.calls == 0


@pytest.mark.slow  # a real worker process
def test_a_sweep_in_queue_mode_hands_an_expired_run_to_the_workers_instead_of_running_it_itself(
    queue_env: QueueEnv, vetoed: Scenario
) -> None:
    """What an API replica's sweep (its pump, or the Lambda schedule) does: it records the expiry and defers
    a job; the run's rejection is carried on by a worker, never in the server's own process."""
    settings = governed_settings(queue_env.settings, queue_env.settings.home.parent, EXPIRES)
    run_id = paused_run(settings, vetoed)
    with open_service(settings) as service:
        assert service.gate is not None
        service.gate.clock = lambda: datetime.now(UTC) + timedelta(hours=49)
        assert service.sweep().expired == [run_id]
        assert service.view(run_id).status == "queued", "not run in the sweeping process"
        assert queue_env.queue.live_runs([run_id]) == {run_id}, "a job is deferred for it"
        service.gate.clock = lambda: datetime.now(UTC) + timedelta(hours=50)  # its expiry long unfinished
        assert service.sweep().resumed == [], "its job still waits: nothing deferred again"
    assert [e.kind for e in queue_env.service.events_since(run_id, 0)].count("queued") == 1
    queue_env.env["VETOFLOW_POLICY"] = str(settings.policy)
    queue_env.worker("a")
    queue_env.wait_status([run_id], {"rejected"}, timeout=60)
    assert [(d.reviewer, d.action, d.comment) for d in queue_env.service.view(run_id).decisions] == [
        ("system", "reject", "expired")
    ]
    assert [e.kind for e in queue_env.service.events_since(run_id, 0)].count("rejected") == 1


def test_the_cli_queues_a_retry_and_a_replay_for_the_workers_with_exit_code_8(
    queued: Settings, vetoed: Scenario
) -> None:
    run_id = paused_run(queued, vetoed)
    with open_service(queued, dispatch=False) as inline:
        pause_id = inline.view(run_id).pause_id
        assert pause_id is not None
        inline.index.claim_decision(run_id, pause_id, {"action": "reject", "reviewer": "ana", "comment": ""})  # died
    env = env_for(queued) | {"VETOFLOW_EXECUTOR": "queue"}

    def vetoflow(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "vetoflow", *args, "--json"]
        return subprocess.run(command, check=False, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)

    retried = vetoflow("retry", run_id)
    assert retried.returncode == 8, retried.stderr
    replayed = vetoflow("replay", run_id, "--set", "investment=400000")
    assert replayed.returncode == 8, replayed.stderr
    with open_service(queued) as service:
        assert service.row(run_id).status == "queued"
        (fork,) = service.lineage.replays_of(run_id)
        assert service.row(fork.replay_run_id).status == "queued"
        assert service.dispatcher is not None
        assert service.dispatcher.live_runs([run_id, fork.replay_run_id]) == {run_id, fork.replay_run_id}
