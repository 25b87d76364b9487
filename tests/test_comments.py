"""Comment threads on runs, at the service on SQLite and PostgreSQL: who may comment, the audit entry, and
the comment of a decision that lost the race (kept, marked, and the refusal raised as before)."""

from __future__ import annotations

import pytest

from vetoflow.errors import DecisionConflictError, RunNotFoundError, VetoflowError
from vetoflow.identity.roles import BUILTIN_ROLES, PermissionDeniedError, User
from vetoflow.runs.comments import MAX_COMMENT
from vetoflow.runs.service import RunService
from vetoflow.scenario import Scenario


def user(name: str, role: str) -> User:
    return User(name, frozenset({role}), BUILTIN_ROLES[role])


def test_a_viewer_comments_without_deciding_and_the_thread_is_audited(service: RunService, vetoed: Scenario) -> None:
    run_id = service.start(vetoed).run.run_id
    first = service.comment(run_id, user("vi", "viewer"), "  The pilot review said no to a big rollout.  ")
    second = service.comment(run_id, user("ana", "approver"), "<b>agreed</b> [link](http://x)", via="cli")
    assert first.text == "The pilot review said no to a big rollout."
    thread = service.comments(run_id, user("vi", "viewer"))
    assert [(c.author, c.text, c.via, c.lost_race) for c in thread] == [
        ("vi", "The pilot review said no to a big rollout.", "api", False),
        ("ana", "<b>agreed</b> [link](http://x)", "cli", False),
    ]
    assert [c.id for c in thread] == [first.id, second.id]
    view = service.view(run_id)
    assert view.status == "paused", "a comment decides nothing"
    assert view.decisions == []
    assert [c.text for c in view.comments] == [c.text for c in thread]
    entries = [e for e in service.audit_export("jsonl") if '"run.commented"' in e]
    assert len(entries) == 2
    assert '"actor": "vi"' in entries[0]
    assert service.audit_verify().ok


def test_comments_are_refused_without_the_grant_and_when_empty_or_too_long(
    service: RunService, vetoed: Scenario
) -> None:
    run_id = service.start(vetoed).run.run_id
    nobody = User("mallory", frozenset(), frozenset())
    with pytest.raises(PermissionDeniedError, match="may not comment on runs"):
        service.comment(run_id, nobody, "hi")
    with pytest.raises(PermissionDeniedError):
        service.comments(run_id, nobody)
    with pytest.raises(VetoflowError, match="cannot be empty"):
        service.comment(run_id, user("vi", "viewer"), "   ")
    with pytest.raises(VetoflowError, match=f"at most {MAX_COMMENT} characters"):
        service.comment(run_id, user("vi", "viewer"), "x" * (MAX_COMMENT + 1))
    with pytest.raises(RunNotFoundError):
        service.comment("nope", user("vi", "viewer"), "hi")
    assert service.comments(run_id) == []


def test_a_decision_that_lost_the_race_keeps_its_comment_in_the_thread(service: RunService, vetoed: Scenario) -> None:
    run_id = service.start(vetoed).run.run_id
    service.decide(run_id, "approve", reviewer="ana", comment="strategic bet")
    with pytest.raises(DecisionConflictError, match="already decided: approve by ana"):
        service.decide(run_id, "reject", reviewer="bo", comment="the pilot failed; I would have rejected")
    with pytest.raises(DecisionConflictError):
        service.decide(run_id, "reject", reviewer="cy")  # no comment: nothing added to the thread
    [late] = service.comments(run_id)
    assert (late.author, late.action, late.lost_race) == ("bo", "reject", True)
    assert late.text == "the pilot failed; I would have rejected"
    assert [(d.reviewer, d.action) for d in service.decisions(run_id)] == [("ana", "approve")]
    assert service.view(run_id).status == "completed"
    entries = [e for e in service.audit_export("jsonl") if '"run.commented"' in e]
    assert len(entries) == 1
    assert '"lost_race": true' in entries[0]
    assert '"refused_action": "reject"' in entries[0]


def test_a_decision_refused_for_another_reason_stores_no_comment(service: RunService, vetoed: Scenario) -> None:
    run_id = service.start(vetoed).run.run_id
    with pytest.raises(VetoflowError, match="figures changed"):
        service.decide(run_id, "approve", reviewer="ana", comment="go", digest="sha256:" + "0" * 64)
    assert service.comments(run_id) == []
