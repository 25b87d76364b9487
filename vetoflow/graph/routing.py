"""Edges that depend on state: small, typed, and the only place routing decisions live."""

from __future__ import annotations

import math
from typing import Literal

from vetoflow.risk import guard
from vetoflow.state import RunState


def route_after_evidence(state: RunState) -> Literal["approval", "synthesizer"]:
    """The Accountant's veto sends the run to a human; otherwise straight to the summary.

    Fail-closed: figures that are not finite or not credible go to a human even if a decision in state (an
    old checkpoint, a forked or edited state) says otherwise; so do implausible inputs (risk/plausibility.py)
    and a run a human revised at a pause (the sticky veto: a veto is cleared only by a human approving the
    final figures, never by a revise that happens to pass), nor by a replay that changes a vetoed run's inputs.
    """
    assert state.decision is not None
    if state.decision.veto or math.isnan(state.decision.measured):
        return "approval"
    if state.plausibility or state.revised_at_pause or state.inherited_veto:
        return "approval"
    return "approval" if guard.problems(state.forecast, state.financials, state.scenario.horizon) else "synthesizer"
