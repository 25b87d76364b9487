"""Plain-text renderings of one run for the run view: headline, figures, reasons, summary, history."""

from __future__ import annotations

import math

from vetoflow.console.words import changes_text, plain_error
from vetoflow.formatting import pct, periods, when
from vetoflow.plaintext import clean, md
from vetoflow.risk.words import RULE_WORDS, figure_rows, method_note, policy_words
from vetoflow.runs.views import RunView

STATUS_BADGE = {
    "queued": "⚪ queued: waiting for a worker",
    "running": "🔵 running",
    "stalled": "🟠 stalled: its process stopped; an administrator can resume it from the last checkpoint",
    "paused": "🟡 paused: waiting for a decision",
    "completed": "🟢 completed",
    "rejected": "🟣 rejected",
    "failed": "🔴 failed",
}
HISTORY_COLUMNS = ["when", "who", "what", "comment", "changes"]
RESUME_NOTE = "An administrator can resume it from where it stopped (the details below say how)."


def headline(view: RunView) -> str:
    run = view.run
    revision = f" · revision {run.revision}" if run.revision else ""
    text = f"## {md(run.name)}\n{md(run.run_id)} · {STATUS_BADGE.get(run.status, run.status)}{revision}"
    text += f" · created {when(run.created_at)}"
    if note := view.decided_note():
        text += f"\n\n✅ {md(note)}"
    if run.error:
        text += f"\n\n🔴 **It stopped with an error:** {md(plain_error(run.error))}. {RESUME_NOTE}"
    return text


def error_details(view: RunView | None) -> str:
    """The developer's side of a failed run (under "Details for developers"): the error as raised, and the retry."""
    if view is None or not view.run.error:
        return ""
    retry = md(f"vetoflow retry {view.run.run_id}")
    return f"**Error, as raised:** {md(view.run.error)}\n\nResume it from its last checkpoint: {retry}"


def figures(view: RunView) -> str:
    state, run = view.state, view.run
    currency = md(state.scenario.currency)
    fin, decision = state.financials, state.decision
    if not fin:
        return "_No figures yet._"
    unit = state.scenario.period_word
    payback = periods(fin.payback_period, unit, "never (within the horizon)")
    verdict = "-" if not decision else ("**VETO**" if decision.veto else "no veto")
    if run.last_action:
        verdict += f" → {run.last_action} by {md(run.reviewer)}"
    rows = [
        *figure_rows(fin, currency, payback, unit),
        ("Figures", method_note(fin)),
        ("Decision", verdict),
    ]
    return "| Figure | Value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def reasons(view: RunView) -> str:
    decision = view.state.decision
    if not decision:
        return "_The Accountant has not judged this run yet._"
    verdict = "vetoed" if decision.veto else "did not veto"
    if decision.veto and not math.isfinite(decision.measured):  # the guard's veto: the rule was never applied
        against = "its veto rule cannot be applied to these figures (why below)"
    elif decision.policy in ("roi", "downside_roi"):
        rule = RULE_WORDS[decision.policy]
        against = f"{rule} {pct(decision.measured)} against a threshold of {pct(decision.threshold)}"
    else:
        against = f"veto policy {policy_words(decision.policy)}"
    text = f"The Accountant **{verdict}**: {against}.\n\n"
    text += "\n".join(f"- {md(reason)}" for reason in decision.reasons)
    if view.pending and view.pending.error:
        text += f"\n\n⚠️ The last answer was refused: {md(view.pending.error)}"
    return text


def summary(view: RunView) -> str:
    """The Synthesizer's text, the knowledge-base sources it cites, and numbers matching no figure."""
    data, retrieval = view.state.summary, view.state.retrieval
    if not data:
        if view.status == "paused":
            return "_No summary yet: the Synthesizer runs once the run is approved (or passes without a veto)._"
        return "_No summary._"
    text = f"**Summary** ({md(data.model)}{', offline' if data.offline and data.model != 'offline' else ''})\n\n"
    text += "\n\n".join(md(line) for line in data.text.splitlines() if line.strip())
    if retrieval and retrieval.sources:
        text += "\n\n**Sources**\n" + "\n".join(
            md(f"{src.ref}. {src.source}" + (f" (p. {src.page})" if src.page is not None else "") + f": {src.title}")
            for src in retrieval.sources
        )
    if data.grounding:
        text += "\n\n**Numbers matching no figure of this run**: " + md(", ".join(data.grounding))
    return text


def history_rows(view: RunView) -> list[list[str]]:
    rows = []
    for decision in view.decisions:
        overrides = decision.payload.get("overrides") or {}
        changes = changes_text(overrides)
        row = [when(decision.decided_at), decision.reviewer, decision.action, decision.comment, changes]
        rows.append([clean(cell, multiline=True) for cell in row])
    return rows
