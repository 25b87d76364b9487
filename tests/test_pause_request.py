"""A paused run's view carries its approval request typed (`PauseRequest`); on the wire it stays the payload the
approval node stored, with its digest, so API and `show --json` clients read what they always have."""

from __future__ import annotations

from langgraph.types import Command

from vetoflow.console.request_text import approval_request_text
from vetoflow.nodes.approval import why_waiting
from vetoflow.pause import PauseRequest
from vetoflow.runs.history import thread_config
from vetoflow.runs.service import RunService
from vetoflow.runs.settling import read_request
from vetoflow.scenario import Scenario


def test_a_paused_run_shows_its_request_typed_and_a_revise_old_against_new(
    service: RunService, vetoed: Scenario
) -> None:
    paused = service.start(vetoed)
    request = paused.pending
    assert isinstance(request, PauseRequest)
    assert paused.state.decision is not None
    assert paused.state.financials is not None
    assert request.why_waiting == paused.state.decision.reasons
    assert request.figures == paused.state.financials
    assert request.decision.veto is True
    assert request.revised is None
    assert request.digest is not None
    assert request.digest.startswith("sha256:")
    before = paused.state.financials

    revised = service.decide(paused.run.run_id, "revise", reviewer="cy", overrides={"investment": 900_000})
    assert revised.pending is not None
    assert revised.pending.revised is not None
    change = revised.pending.revised
    assert (change.reviewer, change.revision, change.overrides) == ("cy", 1, {"investment": 900_000})
    assert change.deltas["npv"].old == before.npv
    assert change.deltas["investment"].new == 900_000
    assert [r.reviewer for r in change.history] == ["cy"]

    stored = service.graph.get_state(thread_config(revised.run.run_id)).interrupts[0].value
    wire = revised.model_dump(mode="json")["pending"]
    assert wire == {**stored, "digest": revised.pending.digest}, "the wire keeps the stored payload"
    assert "error" not in wire
    assert "before" not in wire["revised"]["history"][0]


def test_a_payload_that_does_not_read_is_shown_from_the_runs_state(service: RunService, vetoed: Scenario) -> None:
    paused = service.start(vetoed)
    shown = read_request(paused.run.run_id, {"figures": "unreadable"}, paused.state, "sha256:" + "0" * 64)
    assert shown is not None, "the run stays shown as waiting, so it can still be decided"
    assert shown.why_waiting == why_waiting(paused.state)
    assert shown.digest == "sha256:" + "0" * 64
    assert shown.run_id == paused.run.run_id


def test_a_refused_answer_is_shown_with_the_request_and_the_run_still_waits(
    service: RunService, vetoed: Scenario
) -> None:
    run_id = service.start(vetoed).run.run_id
    service._advance(run_id, lambda: Command(resume="yes please"), None)  # what no front end lets through
    view = service.view(run_id)
    assert view.status == "paused"
    assert view.pending is not None
    assert view.pending.error is not None
    assert view.pending.error.startswith("resume value must be an object")
    assert view.model_dump(mode="json")["pending"]["error"] == view.pending.error
    assert "Your last answer was refused: resume value must be an object" in approval_request_text(view)
    assert service.decide(run_id, "reject", reviewer="ana").status == "rejected"
