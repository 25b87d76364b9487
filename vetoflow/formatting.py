"""How figures read for people, in the CLI and the console alike: money, percentages, dates."""

from __future__ import annotations

import math
from datetime import datetime


def pct(value: float | None) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "n/a"
    return f"{value * 100:.1f}%"


def money(value: float | None) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "n/a"
    return f"{value:,.0f}"


def figure(value: float | None, spec: str) -> str:
    """`format(value, spec)` for a finite figure; "n/a" for one that could not be computed, "-" for none."""
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "n/a"
    return format(value, spec)


def periods(value: float | None, unit: str, never: str) -> str:
    """A payback as read: "3.2 quarters"; `never` when there is none; "n/a quarters" when it could not be computed."""
    return never if value is None else f"{figure(value, '.1f')} {unit}s"


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def ago(seconds: float) -> str:
    """A compact age for a status column: '45s', '3m', '2h', '4d' (whole units, rounded down)."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
