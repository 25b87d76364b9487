"""Veto policies: single rules on the measured figures and `any_of` / `all_of` combinations of them.

Every rule reports its measured value in words (the rule names of `risk.words.RULE_WORDS`, never the keys
the scenario stores). A rule whose figure this forecast cannot give (the probability of loss from a band-only
forecaster) vetoes the whole policy: unknown never passes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from vetoflow.formatting import share, unsigned_zero
from vetoflow.risk.words import RULE_WORDS, policy_words, sentence_start
from vetoflow.scenario import PolicyCombination, RuleName, Scenario, VetoPolicy
from vetoflow.state import Decision, Financials, RuleOutcome


def rule_outcome(rule: RuleName, numbers: Financials, scenario: Scenario) -> RuleOutcome:
    """The rule's verdict on its figure; a figure that is not a finite number vetoes (`nan < limit` is false,
    so comparing it would pass). The guard stops such figures first; this keeps the policy closed on its own."""
    figure = {
        "roi": numbers.roi,
        "downside_roi": numbers.downside_roi,
        "npv": numbers.npv,
        "loss_probability": numbers.loss_probability,
    }[rule]
    if figure is not None and not math.isfinite(figure):
        limits = {"npv": scenario.npv_floor, "loss_probability": scenario.loss_limit}
        limit = limits.get(rule, scenario.veto_threshold)
        text = f"{sentence_start(RULE_WORDS[rule])} could not be computed ({figure}), so a human must review."
        return RuleOutcome(rule=rule, measured=None, limit=limit, veto=True, text=text)
    return _measured_outcome(rule, numbers, scenario)


def _measured_outcome(rule: RuleName, numbers: Financials, scenario: Scenario) -> RuleOutcome:
    if rule in ("roi", "downside_roi"):
        measured = numbers.roi if rule == "roi" else numbers.downside_roi
        label = sentence_start(RULE_WORDS[rule])
        limit = scenario.veto_threshold
        veto = measured < limit
        shown, bound = apart(measured, limit, 1)
        text = f"{label} is {shown}, {'below' if veto else 'at or above'} the veto threshold of {bound}."
        return RuleOutcome(rule=rule, measured=measured, limit=limit, veto=veto, text=text)
    if rule == "npv":
        limit = scenario.npv_floor
        veto = numbers.npv < limit
        median = "Median NPV" if numbers.method == "path_wise" else "NPV (of the P50 forecast)"
        relation = "below" if veto else "at or above"
        shown, bound = apart(numbers.npv, limit, 0, _money_places)
        currency = scenario.currency
        text = f"{median} is {shown} {currency}, {relation} the floor of {bound} {currency}."
        return RuleOutcome(rule=rule, measured=numbers.npv, limit=limit, veto=veto, text=text)
    limit = scenario.loss_limit
    if numbers.loss_probability is None:
        text = (
            "The probability of loss could not be computed: this forecast gives bands, not simulated paths; "
            f"the limit is {limit:.0%}, so a human must review."
        )
        return RuleOutcome(rule=rule, measured=None, limit=limit, veto=True, text=text)
    measured = numbers.loss_probability
    veto = measured > limit
    shown, bound = apart(measured, limit, 0, share)
    text = f"{shown} of simulated outcomes lose money (NPV below zero); "
    text += f"the limit is {bound}." if veto else f"that is within the limit of {bound}."
    return RuleOutcome(rule=rule, measured=measured, limit=limit, veto=veto, text=text)


def _percent_places(value: float, places: int) -> str:
    return unsigned_zero(f"{value:.{places}%}")


def _money_places(value: float, places: int) -> str:
    return unsigned_zero(f"{value:,.{places}f}")


def apart(
    measured: float, limit: float, digits: int, render: Callable[[float, int], str] = _percent_places
) -> tuple[str, str]:
    """Both as `render` writes them (percentages by default), with as many decimals as it takes to tell them
    apart when they differ: a veto must never read "55% ...; the limit is 55%" or "1,000 USD, below the floor
    of 1,000 USD"."""
    for places in range(digits, 10):
        shown, bound = render(measured, places), render(limit, places)
        if shown != bound or measured == limit:
            break
    return shown, _trimmed(bound) if places > digits else bound


def _trimmed(text: str) -> str:
    """ "1,000.000" -> "1,000", "0.00000%" -> "0%", "30.50%" -> "30.5%": a limit is written as set."""
    number, percent = (text[:-1], "%") if text.endswith("%") else (text, "")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number + percent


def describe(policy: VetoPolicy) -> str:
    """`roi`, or `any_of(roi, loss_probability)`, nested as written: the decision record's key (`policy_words`
    says it in words)."""
    if isinstance(policy, str):
        return policy
    return f"{policy.kind}({', '.join(describe(r) for r in policy.rules)})"


def _verdict(policy: VetoPolicy, results: dict[RuleName, RuleOutcome]) -> bool:
    if isinstance(policy, str):
        return results[policy].veto
    votes = [_verdict(r, results) for r in policy.rules]
    return any(votes) if policy.kind == "any_of" else all(votes)


def _names(policy: VetoPolicy) -> list[RuleName]:
    if isinstance(policy, str):
        return [policy]
    return list(dict.fromkeys(n for r in policy.rules for n in _names(r)))


def evaluate(numbers: Financials, scenario: Scenario) -> tuple[bool, list[RuleOutcome]]:
    """(veto, the outcome of every rule the policy names, in the order written)."""
    policy = scenario.veto_policy
    results = {name: rule_outcome(name, numbers, scenario) for name in _names(policy)}
    unknown = any(r.measured is None for r in results.values())
    return unknown or _verdict(policy, results), list(results.values())


def combination_reason(policy: PolicyCombination, veto: bool, outcomes: list[RuleOutcome]) -> str:
    """ "Vetoed: 1 of 2 rules fail (probability of loss); the veto policy, any of (ROI (P50), probability of
    loss), vetoes when any rule fails." The inbox's "why vetoed" shows this line first."""
    failing = [RULE_WORDS[r.rule] for r in outcomes if r.veto]
    named = f" ({', '.join(failing)})" if failing else ""
    rule = "vetoes when any rule fails" if policy.kind == "any_of" else "vetoes only when every rule fails"
    text = f"{'Vetoed' if veto else 'Passed'}: {len(failing)} of {len(outcomes)} rules fail{named}; "
    text += f"the veto policy, {policy_words(describe(policy))}, {rule}."
    if veto and any(r.measured is None for r in outcomes):
        text += " A figure it needs could not be computed, so a human must review."
    return text


def decision(numbers: Financials, scenario: Scenario) -> tuple[Decision, list[str]]:
    """The verdict and its leading reasons (the rule texts, preceded by the combination's summary)."""
    veto, outcomes = evaluate(numbers, scenario)
    policy = scenario.veto_policy
    reasons = [r.text for r in outcomes]
    if isinstance(policy, PolicyCombination):
        reasons.insert(0, combination_reason(policy, veto, outcomes))
    first = outcomes[0]
    measured = math.nan if first.measured is None else first.measured
    verdict = Decision(
        veto=veto, policy=describe(policy), threshold=first.limit, measured=measured, reasons=[], rules=outcomes
    )
    return verdict, reasons
