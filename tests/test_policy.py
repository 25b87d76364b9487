"""The approval policy: the issue's sample loads and means what it says; bad files name line and field."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.cli_support import invoke, refused
from tests.governance_support import POLICY
from vetoflow.config import Settings
from vetoflow.errors import ConfigurationError, VetoflowError
from vetoflow.governance.policy import Escalate, load_policy, match_tier, parse_policy
from vetoflow.governance.rules import Approval, ApprovalRefusedError, authors_of, check_approval, tally
from vetoflow.identity.roles import BUILTIN_ROLES, PermissionDeniedError, User
from vetoflow.runs.store import open_service

SAMPLE = (
    POLICY
    + """\
notify:
  - webhook: http://127.0.0.1:9000/hook
    secret: env:VETOFLOW_WEBHOOK_SECRET
    events: [run.paused, run.decided]
"""
)


def user(name: str, *roles: str) -> User:
    grants = frozenset().union(*(BUILTIN_ROLES[r] for r in roles)) if roles else frozenset()
    return User(name, frozenset(roles), grants)


def test_the_issue_sample_loads_and_means_what_it_says(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(SAMPLE)
    policy = load_policy(path)
    large, standard = policy.tiers
    assert (large.approvers.count, large.due, large.remind_every, large.at_deadline) == (
        2,
        48 * 3600,
        [12 * 3600],
        "expire",
    )
    assert not large.requester_may_approve
    assert standard.due == 5 * 86400
    assert standard.remind_every == []
    assert standard.at_deadline == Escalate(escalate="large")
    [hook] = policy.notify
    assert (hook.kind, hook.target, hook.secret, hook.events) == (
        "webhook",
        "http://127.0.0.1:9000/hook",
        "env:VETOFLOW_WEBHOOK_SECRET",
        ["run.paused", "run.decided"],
    )
    assert policy.model_dump(mode="json")["tiers"][0]["due"] == "2d", "recorded durations stay readable"


@pytest.mark.parametrize(
    ("investment", "tier"),
    [(2_500_000.0, "large"), (1_000_000.0, "large"), (999_999.99, "standard"), (35_000.0, "standard")],
)
def test_tiers_route_on_the_investment(investment: float, tier: str) -> None:
    policy = parse_policy(SAMPLE, "sample")
    assert match_tier(policy, {"investment": investment, "roi": -0.2}, currency="USD").name == tier


def test_conditions_on_roi_and_npv_all_must_hold() -> None:
    policy = parse_policy(
        """
tiers:
  - name: risky
    when: {roi_below: 0, npv_below: -100000}
    approvers: {roles: [admin]}
  - name: rest
    approvers: {roles: [approver]}
""",
        "p",
    )
    assert match_tier(policy, {"roi": -0.1, "npv": -200_000}, currency="USD").name == "risky"
    assert match_tier(policy, {"roi": -0.1, "npv": -50_000}, currency="USD").name == "rest"
    assert match_tier(policy, {"roi": 0.0, "npv": -200_000}, currency="USD").name == "rest"
    assert match_tier(policy, {"roi": None, "npv": -200_000}, currency="USD").name == "rest", (
        "a missing figure never matches"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SAMPLE.replace("due: 48h", "due: 48 hours"), "sample.yaml:6: tiers[0].due: a duration like 90m"),
        (SAMPLE.replace("count: 2", "count: 0"), "sample.yaml:4: tiers[0].approvers.count: Input should be greater"),
        (SAMPLE.replace("escalate: large", "escalate: huge"), "at_deadline escalates to unknown tier 'huge'"),
        (
            SAMPLE.replace("requester_may_approve: false\n    due: 48h", "requester_may_aprove: false\n    due: 48h"),
            "sample.yaml:5: tiers[0].requester_may_aprove: Extra inputs are not permitted",
        ),
        (SAMPLE.replace("run.decided]", "run.decidd]"), "sample.yaml:17: notify[0].events[1]: Input should be"),
        (
            SAMPLE.replace("  - name: standard\n", "  - name: standard\n    when: {roi_below: 0}\n"),
            "the last tier (standard) must have no `when`",
        ),
        ("tiers: [", "not valid YAML"),
    ],
)
def test_a_malformed_policy_is_refused_with_line_and_field(text: str, expected: str) -> None:
    with pytest.raises(VetoflowError) as caught:
        parse_policy(text, "sample.yaml")
    assert expected in str(caught.value)


def test_escalation_loops_are_refused() -> None:
    looping = SAMPLE.replace("at_deadline: expire", "at_deadline: {escalate: standard}")
    with pytest.raises(VetoflowError, match="escalation loops back"):
        parse_policy(looping, "p")


def test_the_built_in_default_needs_one_approver_in_seven_days() -> None:
    [tier] = load_policy(None).tiers
    assert (tier.approvers.roles, tier.approvers.count, tier.due, tier.at_deadline) == (
        ["approver"],
        1,
        7 * 86400,
        "expire",
    )


def test_four_eyes_distinct_approvers_and_roles_are_enforced_by_name() -> None:
    large = parse_policy(SAMPLE, "p").tiers[0]
    ana, bo, cy = user("ana", "analyst", "approver"), user("bo", "approver"), user("cy", "approver")
    with pytest.raises(
        ApprovalRefusedError, match=r"tier 'large': requester_may_approve is false .four-eyes.: ana started"
    ):
        check_approval(large, "approve", ana, authors=authors_of("ana"))
    first = check_approval(large, "approve", bo, authors=authors_of("ana"))
    assert (first.label, first.complete) == ("1 of 2", False)
    with pytest.raises(ApprovalRefusedError, match=r"2 distinct people; bo already approved \(1 of 2\)"):
        check_approval(large, "approve", bo, authors=authors_of("ana"), approved_by=first.approvers)
    second = check_approval(large, "approve", cy, authors=authors_of("ana"), approved_by=first.approvers)
    assert (second.label, second.complete) == ("2 of 2", True)
    with pytest.raises(PermissionDeniedError, match="may not approve or reject"):
        check_approval(large, "reject", user("vi", "viewer"), authors=authors_of("ana"))
    admin_only = large.model_copy(update={"approvers": large.approvers.model_copy(update={"roles": ["admin"]})})
    with pytest.raises(ApprovalRefusedError, match=r"approvers\.roles is admin; bo holds approver"):
        check_approval(admin_only, "approve", bo, authors=authors_of("ana"))
    assert check_approval(large, "revise", ana, authors=authors_of("ana")).label == "0 of 2", "the requester may revise"


def test_only_approvals_that_qualify_for_the_tier_count() -> None:
    """After an escalation: a role outside the tier, or the requester under four-eyes, no longer counts."""
    large = parse_policy(SAMPLE, "p").tiers[0]
    recorded = [
        Approval("ana", frozenset({"analyst", "approver"})),
        Approval("bo", frozenset({"viewer"})),
        Approval("cy", frozenset({"approver"})),
    ]
    progress = tally(large, recorded, authors=authors_of("ana"), needed=2)
    assert (progress.label, progress.approvers, progress.complete) == ("1 of 2", ("cy",), False)
    assert [s.reviewer for s in progress.set_aside] == ["ana", "bo"]
    assert "four-eyes" in progress.set_aside[0].reason
    assert "needs approver; bo held viewer" in progress.set_aside[1].reason
    again = check_approval(large, "approve", user("bo", "approver"), authors=authors_of("ana"),
                           approved_by=progress.approvers, set_aside=progress.set_aside)  # fmt: skip
    assert (again.label, [s.reviewer for s in again.set_aside]) == ("2 of 2", ["ana"])


def test_the_api_refuses_to_start_with_a_malformed_policy(tmp_path: Path) -> None:
    from vetoflow.api import create_app
    from vetoflow.config import Settings

    path = tmp_path / "policy.yaml"
    path.write_text(SAMPLE.replace("count: 2", "count: many"))
    with pytest.raises(
        VetoflowError, match=r"policy.yaml:4: tiers\[0\]\.approvers\.count: Input should be a valid integer"
    ):
        create_app(Settings(home=tmp_path, policy=path))


def test_the_built_in_default_enforces_four_eyes_only_with_named_users() -> None:
    assert not load_policy(None).tiers[0].requester_may_approve
    assert load_policy(None, named_users=False).tiers[0].requester_may_approve, "demo mode: nobody is a named person"


@pytest.mark.parametrize("figure", ["roi", "npv", "downside_roi"])
def test_a_run_whose_figures_cannot_be_computed_goes_to_the_tier_needing_most_approvers(figure: str) -> None:
    policy = parse_policy(
        """
tiers:
  - name: fast_track
    when: {roi_at_least: 0.5, npv_at_least: 0}
    approvers: {roles: [approver]}
  - name: risky
    when: {roi_below: 0}
    approvers: {roles: [approver], count: 3}
  - name: board
    approvers: {roles: [approver, admin], count: 2}
""",
        "policy.yaml",
    )
    figures: dict[str, float | None] = {"investment": 1.0, "roi": 0.9, "npv": 10.0, "downside_roi": 0.1}
    assert match_tier(policy, figures, currency="USD").name == "fast_track"
    assert match_tier(policy, figures | {figure: math.nan}, currency="USD").name == "risky", (
        "never the lighter tier a NaN passes"
    )
    assert policy.tiers[0].when is not None
    assert not policy.tiers[0].when.matches(figures | {"roi": math.inf, "npv": math.nan})


BROKEN_HERE = """\
tiers:
  - name: standard
    approvers: {roles: [aprover]}
notify:
  - webhook: https://hooks.example.test/vetoflow
    secret: env:POLICY_TEST_SIGNING_SECRET
  - email: [finance@example.test]
"""


def test_a_policy_that_cannot_work_here_is_refused_at_start_naming_each_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POLICY_TEST_SIGNING_SECRET", raising=False)
    path = tmp_path / "policy.yaml"
    path.write_text(BROKEN_HERE)
    settings = Settings(home=tmp_path / "home", database_url=None, policy=path)
    result = invoke(settings, "policy", VETOFLOW_POLICY=str(path))
    message = refused(result, 1, "cannot work here")
    assert "tiers[0] (standard).approvers.roles: aprover is no role here" in message
    assert "notify[0].secret: env:POLICY_TEST_SIGNING_SECRET names an unset environment variable" in message
    assert "notify[1].email: set VETOFLOW_SMTP_HOST" in message
    with pytest.raises(ConfigurationError, match="aprover is no role here"), open_service(settings):
        pass
    fixed = BROKEN_HERE.replace("aprover", "approver")
    path.write_text(fixed)
    monkeypatch.setenv("POLICY_TEST_SIGNING_SECRET", "s3cret-for-signing")
    smtp = {"VETOFLOW_SMTP_HOST": "127.0.0.1"}
    assert invoke(settings, "policy", VETOFLOW_POLICY=str(path), **smtp).exit_code == 0


def test_an_empty_when_is_refused() -> None:
    with pytest.raises(VetoflowError, match="an empty `when` matches every run"):
        parse_policy("tiers:\n  - name: a\n    when: {}\n    approvers: {roles: [approver]}\n"
                     "  - name: b\n    approvers: {roles: [admin]}\n", "policy.yaml")  # fmt: skip
