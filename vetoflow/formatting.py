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


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"
