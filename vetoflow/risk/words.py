"""How the risk figures and veto rules read, shared by the core's reasons, the CLI and the console (plain text).

The scenario and the decision record keep the rule keys (`loss_probability`, `any_of(roi, npv)`); every
sentence an operator reads names them with `RULE_WORDS`, so the CLI, the API, the console and notifications
say the same.
"""

from __future__ import annotations

import math
import re

from vetoflow.formatting import figure, money, pct, share
from vetoflow.pause import RevisedFigures
from vetoflow.state import Financials, Sensitivity

OLDER_METHOD = "older method: sums of per-period percentiles (no simulated paths kept)"
PATH_WISE = "path-wise: percentiles over the simulated paths"
RULE_WORDS = {
    "roi": "ROI (P50)",
    "downside_roi": "downside ROI (P10)",
    "loss_probability": "probability of loss",
    "npv": "median NPV",
}
"""Each veto rule as an operator names it, mid-sentence (`sentence_start` capitalises it)."""
COMBINATION_WORDS = {"any_of": "any of", "all_of": "all of"}
POLICY_KEYS = RULE_WORDS | COMBINATION_WORDS
POLICY_TOKEN = re.compile(rf"\b({'|'.join(POLICY_KEYS)})\b")


def sentence_start(words: str) -> str:
    """ "downside ROI (P10)" -> "Downside ROI (P10)"."""
    return words[:1].upper() + words[1:]


def policy_words(policy: str) -> str:
    """A policy as `risk.policy.describe` writes it and the decision stores it, in words:
    `any_of(roi, loss_probability)` -> "any of (ROI (P50), probability of loss)"; `roi` -> "ROI (P50)"."""
    spaced = re.sub(r"\b(any_of|all_of)\(", r"\1 (", policy)
    return POLICY_TOKEN.sub(lambda m: POLICY_KEYS[m.group(1)], spaced)


def method_note(financials: Financials) -> str:
    """Which method computed these figures; runs of older releases carry no `method` and used the older one."""
    return PATH_WISE if financials.method == "path_wise" else OLDER_METHOD


DELTA_LABELS = {
    "investment": "Investment",
    "roi": "ROI (P50)",
    "downside_roi": "Downside ROI (P10)",
    "npv": "NPV (P50)",
    "loss_probability": "P(loss)",
}
"""The figures a revise compares, old against new (the pause payload's `revised.deltas`)."""


def delta_value(name: str, value: object, currency: str) -> str:
    """One side of a revise's old-against-new row; `currency` arrives already made safe for where it is shown."""
    if not isinstance(value, int | float):
        return "-"
    return f"{money(value)} {currency}" if name in ("investment", "npv") else pct(value)


def delta_rows(revised: RevisedFigures, currency: str) -> list[tuple[str, str, str]]:
    """A revise's old-against-new figures (the pause request's `revised`) as (label, before, after) rows: one list
    for the console's evidence panel and its approval request, so both read the same."""
    return [
        (DELTA_LABELS.get(name, name), delta_value(name, delta.old, currency), delta_value(name, delta.new, currency))
        for name, delta in revised.deltas.items()
    ]


def figure_rows(fin: Financials, currency: str, payback: str, unit: str = "period") -> list[tuple[str, str]]:
    """The figures a decision is made on, as label/value rows: the headline four, payback, then the risk rows.

    One list for the run view's table and the approval request's text, so both show the same figures in
    the same order. `currency` arrives already made safe for where it is shown; `unit` is the scenario's period
    word (rates such as the IRR are per period: per quarter on a quarterly plan).
    """
    return [
        ("Investment", f"{money(fin.investment)} {currency}"),
        ("ROI (P50)", pct(fin.roi)),
        ("Downside ROI (P10)", pct(fin.downside_roi)),
        ("NPV", f"{money(fin.npv)} {currency}"),
        ("Payback", payback),
        *risk_rows(fin, currency, unit),
    ]


def risk_rows(fin: Financials, currency: str, unit: str = "period") -> list[tuple[str, str]]:
    """Label/value rows for the path-wise figures; empty for figures computed by the older method."""
    if fin.method != "path_wise":
        return []
    rows = [("P(loss) = P(NPV < 0)", figure(fin.loss_probability, ".1%"))]
    rows.append(("NPV P10 to P90", f"{money(fin.npv_p10)} to {money(fin.npv_p90)} {currency}"))
    missing = fin.irr_missing_share
    if missing is not None and not math.isfinite(missing):
        irr_text = "n/a (the paths could not be computed)"
    else:
        irr_text = f"{pct(fin.irr)} per {unit} (median)"
        irr_text = "none (no path has a single IRR)" if fin.irr is None else irr_text
        irr_text += (
            f"; {share(missing)} of paths have no single IRR (ranked by their NPV: losing ones as -100%)"
            if missing
            else ""
        )
    rows.append(("IRR", irr_text))
    rows.append(("expected shortfall", f"{money(fin.expected_shortfall)} {currency} (mean NPV, worst 10%)"))
    rows.append(("never pay back", f"{share(fin.never_payback_share or 0.0)} of paths"))
    return rows


def tornado_lines(sensitivity: Sensitivity | None, currency: str, top: int = 8, width: int = 24) -> list[str]:
    """A text tornado: one line per input, widest swing first, bars scaled to the widest."""
    if sensitivity is None or not sensitivity.bars:
        return []
    bars = sensitivity.bars[:top]
    widest = max((bar.swing for bar in bars if math.isfinite(bar.swing)), default=0.0) or 1.0
    label = max(len(bar.input) for bar in bars)
    lines = [f"Sensitivity of median NPV ({money(sensitivity.npv_p50)} {currency}), widest swing first:"]
    for bar in bars:
        cells = max(1, round(width * bar.swing / widest)) if bar.swing and math.isfinite(bar.swing) else 0
        ends = f"{money(bar.npv_low)} .. {money(bar.npv_high)}"
        moved = f"{figure(bar.low, 'g')} .. {figure(bar.high, 'g')}"
        lines.append(f"  {bar.input:<{label}}  {'#' * cells:<{width}}  {ends} ({moved})")
    if len(sensitivity.bars) > top:
        lines.append(f"  ... and {len(sensitivity.bars) - top} smaller")
    return lines
