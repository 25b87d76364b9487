"""A veto is cleared only by a human approval of the final figures; implausible inputs wait for a human too.

At the service, on SQLite and PostgreSQL. The CLI, API and console tests check the same promise thinly.
"""

from __future__ import annotations

import pytest

from vetoflow.console.common import flag_words
from vetoflow.graph.routing import route_after_evidence
from vetoflow.llm.prompt import build_messages
from vetoflow.risk import plausibility
from vetoflow.runs.service import RunService
from vetoflow.scenario import Scenario, validate_scenario

PASSING_REVISE = {"investment": 900_000, "segments.Kiosks.margin": 0.95}


def test_a_revise_that_makes_a_vetoed_plan_pass_still_waits_for_approval(service: RunService, vetoed: Scenario) -> None:
    paused = service.start(vetoed)
    assert paused.status == "paused"
    before = paused.state.financials
    assert before is not None
    revised = service.decide(paused.run.run_id, "revise", reviewer="cy", overrides=PASSING_REVISE, comment="cheaper")
    assert revised.state.decision is not None
    assert revised.state.decision.veto is False, "the revised figures pass the Accountant"
    assert revised.status == "paused", "but a veto is cleared only by a human approving the final figures"
    assert revised.state.summary is None
    assert revised.state.vetoed_once
    assert revised.run.veto_reason == "revised after a veto: a human must approve the revised figures"

    pending = revised.pending
    assert pending is not None
    assert pending.why_waiting == ["revised after a veto: a human must approve the revised figures"]
    change = pending.revised
    assert change is not None
    assert (change.revision, change.reviewer, change.comment) == (1, "cy", "cheaper")
    assert change.overrides == PASSING_REVISE
    assert change.was_vetoed is True
    after = revised.state.financials
    assert after is not None
    deltas = change.deltas
    assert set(deltas) == {"investment", "roi", "downside_roi", "npv", "loss_probability"}
    assert (deltas["investment"].old, deltas["investment"].new) == (2_500_000, 900_000)
    assert deltas["investment"].change == -1_600_000
    assert deltas["roi"].old == before.roi
    assert deltas["roi"].new == after.roi
    assert deltas["npv"].change == pytest.approx(after.npv - before.npv)

    done = service.decide(paused.run.run_id, "approve", reviewer="dee", comment="final figures checked")
    assert done.status == "completed"
    assert [(d.reviewer, d.action) for d in done.decisions] == [("cy", "revise"), ("dee", "approve")]
    assert done.state.summary is not None
    text = done.state.summary.text
    assert "no reason to veto" not in text
    assert "The Accountant vetoed it; it was revised by cy, then approved by dee" in text


def test_the_llm_prompt_says_a_revised_run_was_vetoed(service: RunService, vetoed: Scenario) -> None:
    run_id = service.start(vetoed).run.run_id
    service.decide(run_id, "revise", reviewer="cy", overrides=PASSING_REVISE)
    done = service.decide(run_id, "approve", reviewer="dee")
    system, _ = build_messages(done.state)
    assert "VETOED an earlier version of this plan; it was revised by cy, then approved by dee" in system
    assert '"vetoed_before": true' in system


def test_a_revise_that_still_fails_shows_old_and_new_and_can_be_rejected(service: RunService, vetoed: Scenario) -> None:
    run_id = service.start(vetoed).run.run_id
    again = service.decide(run_id, "revise", reviewer="cy", overrides={"investment": 2_000_000})
    assert again.status == "paused"
    assert again.pending is not None
    assert again.pending.revised is not None
    assert again.pending.revised.deltas["investment"].old == 2_500_000
    assert again.pending.why_waiting[0].startswith("ROI (P50) is")
    assert service.decide(run_id, "reject", reviewer="dee").status == "rejected"


def test_a_plan_without_a_veto_never_waits(service: RunService, profitable: Scenario) -> None:
    done = service.start(profitable)
    assert done.status == "completed"
    assert done.state.plausibility == []
    assert done.run.plausibility == []
    assert done.state.summary is not None
    assert "The Accountant found no reason to veto." in done.state.summary.text


def test_implausible_inputs_that_pass_the_veto_wait_for_a_human_with_the_flags(
    service: RunService, profitable: Scenario
) -> None:
    """A tiny investment: its ROI is thousands of percent, so it passes the veto; fail-closed, it waits with the
    flag as its reason. (A $1 plan's ROI is beyond the credible range: the guard vetoes it outright.)"""
    tiny = Scenario.model_validate({**profitable.model_dump(), "investment": 50_000.0, "name": "Tiny plan"})
    paused = service.start(tiny)
    assert paused.state.decision is not None
    assert paused.state.decision.veto is False
    assert paused.status == "paused"
    codes = [flag.code for flag in paused.state.plausibility]
    assert codes == ["roi_above_1000pct"]
    assert paused.run.plausibility == paused.state.plausibility, "stored on the index row for listings"
    assert [row.plausibility for row in service.list(["paused"])] == [paused.state.plausibility]
    assert paused.pending is not None
    assert paused.pending.plausibility == paused.state.plausibility
    assert paused.run.veto_reason == paused.state.plausibility[0].message
    assert paused.run.veto_reason.startswith("ROI (P50) of ")
    assert "is above 1,000.0%" in paused.run.veto_reason
    done = service.decide(paused.run.run_id, "approve", reviewer="ana")
    assert done.status == "completed"
    assert done.state.summary is not None
    assert "inputs outside sensible ranges were flagged" in done.state.summary.text
    assert "no reason to veto" not in done.state.summary.text


def test_plausibility_flags_growth_and_revenue_far_outside_sensible_ranges(
    service: RunService, profitable: Scenario
) -> None:
    first, second = profitable.segments
    wild = Scenario.model_validate(
        {**profitable.model_dump(), "segments": [first.model_copy(update={"growth_mean": 1.5}), second]}
    )
    view = service.start(wild)
    assert view.status == "paused"
    assert [flag.code for flag in view.state.plausibility][-1] == "growth_above_100pct"
    assert "segment SMB grows 150.0% a quarter on average" in view.state.plausibility[-1].message  # its period word
    yearly = service.start(wild.model_copy(update={"period_unit": "year"}))
    assert "segment SMB grows 150.0% a year on average" in yearly.state.plausibility[-1].message
    starved = Scenario.model_validate(
        {
            **profitable.model_dump(),
            "segments": [s.model_copy(update={"base_revenue": 10.0}) for s in profitable.segments],
        }
    )
    view = service.start(starved)
    assert [flag.code for flag in view.state.plausibility] == ["revenue_below_1pct"]
    assert view.status == "paused"
    assert route_after_evidence(view.state) == "approval"
    assert plausibility.MIN_REVENUE_SHARE == 0.01


def fitted_plan(history: list[float]) -> Scenario:
    """A plan whose one segment is forecast from its history (12 quarters): flat at 100, 8 quarters of 50 profit
    do not earn back 500."""
    segment = {"name": "Subscriptions", "base_revenue": 100, "margin": 0.5, "history": history}
    plan = {"name": "fitted", "investment": 500, "horizon": 8, "discount_rate": 0.0, "paths": 500}
    return validate_scenario({**plan, "period_unit": "quarter", "segments": [segment]})


def test_a_history_with_one_spike_that_lifts_the_forecast_waits_for_a_human_with_the_spike_named(
    service: RunService,
) -> None:
    flat = service.start(fitted_plan([100.0] * 12))
    assert flat.state.decision is not None
    assert flat.state.decision.veto is True, "a flat history does not earn back the investment"
    assert flat.state.plausibility == []

    spiked = service.start(fitted_plan([100.0] * 7 + [400.0] + [100.0] * 4))
    assert spiked.state.financials is not None
    assert spiked.state.financials.roi > 0, "the fit follows the one spike: the plan now seems to pay"
    assert spiked.state.decision is not None
    assert spiked.state.decision.veto is False
    assert spiked.status == "paused", "so a human checks the history before it is approved"
    assert [flag.code for flag in spiked.state.plausibility] == ["history_spike_over_3x"]
    assert spiked.run.veto_reason == (
        "segment Subscriptions's history has one value, 400 in quarter 8, over 3 times the median of the others "
        "(100): its forecast follows that one value; check the history"
    )
    assert flag_words(spiked.run.plausibility) == "⚠️ one spike in a segment's history", "the listings' flags column"

    rising = service.start(fitted_plan([100.0 * 1.1**quarter for quarter in range(12)]))
    assert rising.state.plausibility == [], "a steady rise has many high values, not one spike"


def test_a_replay_that_changes_a_vetoed_runs_inputs_waits_for_approval(service: RunService, vetoed: Scenario) -> None:
    source = service.start(vetoed).run.run_id
    replayed = service.replay(source, from_node="forecaster", overrides=PASSING_REVISE).new
    assert replayed.state.decision is not None
    assert replayed.state.decision.veto is False, "the changed figures pass the Accountant"
    assert replayed.status == "paused", "but the veto of the run it copies is not laundered by a replay"
    reason = f"replay of vetoed run {source} with changed inputs: a human must approve its figures"
    assert replayed.run.veto_reason == reason
    assert replayed.pending is not None
    assert replayed.pending.why_waiting == [reason]
    done = service.decide(replayed.run.run_id, "approve", reviewer="dee", comment="checked the new inputs")
    assert done.status == "completed"
    assert done.state.summary is not None
    assert "no reason to veto" not in done.state.summary.text
    assert service.view(source).status == "paused", "the source run still waits for its own decision"


def test_a_replay_that_changes_a_passing_runs_inputs_runs_through(service: RunService, profitable: Scenario) -> None:
    source = service.start(profitable).run.run_id
    replayed = service.replay(source, from_node="forecaster", overrides={"investment": 400_000}).new
    assert replayed.status == "completed"
    assert replayed.state.inherited_veto is None
