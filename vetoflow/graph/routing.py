"""Edges that depend on state: small, typed, and the only place routing decisions live."""

from __future__ import annotations

from typing import Literal

from vetoflow.state import RunState


def route_after_accountant(state: RunState) -> Literal["approval", "synthesizer"]:
    """The Accountant's veto sends the run to a human; otherwise straight to the summary."""
    assert state.decision is not None
    return "approval" if state.decision.veto else "synthesizer"
