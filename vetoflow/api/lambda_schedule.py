"""`POST /lambda/scheduled`: the clock of a Lambda deployment.

A Lambda instance is frozen between requests, and the background pump (notifications, deadlines, the
reconciler) freezes with it: a paused run would be announced, reminded or expired only when someone next
opened the console. The SAM template therefore schedules an EventBridge event every minute; the Lambda
Web Adapter POSTs such non-HTTP events to `AWS_LWA_PASS_THROUGH_PATH`, which the template points here.

Mounted on Lambda only, and only for the adapter's pass-through: EventBridge sends no credentials, so an
HTTP request (through the Function URL: the adapter forwards its request context, and the caller's
`X-Forwarded-For`) is refused with 403, whoever sends it. What a pass does is
due anyway and idempotent (fenced like every other sweep), at most once per `MIN_INTERVAL` seconds per
instance; each chore runs even if another fails, and the answer is counts and errors only.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from vetoflow.identity.roles import PermissionDeniedError
from vetoflow.runs.pump import Pump

MIN_INTERVAL = 20.0  # seconds between passes per instance, whoever asks
PATH = "/lambda/scheduled"

router = APIRouter(include_in_schema=False)


class ScheduledEvent(BaseModel):
    """The fields of an EventBridge scheduled event that are checked (the rest is ignored)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    source: Literal["aws.events", "aws.scheduler"]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")


class Pass(BaseModel):
    ran: bool
    done: dict[str, int] = Field(default_factory=dict)
    errors: list[str] | None = None  # chores that failed (the others still ran)
    reason: str | None = None


class Clock:
    """When this instance last ran a pass; a lock so two requests at once make one pass."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last = float("-inf")


NOT_AN_EVENT = "only the function's scheduled event may call this path (it came as an HTTP request)"


def from_http(request: Request) -> bool:
    """Whether the Web Adapter made this request from an HTTP event (a Function URL call). It forwards every
    event's request context as `x-amzn-request-context`: an object for HTTP events (API Gateway, Function
    URL, ALB), JSON `null` for a pass-through event; and HTTP events carry the caller's `X-Forwarded-For`."""
    if "x-forwarded-for" in request.headers:
        return True
    context = request.headers.get("x-amzn-request-context")
    if context is None:
        return False
    try:
        return json.loads(context) is not None
    except ValueError:
        return True  # not what the adapter writes: refused


@router.post(PATH, response_model=Pass, response_model_exclude_none=True)
def scheduled(request: Request, event: Annotated[ScheduledEvent, Body()]) -> Pass:
    if from_http(request):
        raise PermissionDeniedError(NOT_AN_EVENT)
    clock: Clock = request.app.state.schedule_clock
    pump: Pump = request.app.state.pump
    if not clock.lock.acquire(blocking=False):
        return Pass(ran=False, reason="a pass is running")
    try:
        waited = time.monotonic() - clock.last
        if waited < MIN_INTERVAL:
            why = f"the last pass ended {waited:.0f} s ago (at most one per {MIN_INTERVAL:.0f} s)"
            return Pass(ran=False, reason=why)
        done, errors = pump.once()
        clock.last = time.monotonic()  # from the end of a pass: a slow pass does not shorten the interval
        return Pass(ran=True, done=done, errors=errors or None)
    finally:
        clock.lock.release()
