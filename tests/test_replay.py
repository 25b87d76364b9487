"""Single replays: a fork stored as a new run; the original's checkpoints and index row stay as they were."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import env_for
from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.runs.service import RunService
from vetoflow.scenario import Scenario
from vetoflow.state import RunState
from vetoflow.trace import build_trace


def history(service: RunService, run_id: str) -> list[tuple[str, RunState | None]]:
    return [(r.checkpoint_id, r.state) for r in service.history(run_id)]


def state_at(service: RunService, run_id: str, checkpoint_id: str) -> RunState | None:
    return next(r.state for r in service.history(run_id) if r.checkpoint_id == checkpoint_id)


def approved(service: RunService, vetoed: Scenario) -> str:
    run_id = service.start(vetoed).run.run_id
    service.decide(run_id, "approve", reviewer="ana", comment="strategic bet")
    return run_id


def test_replay_from_accountant_with_changed_investment_forks_and_leaves_original(
    service: RunService, vetoed: Scenario
) -> None:
    run_id = approved(service, vetoed)
    before_history, before_row = history(service, run_id), service.index.get(run_id)

    paused = service.replay(run_id, from_node="accountant", overrides={"investment": 100_000}).new
    assert paused.status == "paused", "changed inputs of a vetoed run wait for a human (the veto is sticky)"
    new = service.decide(paused.run.run_id, "approve", reviewer="dee", comment="new investment checked")

    assert new.run.run_id != run_id
    assert new.status == "completed"
    assert new.state.run_id == new.run.run_id
    assert service.view(run_id).state.run_id == run_id
    assert new.state.scenario.investment == 100_000
    assert new.state.decision.veto is False
    source_forecast, new_forecast = service.view(run_id).state.forecast, new.state.forecast
    assert source_forecast is not None
    assert new_forecast is not None
    assert new_forecast.revenue == source_forecast.revenue, "the same draws: the seed and segments are unchanged"
    assert new_forecast.outcomes != source_forecast.outcomes, "each path's NPV re-made for the new investment"
    assert history(service, run_id) == before_history
    assert service.index.get(run_id) == before_row
    assert service.view(run_id).state.scenario.investment == vetoed.investment
    listed = {r.run_id for r in service.list()}
    assert {run_id, new.run.run_id} <= listed
    lineage = service.replay_of(new.run.run_id)
    assert lineage is not None
    assert (lineage.source_run_id, lineage.from_node, lineage.overrides) == (
        run_id,
        "forecaster",  # where it really started: the investment is in every path's outcome
        {"investment": 100_000},
    )
    trace = build_trace(service.trace_inputs(new.run.run_id))
    assert [s.node for s in trace.steps] == ["forecaster", "accountant", "evidence", "approval", "synthesizer"]
    assert trace.forked_from is not None
    assert [r.replay_run_id for r in build_trace(service.trace_inputs(run_id)).replays] == [new.run.run_id]


def test_replay_hitting_the_veto_is_left_paused_and_can_be_approved(service: RunService, vetoed: Scenario) -> None:
    run_id = approved(service, vetoed)
    new = service.replay(run_id, from_node="accountant").new
    assert new.status == "paused"
    assert new.next_nodes == ["approval"]
    assert new.pending is not None
    assert new.pending.run_id == new.run.run_id
    assert new.decisions == []
    assert service.index.get(new.run.run_id).status == "paused"
    assert service.view(run_id).status == "completed"
    done = service.decide(new.run.run_id, "reject", reviewer="bo", comment="replayed")
    assert done.status == "rejected"
    assert service.view(run_id).status == "completed"


def test_replay_from_an_exact_checkpoint(service: RunService, profitable: Scenario) -> None:
    run_id = service.start(profitable).run.run_id
    synth_step = build_trace(service.trace_inputs(run_id)).steps[-1]
    assert synth_step.node == "synthesizer"
    new = service.replay(run_id, checkpoint_id=synth_step.checkpoint_id).new
    first = service.history(new.run.run_id)[0]  # the copied checkpoint resumes exactly where the source stood
    assert first.next == ["synthesizer"]
    assert first.source == "fork"
    assert service.replay_of(new.run.run_id) is not None
    source_state = state_at(service, run_id, synth_step.checkpoint_id)
    assert first.state is not None
    assert source_state is not None
    assert first.state.model_copy(update={"run_id": run_id}) == source_state
    assert new.status == "completed"
    assert new.state.summary == service.view(run_id).state.summary
    assert [s.node for s in build_trace(service.trace_inputs(new.run.run_id)).steps] == ["synthesizer"]


def test_bad_replays_change_nothing(service: RunService, vetoed: Scenario) -> None:
    run_id = service.start(vetoed).run.run_id  # paused: never reached the synthesizer
    count = len(service.list())
    with pytest.raises(VetoflowError, match="never reached synthesizer"):
        service.replay(run_id, from_node="synthesizer")
    with pytest.raises(VetoflowError, match="unknown node 'nope'"):
        service.replay(run_id, from_node="nope")
    with pytest.raises(VetoflowError, match="has no checkpoint 'abc'"):
        service.replay(run_id, checkpoint_id="abc")
    with pytest.raises(VetoflowError, match="horizon"):
        service.replay(run_id, from_node="forecaster", overrides={"horizon": 1000})
    with pytest.raises(VetoflowError, match="no run with id"):
        service.replay("missing", from_node="forecaster")
    assert len(service.list()) == count


@pytest.mark.slow
def test_replay_cli_prints_old_against_new(settings: Settings, examples: Path) -> None:
    env = env_for(settings)
    run = [sys.executable, "-m", "vetoflow"]
    started = subprocess.run(
        [*run, "run", examples / "vetoed.yaml", "--json"], env=env, capture_output=True, text=True, check=False
    )
    run_id = json.loads(started.stdout)["run"]["run_id"]
    subprocess.run([*run, "approve", run_id, "--reviewer", "ana"], env=env, check=True, capture_output=True)
    args = ["replay", run_id, "--from", "accountant", "--set", "investment=100000"]
    shown = subprocess.run([*run, *args], env=env, capture_output=True, text=True, check=False)
    assert shown.returncode == 3, shown.stderr  # changed inputs of a vetoed run: the replay waits for a human
    assert "Original against replay" in shown.stdout
    assert "veto" in shown.stdout
    assert "pass" in shown.stdout
    assert "it needs approval: vetoflow approve" in shown.stdout
    assert "no reason to veto" not in shown.stdout
    doc = subprocess.run(
        [*run, "replay", run_id, "--from", "accountant", "--json"], env=env, capture_output=True, text=True, check=False
    )
    assert doc.returncode == 3  # paused: needs approval
    result = json.loads(doc.stdout)
    assert result["new"]["status"] == "needs approval"
    assert result["old"]["status"] == "completed"
    both = subprocess.run(
        [*run, "replay", run_id, "--all", "--from", "accountant"], env=env, capture_output=True, text=True, check=False
    )
    assert both.returncode == 2
    model = subprocess.run(
        [*run, "replay", run_id, "--llm-model", "x"], env=env, capture_output=True, text=True, check=False
    )
    assert model.returncode == 1
    assert "--llm-model x: needs VETOFLOW_LLM=bedrock" in model.stderr
