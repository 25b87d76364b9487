"""How a command's result becomes a response: idempotent repeats, 202 with `Location`, waiting in queue mode."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import Request
from pydantic import BaseModel

from vetoflow.api.deps import service_of, settings_of
from vetoflow.api.schemas import ErrorOut, SafeJSONResponse
from vetoflow.db.errors import DATABASE_ERRORS
from vetoflow.errors import VetoflowError
from vetoflow.runs.idempotency import StoredResponse, fingerprint
from vetoflow.runs.queueing import UNSETTLED
from vetoflow.runs.views import RunView


def idempotent(
    request: Request, who: str, key: str | None, parts: Any, *, action: Callable[[], tuple[int, BaseModel]]
) -> SafeJSONResponse:
    """Run `action` (its status and body) once per (reviewer, key); a repeat gets the stored first result,
    errors and a 202 included."""
    if key is None:
        status, body = action()
        return SafeJSONResponse(body.model_dump(mode="json"), status_code=status)
    store = service_of(request).idempotency
    first = store.claim(who, key, fingerprint(request.url.path, parts))
    if first is not None:
        return _replayed(first)
    try:
        status, body = action()
        result = StoredResponse(status, body.model_dump_json())
    except VetoflowError as exc:
        if exc.http_status >= 500:  # an outage is no answer to keep: the repeat it invites must be tried anew
            with contextlib.suppress(*DATABASE_ERRORS):  # still away: the claim goes stale instead
                store.release(who, key)
            raise
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


def run_status(request: Request, view: RunView, done: int) -> int:
    """`done` (201, 200) once the run has paused, ended or failed; 202 while it waits for a worker, which is
    also what a `?wait=true` answers when the worker has not settled the run by the deadline."""
    return 202 if service_of(request).queued and view.status in UNSETTLED else done
