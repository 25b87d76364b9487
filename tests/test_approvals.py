"""Multi-approval through the service: tiers, four-eyes, distinct approvers ("1 of 2"), the digest, and
20 concurrent approvers on a two-approval pause (exactly two approvals, one resume). SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select

from tests.governance_support import governed_service, governed_settings, people
from tests.helpers import CountingSynthesizer
from vetoflow.config import Settings
from vetoflow.console.decisions import blocked_actions
from vetoflow.console.inbox import assigned_to
from vetoflow.context import Context
from vetoflow.db.tables import approvals_table
from vetoflow.errors import DecisionConflictError, VetoflowError
from vetoflow.governance.rules import ApprovalRefusedError
from vetoflow.identity.directory import Directory
from vetoflow.identity.roles import PermissionDeniedError
from vetoflow.identity.users_file import add_user
from vetoflow.render import run_panel
from vetoflow.runs import audit
from vetoflow.runs.gate import FIGURES_CHANGED, DigestMismatchError
from vetoflow.scenario import Scenario


def big(vetoed: Scenario, investment: float = 2_500_000.0) -> Scenario:
    return vetoed.model_copy(update={"investment": investment})


@pytest.mark.parametrize("case", [(2_500_000.0, "large", 2), (999_999.0, "standard", 1)])
def test_the_tier_is_chosen_from_the_figures_and_recorded_on_the_pause(
    settings: Settings, tmp_path: Path, vetoed: Scenario, case: tuple[float, str, int]
) -> None:
    investment, tier, needed = case
    settings = governed_settings(settings, tmp_path)
    with governed_service(settings) as service:
        view = service.start(big(vetoed, investment), requester="an")
        assert view.status == "paused"
        assert view.approval is not None
        assert (view.approval.tier, view.approval.progress) == (tier, f"0 of {needed}")
        assert view.approval.requester == "an"
        assert view.pending is not None
        assert view.approval.digest == view.pending.digest
    (tmp_path / "policy.yaml").write_text(
        "tiers:\n  - name: relaxed\n    approvers: {roles: [admin], count: 5}\n"
    )  # the file changes while the run waits: its rules do not
    with governed_service(settings) as service:
        waiting = service.view(view.run.run_id)
        assert waiting.approval is not None
        assert waiting.approval.tier == tier


def test_two_distinct_approvers_four_eyes_and_roles(settings: Settings, tmp_path: Path, vetoed: Scenario) -> None:
    settings = governed_settings(settings, tmp_path)
    users = people(settings)
    with governed_service(settings) as service:
        run_id = service.start(big(vetoed), requester="an").run.run_id
        digest = service.view(run_id).pending.digest

        def approve(who: str) -> object:
            return service.decide(run_id, "approve", reviewer=who, user=users[who], digest=digest, via="api")

        with pytest.raises(ApprovalRefusedError, match=r"four-eyes\): an started this run"):
            approve("an")
        with pytest.raises(PermissionDeniedError, match=r"vi \(viewer\) may not approve"):
            approve("vi")
        first = service.decide(run_id, "approve", reviewer="ap1", user=users["ap1"], digest=digest, comment="ok")
        assert first.status == "paused"
        assert first.approval is not None
        assert (first.approval.progress, first.approval.approved_by) == ("1 of 2", ["ap1"])
        with pytest.raises(ApprovalRefusedError, match=r"ap1 already approved \(1 of 2\)"):
            approve("ap1")
        done = service.decide(run_id, "approve", reviewer="ap2", user=users["ap2"], digest=digest)
        assert done.status == "completed"
        [decision] = done.decisions
        assert (decision.reviewer, decision.action, decision.payload["digest"]) == ("ap2", "approve", digest)
        assert done.approval is not None, "a finished run keeps who approved it"
        assert (done.approval.status, done.approval.approved_by) == ("decided", ["ap1", "ap2"])
        assert done.state.reviews[-1].approved_by == ["ap1", "ap2"]
        assert done.state.summary is not None
        assert "ap1 and ap2" in done.state.summary.text
        shown = Console(width=200, record=True)
        shown.print(run_panel(done))
        assert "approvals that counted (tier large, 2 of 2): ap1, ap2" in shown.export_text()
        entries = list(audit.entries(service.index.engine, run_id=run_id))
        events = [(e["event"], e["actor"]) for e in entries]
        assert events == [("run.started", "an"), ("run.paused", "system"), ("run.approved", "ap1"),
                          ("run.decided", "ap2"), ("run.completed", "system")]  # fmt: skip
        figures = done.state.financials
        assert figures is not None
        for entry in entries[1:4]:  # each decision's entry holds the figures it was made on, the digest's content
            assert entry["details"]["figures"]["npv"] == figures.npv
            assert entry["details"]["figures"]["investment"] == 2_500_000
            assert (entry["details"]["currency"], entry["details"]["digest"]) == ("USD", digest)
        decided = next(e for e in audit.entries(service.index.engine, run_id=run_id) if e["event"] == "run.decided")
        assert decided["details"]["approved_by"] == ["ap1", "ap2"]
        assert decided["details"]["digest"] == digest
        assert decided["details"]["roles"] == "approver"


def test_a_changed_digest_is_refused_and_nothing_is_recorded(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path)
    users = people(settings)
    with governed_service(settings) as service:
        run_id = service.start(vetoed, requester="an").run.run_id
        seen = service.view(run_id).pending.digest
        revised = service.decide(
            run_id, "revise", reviewer="an", user=users["an"], overrides={"investment": 480_000}, digest=seen
        )
        assert revised.status == "paused"
        before = service.view(run_id)
        with pytest.raises(DigestMismatchError, match=FIGURES_CHANGED):
            service.decide(run_id, "approve", reviewer="ap1", user=users["ap1"], digest=seen)
        after = service.view(run_id)
        assert after.decisions == before.decisions
        assert after.approval == before.approval
        assert after.approval is not None
        assert after.approval.approved_by == []
        assert [e["event"] for e in audit.entries(service.index.engine, run_id=run_id)].count("run.decided") == 1
        current = after.pending.digest
        assert current != seen
        final = service.decide(run_id, "approve", reviewer="ap1", user=users["ap1"], digest=current)
        assert final.status == "completed"


def test_twenty_concurrent_approvers_give_two_approvals_and_one_resume(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path)
    users = people(settings, approvers=20)
    synthesizer = CountingSynthesizer()
    with governed_service(settings, Context(synthesizer=synthesizer)) as service:
        run_id = service.start(big(vetoed), requester="an").run.run_id
        digest = service.view(run_id).pending.digest

        def approve(n: int) -> str:
            who = f"ap{n}"
            try:
                view = service.decide(run_id, "approve", reviewer=who, user=users[who], digest=digest)
            except (DecisionConflictError, VetoflowError) as exc:
                return f"refused: {exc}"
            return view.status

        with ThreadPoolExecutor(20) as pool:
            outcomes = list(pool.map(approve, range(1, 21)))
        with service.index.engine.connect() as conn:
            recorded = conn.execute(
                select(func.count()).select_from(approvals_table).where(approvals_table.c.run_id == run_id)
            ).scalar_one()
        assert recorded == 2
        assert outcomes.count("completed") == 1, outcomes
        assert outcomes.count("paused") == 1, outcomes
        assert all("already decided" in o for o in outcomes if o.startswith("refused")), outcomes
        assert synthesizer.calls == 1, "one resume: the summary was written once"
        final = service.view(run_id)
        assert final.status == "completed"
        assert len(final.decisions) == 1


def test_a_replay_is_requested_by_whoever_asked_for_it_and_they_cannot_approve_it(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path)
    users = people(settings)
    with governed_service(settings) as service:
        source = service.start(vetoed, requester="an").run.run_id
        replay = service.replay(source, overrides={"investment": 450_000}, requester="ap1").new
        assert replay.status == "paused"
        assert replay.state.requester == "ap1"
        assert replay.approval is not None
        assert replay.approval.requester == "ap1"
        digest = replay.pending.digest
        with pytest.raises(ApprovalRefusedError, match=r"four-eyes\): ap1 started this run"):
            service.decide(replay.run.run_id, "approve", reviewer="ap1", user=users["ap1"], digest=digest)
        done = service.decide(replay.run.run_id, "approve", reviewer="ap2", user=users["ap2"], digest=digest)
        assert done.status == "completed"
        started, paused = list(audit.entries(service.index.engine, run_id=replay.run.run_id))[:2]
        assert (started["event"], started["actor"], started["via"]) == ("run.started", "ap1", "api")
        assert (started["details"]["replay_of"], started["details"]["overrides"]) == (source, {"investment": 450_000})
        assert started["details"]["investment"] == 450_000
        assert (paused["event"], paused["details"]["requester"]) == ("run.paused", "ap1")
        assert service.view(source).state.requester == "an", "the source run is untouched"
        unnamed = service.replay(source).new  # a caller that names nobody: the source's requester stays
        assert unnamed.state.requester == "an"
        seen = unnamed.pending.digest
        with pytest.raises(ApprovalRefusedError, match=r"four-eyes\): an started this run"):
            service.decide(unnamed.run.run_id, "approve", reviewer="an", user=users["an"], digest=seen)


def test_whoever_revised_the_figures_cannot_approve_them_alone(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    """The audit's case: an approver rewrote a 2.5M run into a lighter tier, then approved it himself."""
    settings = governed_settings(settings, tmp_path)
    users = people(settings)
    with governed_service(settings) as service:
        run_id = service.start(big(vetoed), requester="an").run.run_id
        revised = service.decide(run_id, "revise", reviewer="ap1", user=users["ap1"], overrides={"investment": 999_999})
        assert revised.approval is not None
        assert revised.approval.tier == "standard"
        with pytest.raises(ApprovalRefusedError, match=r"four-eyes\): ap1 revised this run's figures"):
            service.decide(run_id, "approve", reviewer="ap1", user=users["ap1"])
        assert service.view(run_id).status == "paused"
        done = service.decide(run_id, "approve", reviewer="ap2", user=users["ap2"], comment="checked the rework")
        assert done.status == "completed"


FINANCE_LEAD_AND_ANOTHER = """\
tiers:
  - name: large
    when: {investment_at_least: 1000000}
    approvers: {roles: [finance_lead, approver], count: 2, including: {finance_lead: 1}}
  - name: standard
    approvers: {roles: [approver], count: 1}
"""


def test_a_large_run_needs_the_finance_lead_and_a_second_different_approver(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    """The issue's example: two plain approvers are not enough; the finance lead alone is not enough."""
    settings = governed_settings(settings, tmp_path, FINANCE_LEAD_AND_ANOTHER)
    path = settings.home / "users.yaml"
    users = people(settings)
    path.write_text(path.read_text() + "roles:\n  finance_lead: [read, comment, decide]\n")
    add_user(path, "fl", ["finance_lead"], None)
    lead = Directory.from_settings(settings).user("fl")
    assert lead is not None
    with governed_service(settings) as service:
        run_id = service.start(big(vetoed), requester="an").run.run_id
        first = service.decide(run_id, "approve", reviewer="ap1", user=users["ap1"])
        assert first.approval is not None
        assert first.approval.progress == "1 of 2 (still needs a finance_lead)"
        [waiting] = [item for item in service.inbox() if item.run.run_id == run_id]
        assert waiting.progress == "1 of 2 (still needs a finance_lead)"
        assignees = [name for name, user in {**users, "fl": lead}.items() if assigned_to(waiting, user)]
        assert assignees == ["fl"], "the one place left is the finance lead's: nobody else is assigned the run"
        shown = service.view(run_id)
        assert shown.approval is not None
        assert shown.approval.still_needs == ["finance_lead"]
        assert blocked_actions(shown, users["ap2"])["approve"] == (
            "the places left are for a finance_lead; you hold approver"
        ), "the console says so before ap2 presses Approve"
        assert blocked_actions(shown, lead)["approve"] is None
        with pytest.raises(ApprovalRefusedError, match=r"including needs a finance_lead among its 2 approvers; ap2"):
            service.decide(run_id, "approve", reviewer="ap2", user=users["ap2"])
        assert service.view(run_id).status == "paused"
        done = service.decide(run_id, "approve", reviewer="fl", user=lead, comment="finance lead signs")
        assert done.status == "completed"
        assert done.approval is not None
        assert done.approval.approved_by == ["ap1", "fl"]
