"""How the risk figures read, shared by the CLI and the console (plain text, no markup)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vetoflow.state import Sensitivity

OLDER_METHOD = "older method: sums of per-period percentiles (no simulated paths kept)"
PATH_WISE = "path-wise: percentiles over the simulated paths"


def method_note(financials: Mapping[str, Any]) -> str:
    """Which method computed these figures; runs of older releases carry no `method` and used the older one."""
    return PATH_WISE if financials.get("method") == "path_wise" else OLDER_METHOD


def risk_rows(financials: Mapping[str, Any], currency: str) -> list[tuple[str, str]]:
    """Label/value rows for the path-wise figures; empty for figures computed by the older method."""
    if financials.get("method") != "path_wise":
        return []
    rows = [("P(loss) = P(NPV < 0)", f"{financials['loss_probability']:.1%}")]
    rows.append(("NPV P10 to P90", f"{financials['npv_p10']:,.0f} to {financials['npv_p90']:,.0f} {currency}"))
    irr = financials.get("irr")
    missing = financials.get("irr_missing_share") or 0.0
    irr_text = "none (no path has a single IRR)" if irr is None else f"{irr:.1%} per period (median)"
    rows.append(("IRR", irr_text + (f"; {missing:.0%} of paths have no single IRR" if missing else "")))
    rows.append(("expected shortfall", f"{financials['expected_shortfall']:,.0f} {currency} (mean NPV, worst 10%)"))
    rows.append(("never pay back", f"{financials['never_payback_share']:.0%} of paths"))
    return rows


def tornado_lines(sensitivity: Sensitivity | None, currency: str, top: int = 8, width: int = 24) -> list[str]:
    """A text tornado: one line per input, widest swing first, bars scaled to the widest."""
    if sensitivity is None or not sensitivity.bars:
        return []
    bars = sensitivity.bars[:top]
    widest = max(bar.swing for bar in bars) or 1.0
    label = max(len(bar.input) for bar in bars)
    lines = [f"Sensitivity of median NPV ({sensitivity.npv_p50:,.0f} {currency}), widest swing first:"]
    for bar in bars:
        cells = max(1, round(width * bar.swing / widest)) if bar.swing else 0
        ends = f"{bar.npv_low:,.0f} .. {bar.npv_high:,.0f}"
        lines.append(f"  {bar.input:<{label}}  {'#' * cells:<{width}}  {ends} ({bar.low:g} .. {bar.high:g})")
    if len(sensitivity.bars) > top:
        lines.append(f"  ... and {len(sensitivity.bars) - top} smaller")
    return lines
