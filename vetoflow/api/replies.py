"""How a command's result becomes a response: idempotent repeats, 202 with `Location`, waiting in queue mode.

The command (one service call) runs in a worker thread; a `?wait=true` then waits on the event loop
(`RunService.wait_settled`), so waiting requests hold none of the threads every other request needs.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import anyio
from fastapi import Request

from vetoflow.api.deps import service_of, settings_of
from vetoflow.api.schemas import ErrorOut, RunOut, SafeJSONResponse
from vetoflow.db.errors import DATABASE_ERRORS
from vetoflow.errors import VetoflowError
from vetoflow.runs.idempotency import IdempotencyStore, StoredResponse, fingerprint
from vetoflow.runs.queueing import UNSETTLED
from vetoflow.runs.views import RunView

Command = Callable[[], RunView]


async def answer(
    request: Request,
    command: Command,
    *,
    wait: bool,
    done: int,
    idempotency: tuple[str, str | None, Any] | None = None,
) -> SafeJSONResponse:
    """Run `command`, wait for its run if asked, and answer `done` (201, 200) or 202 with `Location`.

    `idempotency` (reviewer, key, what the request said): a key runs the command once per reviewer; a
    repeat gets the stored first answer, errors and a 202 included.
    """
    who, key, parts = idempotency or ("", None, None)
    if key is None:
        view = await settled(request, await _run(command), wait)
        body = RunOut.of(view).model_dump(mode="json")
        return accepted(request, SafeJSONResponse(body, status_code=status_of(request, view, done)))
    store = service_of(request).idempotency
    first = await anyio.to_thread.run_sync(store.claim, who, key, fingerprint(request.url.path, parts))
    if first is not None:
        return accepted(request, _replayed(first))
    try:
        view = await _run(command)
    except VetoflowError as exc:
        if exc.http_status >= 500:  # an outage is no answer to keep: the repeat it invites must be tried anew
            with anyio.CancelScope(shield=True):  # the database still away: released once it is back
                await anyio.to_thread.run_sync(store.release_soon, who, key)
            raise
        result = StoredResponse(exc.http_status, ErrorOut(error=str(exc)).model_dump_json())
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(store.release, who, key)
        raise
    else:
        result = _stored(request, view, done)  # what a repeat gets if the wait goes no further
        try:
            result = _stored(request, await settled(request, view, wait), done)
        except BaseException:  # the client left, or the database mid-wait: the command is done all the same
            await _finish(store, who, key, result)
            raise
    await _finish(store, who, key, result)
    return accepted(request, _replayed(result, replayed=False))


async def _run(command: Command) -> RunView:
    """In a worker thread, to its end even if the client leaves: what it did is then known and answered."""
    with anyio.CancelScope(shield=True):
        view = await anyio.to_thread.run_sync(command)
    return view


async def _finish(store: IdempotencyStore, who: str, key: str, result: StoredResponse) -> None:
    """Store the answer for repeats; if the database refuses, only the replay record is missing."""
    with anyio.CancelScope(shield=True), contextlib.suppress(*DATABASE_ERRORS):
        await anyio.to_thread.run_sync(store.finish, who, key, result)


def _stored(request: Request, view: RunView, done: int) -> StoredResponse:
    return StoredResponse(status_of(request, view, done), RunOut.of(view).model_dump_json())


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


async def settled(request: Request, view: RunView, wait: bool) -> RunView:
    service = service_of(request)
    if wait and service.queued and view.status in UNSETTLED:
        return await service.wait_settled(view.run.run_id, settings_of(request).api_wait_seconds)
    return view


def status_of(request: Request, view: RunView, done: int) -> int:
    """`done` (201, 200) once the run has paused, ended or failed; 202 while it waits for a worker, which is
    also what a `?wait=true` answers when the worker has not settled the run by the deadline."""
    return 202 if service_of(request).queued and view.status in UNSETTLED else done
