"""`GET /runs/{id}/events`: a run's progress as Server-Sent Events, in inline and queue mode alike.

Events come from the run's event log (written wherever the run executes), so any API replica can stream
any run. Each event's `id` is its log id: reconnect with `Last-Event-ID` to get only what came after.
The stream ends once the run has settled (paused, completed, rejected, failed) and everything is sent.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from vetoflow.api.deps import ERRORS, Reviewer, RunId, no_unknown_query, service_of
from vetoflow.runs.service import RunService

POLL_SECONDS = 0.2
MAX_STREAM_SECONDS = 3600.0  # a client watching longer reconnects with Last-Event-ID
PING_SECONDS = 15

router = APIRouter(responses=ERRORS)

LastEventId = Annotated[
    str | None,
    Header(alias="Last-Event-ID", pattern=r"^[0-9]{1,18}$", description="Resume after this event id."),
]


@router.get(
    "/runs/{run_id}/events",
    summary="Stream the run's progress (Server-Sent Events)",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "node_started, node_finished, ..."}},
)
async def run_events(
    run_id: RunId, request: Request, _who: Reviewer, last_event_id: LastEventId = None
) -> EventSourceResponse:
    """Events `queued`, `running`, `node_started`, `node_finished`, `paused`, `completed`, `rejected`,
    `failed`; each `data` is the event as JSON. The whole history first, then live, until the run settles."""
    no_unknown_query(request)
    service = service_of(request)
    await anyio.to_thread.run_sync(service.row, run_id)  # 404 before the stream starts
    return EventSourceResponse(_stream(service, run_id, int(last_event_id or 0)), ping=PING_SECONDS)


async def _stream(service: RunService, run_id: str, after: int) -> AsyncIterator[ServerSentEvent]:
    deadline = time.monotonic() + MAX_STREAM_SECONDS
    while time.monotonic() < deadline:
        events = await anyio.to_thread.run_sync(service.events_since, run_id, after)
        for event in events:
            after = event.id
            yield ServerSentEvent(data=event.model_dump_json(), event=event.kind, id=str(event.id))
        if not events and await anyio.to_thread.run_sync(service.settled_after, run_id, after):
            return
        await anyio.sleep(0 if events else POLL_SECONDS)
