"""The doctor's check: every unfinished-looking index row against its run's checkpoint.

A database outage can leave rows behind their checkpoints (a paused run listed as running, so missing
from the inbox). Rows whose executor holds a live lease are left alone; a run stopped mid-graph is
reported as stalled (resume it with retry), not rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from vetoflow.runs.history import derive_status, has_state, thread_config
from vetoflow.runs.views import Drift

if TYPE_CHECKING:
    from vetoflow.graph import Graph
    from vetoflow.runs.index import RunIndex


def reconcile(
    index: RunIndex, graph: Graph, refresh: Callable[[str, str | None], object], *, repair: bool = False
) -> list[Drift]:
    """`refresh(run_id, error)` rewrites a row from its checkpoint: the service's own, so one code writes rows."""
    drifts = []
    for row in index.list_runs(("running", "stalled", "failed", "paused"), limit=1_000_000):
        if row.status == "running":
            continue  # a live lease: someone is executing it right now
        snapshot = graph.get_state(thread_config(row.run_id))
        if not has_state(snapshot):
            continue  # crashed before its first checkpoint: retry starts it from the stored scenario
        truth = derive_status(snapshot)
        if truth == "running":
            if row.status != "failed":
                note = f"stopped mid-graph: vetoflow retry {row.run_id}"
                drifts.append(Drift(run_id=row.run_id, listed_as=row.status, checkpoint_says=truth, note=note))
            continue
        if truth == row.status:
            continue
        drift = Drift(run_id=row.run_id, listed_as=row.status, checkpoint_says=truth)
        if repair:
            refresh(row.run_id, None if truth != "failed" else row.error or "failed (see trace)")
            drift.repaired = True
        drifts.append(drift)
    return drifts
