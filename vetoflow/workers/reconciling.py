"""The reconciler on the workers: at a worker's start and every VETOFLOW_RECONCILE_EVERY seconds (one pass
per period across all workers, on the maintenance queue), index rows are brought back in line with their
checkpoints and queued runs without a job are handed to the workers again.

A worker's own service never defers (it executes); re-dispatching needs the queue, so the pass opens one.
"""

from __future__ import annotations

import logging

from procrastinate import JobContext

from vetoflow.config import Settings
from vetoflow.db.job_queue import open_queue
from vetoflow.runs.reconcile import repaired_text
from vetoflow.runs.service import RunService
from vetoflow.runs.views import Drift

log = logging.getLogger(__name__)
RECONCILE = "vetoflow.reconcile"


def reconcile_runs(service: RunService, settings: Settings) -> list[Drift]:
    """One repairing pass with a dispatcher, so queued runs that lost their job are re-dispatched."""
    with open_queue(settings) as queue:
        drifts = service.with_dispatcher(queue).reconcile(repair=True)
    if repaired := [d for d in drifts if d.repaired]:
        log.info("reconciler: %s", repaired_text(repaired))
    return drifts


def periodic_reconcile(context: JobContext, timestamp: int) -> None:
    runtime = context.additional_context["runtime"]
    drifts = reconcile_runs(runtime.service, runtime.settings)
    log.info("periodic %s for %s: %d drift(s)", RECONCILE, timestamp, len(drifts))
