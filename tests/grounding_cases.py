"""Invented numbers for measuring the grounding check's recall, generated from the shipped examples.

A number is invented when it states no figure of the run: it lies more than 5% (money, counts) or one
percentage point (ratios) from every figure of its kind, or it is a real figure with its sign flipped, or a
real figure put under another figure's label ("NPV 700,000" when 700,000 is the investment). Each is
written in one of several styles (separators, rounding to two digits, scale suffixes, currency prefixes,
scientific notation, words, percent) inside a sentence, with or without a label.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.rag_helpers import decided_state
from vetoflow.llm.grounding import Figure, figures
from vetoflow.scenario import load_scenario
from vetoflow.state import RunState

EXAMPLES = Path(__file__).resolve().parent.parent / "vetoflow" / "examples"
ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
ONES_WORDS = (ONES + " seventeen eighteen nineteen").split()
TENS_WORDS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
MONEY_LABELS = {"npv": "NPV of", "investment": "an investment of", "profit_p50": "median profit of"}
RATIO_LABELS = {"roi": "ROI of", "downside_roi": "downside ROI of", "margin": "a margin of"}


@dataclass(frozen=True)
class Case:
    category: str
    text: str
    state: RunState


def example_states() -> list[RunState]:
    return [decided_state(load_scenario(path)) for path in sorted(EXAMPLES.glob("*.yaml"))]


def words(number: int) -> str:
    """English words for 0-999."""
    if number < 20:
        return ONES_WORDS[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return TENS_WORDS[tens] + (f"-{ONES_WORDS[ones]}" if ones else "")
    hundreds, rest = divmod(number, 100)
    return f"{ONES_WORDS[hundreds]} hundred" + (f" and {words(rest)}" if rest else "")


def _far(value: float, kind: str, known: list[Figure]) -> bool:
    same = [f.value for f in known if f.kind == kind or {kind, f.kind} == {"money", "count"}]
    if kind == "ratio":
        return all(abs(value - f) > 0.01 for f in same)
    return all(abs(value - f) > 0.05 * max(abs(f), 1.0) for f in same)


def _money_text(value: float, rng: random.Random, currency: str) -> str:
    sign = "-" if value < 0 else ""
    size = abs(value)
    style = rng.choice(["plain", "round", "suffix", "prefix", "code", "sci", "words", "million"])
    if style == "plain":
        return f"{sign}{size:,.0f} {currency}"
    if style == "round":
        digits = len(f"{size:.0f}") - 2
        return f"{sign}{round(size, -digits):,.0f}"
    if style == "suffix":
        return f"{sign}{size / 1e6:.2f}M {currency}" if size >= 1e5 else f"{sign}{size / 1e3:.1f}k"
    if style == "prefix":
        return f"{sign}${size / 1e6:.1f}M" if size >= 1e5 else f"{sign}${size:,.0f}"
    if style == "code":
        return f"{currency}{sign}{size / 1e6:.1f}M" if size >= 1e5 else f"{currency} {sign}{size:,.0f}"
    if style == "sci":
        return f"{sign}{size:.2e}"
    if style == "million" and size >= 1e5:
        return f"{sign}{size / 1e6:.1f} million"
    if size >= 1e6:
        return ("minus " if sign else "") + f"{words(round(size / 1e6))} million"
    return ("minus " if sign else "") + f"{words(round(size / 1e3))} thousand"


def _ratio_text(value: float, rng: random.Random) -> str:
    style = rng.choice(["one", "none", "words"] if 0 < value < 1 else ["one", "none"])
    if style == "words":
        return f"{words(round(value * 100))} percent"
    return f"{value:.1%}" if style == "one" else f"{value:.0%}"


def _sentence(amount: str, label: str | None, rng: random.Random) -> str:
    if label:
        return f"The plan shows {label} {amount} over the horizon [1]."
    return rng.choice([f"Revenue could reach {amount} by then.", f"Analysts expect about {amount} [2]."])


def cases(per_state: int = 120, seed: int = 20261125) -> Iterator[Case]:
    """Invented numbers in every category, `per_state` per shipped example."""
    rng = random.Random(seed)
    for state in example_states():
        known = figures(state)
        currency = state.scenario.currency
        made = 0
        while made < per_state:
            category = rng.choice(["money", "ratio", "count", "round NPV", "sign flip", "label swap"])
            if category in ("money", "round NPV"):
                anchor = state.financials.npv if category == "round NPV" and state.financials else 1e5
                spread = 0.3 if category == "round NPV" else 1.5  # round NPVs within x0.5-x2 of the real one
                value = abs(anchor) * 10 ** rng.uniform(-spread, spread) * rng.choice([1, 1, -1])
                if category == "round NPV":
                    value = float(f"{value:.1g}") if rng.random() < 0.5 else float(f"{value:.2g}")
                if not _far(value, "money", known):
                    continue
                label = "NPV of" if category == "round NPV" else rng.choice([None, *MONEY_LABELS.values()])
                text = _sentence(_money_text(value, rng, currency), label, rng)
            elif category == "ratio":
                value = round(rng.uniform(-0.95, 2.5), 3)
                if not _far(value, "ratio", known):
                    continue
                text = _sentence(_ratio_text(value, rng), rng.choice([None, *RATIO_LABELS.values()]), rng)
            elif category == "count":
                value = round(rng.uniform(1, 40), rng.choice([0, 1]))
                if not _far(value, "count", known):
                    continue
                text = rng.choice(
                    [f"Payback after {value:g} periods.", f"It opens {value:g} new sites.", f"over {value:g} quarters"]
                )
            elif category == "sign flip":
                figure = rng.choice([f for f in known if f.name in ("npv", "roi", "downside_roi") and f.value])
                if not _far(-figure.value, figure.kind, known):
                    continue
                amount = _ratio_text(-figure.value, rng) if figure.kind == "ratio" else f"{-figure.value:,.0f}"
                label = RATIO_LABELS.get(figure.name) or MONEY_LABELS.get(figure.name)
                text = _sentence(amount, label, rng)
            else:
                named = {f.name: f for f in known}
                name, label = rng.choice(list(MONEY_LABELS.items()))
                other = rng.choice([f for f in known if f.kind == "money" and f.name != name])
                if not abs(other.value - named[name].value) > 0.05 * abs(named[name].value):
                    continue
                text = _sentence(f"{other.value:,.0f} {currency}", label, rng)
            made += 1
            yield Case(category, text, state)
