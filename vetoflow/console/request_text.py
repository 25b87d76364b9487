"""The approval request as an operator reads it: what is asked and why it waits (a revise after a veto with its
figures before and after), the figures, the reasons, what can be done.

Plain text, no markup (shown in a read-only text box): names, reasons and errors come from people and are
cleaned of control characters. The raw payload stays available to developers behind "details".
Figures come from the typed state (the digest ties them to the payload); actions and revisable fields from
the payload, so a run paused by an older release reads the same way.
"""

from __future__ import annotations

from datetime import datetime

from vetoflow.console.words import changes_text
from vetoflow.formatting import periods, when
from vetoflow.pause import ApprovalStatus, PauseRequest, RevisedFigures
from vetoflow.plaintext import clean
from vetoflow.risk.words import delta_rows, figure_rows, method_note
from vetoflow.runs.views import RunView
from vetoflow.state import RunState

ACTION_WORDS = {
    "approve": "Approve: the plan goes ahead{overrule}; the summary is written next.",
    "reject": "Reject: the run ends here{uphold}.",
    "revise": "Revise: change assumptions below and re-run the Forecaster and Accountant.",
}
FIELD_WORDS = {
    "investment": "investment",
    "horizon": "horizon (number of {unit}s)",
    "discount_rate": "discount rate per {unit}",
    "paths": "simulated paths",
    "seed": "random seed",
    "segments.<name>.base_revenue": "a segment's base revenue",
    "segments.<name>.growth_mean": "a segment's growth per {unit}",
    "segments.<name>.volatility": "a segment's volatility",
    "segments.<name>.margin": "a segment's margin",
}
LABEL_WIDTH = 22


def _row(label: str, value: str) -> str:
    return f"  {label:<{LABEL_WIDTH}} {value}"


def _figures(state: RunState) -> list[str]:
    fin, scenario = state.financials, state.scenario
    if fin is None:
        return ["  (no figures yet)"]
    currency, unit = clean(scenario.currency), scenario.period_word
    payback = periods(fin.payback_period, unit, f"never within {scenario.horizon} {unit}s")
    rows = [
        *figure_rows(fin, currency, payback, unit),
    ]
    lines = [_row(label, value) for label, value in rows]
    return [*lines, f"  Figures computed: {method_note(fin)}."]


def _verdict(state: RunState, revised: bool) -> str:
    decision = state.decision
    if decision is None:
        return "The Accountant has not judged this plan."
    if decision.veto:
        return "The Accountant VETOED this plan. Approving overrules the veto."
    judged = "the revised figures" if revised else "this plan"
    return f"The Accountant did not veto {judged}; it still needs a human approval. Approving overrules no veto."


def _why_waiting(state: RunState, pending: PauseRequest) -> list[str]:
    """Why it waits, in the words the CLI, the notifications and the run view use (the payload's `why_waiting`),
    leaving out the veto's reasons (listed under "Why it was vetoed")."""
    vetoed = state.decision.reasons if state.decision and state.decision.veto else []
    why = [reason for reason in pending.why_waiting if reason not in vetoed]
    return ["", "Why it waits for you", *(f"  - {clean(reason)}" for reason in why)] if why else []


def _revision(revised: RevisedFigures | None, currency: str) -> list[str]:
    """The latest revise: who changed what, and its figures before and after, right under the verdict."""
    if not revised:
        return []
    changes = changes_text(revised.overrides)
    lines = ["", clean(f"Revision {revised.revision} by {revised.reviewer}: {changes}")]
    lines += [_row(label, f"{old} → {new}") for label, old, new in delta_rows(revised, currency)]
    if revised.comment:
        lines.append(_row("Their comment", clean(revised.comment)))
    return lines


def _approvers(approval: ApprovalStatus | None) -> list[str]:
    if not approval:
        return []
    lines = ["", "Who must approve"]
    if approval.tier:
        lines.append(_row("Approval tier", clean(approval.tier)))
    needs = approval.approvers
    if needs.count and needs.roles:
        roles = " or ".join(clean(role) for role in needs.roles)
        lines.append(_row("Needs", f"{needs.count} approver(s) with role {roles}"))
    if approval.progress:
        lines.append(_row("Approvals so far", clean(approval.progress)))
    if approval.approved_by:
        lines.append(_row("Approved by", clean(", ".join(approval.approved_by))))
    if approval.due_at:
        lines.append(_row("Decide by", _due(approval.due_at)))
    return lines if len(lines) > 2 else []


def _due(value: str) -> str:
    try:
        return when(datetime.fromisoformat(value))
    except ValueError:
        return clean(value)


def _evidence(state: RunState) -> list[str]:
    retrieval = state.retrieval
    if retrieval is None or not retrieval.sources:
        return []
    lines = ["", "Evidence from the knowledge base"]
    for source in retrieval.sources:
        page = f", page {source.page}" if source.page is not None else ""
        lines.append(f"  [{source.ref}] {clean(source.title)} ({clean(source.source)}{page})")
    return lines


def approval_request_text(view: RunView) -> str:
    """The pending approval request in plain words; says so when nothing is asked of anyone."""
    state, pending = view.state, view.pending
    name = clean(state.scenario.name)
    if pending is None:
        return f"Nothing is asked: run {clean(view.run.run_id)} ({name}) is {view.status}, not waiting for a decision."
    unit = state.scenario.period_word
    revision = f", revision {state.revision}" if state.revision else ""
    currency = clean(state.scenario.currency)
    lines = [
        f"Decision asked: {name} (run {clean(view.run.run_id)}{revision})",
        _verdict(state, pending.revised is not None),
        *_why_waiting(state, pending),
        *_revision(pending.revised, currency),
        "",
        f"Figures ({currency}, {state.scenario.horizon} {unit}s)",
        *_figures(state),
    ]
    if state.decision is not None and state.decision.reasons:
        lines += ["", "Why it was vetoed" if state.decision.veto else "What the Accountant noted"]
        lines += [f"  - {clean(reason)}" for reason in state.decision.reasons]
    lines += _evidence(state)
    lines += _approvers(view.approval)
    vetoed = bool(state.decision and state.decision.veto)
    lines += ["", "What you can do"]
    actions: list[str] = [*pending.allowed_actions] or list(ACTION_WORDS)
    for action in actions:
        words = ACTION_WORDS.get(action, clean(action))
        lines.append("  - " + words.format(overrule=" (overruling the veto)" if vetoed else "",
                                           uphold=" (upholding the veto)" if vetoed else ""))  # fmt: skip
    revisable = [FIELD_WORDS.get(f, clean(f)).format(unit=unit) for f in pending.revisable]
    if revisable:
        lines += ["", "What a revise can change", *(f"  - {field}" for field in revisable)]
    if pending.error:
        lines += ["", f"Your last answer was refused: {clean(pending.error)}"]
    return "\n".join(lines)
