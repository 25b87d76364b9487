"""`GET /audit` (the hash-chained decision log) and `GET /notifications` (the outbox with its tries)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from vetoflow.api.deps import ERRORS, Reviewer, allow, no_unknown_query, service_of
from vetoflow.runs.audit import since_text

router = APIRouter(responses=ERRORS, dependencies=[Depends(no_unknown_query)])
MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def _since(value: str | None) -> str | None:
    refusal = f"since: {(value or '')[:40]!r} is not an ISO 8601 date or date-time"
    return since_text(value, refusal)


@router.get("/audit", summary="The audit log, oldest first (needs a role granting `audit`, e.g. admin)")
def get_audit(
    request: Request,
    _who: Reviewer,
    since: Annotated[str | None, Query(max_length=40, description="ISO 8601 date or date-time (UTC).")] = None,
    format: Annotated[Literal["jsonl", "csv"], Query(description="jsonl (one entry a line) or csv.")] = "jsonl",
    run: Annotated[
        str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Only this run's entries (not a chain).")
    ] = None,
) -> StreamingResponse:
    allow(request, "audit")
    start = _since(since)
    return StreamingResponse(service_of(request).audit_export(format, start, run), media_type=MEDIA[format])


@router.get("/notifications", summary="The notification outbox, newest first, with each try")
def get_notifications(
    request: Request,
    _who: Reviewer,
    run: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    allow(request, "audit")
    service = service_of(request)
    if run is not None:
        service.index.get(run)  # an unknown run is 404, as for every other route naming one (not an empty list)
    return service.notifications(run, limit)
