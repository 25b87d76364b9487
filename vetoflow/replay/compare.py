"""Old against new for one replay: decision, ROI, NPV, summary diff, grounding flags, tokens."""

from __future__ import annotations

import difflib

from pydantic import BaseModel, Field

from vetoflow.runs.views import RunView
from vetoflow.trace.extras import llm_info

NEEDS_APPROVAL = "needs approval"


class Side(BaseModel):
    run_id: str
    status: str
    veto: bool | None = None
    roi: float | None = None
    npv: float | None = None
    payback_period: float | None = None
    investment: float | None = None
    summary: str | None = None
    model: str | None = None
    tokens: int | None = None
    grounding_flags: list[str] = Field(default_factory=list)


class Comparison(BaseModel):
    old: Side
    new: Side
    decision_changed: bool
    summary_changed: bool
    summary_diff: list[str]


def replay_status(status: str) -> str:
    """A replay that stops at the approval interrupt waits for a human: say so in the user's words."""
    return NEEDS_APPROVAL if status == "paused" else status


def side(view: RunView, status: str | None = None) -> Side:
    state = view.state
    fin, decision = state.financials, state.decision
    info = llm_info(state.summary, state.retrieval)
    return Side(
        run_id=view.run.run_id,
        status=status or view.status,
        veto=decision.veto if decision else None,
        roi=fin.roi if fin else None,
        npv=fin.npv if fin else None,
        payback_period=fin.payback_period if fin else None,
        investment=state.scenario.investment,
        summary=state.summary.text if state.summary else None,
        model=info.model if info else None,
        tokens=info.total_tokens if info else None,
        grounding_flags=info.grounding_flags if info else [],
    )


def compare(old: RunView, new: RunView) -> Comparison:
    before, after = side(old), side(new, replay_status(new.status))
    diff = (
        []
        if after.summary is None
        else list(
            difflib.unified_diff(
                (before.summary or "").splitlines(),
                (after.summary or "").splitlines(),
                fromfile=f"{before.run_id} (original)",
                tofile=f"{after.run_id} (replay)",
                lineterm="",
            )
        )
    )
    return Comparison(
        old=before,
        new=after,
        decision_changed=before.veto != after.veto,
        summary_changed=after.summary is not None and before.summary != after.summary,
        summary_diff=diff,
    )
