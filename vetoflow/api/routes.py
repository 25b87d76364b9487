"""The JSON endpoints: create, list, read, decide, retry and replay runs."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile

from vetoflow.api.deps import (
    ERRORS,
    QUEUED,
    IdempotencyKey,
    Reviewer,
    RunId,
    Wait,
    allow,
    no_unknown_query,
    service_of,
    settings_of,
)
from vetoflow.api.replies import answer
from vetoflow.api.schemas import (
    CommentIn,
    CommentsOut,
    CreateRunIn,
    DecisionIn,
    History,
    ReplayIn,
    RunList,
    RunOut,
    SafeJSONResponse,
    Step,
)
from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.runs.comments import CommentRow
from vetoflow.runs.idempotency import fingerprint
from vetoflow.runs.views import RunView
from vetoflow.scenario import Scenario, load_scenario
from vetoflow.state import RunStatus

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
router = APIRouter(responses=ERRORS, dependencies=[Depends(no_unknown_query)])


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


def without_folder(message: str, folder: str) -> str:
    """The upload's temporary folder is the server's business: files are named as uploaded (`segments.csv`)."""
    for form in sorted({str(Path(folder).resolve()), folder}, key=len, reverse=True):
        message = message.replace(f"{form}{os.sep}", "").replace(form, "<upload>")
    return message


@router.post("/runs", status_code=201, response_model=RunOut, summary="Start a run", responses=QUEUED)
async def create_run(
    body: CreateRunIn, request: Request, who: Reviewer, key: IdempotencyKey = None, wait: Wait = False
) -> SafeJSONResponse:
    """Runs the graph until it completes, fails or pauses for a human (status `paused`); in queue mode,
    records the run as `queued` and answers 202 with its `Location` (unless `?wait=true`)."""
    settings = settings_of(request)
    allow(request, "start")

    parts = body.model_dump(mode="json")
    keyed = None if key is None else fingerprint("run", who, key, parts)[:12]  # a repeat names the same run

    def start() -> RunView:
        scenario = body.scenario or scenario_from_path(settings, body.scenario_path or "")
        if keyed is not None:
            return service_of(request).start_once(scenario, run_id=keyed, requester=who)
        return service_of(request).start(scenario, requester=who)

    return await answer(request, start, wait=wait, done=201, idempotency=(who, key, parts))


@router.post(
    "/runs/upload", status_code=201, response_model=RunOut, summary="Start a run from uploaded files", responses=QUEUED
)
async def upload_run(
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

    def start() -> RunView:
        parsed = uploaded_scenario(settings, uploads)
        return service_of(request).start(parsed, requester=who)

    return await answer(request, start, wait=wait, done=201)


def uploaded_scenario(settings: Settings, uploads: list[UploadFile]) -> Scenario:
    """The scenario (first upload) read beside its attachments in a folder of their own, then gone."""
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
            return load_scenario(Path(folder) / (uploads[0].filename or ""), max_bytes=settings.max_file_bytes)
        except VetoflowError as exc:
            raise VetoflowError(without_folder(str(exc), folder)) from None


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
async def decide(
    run_id: RunId, body: DecisionIn, request: Request, who: Reviewer, *, key: IdempotencyKey = None, wait: Wait = False
) -> SafeJSONResponse:
    """Exactly one decision wins each pause; a later one gets 409 naming who decided and when."""
    service = service_of(request)
    allow(request, "revise" if body.action == "revise" else "decide")

    def apply() -> RunView:
        return (service.decide if key is None else service.decide_once)(
            run_id,
            body.action,
            reviewer=who,
            comment=body.comment,
            overrides=body.overrides,
            user=request.state.user,
            digest=body.digest,
            via="api",
        )

    parts = [run_id, body.model_dump(mode="json")]
    return await answer(request, apply, wait=wait, done=200, idempotency=(who, key, parts))


@router.post(
    "/runs/{run_id}/retry", response_model=RunOut, summary="Resume a failed or interrupted run", responses=QUEUED
)
async def retry(run_id: RunId, request: Request, _who: Reviewer, wait: Wait = False) -> SafeJSONResponse:
    allow(request, "start")
    return await answer(request, lambda: service_of(request).retry(run_id), wait=wait, done=200)


@router.post(
    "/runs/{run_id}/replay", status_code=201, response_model=RunOut, summary="Replay as a new run", responses=QUEUED
)
async def replay(
    run_id: RunId, request: Request, who: Reviewer, body: ReplayIn | None = None, wait: Wait = False
) -> SafeJSONResponse:
    """Forks a checkpoint of the run into a new run and runs it on; the original run and its history stay.

    Without a body it replays the whole run from the last time the Forecaster ran, i.e. on the scenario
    (revisions included) that produced its current figures, as `vetoflow replay RUN_ID` does.
    """
    allow(request, "start")
    given = body or ReplayIn()

    def fork() -> RunView:
        return (
            service_of(request)
            .replay(
                run_id,
                checkpoint_id=given.checkpoint_id,
                from_node=given.from_node,
                overrides=given.overrides or None,
                requester=who,  # the replay is theirs: four-eyes keeps them from approving it
            )
            .new
        )

    return await answer(request, fork, wait=wait, done=201)


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
