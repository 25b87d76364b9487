"""What executing a run writes, and how often: a run or a replay is born with its executor's lease and
settles in one more commit (its row, every held progress event and the audit entry together), yet a long
step's start reaches the event log while the step runs; the process's one ticker thread does the timed
writes and renews leases, so executing a run starts no thread of its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event

from tests.helpers import HeldSynthesizer, wait_for_start
from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.db.tables import events_table, metadata
from vetoflow.runs.events import FLUSH_DELAY, EventBatch, RunEvents
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.runs.ticker import Ticker
from vetoflow.scenario import Scenario


@pytest.fixture
def commits(service: RunService, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The run index's commits (the checkpointer has its own connection and is not counted).

    These tests are about fast runs: on a loaded machine a step can pass FLUSH_DELAY, and its start is then
    rightly written on its own (one more commit, tested below), so the delay is raised out of reach here.
    """
    monkeypatch.setattr("vetoflow.runs.events.FLUSH_DELAY", 60.0)
    seen: list[str] = []

    def count(conn: object) -> None:
        seen.append("commit")

    event.listen(service.database.engine, "commit", count)
    yield seen
    event.remove(service.database.engine, "commit", count)


def test_a_fast_run_writes_its_row_then_its_events_with_the_settled_row_in_one_commit(
    service: RunService, profitable: Scenario, commits: list[str]
) -> None:
    view = service.start(profitable)
    assert view.run.status == "completed"
    assert len(commits) == 2, "the row with its lease, then the refresh with every event and the audit entry"
    kinds = [(e.kind, e.node) for e in service.events_since(view.run.run_id)]
    assert kinds == [
        ("running", None),
        ("node_started", "forecaster"), ("node_finished", "forecaster"),
        ("node_started", "accountant"), ("node_finished", "accountant"),
        ("node_started", "evidence"), ("node_finished", "evidence"),
        ("node_started", "synthesizer"), ("node_finished", "synthesizer"),
        ("completed", None),
    ]  # fmt: skip
    times = [e.at for e in service.events_since(view.run.run_id)]
    assert times == sorted(times), "each event keeps the moment it happened"


def test_a_replay_is_born_with_its_lease_and_settles_in_one_more_commit(
    service: RunService, profitable: Scenario, commits: list[str]
) -> None:
    source = service.start(profitable).run.run_id
    commits.clear()
    replayed = service.replay(source, from_node="synthesizer")
    assert replayed.new.run.status == "completed"
    assert len(commits) == 2, "the lineage with the row and its lease, then the refresh"
    assert replayed.new.run.lease_owner is None, "the lease went back with the refresh"


def test_a_long_steps_start_is_in_the_log_while_it_runs(home: Settings, profitable: Scenario) -> None:
    held = HeldSynthesizer()
    with open_service(home, Context(synthesizer=held)) as service:
        running = threading.Thread(target=service.start, args=(profitable,))
        running.start()
        try:
            assert held.entered.wait(30)
            [row] = service.list()
            waited = wait_for_start(service, row.run_id, "synthesizer")
            assert waited < FLUSH_DELAY + 2.0
            assert service.row(row.run_id).status == "running"
            assert service.events_since(row.run_id)[-1].kind == "node_started", "nothing settled yet"
        finally:
            held.release.set()
            running.join(30)
        kinds = [e.kind for e in service.events_since(row.run_id)]
        assert kinds.count("node_started") == kinds.count("node_finished") == 4
        assert kinds[-1] == "completed"


def test_the_ticker_runs_chores_on_time_repeats_until_cancelled_and_survives_a_failing_one() -> None:
    ticker = Ticker()
    once, beats, failures = threading.Event(), [], []

    def failing() -> None:
        failures.append(time.monotonic())
        raise RuntimeError("database blip")

    began = time.monotonic()
    ticker.after(0.05, once.set)
    beat = ticker.every(0.02, lambda: beats.append(time.monotonic()))
    bad = ticker.every(0.02, failing)
    assert once.wait(5)
    assert time.monotonic() - began >= 0.05
    while len(beats) < 3 or len(failures) < 3:
        assert time.monotonic() - began < 5, "a failing chore stopped the ticker or its own beats"
        time.sleep(0.01)
    beat.cancel()
    bad.cancel()
    settled = len(beats)
    time.sleep(0.1)
    assert len(beats) <= settled + 1, "a beat under way may finish; none starts after cancel"
    cancelled = ticker.after(0.01, lambda: beats.append(-1.0))
    cancelled.cancel()
    time.sleep(0.05)
    assert -1.0 not in beats


def test_executing_runs_starts_no_thread_per_run(service: RunService, profitable: Scenario) -> None:
    service.start(profitable)  # the ticker's thread starts with the first run's lease
    started: list[str] = []
    original = threading.Thread.start

    def spy(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    threading.Thread.start = spy  # type: ignore[method-assign]
    try:
        for _ in range(3):
            service.start(profitable)
    finally:
        threading.Thread.start = original  # type: ignore[method-assign]
    assert [name for name in started if name.startswith(("lease-", "vetoflow-ticker"))] == []
    assert len(started) <= 3, f"at most LangGraph's one checkpoint writer per run: {started}"


def test_events_the_ticker_could_not_write_are_kept_for_the_refresh(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'no-tables-yet.db'}")
    batch = EventBatch(RunEvents(engine), "r1", ticker=Ticker(), delay=0.01)
    batch.add("running")
    batch.add("node_started", node="forecaster")
    batch.flush_soon()
    deadline = time.monotonic() + 5
    while True:  # until the ticker has taken its turn (and failed: there is no events table)
        with batch._lock:  # the ticker holds it from taking its turn until the events are back
            if batch._soon is None:
                break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert [event["kind"] for event in batch.pending] == ["running", "node_started"]
    metadata.create_all(engine, tables=[events_table])  # the database is back
    batch.settle()
    with engine.begin() as conn:  # as the refresh writes them
        batch.flush(conn)
    assert [(e.kind, e.node) for e in RunEvents(engine).since("r1")] == [
        ("running", None),
        ("node_started", "forecaster"),
    ]
