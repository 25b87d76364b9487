"""Grounding check: every number in a summary must be one of the run's computed figures, as written.

The figures are the ones the LLM is shown (scenario inputs, financials, decision, and the numbers the
plausibility flags state, such as a sensible bound): never numbers inside names, review comments or
documents. A written number matches a figure when it has the figure's sign, the figure lies within the
written rounding ("1.2M", "35%", "576,000"), and it keeps at least two significant digits of it
("600,000" is not NPV 576,383). A percent matches ratios only, a currency or scale (M, million) matches
money only. A label right before a number ("NPV", "downside ROI", "invested", "payback"; only connecting
words such as "is", "of", "about" between) narrows it to that figure. Names, comments and document titles
are masked out of the text first, and lines starting with "Sources:" or "No sources:" are not checked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from vetoflow.llm.written import Written, read_numbers
from vetoflow.state import RunState

FigureKind = Literal["money", "ratio", "count"]

LABELS: dict[str, tuple[str, ...]] = {
    r"(?:median|p50)(?:\s*\(p50\))?\s+profits?": ("profit_p50",),
    r"(?:downside|p10)(?:\s*\(p10\))?\s+profits?": ("profit_p10",),
    r"downside(?:\s+case)?(?:\s+roi)?|roi\s*\(?p10\)?|p10\s+roi": ("downside_roi",),
    r"roi|return on investment|returns?": ("roi", "downside_roi", "measured"),
    r"npv|net present value": ("npv", "npv_p10", "npv_p90"),
    r"expected shortfall": ("expected_shortfall",),
    r"irr|internal rate(?: of return)?": ("irr",),
    r"(?:probability|chance|share) of (?:a )?loss|p\(loss\)": ("loss_probability",),
    r"invest(?:ment|ed|s|ing)?|outlay|capex": ("investment",),
    r"payback|pays? back|paid back|break[- ]?even": ("payback_period", "horizon"),
    r"discount(?:ed)?(?:\s+rate)?": ("discount_rate",),
    r"threshold|hurdle": ("threshold", "veto_threshold"),
    r"profits?": ("profit_p50", "profit_p10"),
    r"margins?": ("margin",),
    r"growth|grow(?:s|ing)?": ("growth_mean",),
    r"volatility": ("volatility",),
    r"revenues?|sales": ("base_revenue",),
    r"horizon": ("horizon",),
}
LABEL = re.compile("|".join(f"(?P<l{i}>\\b(?:{p})\\b)" for i, p in enumerate(LABELS)), re.IGNORECASE)
LABEL_FIGURES = list(LABELS.values())
NEGATION = re.compile(r"\b(?:negative|minus|loss(?:es)?|los(?:e|es|ing)|deficit|shortfall|destroys?)\b", re.I)
MAX_FILLER_WORDS = 4
FILLER_WORDS = (
    "is was are were be been will would of at to about around roughly approximately approx nearly almost some just "
    "only over under after within in the a an its this that estimated expected projected stands stood comes came "
    "reaches reached gives gave yields yielded totals totalled totaled case p50 p10 p90 median falls fell rises rose "
    "sits remains by negative minus loss losses lose loses losing deficit shortfall"
)
FILLER = frozenset(FILLER_WORDS.split())
FLOOR = {"money": 0.5, "count": 0.5, "ratio": 0.005}


@dataclass(frozen=True)
class Figure:
    """One computed figure, named by its field ("npv", "margin") so labels can point at it."""

    name: str
    kind: FigureKind
    value: float


def figures(state: RunState) -> list[Figure]:
    """The figures of the run the LLM is shown: scenario inputs, financials and the decision."""
    scenario = state.scenario
    found = [
        Figure("investment", "money", scenario.investment),
        Figure("horizon", "count", scenario.horizon),
        Figure("segments", "count", len(scenario.segments)),
        Figure("discount_rate", "ratio", scenario.discount_rate),
        Figure("veto_threshold", "ratio", scenario.veto_threshold),
    ]
    for segment in scenario.segments:
        found += [Figure("base_revenue", "money", segment.base_revenue), Figure("margin", "ratio", segment.margin)]
        found += [
            Figure("growth_mean", "ratio", segment.growth_mean),
            Figure("volatility", "ratio", segment.volatility),
        ]
    if state.financials:
        numbers = state.financials
        found += [Figure(name, "money", getattr(numbers, name)) for name in ("profit_p50", "profit_p10", "npv")]
        found += [Figure("roi", "ratio", numbers.roi), Figure("downside_roi", "ratio", numbers.downside_roi)]
        if numbers.payback_period is not None:
            found.append(Figure("payback_period", "count", numbers.payback_period))
        found += _risk_figures(state)
    found += _flag_figures(state)
    if state.decision:
        found += [Figure("threshold", "ratio", state.decision.threshold)]
        found += [Figure("measured", "ratio", state.decision.measured)]
    return [f for f in found if math.isfinite(f.value)]


def _risk_figures(state: RunState) -> list[Figure]:
    """The path-wise risk figures the prompt carries (absent for runs of older releases)."""
    numbers = state.financials
    assert numbers is not None
    money = {"npv_p10": numbers.npv_p10, "npv_p90": numbers.npv_p90, "expected_shortfall": numbers.expected_shortfall}
    ratios = {
        "loss_probability": numbers.loss_probability,
        "irr": numbers.irr,
        "irr_missing_share": numbers.irr_missing_share,
        "never_payback_share": numbers.never_payback_share,
    }
    found = [Figure(name, "money", v) for name, v in money.items() if v is not None]
    found += [Figure(name, "ratio", v) for name, v in ratios.items() if v is not None]
    if state.decision:
        found += [Figure("limit", "ratio", r.limit) for r in state.decision.rules if r.rule == "loss_probability"]
        found += [Figure("npv_floor", "money", r.limit) for r in state.decision.rules if r.rule == "npv"]
    return found


def _flag_figures(state: RunState) -> list[Figure]:
    """The numbers the plausibility flags state ("above 1,000.0%", a history value, a spike's median): the
    prompt carries the flags, so quoting them is grounded. One written plainly may be quoted as money or not."""
    kinds: dict[str, tuple[FigureKind, ...]] = {"ratio": ("ratio",), "money": ("money",), "plain": ("money", "count")}
    phrases = _masked_phrases(state)  # a segment named "Stores 2024" states no figure
    return [
        Figure("plausibility", kind, written.value)
        for flag in state.plausibility
        for written in read_numbers(_mask(flag.message, phrases))
        for kind in kinds[written.kind]
    ]


def _masked_phrases(state: RunState) -> list[str]:
    """Names and free text that may be quoted but are not figures: they are blanked before checking."""
    phrases = [state.scenario.name, *(s.name for s in state.scenario.segments)]
    phrases += [text for review in state.reviews for text in (review.reviewer, review.comment)]
    if state.retrieval:
        phrases += [text for source in state.retrieval.sources for text in (source.title, source.source)]
    return sorted({p for p in phrases if re.search(r"[^\W\d_]", p)}, key=len, reverse=True)


def _mask(line: str, phrases: Iterable[str]) -> str:
    for phrase in phrases:
        line = line.replace(phrase, " " * len(phrase))
    return line


def _context(window: str) -> tuple[tuple[str, ...] | None, bool]:
    """(figure names a label right before the number points at, whether the text says it is negative)."""
    labelled: tuple[str, ...] | None = None
    last = None
    for found in LABEL.finditer(window):
        last = found
    filler = [w.lower() for w in re.findall(r"\w+", window[last.end() :])] if last else []
    if last is not None and len(filler) <= MAX_FILLER_WORDS and all(w in FILLER for w in filler):
        labelled = LABEL_FIGURES[int((last.lastgroup or "l0")[1:])]
    tail = " ".join(window.split()[-MAX_FILLER_WORDS:])
    return labelled, bool(NEGATION.search(tail))


def _two_digits(value: float) -> float:
    """Half a unit of the second significant digit: the loosest rounding that still states the figure."""
    if value == 0:
        return 0.0
    return 0.5 * 10.0 ** (math.floor(math.log10(abs(value))) - 1)


def matches(written: Written, figure: Figure, value: float) -> bool:
    """Whether the written number (read with its sign as `value`) states this figure."""
    if written.kind == "ratio" and figure.kind != "ratio":
        return False
    if written.kind == "money" and figure.kind != "money":
        return False
    tolerance = min(written.tolerance, max(_two_digits(figure.value), FLOOR[figure.kind]))
    return abs(value - figure.value) <= tolerance + 1e-9 * max(1.0, abs(figure.value))


def _grounded(written: Written, window: str, known: list[Figure]) -> bool:
    labelled, negative = _context(window)
    candidates = [f for f in known if labelled is None or f.name in labelled]
    value = -written.value if negative and not written.signed else written.value
    return any(matches(written, figure, value) for figure in candidates)


def check(text: str, state: RunState) -> list[str]:
    """The numbers in `text` that state none of the run's figures (as written, in order, deduplicated)."""
    known = figures(state)
    phrases = _masked_phrases(state)
    flagged: list[str] = []
    for raw_line in text.splitlines():
        if raw_line.strip().lower().startswith(("sources:", "no sources:")):
            continue
        line = _mask(raw_line, phrases)
        previous_end = 0
        for written in read_numbers(line):
            window = re.split(r"[.;!?]\s", line[previous_end : written.start])[-1]
            previous_end = written.end
            if not _grounded(written, window, known) and written.text not in flagged:
                flagged.append(written.text)
    return flagged
