"""`RunService`: the one door to runs. The CLI, console, API, trace and replay call it and nothing else.

It owns the compiled graph (with its checkpointer), the run index and the lineage table, so no front end
reads a checkpoint, builds a LangGraph config or runs SQL. After every step the index is refreshed from
the checkpoint, which stays the source of truth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace as replace_dataclass
from typing import Any

from langgraph.types import Command

from vetoflow import fencing
from vetoflow.context import Context
from vetoflow.db import Database
from vetoflow.errors import (
    LeaseLostError,
    RunNotFoundError,
    RunStateError,
    VetoflowError,
)
from vetoflow.graph import Graph
from vetoflow.llm.base import SummaryClient
from vetoflow.risk.compare import RunComparison
from vetoflow.risk.compare import compare as compare_states
from vetoflow.runs.batches import BatchStore
from vetoflow.runs.deciding import Deciding
from vetoflow.runs.events import RunEvents
from vetoflow.runs.execution import StepCallback, stream_steps
from vetoflow.runs.gate import Gate
from vetoflow.runs.governance_events import started_entry
from vetoflow.runs.history import derive_status, has_state, thread_config
from vetoflow.runs.idempotency import IdempotencyStore
from vetoflow.runs.index import RunIndex, RunRow, new_run_id
from vetoflow.runs.lease import Leases, new_owner
from vetoflow.runs.lineage import Lineage
from vetoflow.runs.queueing import HandBack, JobDispatcher, QueueSide
from vetoflow.runs.records import RunRecords
from vetoflow.runs.replaying import Replaying
from vetoflow.runs.upkeep import Upkeep
from vetoflow.runs.views import RunView
from vetoflow.scenario import Scenario, check_new_scenario
from vetoflow.state import RunState

log = logging.getLogger(__name__)

NOTHING = object()  # what `_resume_input` gives when there is nothing to run: paused for a human, or finished


class RunService(Deciding, Upkeep, QueueSide, Replaying, RunRecords):  # Deciding and Upkeep bring Settling
    def __init__(
        self,
        graph: Graph,
        database: Database,
        context: Context,
        dispatcher: JobDispatcher | None = None,
        *,
        gate: Gate | None = None,
        lease_seconds: float = 30.0,
    ) -> None:
        self.graph = graph
        self.database = database
        self.context = context
        self.dispatcher = dispatcher  # None: inline, runs execute in the caller; else workers execute them
        self.gate = gate  # approval governance (policy, approvals, deadlines); None only in bare test services
        self.events = RunEvents(database.engine)
        self.leases = Leases(database.engine, lease_seconds)
        self.index = RunIndex(database.engine)
        self.lineage = Lineage(database.engine)
        self.idempotency = IdempotencyStore(database.engine)
        self.batches = BatchStore(database.engine)  # queued batch replays (replay.queued)

    def with_context(self, context: Context) -> RunService:
        """The same runs, graph and database, with other clients (e.g. a batch replay's LLM model)."""
        return RunService(
            self.graph, self.database, context, self.dispatcher, gate=self.gate, lease_seconds=self.leases.ttl
        )

    def with_dispatcher(self, dispatcher: JobDispatcher) -> RunService:
        """The same runs, handing work to the workers (a worker's reconciler re-dispatching lost jobs)."""
        return RunService(
            self.graph, self.database, self.context, dispatcher, gate=self.gate, lease_seconds=self.leases.ttl
        )

    @property
    def queued(self) -> bool:
        """Queue mode: commands record the run and defer a job; a worker executes it."""
        return self.dispatcher is not None

    def with_synthesizer(self, synthesizer: SummaryClient) -> RunService:
        return self.with_context(replace_dataclass(self.context, synthesizer=synthesizer))

    # -- commands -----------------------------------------------------------------------------
    def start(
        self,
        scenario: Scenario,
        *,
        run_id: str | None = None,
        on_step: StepCallback | None = None,
        requester: str | None = None,
        via: str = "api",
    ) -> RunView:
        """`via`: the front end asking (cli, console, api), recorded in the run's `run.started` audit entry."""
        check_new_scenario(scenario)  # currency code and printable names, for new runs only
        self.context.budget.check(scenario)  # the one size budget: refused before anything is stored
        run_id = run_id or new_run_id()
        state = RunState(run_id=run_id, scenario=scenario, requester=requester).model_dump(mode="json")
        inputs = state["scenario"]
        entry = started_entry(run_id, inputs, actor=requester or "system", via=via, queued=self.queued)
        if self.dispatcher:
            self.index.create(run_id, scenario.name, scenario.investment, inputs, status="queued", also=entry)
            return self._enqueue(run_id, "start")
        lease = self.leases.fresh()  # the row is born with this process's lease: nobody else executes it meanwhile
        self.index.create(run_id, scenario.name, scenario.investment, inputs, lease=lease, also=entry)
        return self._advance(run_id, lambda: state, on_step, owner=lease[0])

    def start_once(self, scenario: Scenario, *, run_id: str, requester: str | None = None) -> RunView:
        """`start` under a run id derived from the request (an API Idempotency-Key): a repeat of a request
        that failed midway (a 503: the database went away after the run began) never starts a second run;
        it carries that run on as far as it goes (in queue mode: answers it as it stands)."""
        try:
            self.index.get(run_id)
        except RunNotFoundError:
            return self.start(scenario, run_id=run_id, requester=requester)
        return self.carry_on(run_id)

    def retry(self, run_id: str, on_step: StepCallback | None = None) -> RunView:
        """Resume from the last checkpoint: after a failed node, or after a crash mid-graph or mid-decision.

        Refused (RunBusyError) while another executor's lease is live; a stalled run is taken over.
        """
        if not has_state(self.graph.get_state(thread_config(run_id))):  # crashed before its first checkpoint
            self.index.get(run_id)  # RunNotFoundError for an unknown id
            if self.index.scenario_of(run_id) is None:
                raise VetoflowError(f"run {run_id} has no checkpoint and no stored scenario; start it again")
        else:
            snapshot = self._snapshot(run_id)
            if snapshot.interrupts and self.index.decision_for(run_id, snapshot.interrupts[0].id) is None:
                raise RunStateError(f"run {run_id} is paused for a decision; approve, reject or revise it")
            if not snapshot.interrupts and not snapshot.next:
                raise RunStateError(f"run {run_id} has already finished ({derive_status(snapshot)}); nothing to retry")
        if self.dispatcher:
            return self._enqueue(run_id, "retry")
        return self.resume_pending(run_id, on_step)

    def resume_pending(self, run_id: str, on_step: StepCallback | None = None) -> RunView:
        """Carry a run as far as it goes from wherever it stands; a no-op when paused undecided or finished.

        What a worker runs for every job: a new run, a recorded decision, a retry, a replay, or a job a
        dead worker left half done all come down to this, so running it twice never does anything twice.
        What to resume with is read only once the run's lease is held, so concurrent callers run it once.
        """
        return self._advance(run_id, lambda: self._resume_input(run_id), on_step)

    def _resume_input(self, run_id: str) -> Any:
        if not has_state(self.graph.get_state(thread_config(run_id))):  # queued, or crashed before a checkpoint
            scenario = self.index.scenario_of(run_id)
            if scenario is None:
                raise VetoflowError(f"run {run_id} has no checkpoint and no stored scenario; start it again")
            return RunState.model_validate({"run_id": run_id, "scenario": scenario}).model_dump(mode="json")
        snapshot = self._snapshot(run_id)
        if snapshot.interrupts:
            claimed = self.index.decision_for(run_id, snapshot.interrupts[0].id)
            return NOTHING if claimed is None else Command(resume=claimed.payload)  # a human's, or recorded
        return None if snapshot.next else NOTHING  # carry on, or already finished

    def _queued_view(self, row: RunRow) -> RunView:
        snapshot = self.graph.get_state(thread_config(row.run_id))
        if has_state(snapshot):
            return self._view(row, snapshot)
        scenario = self.index.scenario_of(row.run_id)
        if scenario is None:
            raise VetoflowError(f"run {row.run_id} has no checkpoint and no stored scenario; start it again")
        return RunView(run=row, state=RunState.model_validate({"run_id": row.run_id, "scenario": scenario}))

    # -- queries needing the command side ------------------------------------------------------
    def view(self, run_id: str) -> RunView:
        """A queued run, or one whose executor has not written its first checkpoint yet, shows its scenario."""
        return self._queued_view(self.index.get(run_id))

    def compare(self, run_a: str, run_b: str) -> RunComparison:
        """Two runs side by side (`vetoflow compare`, the API and the console's Compare tab)."""
        return compare_states(self.view(run_a).state, self.view(run_b).state)

    def _advance(
        self,
        run_id: str,
        graph_input: Callable[[], Any],
        on_step: StepCallback | None,
        *,
        owner: str | None = None,
    ) -> RunView:
        """Drive the graph under the run's lease (taken here unless the caller's `owner` already holds it).

        With nothing left to run (paused for a human, or finished), the row is refreshed and how the run
        ended is recorded only if it was not yet, judged once the lease is held (two jobs carrying on one
        stalled run: the second finds it recorded and announces nothing).

        Fenced: if the lease is lost meanwhile (taken over after a pause or an outage), this executor stops
        at the next check (a node boundary, a checkpoint write, the LLM call) and writes nothing more;
        LeaseLostError tells its caller. The new holder records the run's end."""
        acquired, holder = owner is not None, owner or new_owner()
        with self.leases.held(run_id, holder, acquired=acquired) as fence, fencing.fenced(fence):
            try:
                resume_with = graph_input()
            except VetoflowError:
                self._give_back(run_id, holder)
                raise
            if resume_with is NOTHING:
                return self.refresh(run_id, None, owner=holder, announce=self._unannounced(run_id))
            events = self.events.batch(run_id, guard=fence.check)
            events.add("running")  # written with the first node's start
            error: str | None = None
            try:
                try:
                    stream_steps(self.graph, run_id, resume_with, context=self.context, events=events, on_step=on_step)
                except HandBack as stop:
                    self._hand_back(run_id, holder, str(stop), events)
                    raise
                except LeaseLostError as lost:
                    log.warning("run %s: stopped, %s", run_id, lost)
                    raise
                except Exception as exc:  # the node's error is kept in the index and the checkpoint; retry resumes
                    error = f"{type(exc).__name__}: {exc}"
                    log.error("run %s failed: %s", run_id, error, exc_info=exc)
                return self.refresh(run_id, error, owner=holder, events=events)
            finally:
                # whatever the refresh did not write goes with this executor: a ticker write landing later
                # would follow the end its successor records and make that successor announce it again
                events.settle()
