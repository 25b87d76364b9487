"""Approval: the human in the loop. Pauses the run until someone approves, rejects or revises it.

Everything before `interrupt()` is re-executed on resume, so it only builds the payload.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.types import Command, interrupt
from pydantic import ValidationError

from vetoflow.errors import VetoflowError, describe_validation_error
from vetoflow.scenario import REVISABLE_FIELDS, SEGMENT_COLUMNS, Scenario, apply_overrides
from vetoflow.state import Review, RunState

ALLOWED_ACTIONS = ("approve", "reject", "revise")


def approval_payload(state: RunState) -> dict[str, Any]:
    assert state.financials is not None
    assert state.decision is not None
    return {
        "run_id": state.run_id,
        "scenario": state.scenario.name,
        "revision": state.revision,
        "figures": state.financials.model_dump(mode="json"),
        "decision": state.decision.model_dump(mode="json"),
        "allowed_actions": list(ALLOWED_ACTIONS),
        "revisable": [*REVISABLE_FIELDS, *(f"segments.<name>.{f}" for f in SEGMENT_COLUMNS[1:])],
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
    update |= {"scenario": revised.model_dump(mode="json"), "revision": state.revision + 1}
    return Command(goto="forecaster", update=update)
