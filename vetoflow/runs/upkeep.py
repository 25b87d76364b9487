"""`RunService.reconcile` and `RunService.sweep`: the periodic upkeep a server or worker runs.

Split from runs/service.py; `RunService` inherits it. Both repair what time or an outage left behind
(index rows out of line with their checkpoints, deadlines due) through the same `_advance` and `refresh`
every command uses, so a repair obeys the same leases and writes the same records.
"""

from __future__ import annotations

import builtins
import contextlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from langgraph.types import Command

from vetoflow.errors import LeaseLostError, RunBusyError, VetoflowError
from vetoflow.runs.catch_up import adopt_unrecorded, unfinished_expiries, unrecorded_paused
from vetoflow.runs.execution import CarriesRuns
from vetoflow.runs.history import thread_config
from vetoflow.runs.settling import Settling
from vetoflow.runs.sweep import SweepReport, sweep
from vetoflow.runs.views import Drift

if TYPE_CHECKING:
    from vetoflow.runs.lease import Leases
    from vetoflow.runs.queueing import JobDispatcher


class Upkeep(Settling, CarriesRuns):
    """Mixed into `RunService`; repairs settle runs through `Settling.refresh`, as every command does."""

    leases: Leases
    dispatcher: JobDispatcher | None

    def reconcile(self, *, repair: bool = False) -> builtins.list[Drift]:
        """Index rows out of line with their checkpoints (after an outage), and queued rows no job will run;
        `repair` refreshes the rows (only where no executor holds a live lease) and re-dispatches or flags
        the queued ones (runs/reconcile.py)."""
        from vetoflow.runs.reconcile import Repairs, reconcile

        def refresh(run_id: str, error: str | None) -> bool:
            try:
                self.refresh(run_id, error, owner=None)
            except LeaseLostError:  # an executor took the run meanwhile: its refresh will settle the row
                return False
            return True

        repairs = Repairs(refresh=refresh, redispatch=lambda run_id: self._enqueue(run_id, "retry"))
        return reconcile(
            self.index, self.graph, repairs, dispatcher=self.dispatcher, grace=self.leases.ttl, repair=repair
        )

    def sweep(self) -> SweepReport:
        """Reminders, escalations and expiries that are due (governance.sweep); expired runs end rejected.

        In queue mode (an API replica's pump, the Lambda schedule) a run the sweep closed is handed to the
        workers, as a decision's is, instead of being carried on in the sweeping process."""
        if self.gate is None:
            raise VetoflowError("this service has no approval gate")

        def resume(run_id: str, payload: dict[str, Any]) -> None:
            if self.dispatcher:  # queue mode: a worker carries the run on with the recorded decision
                self._enqueue(run_id, "decide")
                return
            self._advance(run_id, lambda: Command(resume=payload), None)

        def pending(run_id: str) -> tuple[str, dict[str, Any]] | None:
            snapshot = self.graph.get_state(thread_config(run_id))
            return (snapshot.interrupts[0].id, dict(snapshot.values)) if snapshot.interrupts else None

        adopted = adopt_unrecorded(self.gate, unrecorded_paused(self.gate), pending)
        finished = []
        expiries = unfinished_expiries(self.gate, pending, timedelta(seconds=self.leases.ttl))
        if self.dispatcher and expiries:  # a run whose job still waits for a worker is not deferred again
            waiting = self.dispatcher.live_runs([run_id for run_id, _ in expiries])
            expiries = [(run_id, payload) for run_id, payload in expiries if run_id not in waiting]
        for run_id, payload in expiries:
            with contextlib.suppress(RunBusyError):  # another process is finishing it right now
                resume(run_id, payload)
                finished.append(run_id)
        report = sweep(self.gate, lambda run_id: dict(self._snapshot(run_id).values), resume)
        report.adopted, report.resumed = adopted, [*finished, *report.resumed]
        return report
