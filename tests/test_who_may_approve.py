"""One rule for who may approve a pause: the gate's refusal, the run's view (`RunView.approval_rule`) and the
inbox (`InboxItem.rule`) answer alike for requesters, revisers and a replay's inherited authors, from what
the pause records. SQLite and PostgreSQL, users written by the real code."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from tests.governance_support import governed_service, governed_settings, people
from vetoflow.config import Settings
from vetoflow.db.tables import pauses_table
from vetoflow.governance.rules import REVISED, STARTED, ApprovalRefusedError, WhoMayApprove
from vetoflow.identity.roles import User
from vetoflow.runs.service import RunService
from vetoflow.scenario import Scenario

REVISER_REASON = "you revised this run's figures; someone else must approve it (four-eyes)"


def rules(service: RunService, run_id: str) -> tuple[WhoMayApprove, WhoMayApprove]:
    """What the run's view and the inbox say about who may approve it."""
    view_rule = service.view(run_id).approval_rule
    [item] = [i for i in service.inbox() if i.run.run_id == run_id]
    assert view_rule is not None
    assert item.rule is not None
    return view_rule, item.rule


def gate_refusal(service: RunService, run_id: str, user: User) -> str:
    with pytest.raises(ApprovalRefusedError) as refused:
        service.decide(run_id, "approve", reviewer=user.name, user=user)
    return str(refused.value)


def test_a_reviser_is_refused_alike_by_the_gate_the_run_view_and_the_inbox(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    """The audit's case: ap1 (an approver) revised the run; the console still offered Approve and the inbox
    assigned it to him, while the gate refused."""
    settings = governed_settings(settings, tmp_path)
    users = people(settings)
    with governed_service(settings) as service:
        run_id = service.start(vetoed, requester="an").run.run_id
        service.decide(run_id, "revise", reviewer="ap1", user=users["ap1"], overrides={"investment": 480_000})
        shown, listed = rules(service, run_id)
        assert shown == listed, "one record, one rule"
        assert shown.authors == {"an": STARTED, "ap1": REVISED}
        assert service.view(run_id).approval.authors == shown.authors  # what the API shows
        ap1 = users["ap1"]
        refusal = shown.refusal(ap1.name, ap1.roles)
        assert refusal is not None
        assert refusal.reason == REVISER_REASON
        assert gate_refusal(service, run_id, ap1) == refusal.rule, "what the gate says, word for word"
        assert refusal.rule.endswith("ap1 revised this run's figures, so another approver must approve them")
        assert shown.refusal("ap2", users["ap2"].roles) is None
        assert service.decide(run_id, "approve", reviewer="ap2", user=users["ap2"]).status == "completed"


def test_a_replay_s_inherited_authors_are_refused_alike_everywhere(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path)
    users = people(settings)
    with governed_service(settings) as service:
        source = service.start(vetoed, requester="an").run.run_id
        replay = service.replay(source, requester="ap2").new.run.run_id
        shown, listed = rules(service, replay)
        assert shown == listed
        an = users["an"]
        refusal = listed.refusal(an.name, an.roles)
        assert refusal is not None
        assert refusal.reason == f"you started run {source}, whose figures this run replays; someone else must " \
            "approve it (four-eyes)"  # fmt: skip
        assert gate_refusal(service, replay, an) == refusal.rule
        ap2 = users["ap2"]
        assert listed.refusal(ap2.name, ap2.roles) is not None, "the replayer started this run"


def test_a_pause_recorded_without_its_authors_learns_them_at_the_next_decision(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    """A pause recorded by the previous release knows only its requester; the gate still reads the revisers
    from the run, and records them, so the inbox agrees from then on."""
    settings = governed_settings(settings, tmp_path)
    users = people(settings)
    with governed_service(settings) as service:
        run_id = service.start(vetoed, requester="an").run.run_id
        service.decide(run_id, "revise", reviewer="ap1", user=users["ap1"], overrides={"investment": 480_000})
        with service.database.engine.begin() as conn:
            conn.execute(update(pauses_table).where(pauses_table.c.run_id == run_id).values(authors=None))
        [item] = [i for i in service.inbox() if i.run.run_id == run_id]
        assert item.authors == {"an": STARTED}, "all an older pause can tell"
        assert "ap1 revised this run's figures" in gate_refusal(service, run_id, users["ap1"])
        [item] = [i for i in service.inbox() if i.run.run_id == run_id]
        assert item.authors == {"an": STARTED, "ap1": REVISED}
