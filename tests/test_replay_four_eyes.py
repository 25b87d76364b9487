"""Four-eyes across replays: whoever wrote the figures a replay carries (the requesters and revisers of the
runs it replays, however deep) cannot approve it, nor can whoever asked for the replay. SQLite and
PostgreSQL, users written by the real code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.governance_support import approve, governed_service, governed_settings, people
from vetoflow.config import Settings
from vetoflow.governance.rules import ApprovalRefusedError
from vetoflow.identity.roles import User
from vetoflow.runs import audit
from vetoflow.scenario import Scenario

FOUR_EYES = r"requester_may_approve is false \(four-eyes\): "


def analysts_who_approve(settings: Settings) -> dict[str, User]:
    """The audit's users: an2 (analyst and approver) and dan (analyst and, here, approver too), beside the
    default ones."""
    return people(settings) | people(settings, {"an2": ["analyst", "approver"], "dan": ["analyst", "approver"]})


def test_the_author_of_a_plan_cannot_approve_it_through_someone_else_s_replay(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    """The audit's case: an2 starts a run, dan replays it; an2 then approved the replay alone (1 of 1)."""
    settings = governed_settings(settings, tmp_path)
    users = analysts_who_approve(settings)
    with governed_service(settings) as service:
        source = service.start(vetoed.model_copy(update={"investment": 500_000.0}), requester="an2").run.run_id
        with pytest.raises(ApprovalRefusedError, match=FOUR_EYES + "an2 started this run"):
            approve(service, source, users["an2"])
        replay = service.replay(source, requester="dan", via="cli").new.run.run_id
        with pytest.raises(
            ApprovalRefusedError, match=FOUR_EYES + f"an2 started run {source}, whose figures this run replays"
        ):
            approve(service, replay, users["an2"])
        with pytest.raises(ApprovalRefusedError, match=FOUR_EYES + "dan started this run"):
            approve(service, replay, users["dan"])
        assert service.view(replay).status == "paused"
        assert [e["event"] for e in audit.entries(service.index.engine, run_id=replay)].count("run.approved") == 0
        assert approve(service, replay, users["ap1"]) == "completed"


def test_revisers_and_requesters_up_the_lineage_cannot_approve_a_replay_of_a_replay(
    settings: Settings, tmp_path: Path, vetoed: Scenario
) -> None:
    settings = governed_settings(settings, tmp_path)
    users = analysts_who_approve(settings)
    with governed_service(settings) as service:
        first = service.start(vetoed.model_copy(update={"investment": 500_000.0}), requester="an2").run.run_id
        service.decide(first, "revise", reviewer="ap1", user=users["ap1"], overrides={"investment": 480_000})
        second = service.replay(first, requester="dan").new.run.run_id
        third = service.replay(second, requester="ap2").new
        assert third.state.lineage_authors == {
            "an2": f"started run {first}, whose figures this run replays",
            "ap1": f"revised the figures of run {first}, which this run replays",
            "dan": f"started run {second}, whose figures this run replays",
        }
        refusals = {
            "an2": f"an2 started run {first}, whose figures",
            "ap1": "ap1 revised this run's figures",  # the revise is in the figures the replays carry
            "dan": f"dan started run {second}, whose figures",
            "ap2": "ap2 started this run",
        }
        for name, why in refusals.items():
            with pytest.raises(ApprovalRefusedError, match=FOUR_EYES + why):
                approve(service, third.run.run_id, users[name])
        assert approve(service, third.run.run_id, users["ap3"]) == "completed"
        assert service.view(first).state.lineage_authors == {}, "the source runs are untouched"
