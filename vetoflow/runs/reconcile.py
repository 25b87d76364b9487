"""The reconciler: every unfinished-looking index row against its run's checkpoint, and queued rows
against the job queue. `vetoflow doctor` runs it on demand; serve, ui and the workers at start and every
VETOFLOW_RECONCILE_EVERY seconds (with repair).

A database outage can leave rows behind their checkpoints (a paused run listed as running, so missing
from the inbox). Rows whose executor holds a live lease are left alone; a run stopped mid-graph is
reported as stalled (resume it with retry), not rewritten.

A queued row no job will pick up (the dispatcher's submit failed after the row was recorded, or the run
was queued before the installation went back to executing inline) is re-dispatched in queue mode (a run's
job is idempotent) and, in-process, flagged stalled: no one here would run it, and retry does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from vetoflow.clock import utcnow
from vetoflow.runs.history import derive_status, has_state, thread_config
from vetoflow.runs.views import Drift

if TYPE_CHECKING:
    from vetoflow.graph import Graph
    from vetoflow.runs.index import RunIndex, RunRow
    from vetoflow.runs.queueing import JobDispatcher

UNQUEUED_NOTE = "queued, but no job will run it (its dispatch was lost): vetoflow retry {run_id}"


@dataclass(frozen=True)
class Repairs:
    """The service's own writers, so one code writes rows: `refresh(run_id, error)` from the checkpoint
    (False when an executor took the run meanwhile), `redispatch(run_id)` to the workers."""

    refresh: Callable[[str, str | None], bool]
    redispatch: Callable[[str], object]


def reconcile(
    index: RunIndex,
    graph: Graph,
    repairs: Repairs,
    *,
    dispatcher: JobDispatcher | None,
    grace: float,
    repair: bool = False,
) -> list[Drift]:
    """`grace`: seconds a row may sit queued before its missing job counts (a dispatch may be under way)."""
    drifts = []
    for row in index.list_runs(("running", "stalled", "failed", "paused"), limit=1_000_000):
        if row.status == "running":
            continue  # a live lease: someone is executing it right now
        snapshot = graph.get_state(thread_config(row.run_id))
        if not has_state(snapshot):
            continue  # crashed before its first checkpoint: retry starts it from the stored scenario
        truth = derive_status(snapshot)
        if truth == "paused" and index.decision_for(row.run_id, snapshot.interrupts[0].id) is not None:
            truth = "running"  # decided, then its executor stopped: retry applies the recorded decision
        if truth == "running":
            if row.status != "failed":
                note = f"stopped mid-graph: vetoflow retry {row.run_id}"
                drifts.append(Drift(run_id=row.run_id, listed_as=row.status, checkpoint_says=truth, note=note))
            continue
        if truth == row.status:
            continue
        drift = Drift(run_id=row.run_id, listed_as=row.status, checkpoint_says=truth)
        if repair:
            if not repairs.refresh(row.run_id, None if truth != "failed" else row.error or "failed (see trace)"):
                continue  # being executed now: its executor settles the row
            drift.repaired = True
        drifts.append(drift)
    return drifts + _unqueued(index, repairs, dispatcher=dispatcher, grace=grace, repair=repair)


def _unqueued(
    index: RunIndex, repairs: Repairs, *, dispatcher: JobDispatcher | None, grace: float, repair: bool
) -> list[Drift]:
    before = utcnow() - timedelta(seconds=grace)
    waiting: list[RunRow] = [r for r in index.list_runs(("queued",), limit=1_000_000) if r.updated_at < before]
    live = dispatcher.live_runs([r.run_id for r in waiting]) if dispatcher is not None and waiting else set()
    drifts = []
    for row in waiting:
        if row.run_id in live:
            continue
        drift = Drift(run_id=row.run_id, listed_as="queued", checkpoint_says="queued")
        if repair and dispatcher is not None:
            repairs.redispatch(row.run_id)
            drift.repaired, drift.note = True, "re-dispatched to the workers"
        elif repair:
            note = UNQUEUED_NOTE.format(run_id=row.run_id)
            if not index.flag_unqueued(row.run_id, before, note):
                continue  # a retry or a job took it meanwhile
            drift.repaired, drift.note = True, f"flagged stalled (no worker here): vetoflow retry {row.run_id}"
        drifts.append(drift)
    return drifts


def repaired_text(drifts: list[Drift]) -> str:
    """One log line for a periodic pass: what each repaired row was listed as, and what it is now."""
    return "; ".join(f"{d.run_id}: {d.listed_as} -> {d.note or d.checkpoint_says}" for d in drifts)
