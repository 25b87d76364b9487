"""How the risk figures read, shared by the CLI and the console (plain text, no markup)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
