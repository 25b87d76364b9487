"""`RunService`: the one door to runs. The CLI, console, API, trace and replay call it and nothing else.

It owns the compiled graph (with its checkpointer), the run index and the lineage table, so no front end
reads a checkpoint, builds a LangGraph config or runs SQL. After every step the index is refreshed from
the checkpoint, which stays the source of truth.
"""

from __future__ import annotations

import builtins
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace as replace_dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot
from pydantic import ValidationError

from vetoflow.db import Database
from vetoflow.errors import DecisionConflictError, VetoflowError, describe_validation_error
from vetoflow.governance.digest import run_digest
from vetoflow.graph.context import Context
from vetoflow.identity.directory import DEMO_ROLES
from vetoflow.identity.roles import User, grants_for
from vetoflow.llm.base import SummaryClient
from vetoflow.nodes.approval import parse_review, why_waiting
from vetoflow.risk.compare import RunComparison
from vetoflow.risk.compare import compare as compare_states
from vetoflow.runs import comments as thread_store
from vetoflow.runs.batches import BatchStore
from vetoflow.runs.events import SETTLED, EventBatch, RunEvents
from vetoflow.runs.execution import StepCallback, stream_steps
from vetoflow.runs.fork import copy_into_new_thread, find_checkpoint, refuse_late_checkpoint, start_node
from vetoflow.runs.gate import Gate
from vetoflow.runs.history import derive_status, has_state, thread_config
from vetoflow.runs.idempotency import IdempotencyStore
from vetoflow.runs.index import RunIndex, RunRow, already_decided, utcnow
from vetoflow.runs.lease import Leases, new_owner
from vetoflow.runs.lineage import Lineage, new_row
from vetoflow.runs.queueing import JobDispatcher, QueueSide
from vetoflow.runs.records import RunRecords
from vetoflow.runs.sweep import SweepReport, sweep
from vetoflow.runs.views import Drift, Replayed, RunView
from vetoflow.scenario import Scenario, apply_overrides
from vetoflow.state import Review, RunState, RunStatus

log = logging.getLogger(__name__)

Graph = CompiledStateGraph[RunState, Context, RunState, RunState]
NOTHING = object()  # what `_resume_input` gives when there is nothing to run: paused for a human, or finished


def new_run_id() -> str:
    """A fresh run id; a front end that follows a run from its first event picks it before `start`."""
    return uuid.uuid4().hex[:12]


class RunService(QueueSide, RunRecords):
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
    ) -> RunView:
        self.context.budget.check(scenario)  # the one size budget: refused before anything is stored
        run_id = run_id or new_run_id()
        state = RunState(run_id=run_id, scenario=scenario, requester=requester).model_dump(mode="json")
        if self.dispatcher:
            self.index.create(run_id, scenario.name, scenario.investment, state["scenario"], status="queued")
            return self._enqueue(run_id, "start")
        owner = new_owner()  # the row is born with this process's lease: nobody else executes it meanwhile
        lease = (owner, self.leases.expiry())
        self.index.create(run_id, scenario.name, scenario.investment, state["scenario"], lease=lease)
        return self._advance(run_id, lambda: state, on_step, owner=owner)

    def decide(
        self,
        run_id: str,
        action: str,
        *,
        reviewer: str,
        comment: str = "",
        overrides: dict[str, Any] | None = None,
        on_step: StepCallback | None = None,
        user: User | None = None,
        digest: str | None = None,
        via: str = "api",
    ) -> RunView:
        """Apply one human decision to a paused run. Invalid input, a broken policy rule, a digest that no
        longer matches or a lost race changes nothing, except that a lost race keeps its comment in the
        run's thread (marked as such). An approval short of the tier's count is recorded and the run stays
        paused ("1 of 2"); the approval completing it resumes the run."""
        try:
            return self._decide(
                run_id, action, reviewer=reviewer, comment=comment, overrides=overrides, on_step=on_step,
                user=user, digest=digest, via=via,
            )  # fmt: skip
        except DecisionConflictError:
            if comment.strip():
                author = user.name if user else reviewer
                thread_store.add(self.database.engine, run_id, author, comment, via=via, lost_race=True, action=action)
            raise

    def _decide(
        self,
        run_id: str,
        action: str,
        *,
        reviewer: str,
        comment: str,
        overrides: dict[str, Any] | None,
        on_step: StepCallback | None,
        user: User | None,
        digest: str | None,
        via: str,
    ) -> RunView:
        try:
            review = Review.model_validate(
                {
                    "action": action,
                    "reviewer": reviewer,
                    "comment": comment,
                    "overrides": overrides or {},
                    "decided_at": utcnow().isoformat(timespec="seconds"),
                }
            )
        except ValidationError as exc:
            raise VetoflowError(f"invalid decision:\n{describe_validation_error(exc)}") from None
        snapshot = self._snapshot(run_id)
        if not snapshot.interrupts:
            decisions = self.index.decisions(run_id)
            if decisions:
                status = derive_status(snapshot)
                raise DecisionConflictError(f"{already_decided(run_id, decisions[-1])}; the run is now {status}")
            raise VetoflowError(f"run {run_id} is not waiting for a decision (status: {derive_status(snapshot)})")
        payload = review.model_dump(mode="json")
        scenario = RunState.model_validate(snapshot.values).scenario
        _, revised = parse_review(payload, scenario)  # bad overrides: refused before anything is recorded
        if revised is not None:
            self.context.budget.check(revised)
        pause_id = snapshot.interrupts[0].id
        if self.gate is None:
            self.index.claim_decision(run_id, pause_id, payload)
            resume = payload
        else:
            values = dict(snapshot.values)
            self.gate.open_pause(values, pause_id)  # a run paused by the previous release gets its pause now
            acting = user or User(reviewer, DEMO_ROLES, grants_for(DEMO_ROLES, {}), "cli")
            outcome = self.gate.decide(values, pause_id, acting, payload, digest=digest, via=via)
            if not outcome.resume:
                return self.view(run_id)
            resume = outcome.payload
        if self.dispatcher:
            return self._enqueue(run_id, "decide")
        return self._advance(run_id, lambda: Command(resume=resume), on_step)

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
                raise VetoflowError(f"run {run_id} is paused for a decision; approve, reject or revise it")
            if not snapshot.interrupts and not snapshot.next:
                raise VetoflowError(f"run {run_id} has already finished ({derive_status(snapshot)}); nothing to retry")
        if self.dispatcher:
            return self._enqueue(run_id, "retry")
        return self.resume_pending(run_id, on_step)

    def replay(
        self,
        run_id: str,
        *,
        checkpoint_id: str | None = None,
        from_node: str | None = None,
        overrides: dict[str, Any] | None = None,
        llm_model: str | None = None,
        on_step: StepCallback | None = None,
        replay_run_id: str | None = None,
    ) -> Replayed:
        """Fork a saved checkpoint into a new run and run it on; the source run is left untouched.

        Default: from the last time the Forecaster was about to run, i.e. on the scenario (revisions
        included) that produced the run's current figures. Every front end gets this same default.
        `replay_run_id` fixes the new run's id in advance (a queued batch, so a repeated job never forks twice).
        """
        source_row = self.index.get(run_id)  # RunNotFoundError for an unknown id
        from_node = start_node(from_node, checkpoint_id, overrides or {})  # never after what overrides change
        latest, source = find_checkpoint(
            self.graph.get_state_history(thread_config(run_id)),
            run_id,
            checkpoint_id=checkpoint_id,
            from_node=from_node,
        )
        refuse_late_checkpoint(source, run_id, checkpoint_id, overrides or {})
        scenario = RunState.model_validate(source.values).scenario
        if overrides:
            scenario = apply_overrides(scenario, overrides)  # VetoflowError naming the bad key or value
        self.context.budget.check(scenario)
        saver = self.graph.checkpointer
        if saver is None or isinstance(saver, bool):
            raise VetoflowError("replay needs a graph compiled with a durable checkpointer")
        new_id = replay_run_id or new_run_id()
        changed = scenario.model_dump(mode="json") if overrides else None
        latest_state = RunState.model_validate(latest.values)
        inherited = None  # changed inputs must not launder a veto: the replay waits for a human like a revise
        if overrides and latest_state.vetoed_once:
            inherited = f"replay of vetoed run {run_id} with changed inputs: a human must approve its figures"
        source_cp = copy_into_new_thread(saver, source, run_id, new_id, changed, inherited_veto=inherited)
        node = from_node or next(n for n in source.next if not n.startswith("__"))
        name = f"{source_row.name[:150]} (replay of {run_id})"  # tells replays apart in `vetoflow runs`
        lineage = new_row(run_id, new_id, source_cp, node, overrides=overrides or {}, llm_model=llm_model)
        self.lineage.record_with_run(lineage, name, scenario.investment, scenario.model_dump(mode="json"))
        old = RunView(run=source_row, state=latest_state, next_nodes=list(latest.next))
        if self.dispatcher:
            return Replayed(old=old, new=self._enqueue(new_id, "replay"))
        return Replayed(old=old, new=self._advance(new_id, lambda: None, on_step))

    def resume_pending(self, run_id: str, on_step: StepCallback | None = None) -> RunView:
        """Carry a run as far as it goes from wherever it stands; a no-op when paused undecided or finished.

        What a worker runs for every job: a new run, a recorded decision, a retry, a replay, or a job a
        dead worker left half done all come down to this, so running it twice never does anything twice.
        What to resume with is read only once the run's lease is held, so concurrent callers run it once.
        """
        announce = self._was_unsettled(run_id)
        return self._advance(run_id, lambda: self._resume_input(run_id), on_step, announce=announce)

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

    def reconcile(self, *, repair: bool = False) -> builtins.list[Drift]:
        """Index rows out of line with their checkpoints (after an outage); `repair` refreshes them."""
        from vetoflow.runs.reconcile import reconcile

        return reconcile(self, repair=repair)

    # -- governance records -----------------------------------------------------------------

    # -- internals ----------------------------------------------------------------------------
    def _view(self, row: RunRow, snapshot: StateSnapshot) -> RunView:
        interrupt = snapshot.interrupts[0] if snapshot.interrupts else None
        pending = dict(interrupt.value) if interrupt and isinstance(interrupt.value, dict) else None
        approval = None
        if interrupt is not None and pending is not None:
            pending["digest"] = run_digest(snapshot.values)  # what a decision sends back (governance.digest)
            pause = self.gate.pause(row.run_id, interrupt.id) if self.gate else None
            approval = pause.summary() if pause else None
        state = RunState.model_validate(snapshot.values)
        # a decision is claimed at a pause and lands in state.reviews: with neither, there is none to read
        decided = interrupt is not None or bool(state.reviews)
        return RunView(
            run=row,
            state=state,
            pending=pending,
            pause_id=interrupt.id if interrupt else None,
            next_nodes=list(snapshot.next),
            decisions=self.index.decisions(row.run_id) if decided else [],
            approval=approval,
            comments=thread_store.thread(self.database.engine, row.run_id),
        )

    def _snapshot(self, run_id: str) -> StateSnapshot:
        snapshot = self.graph.get_state(thread_config(run_id))
        if not has_state(snapshot):
            self.index.get(run_id)  # raises RunNotFoundError with a helpful message
            raise VetoflowError(f"run {run_id} has no checkpoint yet; start it again")
        return snapshot

    def _advance(
        self,
        run_id: str,
        graph_input: Callable[[], Any],
        on_step: StepCallback | None,
        *,
        owner: str | None = None,
        announce: bool = True,
    ) -> RunView:
        """Drive the graph under the run's lease (taken here unless the caller's `owner` already holds it)."""
        with self.leases.held(run_id, owner or new_owner(), acquired=owner is not None):
            try:
                resume_with = graph_input()
            except VetoflowError:
                self._give_back(run_id)
                raise
            if resume_with is NOTHING:
                return self.refresh(run_id, None, announce=announce)
            events = self.events.batch(run_id)
            events.add("running")  # written with the first node's start
            error: str | None = None
            try:
                stream_steps(self.graph, run_id, resume_with, context=self.context, events=events, on_step=on_step)
            except Exception as exc:  # the node's error is kept in the index and the checkpoint; retry resumes
                error = f"{type(exc).__name__}: {exc}"
                log.error("run %s failed: %s", run_id, error, exc_info=exc)
            return self.refresh(run_id, error, events=events)

    def _give_back(self, run_id: str) -> None:
        """Release a lease taken for nothing (a refused resume); the row says what the checkpoint says."""
        snapshot = self.graph.get_state(thread_config(run_id))
        status: RunStatus = derive_status(snapshot) if has_state(snapshot) else "failed"
        self.index.update(run_id, lease_owner=None, lease_expires_at=None, status=status)

    def refresh(
        self, run_id: str, error: str | None, *, announce: bool = True, events: EventBatch | None = None
    ) -> RunView:
        """Rewrite the run's index row from its checkpoint and give back any lease, in one transaction with
        the events still held (`events`, from the steps just run) and the settled event."""
        snapshot = self.graph.get_state(thread_config(run_id))
        state = RunState.model_validate(snapshot.values)
        status: RunStatus = "failed" if error else derive_status(snapshot)
        fields: dict[str, Any] = {"status": status, "error": error, "revision": state.revision}
        fields |= {"lease_owner": None, "lease_expires_at": None}  # the lease goes back with the refresh
        fields["investment"] = state.scenario.investment
        if state.financials:
            fields |= {"roi": state.financials.roi, "downside_roi": state.financials.downside_roi}
            fields |= {"npv": state.financials.npv, "loss_probability": state.financials.loss_probability}
        if state.decision:
            waiting = why_waiting(state) if status == "paused" else []  # a flag or a sticky veto, in plain words
            fields |= {"veto": state.decision.veto, "veto_reason": (waiting or state.decision.reasons)[0]}
        fields["plausibility"] = [flag.model_dump(mode="json") for flag in state.plausibility]
        if state.reviews:
            fields |= {"reviewer": state.reviews[-1].reviewer, "last_action": state.reviews[-1].action}
        batch = events or self.events.batch(run_id)
        with self.database.engine.begin() as conn:
            row = self.index.update_in(conn, run_id, **fields)
            if announce and status != "stalled" and status in SETTLED:
                detail = {"error": error} if error else {"reason": row.veto_reason} if status == "paused" else {}
                batch.add(status, **detail)
            batch.flush(conn)
        if self.gate is not None:
            self._governance_events(snapshot, status, error)
        return self._view(row, snapshot)

    def _governance_events(self, snapshot: StateSnapshot, status: RunStatus, error: str | None) -> None:
        """Open the pause (which tells the approvers), or say that the run completed or failed."""
        assert self.gate is not None
        values = dict(snapshot.values)
        if status == "paused":
            self.gate.open_pause(values, snapshot.interrupts[0].id)
        elif status in ("completed", "failed"):
            details = {"error": error} if error else {}
            self.gate.run_event(f"run.{status}", values, actor="system", via="system", details=details)

    def sweep(self) -> SweepReport:
        """Reminders, escalations and expiries that are due (governance.sweep); expired runs end rejected."""
        if self.gate is None:
            raise VetoflowError("this service has no approval gate")

        def resume(run_id: str, payload: dict[str, Any]) -> None:
            self._advance(run_id, lambda: Command(resume=payload), None)

        return sweep(self.gate, lambda run_id: dict(self._snapshot(run_id).values), resume)
