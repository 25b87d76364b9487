"""A decision made after its pause's deadline gets the deadline's action first, exactly once, whether or not a
sweep ran: an escalated run is decided under its new tier, an expired one refuses the decision and ends
rejected. Real sweep, real users file, injected clock; SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from tests.governance_support import START, approve, at, governed_service, governed_settings, people
from vetoflow.config import Settings
from vetoflow.governance.rules import ApprovalRefusedError
from vetoflow.runs import audit, audit_check
from vetoflow.runs.gate import DeadlinePassedError
from vetoflow.runs.service import RunService
from vetoflow.scenario import Scenario

POLICY = """\
tiers:
  - name: large
    when: {investment_at_least: 1000000}
    approvers: {roles: [approver], count: 2}
    due: 48h
    at_deadline: expire
  - name: standard
    approvers: {roles: [approver], count: 1}
    due: 1m
    at_deadline: {escalate: large}
notify:
  - webhook: http://127.0.0.1:9/everyone
"""


def events(service: RunService, run_id: str) -> Counter[str]:
    return Counter(e["event"] for e in audit.entries(service.index.engine, run_id=run_id))


def test_an_approval_after_the_deadline_counts_under_the_tier_it_escalated_to(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    """The audit's case: standard (1 approver) escalates at 1 minute to large (2); bo approves at 2 minutes."""
    settings = governed_settings(settings, tmp_path, POLICY)
    users = people(settings)
    with governed_service(settings) as service:
        at(service, START)
        run_id = service.start(vetoed.model_copy(update={"investment": 500_000.0}), requester="an").run.run_id
        at(service, START + timedelta(minutes=2))
        assert approve(service, run_id, users["ap1"]) == "paused", "not 'standard 1 of 1': the deadline came first"
        approval = service.view(run_id).approval
        assert approval is not None
        assert (approval.tier, approval.progress, approval.approved_by) == ("large", "1 of 2", ["ap1"])
        assert [e["event"] for e in audit.entries(service.index.engine, run_id=run_id)][-2:] == [
            "run.escalated",
            "run.approved",
        ], "the escalation is on record before the approval it changed"
        escalated = [n for n in service.notifications(run_id) if n["event"] == "run.escalated"]
        assert len(escalated) == 1
        assert service.sweep().escalated == [], "the sweep finds it done"
        assert approve(service, run_id, users["ap2"]) == "completed"
        assert events(service, run_id)["run.escalated"] == 1
        assert audit_check.verify(service.index.engine).ok


def test_an_approval_after_an_expiring_deadline_is_refused_and_the_run_ends_rejected(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path, POLICY)
    users = people(settings)
    with governed_service(settings) as service:
        at(service, START)
        run_id = service.start(vetoed.model_copy(update={"investment": 2_000_000.0}), requester="an").run.run_id
        assert approve(service, run_id, users["ap1"]) == "paused"
        at(service, START + timedelta(hours=49))
        with pytest.raises(DeadlinePassedError, match=r"the deadline passed at 2026-11-25T09:00:00\+00:00: .*system"):
            service.decide(run_id, "approve", reviewer="ap2", user=users["ap2"], comment="fine", via="cli")
        ended = service.view(run_id)
        assert ended.status == "rejected"
        assert [(d.reviewer, d.action, d.comment) for d in ended.decisions] == [("system", "reject", "expired")]
        counts = events(service, run_id)
        assert (counts["run.expired"], counts["run.approved"], counts["run.decided"]) == (1, 1, 0)
        assert [(c.author, c.lost_race) for c in ended.comments] == [("ap2", True)], "the late comment is kept"
        assert service.sweep().resumed == [], "nothing left for the sweep"


ESCALATES_TO_ADMINS = """\
tiers:
  - name: board
    when: {investment_at_least: 1000000000}
    approvers: {roles: [admin], count: 1}
    due: 2d
  - name: standard
    approvers: {roles: [approver], count: 1}
    due: 1m
    at_deadline: {escalate: board}
"""


def test_a_refusal_under_the_escalated_tier_says_the_deadline_moved_the_run_and_the_move_stays(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path, ESCALATES_TO_ADMINS)
    users = people(settings)
    with governed_service(settings) as service:
        at(service, START)
        run_id = service.start(vetoed, requester="an").run.run_id
        at(service, START + timedelta(minutes=5))
        with pytest.raises(
            ApprovalRefusedError,
            match=r"^the deadline passed at 2026-11-23T09:01:00\+00:00; the run was escalated to tier 'board', which "
            r"needs 1 approver\(s\) with the role admin \(0 of 1 so far\): tier 'board': approvers\.roles is admin",
        ):
            approve(service, run_id, users["ap1"])
        approval = service.view(run_id).approval
        assert approval is not None
        assert (approval.tier, approval.approved_by) == ("board", [])
        assert events(service, run_id)["run.escalated"] == 1, "the refusal undid the approval, not the escalation"


def test_a_late_approval_and_a_sweep_at_the_same_moment_escalate_once(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path, POLICY)
    users = people(settings)
    with governed_service(settings) as deciding, governed_service(settings) as sweeping:
        at(deciding, START)
        run_id = deciding.start(vetoed.model_copy(update={"investment": 500_000.0}), requester="an").run.run_id
        for service in (deciding, sweeping):
            at(service, START + timedelta(minutes=3))
        barrier = threading.Barrier(2)
        outcomes: list[object] = []

        def decide() -> None:
            barrier.wait()
            outcomes.append(approve(deciding, run_id, users["ap1"]))

        def sweep() -> None:
            barrier.wait()
            outcomes.append(sweeping.sweep())

        threads = [threading.Thread(target=decide), threading.Thread(target=sweep)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert "paused" in outcomes, outcomes
        assert events(deciding, run_id)["run.escalated"] == 1
        assert len([n for n in deciding.notifications(run_id) if n["event"] == "run.escalated"]) == 1
        approval = deciding.view(run_id).approval
        assert approval is not None
        assert (approval.tier, approval.progress) == ("large", "1 of 2")
