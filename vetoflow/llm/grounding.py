"""Grounding check: every number in a summary must be one of the run's figures, within its rounding.

A number written as "1.2M" matches anything that rounds to 1.2 million; "35%" matches a ratio of
0.345-0.355; "576,000" matches 575,500-576,500. Numbers glued to letters (P50, Q3) and citation
markers ([1]) are labels, not figures. Lines starting with "Sources:" or "No sources:" speak of
documents and are not checked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from vetoflow.state import RunState

NUMBER = re.compile(
    r"(?<![\w.\[])(?P<sign>[-−])?(?P<cur>[$€£])?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"\s?(?P<unit>%|percent\b|per cent\b|k\b|K\b|thousand\b|m\b|M\b|mn\b|million\b|bn\b|B\b|billion\b|x\b)?"
    r"(?![\w\]])"
)
SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "bn": 1e9, "b": 1e9, "billion": 1e9}
SKIP_KEYS = {"seed", "paths", "run_id", "ref", "chunk", "page", "score"}


def figures(state: RunState) -> list[float]:
    """Every number the run produced or was given, plus horizon totals of the forecast bands."""
    data = state.model_dump(mode="json", exclude={"retrieval", "summary"})
    values = list(_numbers(data))
    if state.forecast:
        for band in [state.forecast.revenue, state.forecast.profit, *state.forecast.segments.values()]:
            values += [sum(band.p10), sum(band.p50), sum(band.p90)]
        values.append(float(len(state.scenario.segments)))
    if state.financials and state.financials.payback_period is not None:
        values.append(state.financials.payback_period)
    return [abs(v) for v in values if math.isfinite(v)]


def _numbers(value: Any, key: str = "") -> Iterator[float]:
    if key in SKIP_KEYS:
        return
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _numbers(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v, key)
    elif isinstance(value, str):
        for match in NUMBER.finditer(value):  # numbers inside the Accountant's reasons and review comments
            yield from (v for v, _ in _candidates(match))


def _candidates(match: re.Match[str]) -> list[tuple[float, float]]:
    """(value, tolerance) readings of one written number; a bare number may be a ratio in percent."""
    raw = match.group("num")
    decimals = len(raw.split(".")[1]) if "." in raw else 0
    number = float(raw.replace(",", ""))
    half_step = 0.5 * 10**-decimals
    unit = (match.group("unit") or "").strip().lower()
    if unit in ("%", "percent", "per cent"):
        return [(number / 100, half_step / 100 + 1e-9)]
    if unit in SCALE:
        return [(number * SCALE[unit], half_step * SCALE[unit])]
    digits = raw.replace(",", "")
    if decimals == 0 and number >= 1000:  # "576,000" was rounded to thousands: it matches 575,500-576,500
        half_step = 0.5 * 10 ** (len(digits) - len(digits.rstrip("0")))
    readings = [(number, max(half_step, 0.5))]
    if unit != "x":
        readings.append((number / 100, half_step / 100 + 1e-9))
    return readings


def _rounding_matches(written: float, tolerance: float, figure: float) -> bool:
    return abs(written - figure) <= tolerance + 1e-9 * max(1.0, abs(figure))


def check(text: str, state: RunState) -> list[str]:
    """The numbers in `text` that match none of the state's figures (as written, in order, deduplicated)."""
    known = figures(state)
    known_sorted = sorted(known)
    flagged: list[str] = []
    for line in text.splitlines():
        if line.strip().lower().startswith(("sources:", "no sources:")):
            continue
        for match in NUMBER.finditer(line):
            readings = _candidates(match)
            if any(_rounding_matches(value, tol, figure) for value, tol in readings for figure in known_sorted):
                continue
            written = match.group(0).strip()
            if written not in flagged:
                flagged.append(written)
    return flagged
