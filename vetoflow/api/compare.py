"""`GET /runs/{run_a}/compare/{run_b}`: two runs side by side, as `vetoflow compare` and the console show them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from vetoflow.api.deps import ERRORS, Reviewer, RunId, no_unknown_query, service_of
from vetoflow.risk.compare import RunComparison

router = APIRouter(responses=ERRORS, dependencies=[Depends(no_unknown_query)])


@router.get(
    "/runs/{run_a}/compare/{run_b}",
    summary="Compare two runs: inputs changed, risk figures side by side, both NPV distributions",
    response_model=RunComparison,
)
def compare_runs(run_a: RunId, run_b: RunId, request: Request, _who: Reviewer) -> RunComparison:
    """Any two runs (a run and its revision or replay, or two plans); 404 names a run that does not exist.

    The body is the typed `RunComparison`: `inputs_changed`, `figures` (formatted and raw values) and `sides`
    (name, currency, revision and the simulated outcomes with their NPV histogram, or null for band-only runs).
    """
    return service_of(request).compare(run_a, run_b)
