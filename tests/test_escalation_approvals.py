"""Escalation and earlier approvals: after the sweep moves a pause to a tier with other roles, only
approvals that qualify for that tier count. Real sweep, real users file, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.cli_support import invoke
from tests.governance_support import governed_service, governed_settings
from vetoflow.config import Settings
from vetoflow.console.run_controls import approval_line
from vetoflow.db.tables import outbox_table
from vetoflow.governance.messages import facts
from vetoflow.governance.rules import ApprovalRefusedError
from vetoflow.identity.directory import Directory
from vetoflow.identity.roles import User
from vetoflow.identity.users_file import add_user, load_users_file, set_roles
from vetoflow.runs import audit, audit_check
from vetoflow.runs.service import RunService
from vetoflow.scenario import Scenario

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
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
    path = settings.home / "users.yaml"
    wanted = {"an": ["analyst"], "ana": ["approver"], "cy": ["approver"], "bob": ["admin"], "dee": ["admin"]}
    for name, roles in {**wanted, "eve": ["approver", "admin"]}.items():
        add_user(path, name, roles, None)
    directory = Directory(load_users_file(path))
    found = {name: directory.user(name) for name in [*wanted, "eve"]}
    return {name: user for name, user in found.items() if user is not None}


def approve(service: RunService, run_id: str, user: User) -> str:
    view = service.decide(run_id, "approve", reviewer=user.name, user=user, via="api")
    return view.status


def escalate(service: RunService, run_id: str, users: dict[str, User], first: str) -> None:
    assert service.gate is not None
    service.gate.clock = lambda: START
    assert approve(service, run_id, users[first]) == "paused"
    service.gate.clock = lambda: START + timedelta(minutes=4)
    assert service.sweep().escalated == [run_id]


def test_an_escalation_sets_aside_approvals_from_people_without_the_new_tier_s_role(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path, POLICY)
    users = users_file(settings)
    with governed_service(settings) as service:
        assert service.gate is not None
        service.gate.clock = lambda: START
        run_id = service.start(vetoed, requester="an").run.run_id
        escalate(service, run_id, users, "ana")

        approval = service.view(run_id).approval
        assert approval is not None
        assert (approval["tier"], approval["progress"], approval["approved_by"]) == ("board", "0 of 2", [])
        [aside] = approval["set_aside"]
        assert aside["reviewer"] == "ana"
        assert "tier 'board' needs admin; ana held approver" in aside["reason"]
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

        assert approve(service, run_id, users["bob"]) == "paused", "one admin is not two qualifying approvers"
        assert service.view(run_id).approval["progress"] == "1 of 2"  # type: ignore[index]
        with pytest.raises(ApprovalRefusedError, match=r"approvers\.roles is admin; ana holds approver"):
            approve(service, run_id, users["ana"])
        assert approve(service, run_id, users["dee"]) == "completed"
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
        assert service.gate is not None
        service.gate.clock = lambda: START
        run_id = service.start(vetoed, requester="an").run.run_id
        escalate(service, run_id, users, "eve")
        approval = service.view(run_id).approval
        assert approval is not None
        assert (approval["progress"], approval["approved_by"], approval["set_aside"]) == ("1 of 2", ["eve"], [])
        with pytest.raises(ApprovalRefusedError, match="eve already approved"):
            approve(service, run_id, users["eve"])
        assert approve(service, run_id, users["bob"]) == "completed"


def test_a_set_aside_approver_who_now_holds_the_role_may_approve_again(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    """cy approved as an approver; once promoted to admin her new approval counts (the old one is replaced)."""
    settings = governed_settings(settings, tmp_path, POLICY)
    users = users_file(settings)
    with governed_service(settings) as service:
        assert service.gate is not None
        service.gate.clock = lambda: START
        run_id = service.start(vetoed, requester="an").run.run_id
        escalate(service, run_id, users, "cy")
        set_roles(settings.home / "users.yaml", "cy", ["approver", "admin"])
        promoted = Directory(load_users_file(settings.home / "users.yaml")).user("cy")
        assert promoted is not None
        assert approve(service, run_id, promoted) == "paused"
        approval = service.view(run_id).approval
        assert approval is not None
        assert (approval["progress"], approval["approved_by"], approval["set_aside"]) == ("1 of 2", ["cy"], [])
        assert approve(service, run_id, users["dee"]) == "completed"
