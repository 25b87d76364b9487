"""The JSON endpoints: create, list, read, decide, retry and replay runs."""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Header, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel

from vetoflow.api.auth import bearer, current_reviewer
from vetoflow.api.schemas import (
    CommentIn,
    CommentsOut,
    CreateRunIn,
    DecisionIn,
    ErrorOut,
    History,
    ReplayIn,
    RunList,
    RunOut,
    SafeJSONResponse,
    Step,
)
from vetoflow.config import Settings
from vetoflow.db.errors import DATABASE_ERRORS
from vetoflow.errors import VetoflowError
from vetoflow.identity.roles import Action, require
from vetoflow.runs.comments import CommentRow
from vetoflow.runs.idempotency import StoredResponse, fingerprint
from vetoflow.runs.service import RunService
from vetoflow.runs.views import RunView
from vetoflow.scenario import Scenario, load_scenario
from vetoflow.state import RunStatus

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": why}
    for code, why in {
        400: "the body could not be parsed (not JSON, not UTF-8, or a broken multipart form)",
        401: "missing or invalid bearer token",
        403: "your role does not allow this action (the message names the role needed)",
        404: "no such run",
        409: "the pause was already decided (by whom and when), or its figures changed since you opened it",
        413: "request body too large",
        422: "invalid input (the message names the field and what is allowed)",
        503: "the run database is unavailable; retry shortly",
    }.items()
}


def reviewer(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    return current_reviewer(request, credentials)


Reviewer = Annotated[str, Depends(reviewer)]
RunId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The run's id.")]
Wait = Annotated[
    bool,
    Query(description="Queue mode: answer once a worker has paused, ended or failed the run (as inline mode)."),
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


QUEUED: dict[int | str, dict[str, Any]] = {
    202: {"model": RunOut, "description": "queue mode: recorded and queued for a worker; `Location` is the run"}
}
router = APIRouter(responses=ERRORS, dependencies=[Depends(no_unknown_query)])


def allow(request: Request, action: Action) -> None:
    """The permission check for this request's user (set by the `Reviewer` dependency); 403 if refused."""
    require(request.state.user, action)


def service_of(request: Request) -> RunService:
    service: RunService = request.app.state.service
    return service


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def idempotent(
    request: Request, who: str, key: str | None, parts: Any, *, status: int, action: Callable[[], BaseModel]
) -> SafeJSONResponse:
    """Run `action` once per (reviewer, key); a repeat gets the stored first result, errors included."""
    if key is None:
        return SafeJSONResponse(action().model_dump(mode="json"), status_code=status)
    store = service_of(request).idempotency
    first = store.claim(who, key, fingerprint(request.url.path, parts))
    if first is not None:
        return _replayed(first)
    try:
        result = StoredResponse(status, action().model_dump_json())
    except VetoflowError as exc:
        result = StoredResponse(exc.http_status, ErrorOut(error=str(exc)).model_dump_json())
    except BaseException:
        store.release(who, key)
        raise
    with contextlib.suppress(*DATABASE_ERRORS):  # the command is done; only its replay record is missing
        store.finish(who, key, result)
    return _replayed(result, replayed=False)


def _replayed(stored: StoredResponse, *, replayed: bool = True) -> SafeJSONResponse:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return SafeJSONResponse(json.loads(stored.body), status_code=stored.status_code, headers=headers)


def accepted(request: Request, response: SafeJSONResponse) -> SafeJSONResponse:
    """202 Accepted (queue mode) says where to follow the run: `Location` is the run's own URL."""
    if response.status_code == 202:
        body = json.loads(bytes(response.body))
        run_id = body.get("run", {}).get("run_id") if isinstance(body, dict) else None
        if isinstance(run_id, str):
            response.headers["Location"] = str(request.url_for("get_run", run_id=run_id))
    return response


def settled(request: Request, view: RunView, wait: bool) -> RunView:
    service = service_of(request)
    if wait and service.queued:
        return service.wait_settled(view.run.run_id, settings_of(request).api_wait_seconds)
    return view


def queued_status(request: Request, wait: bool, inline: int) -> int:
    return 202 if service_of(request).queued and not wait else inline


def scenario_from_path(settings: Settings, relative: str) -> Scenario:
    """Only files inside the scenario folder: no absolute paths, no `..`, no symlinks out of it."""
    base = (settings.scenario_dir or EXAMPLES).resolve()
    given = Path(relative)
    candidate = (base / given).resolve()
    if given.is_absolute() or ".." in given.parts or not candidate.is_relative_to(base):
        raise VetoflowError(f"scenario_path: {relative!r} must be a relative path inside the scenario folder")
    try:
        return load_scenario(candidate, max_bytes=settings.max_file_bytes)
    except VetoflowError as exc:
        raise VetoflowError(str(exc).replace(str(base), "<scenarios>")) from None


@router.post("/runs", status_code=201, response_model=RunOut, summary="Start a run", responses=QUEUED)
def create_run(
    body: CreateRunIn, request: Request, who: Reviewer, key: IdempotencyKey = None, wait: Wait = False
) -> SafeJSONResponse:
    """Runs the graph until it completes, fails or pauses for a human (status `paused`); in queue mode,
    records the run as `queued` and answers 202 with its `Location` (unless `?wait=true`)."""
    settings = settings_of(request)
    allow(request, "start")

    def start() -> RunOut:
        scenario = body.scenario or scenario_from_path(settings, body.scenario_path or "")
        return RunOut.of(settled(request, service_of(request).start(scenario, requester=who), wait))

    status = queued_status(request, wait, 201)
    return accepted(request, idempotent(request, who, key, body.model_dump(mode="json"), status=status, action=start))


@router.post(
    "/runs/upload", status_code=201, response_model=RunOut, summary="Start a run from uploaded files", responses=QUEUED
)
def upload_run(
    request: Request,
    who: Reviewer,
    scenario: Annotated[UploadFile, File(description="The scenario, .yaml/.yml/.json.")],
    attachments: Annotated[list[UploadFile] | None, File(description="CSV files the scenario names.")] = None,
    wait: Wait = False,
) -> SafeJSONResponse:
    """Upload names must be plain file names; the scenario may only reference files uploaded with it."""
    settings = settings_of(request)
    allow(request, "start")
    uploads = [scenario, *(attachments or [])]
    with tempfile.TemporaryDirectory(prefix="vetoflow-upload-") as folder:
        for index, upload in enumerate(uploads):
            name = upload.filename or ""
            field = "scenario" if index == 0 else f"attachments[{index - 1}]"
            if not SAFE_NAME.match(name) or ".." in name:
                raise VetoflowError(f"{field}: file name {name[:80]!r} must be a plain name like 'plan.yaml'")
            suffixes = (".yaml", ".yml", ".json") if index == 0 else (".csv",)
            if not name.lower().endswith(suffixes):
                raise VetoflowError(f"{field}: {name!r} must end with {', '.join(suffixes)}")
            (Path(folder) / name).write_bytes(upload.file.read(settings.max_file_bytes + 1))
        try:
            parsed = load_scenario(Path(folder) / (scenario.filename or ""), max_bytes=settings.max_file_bytes)
        except VetoflowError as exc:
            raise VetoflowError(str(exc).replace(str(Path(folder).resolve()), "").replace(folder, "")) from None
    view = settled(request, service_of(request).start(parsed, requester=who), wait)
    response = SafeJSONResponse(RunOut.of(view).model_dump(mode="json"), status_code=queued_status(request, wait, 201))
    return accepted(request, response)


@router.get("/runs", response_model=RunList, summary="List runs, newest first")
def list_runs(
    request: Request,
    _who: Reviewer,
    status: Annotated[list[RunStatus] | None, Query(description="Filter by status (repeatable).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Deprecated: prefer `cursor`.")] = 0,
    cursor: Annotated[
        str | None, Query(max_length=128, description="The `next_cursor` of the previous page (keyset paging).")
    ] = None,
) -> RunList:
    page = service_of(request).page(status or (), limit=limit, offset=offset, after=cursor)
    return RunList(runs=page.runs, limit=limit, offset=offset, next_cursor=page.next_cursor)


@router.get("/runs/{run_id}", response_model=RunOut, summary="One run: state, pause, decisions, summary")
def get_run(run_id: RunId, request: Request, _who: Reviewer) -> RunOut:
    return RunOut.of(service_of(request).view(run_id))


@router.post(
    "/runs/{run_id}/decision",
    response_model=RunOut,
    summary="Approve, reject or revise a paused run",
    responses=QUEUED,
)
def decide(
    run_id: RunId, body: DecisionIn, request: Request, who: Reviewer, *, key: IdempotencyKey = None, wait: Wait = False
) -> SafeJSONResponse:
    """Exactly one decision wins each pause; a later one gets 409 naming who decided and when."""
    service = service_of(request)
    allow(request, "revise" if body.action == "revise" else "decide")

    def apply() -> RunOut:
        view = service.decide(
            run_id,
            body.action,
            reviewer=who,
            comment=body.comment,
            overrides=body.overrides,
            user=request.state.user,
            digest=body.digest,
            via="api",
        )
        return RunOut.of(settled(request, view, wait))

    parts = [run_id, body.model_dump(mode="json")]
    status = queued_status(request, wait, 200)
    return accepted(request, idempotent(request, who, key, parts, status=status, action=apply))


@router.post(
    "/runs/{run_id}/retry", response_model=RunOut, summary="Resume a failed or interrupted run", responses=QUEUED
)
def retry(run_id: RunId, request: Request, _who: Reviewer, wait: Wait = False) -> SafeJSONResponse:
    allow(request, "start")
    view = settled(request, service_of(request).retry(run_id), wait)
    response = SafeJSONResponse(RunOut.of(view).model_dump(mode="json"), status_code=queued_status(request, wait, 200))
    return accepted(request, response)


@router.post(
    "/runs/{run_id}/replay", status_code=201, response_model=RunOut, summary="Replay as a new run", responses=QUEUED
)
def replay(
    run_id: RunId, request: Request, _who: Reviewer, body: ReplayIn | None = None, wait: Wait = False
) -> SafeJSONResponse:
    """Forks a checkpoint of the run into a new run and runs it on; the original run and its history stay.

    Without a body it replays the whole run from the last time the Forecaster ran, i.e. on the scenario
    (revisions included) that produced its current figures, as `vetoflow replay RUN_ID` does.
    """
    allow(request, "start")
    body = body or ReplayIn()
    replayed = service_of(request).replay(
        run_id,
        checkpoint_id=body.checkpoint_id,
        from_node=body.from_node,
        overrides=body.overrides or None,
    )
    view = settled(request, replayed.new, wait)
    response = SafeJSONResponse(RunOut.of(view).model_dump(mode="json"), status_code=queued_status(request, wait, 201))
    return accepted(request, response)


@router.get("/runs/{run_id}/history", response_model=History, summary="The run's checkpoints, oldest first")
def history(run_id: RunId, request: Request, _who: Reviewer) -> History:
    service = service_of(request)
    steps = [
        Step(
            checkpoint_id=record.checkpoint_id,
            step=record.step,
            source=record.source,
            created_at=record.created_at.isoformat(),
            wrote=record.wrote,
            next=record.next,
        )
        for record in service.history(run_id)
    ]
    return History(run_id=run_id, steps=steps, decisions=service.decisions(run_id))


@router.post("/runs/{run_id}/comments", status_code=201, response_model=CommentRow, summary="Comment on a run")
def add_comment(run_id: RunId, body: CommentIn, request: Request, _who: Reviewer) -> CommentRow:
    """Anyone who may comment (viewer and up) adds to the run's thread without deciding; audited."""
    allow(request, "comment")
    return service_of(request).comment(run_id, request.state.user, body.text, via="api")


@router.get("/runs/{run_id}/comments", response_model=CommentsOut, summary="A run's comment thread, oldest first")
def list_comments(run_id: RunId, request: Request, _who: Reviewer) -> CommentsOut:
    return CommentsOut(run_id=run_id, comments=service_of(request).comments(run_id, request.state.user))
