"""Numbers on chart axes as a finance reader writes them: "$1.2M", "€950k", "-300k SEK", "quarter 3".

Plotly's own SI format prints "1.2G" for billions and "µ" for tiny numbers and never a currency, so the
charts set their tick positions and texts from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
SCALES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def compact(value: float, significant: int = 3) -> str:
    """1_234_000 -> "1.23M", 950_000 -> "950k", -300_000 -> "-300k", 12.5 -> "12.5" (at most `significant`)."""
    if not math.isfinite(value):
        return "n/a"
    size = abs(value)
    for scale, suffix in SCALES:
        if size >= scale * 0.9995:
            return f"{_short(value / scale, significant)}{suffix}"
    return _short(value, significant)


def _short(number: float, significant: int = 3) -> str:
    digits = max(0, significant - 1 - math.floor(math.log10(abs(number)))) if number else 0
    text = f"{number:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def compact_money(value: float, currency: str, significant: int = 3) -> str:
    """ "$1.2M" for currencies with a well-known symbol, "1.2M SEK" for the rest."""
    symbol = SYMBOLS.get(currency.upper())
    text = compact(value, significant)
    if symbol is None:
        return f"{text} {currency}"
    return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"


def nice_step(span: float, target: int = 6) -> float:
    """A 1, 2, 2.5 or 5 times a power of ten step giving about `target` ticks over `span`."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def money_ticks(
    values: Iterable[float], currency: str, *, with_zero: bool = True, target: int = 6
) -> tuple[list[float], list[str]]:
    """Tick positions spanning `values` (and zero, unless `with_zero` is off) with their compact currency texts."""
    finite = [v for v in values if math.isfinite(v)] or [0.0]
    extra = [0.0] if with_zero else []
    low, high = min([*finite, *extra]), max([*finite, *extra])  # one value alone is a list too
    step = nice_step(high - low, target)
    first, last = math.floor(low / step), math.ceil(high / step)
    ticks = [round(i * step, 6) for i in range(first, last + 1)]
    for significant in range(3, 13):  # ticks close together far from zero need more digits to differ
        texts = [compact_money(t, currency, significant) for t in ticks]
        if len(set(texts)) == len(texts):
            break
    return ticks, texts


def period_ticks(periods: int, unit: str) -> tuple[list[int], list[str]]:
    """ "month 1" ... "month 12"; at most about 12 labels, so a 120-month horizon labels every 10th."""
    every = max(1, math.ceil(periods / 12))
    shown = [p for p in range(1, periods + 1) if p == 1 or p % every == 0]
    return shown, [f"{unit} {p}" for p in shown]
