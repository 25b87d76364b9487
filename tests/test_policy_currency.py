"""A tier's investment and NPV bounds are amounts in the policy's `currency` (USD unless it says otherwise):
a run in another currency cannot be compared with them, so it goes to the tier needing the most approvers,
never to a lighter one its bare number happens to pass (900,000 KWD is about 2.9 million USD)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.governance_support import governed_service, governed_settings, people
from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.governance.policy import match_tier, parse_policy
from vetoflow.scenario import Scenario

IN_EUR = """\
currency: EUR
tiers:
  - name: standard
    when: {investment_below: 1000000}
    approvers: {roles: [approver]}
  - name: large
    approvers: {roles: [approver], count: 2}
"""


@pytest.mark.parametrize(
    ("investment", "currency", "tier"),
    [
        (900_000, "EUR", "standard"),
        (1_200_000, "EUR", "large"),
        (900_000, "KWD", "large"),  # about 2.9 million USD: never the lighter tier
        (1_000, "JPY", "large"),  # not comparable either: the strictest tier, however small it looks
    ],
)
def test_money_bounds_are_in_the_policy_s_currency_and_other_currencies_get_the_strictest_tier(
    investment: float, currency: str, tier: str
) -> None:
    policy = parse_policy(IN_EUR, "policy.yaml")
    assert match_tier(policy, {"investment": investment, "roi": 0.1}, currency=currency).name == tier


def test_tiers_bounding_only_ratios_route_every_currency_alike() -> None:
    policy = parse_policy(
        "tiers:\n  - name: fast\n    when: {roi_at_least: 0.5}\n    approvers: {roles: [approver]}\n"
        "  - name: board\n    approvers: {roles: [approver], count: 3}\n",
        "policy.yaml",
    )
    assert policy.currency == "USD", "a policy that names no currency is in USD, the scenarios' default"
    assert match_tier(policy, {"investment": 5e6, "roi": 0.6}, currency="JPY").name == "fast"


def test_a_currency_that_is_not_an_iso_code_is_refused_by_line() -> None:
    with pytest.raises(VetoflowError, match=r"policy.yaml:1: currency: String should match pattern"):
        parse_policy(IN_EUR.replace("EUR", "euro"), "policy.yaml")


def test_a_run_paused_in_another_currency_waits_in_the_strictest_tier(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path)  # investment_at_least: 1000000 is large, in USD
    people(settings)
    with governed_service(settings) as service:
        dinars = vetoed.model_copy(update={"investment": 900_000.0, "currency": "KWD"})
        dollars = vetoed.model_copy(update={"investment": 900_000.0})
        in_kwd, in_usd = (service.start(s, requester="an").run.run_id for s in (dinars, dollars))
        tiers = {
            run_id: service.view(run_id).model_dump(mode="json")["approval"]["tier"] for run_id in (in_kwd, in_usd)
        }
    assert tiers == {in_kwd: "large", in_usd: "standard"}
