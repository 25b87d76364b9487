"""Two runs side by side (a run and its revision or replay, or two plans): inputs changed and risk figures."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from vetoflow.formatting import figure
from vetoflow.state import Financials, Outcomes, RunState

FIGURES: tuple[tuple[str, str, str], ...] = (
    ("decision", "decision", "text"),
    ("roi", "ROI (P50)", "pct"),
    ("downside_roi", "downside ROI (P10)", "pct"),
    ("loss_probability", "P(loss) = P(NPV < 0)", "pct"),
    ("npv", "NPV (P50)", "money"),
    ("npv_p10", "NPV (P10)", "money"),
    ("npv_p90", "NPV (P90)", "money"),
    ("irr", "IRR (P50, per period)", "pct"),
    ("expected_shortfall", "expected shortfall (worst 10%)", "money"),
    ("payback_period", "payback (P50, periods)", "periods"),
    ("never_payback_share", "paths never paying back", "pct"),
    ("method", "figures computed", "text"),
)


class Change(BaseModel):
    key: str
    a: Any
    b: Any


class FigureRow(BaseModel):
    key: str
    label: str
    a: str
    b: str
    a_value: float | str | None
    b_value: float | str | None


class RunSide(BaseModel):
    """Who one side is, and its simulated outcomes (NPV histogram included) for overlaying distributions."""

    run_id: str
    name: str
    currency: str
    revision: int
    outcomes: Outcomes | None = Field(default=None, description="None for band-only and older-release runs.")


class RunComparison(BaseModel):
    run_a: str
    run_b: str
    inputs_changed: list[Change]
    figures: list[FigureRow]
    sides: list[RunSide] = Field(default_factory=list, description="Run A, then run B.")


def flatten(scenario: dict[str, Any]) -> dict[str, Any]:
    """Scenario fields by the keys `revise` uses (`segments.<name>.<field>`); histories by length only."""
    flat = {k: v for k, v in scenario.items() if k != "segments"}
    for segment in scenario.get("segments", []):
        for field, value in segment.items():
            if field == "name":
                continue
            shown = f"{len(value)} periods" if field == "history" and value else value
            flat[f"segments.{segment['name']}.{field}"] = shown
        flat[f"segments.{segment['name']}"] = "present"
    return flat


def _text(value: float | str | None, kind: str, currency: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if kind == "pct":
        return figure(value, ".1%")
    if kind == "money":
        return f"{figure(value, ',.0f')} {currency}"
    return figure(value, ".1f")


def _value(state: RunState, key: str) -> float | str | None:
    if key == "decision":
        if state.decision is None:
            return None
        return "veto" if state.decision.veto else "no veto"
    numbers: Financials | None = state.financials
    if numbers is None:
        return None
    if key == "method":
        return "path-wise" if numbers.method == "path_wise" else "older method (per-period bands)"
    value = getattr(numbers, key)
    return None if value is None else float(value)


def compare(a: RunState, b: RunState) -> RunComparison:
    flat_a = flatten(a.scenario.model_dump(mode="json"))
    flat_b = flatten(b.scenario.model_dump(mode="json"))
    changes = [
        Change(key=k, a=flat_a.get(k), b=flat_b.get(k))
        for k in sorted(set(flat_a) | set(flat_b))
        if flat_a.get(k) != flat_b.get(k)
    ]
    rows = []
    for key, label, kind in FIGURES:
        va, vb = _value(a, key), _value(b, key)
        rows.append(
            FigureRow(
                key=key,
                label=label,
                a=_text(va, kind, a.scenario.currency),
                b=_text(vb, kind, b.scenario.currency),
                a_value=va,
                b_value=vb,
            )
        )
    sides = [
        RunSide(
            run_id=state.run_id,
            name=state.scenario.name,
            currency=state.scenario.currency,
            revision=state.revision,
            outcomes=state.forecast.outcomes if state.forecast else None,
        )
        for state in (a, b)
    ]
    return RunComparison(run_a=a.run_id, run_b=b.run_id, inputs_changed=changes, figures=rows, sides=sides)
