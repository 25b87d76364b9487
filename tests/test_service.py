"""Runs through the service, on both durable backends (SQLite file and PostgreSQL)."""

from __future__ import annotations

import json
import threading
import time
from typing import NoReturn

import pytest

from tests.helpers import CountingSynthesizer
from vetoflow.config import Settings
from vetoflow.errors import DecisionConflictError, RunNotFoundError, VetoflowError
from vetoflow.graph import Context
from vetoflow.runs.events import FLUSH_DELAY
from vetoflow.runs.history import thread_config
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario
from vetoflow.state import RunState


def test_profitable_completes_and_is_indexed(service: RunService, profitable: Scenario) -> None:
    view = service.start(profitable)
    assert view.status == "completed"
    assert view.state.summary.offline is True
    row = service.index.get(view.run.run_id)
    assert row.status == "completed"
    assert row.roi == view.state.financials.roi
    assert row.veto is False


def test_vetoed_pauses_then_approve_completes(service: RunService, vetoed: Scenario) -> None:
    view = service.start(vetoed)
    assert view.status == "paused"
    assert view.pending is not None
    assert view.pending.allowed_actions == ["approve", "reject", "revise"]
    assert view.run.veto_reason is not None
    assert view.run.veto_reason.startswith("ROI (P50) is")
    done = service.decide(view.run.run_id, "approve", reviewer="ana", comment="strategic bet")
    assert done.status == "completed"
    assert done.run.reviewer == "ana"
    assert [(d.reviewer, d.action, d.comment) for d in done.decisions] == [("ana", "approve", "strategic bet")]
    assert "approved it anyway by ana" in done.state.summary.text


def test_second_decision_is_refused_naming_who_decided(service: RunService, vetoed: Scenario) -> None:
    run_id = service.start(vetoed).run.run_id
    service.decide(run_id, "reject", reviewer="ana", comment="too thin")
    with pytest.raises(DecisionConflictError, match=r"already decided: reject by ana at .*the run is now rejected"):
        service.decide(run_id, "approve", reviewer="bo")
    assert service.view(run_id).status == "rejected"


def test_invalid_decisions_change_nothing(service: RunService, vetoed: Scenario) -> None:
    run_id = service.start(vetoed).run.run_id
    with pytest.raises(VetoflowError, match="action: Input should be 'approve', 'reject' or 'revise'"):
        service.decide(run_id, "maybe", reviewer="ana")
    with pytest.raises(VetoflowError, match="reviewer: String should have at least 1 character"):
        service.decide(run_id, "approve", reviewer="")
    with pytest.raises(VetoflowError, match="horizon: Input should be less than or equal to 120"):
        service.decide(run_id, "revise", reviewer="ana", overrides={"horizon": 1000})
    with pytest.raises(VetoflowError, match="overrides: only allowed with action 'revise'"):
        service.decide(run_id, "approve", reviewer="ana", overrides={"investment": 5})
    view = service.view(run_id)
    assert view.status == "paused"
    assert view.decisions == []
    assert view.pending is not None
    assert view.pending.error is None


def test_unknown_run(service: RunService) -> None:
    with pytest.raises(RunNotFoundError, match="no run with id 'nope'"):
        service.view("nope")
    with pytest.raises(RunNotFoundError):
        service.decide("nope", "approve", reviewer="ana")


def test_failed_node_marks_the_run_failed_and_retry_completes(settings: Settings, profitable: Scenario) -> None:
    llm = CountingSynthesizer(fail_first=1)
    with open_service(settings, Context(synthesizer=llm)) as service:
        view = service.start(profitable)
        assert view.status == "failed"
        assert view.run.error == "RuntimeError: synthetic failure #1"
        assert view.next_nodes == ["synthesizer"]
        assert service.list(["failed"])[0].run_id == view.run.run_id
        again = service.retry(view.run.run_id)
        assert again.status == "completed"
        assert again.run.error is None
        assert llm.calls == 2
        with pytest.raises(VetoflowError, match="already finished"):
            service.retry(view.run.run_id)


def test_retry_replays_a_decision_claimed_before_a_crash(service: RunService, vetoed: Scenario) -> None:
    run_id = service.start(vetoed).run.run_id
    view = service.view(run_id)
    assert view.pause_id is not None
    # the process died right after recording the decision, before the graph resumed
    service.index.claim_decision(run_id, view.pause_id, {"action": "approve", "reviewer": "ana", "comment": ""})
    with pytest.raises(DecisionConflictError, match="approve by ana"):
        service.decide(run_id, "reject", reviewer="bo")
    assert service.retry(run_id).status == "completed"


def test_retry_starts_a_run_that_crashed_before_its_first_checkpoint(service: RunService, profitable: Scenario) -> None:
    # the index row is written first; the process died before the graph wrote anything
    service.index.create("crashed00001", profitable.name, profitable.investment, profitable.model_dump(mode="json"))
    crashed = service.view("crashed00001")  # listed and shown with its scenario, not lost
    assert (crashed.status, crashed.state.scenario, crashed.state.forecast) == ("stalled", profitable, None)
    view = service.retry("crashed00001")
    assert view.status == "completed"
    assert view.state.run_id == "crashed00001"
    assert view.state.scenario == profitable


def test_a_run_stopped_right_after_its_input_checkpoint_shows_its_scenario_and_retries(
    service: RunService, profitable: Scenario
) -> None:
    """LangGraph writes an input checkpoint before the first step; it holds only the list channels' defaults
    (`reviews`, `revisions`). A view read in that window (a worker mid-start, or one killed there) must show
    the stored scenario, not fail validating an empty state."""
    run_id = "inputonly001"
    scenario = profitable.model_dump(mode="json")
    service.index.create(run_id, profitable.name, profitable.investment, scenario)
    events = service.graph.stream(
        RunState(run_id=run_id, scenario=profitable),
        thread_config(run_id),
        stream_mode="checkpoints",
        context=service.context,
        durability="sync",
    )
    first = next(iter(events))  # the input checkpoint is written; the process stops before the first step
    assert first["metadata"]["source"] == "input"
    assert "scenario" not in first["values"]
    shown = service.view(run_id)
    assert (shown.status, shown.state.scenario, shown.state.forecast) == ("stalled", profitable, None)
    assert service.retry(run_id).status == "completed"


def test_listing_by_status_newest_first(service: RunService, profitable: Scenario, vetoed: Scenario) -> None:
    ids = []
    for scenario in (vetoed, profitable, vetoed):
        ids.append(service.start(scenario).run.run_id)
        time.sleep(0.01)
    assert [r.run_id for r in service.list()] == ids[::-1]
    assert [r.run_id for r in service.list(["paused"])] == [ids[2], ids[0]]
    assert [r.run_id for r in service.list(["completed"])] == [ids[1]]
    assert len(service.list(limit=2)) == 2


def test_two_concurrent_decisions_exactly_one_wins(settings: Settings, vetoed: Scenario) -> None:
    llm = CountingSynthesizer()
    with open_service(settings, Context(synthesizer=llm)) as service:
        run_id = service.start(vetoed).run.run_id
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def decide(reviewer: str, action: str) -> None:
        with open_service(settings, Context(synthesizer=llm)) as own:
            barrier.wait()
            try:
                outcomes.append(own.decide(run_id, action, reviewer=reviewer).status)
            except DecisionConflictError as exc:
                outcomes.append(f"conflict: {exc}")

    threads = [threading.Thread(target=decide, args=a) for a in (("ana", "approve"), ("bo", "reject"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wins = [o for o in outcomes if not o.startswith("conflict")]
    losses = [o for o in outcomes if o.startswith("conflict")]
    assert len(wins) == 1
    assert len(losses) == 1
    with open_service(settings) as service:
        decisions = service.view(run_id).decisions
    assert len(decisions) == 1
    assert f"{decisions[0].action} by {decisions[0].reviewer}" in losses[0]
    assert llm.calls == (1 if decisions[0].action == "approve" else 0)


def test_carrying_a_finished_run_on_again_records_its_completion_once(
    service: RunService, profitable: Scenario
) -> None:
    """A worker's job that runs twice (or a retried no-op) must not append a second run.completed to the audit."""
    run_id = service.start(profitable).run.run_id
    again = service.resume_pending(run_id)  # what a repeated worker job does: nothing left to run
    assert again.status == "completed"
    events = [json.loads(line)["event"] for line in "".join(service.audit_export("jsonl")).splitlines()]
    runs = [json.loads(line)["run_id"] for line in "".join(service.audit_export("jsonl")).splitlines()]
    assert [e for e, r in zip(events, runs, strict=True) if r == run_id] == ["run.started", "run.completed"]
    assert service.audit_verify().ok


def start_with_a_failed_refresh(service: RunService, scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> str:
    """Start a run whose executor fails between its last checkpoint and the index refresh; its id."""

    def killed(*args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError("the executor died here")

    with monkeypatch.context() as patch:
        patch.setattr(service, "refresh", killed)
        with pytest.raises(RuntimeError, match="died"):
            service.start(scenario)
    [row] = service.list()
    return row.run_id


def test_an_executor_that_failed_to_settle_a_run_writes_nothing_more_of_it(
    service: RunService, profitable: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Progress held for the refresh that failed is not written later by the process's ticker: landing after
    the end another executor records, it would read as the run still going and be announced twice."""
    run_id = start_with_a_failed_refresh(service, profitable, monkeypatch)
    written = service.events_since(run_id)
    time.sleep(FLUSH_DELAY * 4)  # well past the ticker's delay for held events
    assert service.events_since(run_id) == written


def test_a_run_whose_executor_died_before_settling_it_is_announced_once_by_whoever_carries_it_on(
    service: RunService, profitable: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between its last checkpoint and the index refresh, a run lists as stalled; the job that carries it
    on must still write its `completed` event and audit entry (a stream waiting on the run ends only then)."""
    row = service.row(start_with_a_failed_refresh(service, profitable, monkeypatch))
    service.index.update(row.run_id, lease_owner=None, lease_expires_at=None)  # its lease lapses
    assert service.row(row.run_id).status == "stalled"
    for _ in range(2):  # the retried job, and that job run once more
        assert service.resume_pending(row.run_id).status == "completed"
    kinds = [event.kind for event in service.events_since(row.run_id)]
    assert kinds.count("completed") == 1, kinds
    log = [json.loads(line) for line in "".join(service.audit_export("jsonl", run_id=row.run_id)).splitlines()]
    assert [entry["event"] for entry in log] == ["run.started", "run.completed"]
