"""A deterministic summary written from the numbers alone: no network, no model, same input same text."""

from __future__ import annotations

from vetoflow.formatting import figure
from vetoflow.state import RunState, Summary

OFFLINE_LABEL = "[offline summary: generated from the figures without an LLM]"


class OfflineSynthesizer:
    name = "offline"

    def summarize(self, state: RunState) -> Summary:
        scenario, numbers, decision = state.scenario, state.financials, state.decision
        assert numbers is not None, "the Accountant runs before the Synthesizer"
        assert decision is not None
        cur = scenario.currency
        lines = [
            OFFLINE_LABEL,
            f"{scenario.name}: invest {figure(numbers.investment, ',.0f')} {cur} over {scenario.horizon} periods "
            f"across {len(scenario.segments)} segment(s) ({', '.join(s.name for s in scenario.segments)}).",
            f"Median (P50) profit {figure(numbers.profit_p50, ',.0f')} {cur} gives ROI {figure(numbers.roi, '.1%')}; "
            f"the downside case (P10) gives {figure(numbers.downside_roi, '.1%')}. "
            f"NPV {figure(numbers.npv, ',.0f')} {cur}.",
        ]
        if numbers.loss_probability is not None and numbers.npv_p10 is not None and numbers.npv_p90 is not None:
            lines.append(
                f"{figure(numbers.loss_probability, '.0%')} of simulated outcomes lose money; NPV ranges from "
                f"{figure(numbers.npv_p10, ',.0f')} (P10) to {figure(numbers.npv_p90, ',.0f')} {cur} (P90)."
            )
        if numbers.payback_period is not None:
            lines.append(f"Payback after {figure(numbers.payback_period, '.1f')} periods.")
        else:
            lines.append("The investment is not paid back within the horizon.")
        lines.append(verdict_line(state))
        if state.retrieval and state.retrieval.sources:
            cited = "; ".join(f"[{s.ref}] {s.title} ({s.source})" for s in state.retrieval.sources)
            lines.append(f"Sources: {cited}")
        elif state.retrieval and state.retrieval.warning:
            lines.append(f"No sources: {state.retrieval.warning}.")
        return Summary(text="\n".join(lines), model=self.name, offline=True)


def verdict_line(state: RunState) -> str:
    """Who decided what. Never "no reason to veto" for a run that was vetoed at any revision."""
    decision = state.decision
    assert decision is not None
    review = state.reviews[-1] if state.reviews and state.reviews[-1].action == "approve" else None
    who = f" by {review.approvers}" if review else ""
    why = f' ("{review.comment}")' if review and review.comment else ""
    revisers = ", ".join(dict.fromkeys(r.reviewer for r in state.reviews if r.action == "revise"))
    if decision.veto:
        if revisers:
            return f"The Accountant vetoed it; it was revised by {revisers}, then a human approved it anyway{who}{why}."
        return f"The Accountant vetoed it; a human approved it anyway{who}{why}."
    if state.vetoed_once:
        passing = "(the revised figures pass the veto)"
        return f"The Accountant vetoed it; it was revised by {revisers}, then approved{who}{why} {passing}."
    if state.plausibility or revisers:
        flagged = "inputs outside sensible ranges were flagged; " if state.plausibility else ""
        revised = f"revised by {revisers}, then " if revisers else ""
        return f"The Accountant did not veto it; {flagged}it was {revised}approved{who}{why}."
    return "The Accountant found no reason to veto."
