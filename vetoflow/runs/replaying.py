"""`RunService.replay`: fork a saved checkpoint into a new run, the source left untouched.

Split from runs/service.py; `RunService` inherits it. Every front end (CLI, API, console, batch jobs)
gets the same default checkpoint and the same veto inheritance from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vetoflow.errors import VetoflowError
from vetoflow.governance.rules import replayed_authors
from vetoflow.runs.execution import CarriesRuns, StepCallback
from vetoflow.runs.fork import copy_into_new_thread, find_checkpoint, refuse_late_checkpoint, start_node
from vetoflow.runs.governance_events import started_entry
from vetoflow.runs.history import thread_config
from vetoflow.runs.index import new_run_id
from vetoflow.runs.lineage import new_row
from vetoflow.runs.views import Replayed, RunView
from vetoflow.scenario import apply_overrides
from vetoflow.state import RunState

if TYPE_CHECKING:
    from vetoflow.context import Context
    from vetoflow.graph import Graph
    from vetoflow.runs.index import RunIndex
    from vetoflow.runs.lease import Leases
    from vetoflow.runs.lineage import Lineage
    from vetoflow.runs.queueing import JobDispatcher


class Replaying(CarriesRuns):
    """Mixed into `RunService`, which provides the attributes declared here."""

    graph: Graph
    context: Context
    index: RunIndex
    leases: Leases
    lineage: Lineage
    dispatcher: JobDispatcher | None

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
        requester: str | None = None,
        via: str = "api",
    ) -> Replayed:
        """Fork a saved checkpoint into a new run and run it on; the source run is left untouched.

        Default: from the last time the Forecaster was about to run, i.e. on the scenario (revisions
        included) that produced the run's current figures. Every front end gets this same default.
        `replay_run_id` fixes the new run's id in advance (a queued batch, so a repeated job never forks twice).
        `requester`: who asked for the replay, recorded as the new run's requester (four-eyes: they cannot
        approve it); without one the source run's requester stays, so nobody gets around the rule by omission.
        Nor can the source's requester and revisers (and those of the runs it replays): they wrote its figures.
        `via`: the front end asking, recorded in the new run's `run.started` audit entry.
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
        revisers = [r.reviewer for r in latest_state.revisions]
        revisers += [r.reviewer for r in latest_state.reviews if r.action == "revise"]  # older releases' revises
        authors = replayed_authors(run_id, latest_state.requester, revisers, latest_state.lineage_authors)
        source_cp = copy_into_new_thread(
            saver, source, run_id, new_id, changed, inherited_veto=inherited, requester=requester,
            lineage_authors=authors,
        )  # fmt: skip
        node = from_node or next(n for n in source.next if not n.startswith("__"))
        name = f"{source_row.name[:150]} (replay of {run_id})"  # tells replays apart in `vetoflow runs`
        lineage = new_row(run_id, new_id, source_cp, node, overrides=overrides or {}, llm_model=llm_model)
        lease = None if self.dispatcher else self.leases.fresh()  # executed here: the row is born with our lease
        inputs = scenario.model_dump(mode="json")
        forked = {"replay_of": run_id, "checkpoint": source_cp, "from_node": node, "overrides": overrides or {}}
        entry = started_entry(
            new_id, inputs, actor=requester or "system", via=via, queued=self.dispatcher is not None,
            replay=forked | ({"llm_model": llm_model} if llm_model else {}),
        )  # fmt: skip
        self.lineage.record_with_run(lineage, name, scenario.investment, inputs, lease=lease, also=entry)
        old = RunView(run=source_row, state=latest_state, next_nodes=list(latest.next))
        if self.dispatcher:
            return Replayed(old=old, new=self._enqueue(new_id, "replay"))
        return Replayed(old=old, new=self._advance(new_id, lambda: None, on_step, owner=lease[0] if lease else None))
