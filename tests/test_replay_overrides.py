"""Replays that change inputs (issue 12, defect 11): they re-run from the first node the inputs affect, or are
refused; an approval is never carried into a run whose figures changed."""

from __future__ import annotations

import pytest

from vetoflow.errors import VetoflowError
from vetoflow.runs.fork import first_affected
from vetoflow.runs.service import RunService
from vetoflow.scenario import Scenario


def _approved(service: RunService, vetoed: Scenario) -> str:
    run_id = service.start(vetoed).run.run_id
    done = service.decide(run_id, "approve", reviewer="ana", comment="strategic bet")
    assert done.status == "completed"
    return run_id


def _synthesizer_checkpoint(service: RunService, run_id: str) -> str:
    return next(r.checkpoint_id for r in reversed(service.history(run_id)) if "synthesizer" in r.next)


def test_overrides_name_the_first_node_they_change() -> None:
    assert first_affected({}) is None
    assert first_affected({"veto_policy": "npv", "loss_limit": 0.2, "npv_floor": 0.0}) == "accountant"
    assert first_affected({"investment": 1.0}) == first_affected({"discount_rate": 0.1}) == "forecaster"
    assert first_affected({"veto_threshold": 0.1}) == "forecaster", "P(ROI < threshold) is a path-wise figure"
    assert first_affected({"investment": 1.0, "paths": 500}) == "forecaster"
    assert first_affected({"segments.Kiosks.margin": 0.3}) == "forecaster"


def test_a_later_replay_with_new_inputs_asks_for_approval_again(service: RunService, vetoed: Scenario) -> None:
    run_id = _approved(service, vetoed)
    replay = service.replay(run_id, from_node="synthesizer", overrides={"investment": 2_400_000}).new
    assert replay.status == "paused"  # the old approval does not carry over: new figures, new decision
    assert replay.decisions == []
    assert replay.state.financials is not None
    assert replay.state.financials.investment == 2_400_000
    assert replay.state.summary is None
    source = service.view(run_id).state.financials
    assert source is not None
    assert replay.state.financials.roi != source.roi


def test_a_replay_from_the_accountant_that_changes_paths_reruns_the_forecaster(
    service: RunService, vetoed: Scenario
) -> None:
    run_id = service.start(vetoed).run.run_id
    replay = service.replay(run_id, from_node="accountant", overrides={"paths": 700}).new
    assert replay.state.forecast is not None
    assert replay.state.forecast.paths == 700
    assert replay.state.scenario.paths == 700
    source = service.view(run_id).state.forecast
    assert source is not None
    assert replay.state.forecast.revenue != source.revenue


def test_a_replay_without_new_inputs_keeps_the_approval(service: RunService, vetoed: Scenario) -> None:
    run_id = _approved(service, vetoed)
    replay = service.replay(run_id, from_node="synthesizer").new
    assert replay.status == "completed"
    assert replay.state.financials == service.view(run_id).state.financials


def test_an_explicit_later_checkpoint_with_new_inputs_is_refused(service: RunService, vetoed: Scenario) -> None:
    run_id = _approved(service, vetoed)
    before = len(service.list())
    checkpoint = _synthesizer_checkpoint(service, run_id)
    with pytest.raises(VetoflowError) as refused:
        service.replay(run_id, checkpoint_id=checkpoint, overrides={"investment": 900_000})
    message = str(refused.value)
    assert f"checkpoint_id: {checkpoint} starts at synthesizer, after the forecaster" in message
    assert "any approval would be kept" in message
    assert "from the forecaster instead (no checkpoint, from_node forecaster)" in message
    assert len(service.list()) == before


def test_a_replay_from_the_accountant_with_a_new_investment_has_the_figures_of_a_fresh_run(
    service: RunService, vetoed: Scenario
) -> None:
    run_id = service.start(vetoed).run.run_id
    replay = service.replay(run_id, from_node="accountant", overrides={"investment": 300_000}).new
    fresh = service.start(vetoed.model_copy(update={"investment": 300_000.0}))
    assert replay.state.financials is not None
    assert replay.state.financials.method == "path_wise", "the paths' outcomes, not the older band method"
    assert replay.state.financials == fresh.state.financials
    assert replay.state.forecast is not None
    assert fresh.state.forecast is not None
    assert replay.state.forecast.outcomes == fresh.state.forecast.outcomes, "histogram and P(loss) included"
    assert replay.state.forecast.sensitivity == fresh.state.forecast.sensitivity
