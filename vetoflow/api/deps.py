"""What every router shares: the caller, path and query parameters, the error table, the service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials

from vetoflow.api.auth import bearer, current_reviewer
from vetoflow.api.schemas import ErrorOut, RunOut
from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.identity.roles import Action, require
from vetoflow.runs.service import RunService

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": why}
    for code, why in {
        400: "the body could not be parsed (not JSON: the reason, line and column; not UTF-8; a broken multipart "
        "form), or the request was refused before any handler (NUL, deep nesting, a repeated key, a foreign Host)",
        401: "missing or invalid bearer token",
        403: "your role does not allow this action (the message names the role needed)",
        404: "no such run",
        409: "a conflict with the run's state: the pause was already decided (by whom and when), its figures "
        "changed since you opened it, it is not waiting for a decision, it has finished, or it is executing elsewhere",
        413: "request body too large",
        422: "invalid input (the message names the field and what is allowed)",
        503: "the run database is unavailable; retry shortly",
    }.items()
}
QUEUED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": RunOut,
        "description": "queue mode: recorded and queued for a worker (with ?wait=true: not settled by the deadline); "
        "`Location` is the run",
    }
}


def reviewer(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    return current_reviewer(request, credentials)


Reviewer = Annotated[str, Depends(reviewer)]
RunId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The run's id.")]
Wait = Annotated[
    bool,
    Query(
        description="Queue mode: answer once a worker has paused, ended or failed the run (as inline mode); "
        "202 with `Location` if it has not by VETOFLOW_API_WAIT_SECONDS."
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, description="Same key, same first result."),
]


def no_unknown_query(request: Request) -> None:
    """A misspelt filter (`?statuss=paused`) is refused rather than silently ignored."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    allowed = {param.alias for param in dependant.query_params} if dependant else set()
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise VetoflowError(f"unknown query parameter(s) {shown}; allowed: {', '.join(sorted(allowed)) or 'none'}")


def allow(request: Request, action: Action) -> None:
    """The permission check for this request's user (set by the `Reviewer` dependency); 403 if refused."""
    require(request.state.user, action)


def service_of(request: Request) -> RunService:
    service: RunService = request.app.state.service
    return service


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings
