"""Approval: the human in the loop. Pauses the run until someone approves, rejects or revises it.

Everything before `interrupt()` is re-executed on resume, so it only builds the payload.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.types import Command, interrupt
from pydantic import ValidationError

from vetoflow.errors import VetoflowError, describe_validation_error
from vetoflow.pause import PauseRequest
from vetoflow.scenario import REVISABLE_FIELDS, SEGMENT_COLUMNS, Scenario, apply_overrides
from vetoflow.state import Review, Revision, RunState

ALLOWED_ACTIONS = ("approve", "reject", "revise")
PAYLOAD_SOURCES = 5  # the top sources shown with their passages while the run waits
COMPARED = ("investment", "roi", "downside_roi", "npv", "loss_probability")


def approval_payload(state: RunState) -> dict[str, Any]:
    """The `interrupt()` value, as JSON for the checkpoint; front ends read it as `PauseRequest`."""
    return pause_request(state).payload()


def pause_request(state: RunState) -> PauseRequest:
    """What the approver is asked to decide on, built from the run's state."""
    assert state.financials is not None
    assert state.decision is not None
    sources = state.retrieval.sources[:PAYLOAD_SOURCES] if state.retrieval else []
    fields = {
        "run_id": state.run_id,
        "scenario": state.scenario.name,
        "revision": state.revision,
        "figures": state.financials.model_dump(mode="json"),
        "decision": state.decision.model_dump(mode="json"),
        "why_waiting": why_waiting(state),
        "plausibility": [flag.model_dump(mode="json") for flag in state.plausibility],
        "sources": [
            {"ref": s.ref, "title": s.title, "source": s.source, "page": s.page, "text": s.text} for s in sources
        ],
        "revised": revised_payload(state),
        "allowed_actions": list(ALLOWED_ACTIONS),
        "revisable": [*REVISABLE_FIELDS, *(f"segments.<name>.{f}" for f in SEGMENT_COLUMNS[1:])],
    }
    return PauseRequest.model_validate(fields)  # from JSON data, so every key given counts as set


def why_waiting(state: RunState) -> list[str]:
    """The plain reasons this run needs a human: the veto, the flags, a revise after a veto."""
    assert state.decision is not None
    reasons = list(state.decision.reasons) if state.decision.veto else []
    reasons += [flag.message for flag in state.plausibility if f"{flag.message}." not in reasons]  # named once
    if state.inherited_veto and not state.decision.veto:
        reasons.append(state.inherited_veto)
    if state.revised_at_pause and not state.decision.veto:
        before = "a veto" if state.vetoed_once else "a pause"
        reasons.append(f"revised after {before}: a human must approve the revised figures")
    return reasons


def revised_payload(state: RunState) -> dict[str, Any] | None:
    """Old against new figures after the latest revise, and who revised what (None before any revise)."""
    if not state.revisions or state.financials is None:
        return None
    last = state.revisions[-1]
    now = state.financials.model_dump(mode="json")
    then = last.before.model_dump(mode="json") if last.before else {}
    deltas = {}
    for name in COMPARED:
        old, new = then.get(name), now.get(name)
        change = new - old if isinstance(old, int | float) and isinstance(new, int | float) else None
        deltas[name] = {"old": old, "new": new, "change": change}
    return {
        "revision": last.revision,
        "reviewer": last.reviewer,
        "overrides": last.overrides,
        "comment": last.comment,
        "was_vetoed": last.vetoed,
        "deltas": deltas,
        "history": [r.model_dump(mode="json", exclude={"before"}) for r in state.revisions],
    }


def parse_review(value: Any, scenario: Scenario) -> tuple[Review, Scenario | None]:
    """Validate a resume value; for `revise`, also return the revised scenario."""
    if not isinstance(value, dict):
        raise VetoflowError(f"resume value must be an object with action, reviewer, comment; got {value!r}")
    try:
        review = Review.model_validate(value)
    except ValidationError as exc:
        raise VetoflowError(f"invalid decision:\n{describe_validation_error(exc)}") from None
    if review.action != "revise":
        if review.overrides:
            raise VetoflowError("overrides: only allowed with action 'revise'")
        return review, None
    if not review.overrides:
        raise VetoflowError("overrides: 'revise' needs at least one override, e.g. investment=800000")
    return review, apply_overrides(scenario, review.overrides)


def approval(state: RunState) -> Command[Literal["forecaster", "synthesizer", "__end__"]]:
    payload = approval_payload(state)
    while True:  # a malformed answer re-asks: the run stays paused with the error in the new payload
        try:
            review, revised = parse_review(interrupt(payload), state.scenario)
            break
        except VetoflowError as exc:
            payload = {**payload, "error": str(exc)}
    update: dict[str, Any] = {"reviews": [review.model_dump(mode="json")]}
    if review.action == "approve":
        return Command(goto="synthesizer", update=update)
    if review.action == "reject":
        return Command(goto="__end__", update={**update, "outcome": "rejected"})  # END
    assert revised is not None
    assert state.decision is not None
    record = Revision(
        revision=state.revision + 1,
        reviewer=review.reviewer,
        overrides=review.overrides,
        comment=review.comment,
        before=state.financials,
        vetoed=state.decision.veto,
        reasons=why_waiting(state),
    )
    update |= {"scenario": revised.model_dump(mode="json"), "revision": state.revision + 1}
    update |= {"revisions": [record.model_dump(mode="json")], "retrieval": None}  # new figures, new evidence
    return Command(goto="forecaster", update=update)
