"""Escalation and earlier approvals: after the sweep moves a pause to a tier with other roles, only
approvals that qualify for that tier count, and if they already satisfy it the escalation approves the run.
Real sweep, real users file, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.cli_support import invoke
from tests.governance_support import START, approve, at, governed_service, governed_settings, people
from vetoflow.config import Settings
from vetoflow.console.run_controls import approval_line
from vetoflow.db.tables import outbox_table
from vetoflow.governance.messages import facts
from vetoflow.governance.rules import ApprovalRefusedError
from vetoflow.identity.directory import Directory
from vetoflow.identity.roles import User
from vetoflow.identity.users_file import load_users_file, set_roles
from vetoflow.runs import audit, audit_check
from vetoflow.runs.gate import DeadlinePassedError
from vetoflow.runs.service import RunService
from vetoflow.scenario import Scenario

POLICY = """\
tiers:
  - name: board
    when: {investment_at_least: 1000000000}
    approvers: {roles: [admin], count: 2}
    due: 2d
    at_deadline: expire
  - name: standard
    approvers: {roles: [approver], count: 2}
    due: 1m
    at_deadline: {escalate: board}
notify:
  - webhook: http://127.0.0.1:9/hook
    events: [run.escalated]
"""


def users_file(settings: Settings) -> dict[str, User]:
    """ana and cy approve, bob and dee are admins, eve holds both roles; an started the run."""
    roles = {"an": ["analyst"], "ana": ["approver"], "cy": ["approver"], "bob": ["admin"], "dee": ["admin"]}
    return people(settings, roles | {"eve": ["approver", "admin"]})


def escalate(service: RunService, run_id: str, users: dict[str, User], first: str) -> None:
    at(service, START)
    assert approve(service, run_id, users[first], via="api") == "paused"
    at(service, START + timedelta(minutes=4))
    assert service.sweep().escalated == [run_id]


def test_an_escalation_sets_aside_approvals_from_people_without_the_new_tier_s_role(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path, POLICY)
    users = users_file(settings)
    with governed_service(settings) as service:
        at(service, START)
        run_id = service.start(vetoed, requester="an").run.run_id
        escalate(service, run_id, users, "ana")

        approval = service.view(run_id).approval
        assert approval is not None
        assert (approval.tier, approval.progress, approval.approved_by) == ("board", "0 of 2", [])
        [aside] = approval.set_aside
        assert aside.reviewer == "ana"
        assert "tier 'board' needs admin; ana held approver" in aside.reason
        shown = invoke(settings, "show", run_id, VETOFLOW_POLICY=str(settings.policy))
        assert "tier board: approvals 0 of 2 (nobody yet)" in shown.stdout
        assert "ana's approval no longer counts: tier 'board' needs admin; ana held approver" in shown.stdout
        assert "ana's approval no longer counts" in approval_line(service.view(run_id)), "the console says it too"
        [item] = [i for i in service.inbox() if i.run.run_id == run_id]
        assert (item.approved_by, item.set_aside, item.progress) == ([], ["ana"], "0 of 2 (ana no longer counted)")

        escalated = next(e for e in audit.entries(service.index.engine, run_id=run_id) if e["event"] == "run.escalated")
        assert escalated["details"]["approvals"] == "0 of 2"
        assert [s["reviewer"] for s in escalated["details"]["set_aside"]] == ["ana"]
        with service.index.engine.connect() as conn:
            stored = conn.execute(select(outbox_table.c.payload).where(outbox_table.c.run_id == run_id)).scalar_one()
        said = dict(facts(json.loads(stored)))
        assert (said["Approvals"], said["No longer counted"].split(" (")[0]) == (
            "0 of 2",
            "ana's approval no longer counts",
        )

        assert approve(service, run_id, users["bob"], via="api") == "paused", (
            "one admin is not two qualifying approvers"
        )
        assert service.view(run_id).approval.progress == "1 of 2"
        with pytest.raises(ApprovalRefusedError, match=r"approvers\.roles is admin; ana holds approver"):
            approve(service, run_id, users["ana"], via="api")
        assert approve(service, run_id, users["dee"], via="api") == "completed"
        decided = next(e for e in audit.entries(service.index.engine, run_id=run_id) if e["event"] == "run.decided")
        assert decided["details"]["approved_by"] == ["bob", "dee"]
        assert [s["reviewer"] for s in decided["details"]["set_aside"]] == ["ana"]
        assert audit_check.verify(service.index.engine).ok


def test_an_approval_from_someone_holding_the_new_tier_s_role_still_counts(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path, POLICY)
    users = users_file(settings)
    with governed_service(settings) as service:
        at(service, START)
        run_id = service.start(vetoed, requester="an").run.run_id
        escalate(service, run_id, users, "eve")
        approval = service.view(run_id).approval
        assert approval is not None
        assert (approval.progress, approval.approved_by, approval.set_aside) == ("1 of 2", ["eve"], [])
        with pytest.raises(ApprovalRefusedError, match="eve already approved"):
            approve(service, run_id, users["eve"], via="api")
        assert approve(service, run_id, users["bob"], via="api") == "completed"


def test_a_set_aside_approver_who_now_holds_the_role_may_approve_again(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    """cy approved as an approver; once promoted to admin her new approval counts (the old one is replaced)."""
    settings = governed_settings(settings, tmp_path, POLICY)
    users = users_file(settings)
    with governed_service(settings) as service:
        at(service, START)
        run_id = service.start(vetoed, requester="an").run.run_id
        escalate(service, run_id, users, "cy")
        set_roles(settings.home / "users.yaml", "cy", ["approver", "admin"])
        promoted = Directory(load_users_file(settings.home / "users.yaml")).user("cy")
        assert promoted is not None
        assert approve(service, run_id, promoted, via="api") == "paused"
        approval = service.view(run_id).approval
        assert approval is not None
        assert (approval.progress, approval.approved_by, approval.set_aside) == ("1 of 2", ["cy"], [])
        assert approve(service, run_id, users["dee"], via="api") == "completed"


ESCALATES_TO_FEWER = """\
tiers:
  - name: standard
    approvers: {roles: [approver], count: 2}
    due: 1m
    at_deadline: {escalate: urgent}
  - name: urgent
    approvers: {roles: [approver, admin], count: 1}
    due: 1h
    at_deadline: expire
"""


def test_an_escalation_to_a_tier_the_approvals_already_satisfy_approves_and_resumes_the_run(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    """The audit's case: one approval of two, then urgent needs one; the run was left paused to expire as rejected."""
    settings = governed_settings(settings, tmp_path, ESCALATES_TO_FEWER)
    users = users_file(settings)
    with governed_service(settings) as service:
        at(service, START)
        run_id = service.start(vetoed, requester="an").run.run_id
        escalate(service, run_id, users, "ana")

        done = service.view(run_id)
        assert done.status == "completed"
        [decision] = done.decisions
        assert (decision.reviewer, decision.action) == ("system", "approve")
        assert decision.comment == "escalated to tier 'urgent', which the approvals already given (ana) satisfy"
        assert done.approval is not None
        review = done.state.reviews[-1]
        assert (review.approvers, review.digest) == ("ana", done.approval.digest)
        assert done.state.summary is not None
        assert "ana" in done.state.summary.text, "the summary names who approved, not the system"
        assert (done.approval.tier, done.approval.status, done.approval.progress) == (
            "urgent",
            "decided",
            "1 of 1",
        )
        entries = list(audit.entries(service.index.engine, run_id=run_id))
        assert [(e["event"], e["actor"]) for e in entries][-4:] == [
            ("run.approved", "ana"), ("run.escalated", "system"),
            ("run.decided", "system"), ("run.completed", "system"),
        ]  # fmt: skip
        decided = entries[-2]["details"]
        assert (decided["caused_by"], decided["from_tier"], decided["tier"]) == ("run.escalated", "standard", "urgent")
        assert decided["approved_by"] == ["ana"]
        at(service, START + timedelta(hours=2))
        assert service.sweep().expired == [], "nothing is left to expire"
        assert audit_check.verify(service.index.engine).ok


def test_a_late_decision_on_a_run_its_escalation_approved_is_told_so(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    """No sweep ran: cy's late approval applies the deadline first, which decides the run with ana's approval."""
    settings = governed_settings(settings, tmp_path, ESCALATES_TO_FEWER)
    users = users_file(settings)
    with governed_service(settings) as service:
        at(service, START)
        run_id = service.start(vetoed, requester="an").run.run_id
        assert approve(service, run_id, users["ana"], via="api") == "paused"
        at(service, START + timedelta(minutes=4))
        with pytest.raises(
            DeadlinePassedError, match=r"the deadline passed at .*: run \w+ was already decided: approve"
        ):
            approve(service, run_id, users["cy"], via="api")
        done = service.view(run_id)
        assert done.status == "completed"
        assert done.state.reviews[-1].approvers == "ana"
