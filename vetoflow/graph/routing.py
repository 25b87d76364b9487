"""Edges that depend on state: small, typed, and the only place routing decisions live."""

from __future__ import annotations

import math
from typing import Literal

from vetoflow.risk import guard
from vetoflow.state import RunState


def route_after_accountant(state: RunState) -> Literal["approval", "synthesizer"]:
    """The Accountant's veto sends the run to a human; otherwise straight to the summary.

    Fail-closed twice over: figures that are not finite or not credible go to a human even if a decision
    in state (an old checkpoint, a forked or edited state) says otherwise.
    """
    assert state.decision is not None
    if state.decision.veto or math.isnan(state.decision.measured):
        return "approval"
    return "approval" if guard.problems(state.forecast, state.financials, state.scenario.horizon) else "synthesizer"
