"""How figures read for people, in the CLI and the console alike: money, percentages, dates."""

from __future__ import annotations

import math
from datetime import datetime

HUGE_RATIO = 1e10
"""From this ratio (a trillion percent) on, a percentage is written in powers of ten."""


def unsigned_zero(text: str) -> str:
    """ "-0.0%" -> "0.0%": a tiny negative figure rounded to zero for display reads as zero, not as "-0"."""
    if text.startswith("-") and not any(c in "123456789" for c in text):
        return text[1:]
    return text


def pct(value: float | None) -> str:
    """0.315 -> "31.5%"; 3064657.1 -> "306,465,710.9%" (separated, as money is); past a trillion percent, where
    every digit would say nothing more, "1.23e+98%"."""
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= HUGE_RATIO:
        return f"{value * 100:.3g}%"
    return unsigned_zero(f"{value * 100:,.1f}%")


def money(value: float | None) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "n/a"
    return unsigned_zero(f"{value:,.0f}")


def amount(value: float | None, currency: str) -> str:
    """Money with its currency, as the inbox and the runs list show it: "950,000 EUR" (a run of an older release
    that kept no currency: "950,000"); never added up or shown across currencies without its code."""
    if value is None:
        return "-"
    return f"{money(value)} {currency}".strip()


def figure(value: float | None, spec: str) -> str:
    """`format(value, spec)` for a finite figure; "n/a" for one that could not be computed, "-" for none."""
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "n/a"
    return unsigned_zero(format(value, spec))


def share(value: float | None, places: int = 0) -> str:
    """A share of paths as a percentage, with the decimals it needs so that a share above zero never reads
    "0%" and one below one never reads "100%" (0.004 -> "0.4%"; 0.9996 -> "99.96%")."""
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "n/a"
    text = f"{value:.{places}%}"
    while places < 6 and ((text.strip("0.%") == "" and value != 0) or (text == f"{1:.{places}%}" and value != 1)):
        places += 1
        text = f"{value:.{places}%}"
    return text


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
