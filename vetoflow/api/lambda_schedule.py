"""`POST /lambda/scheduled`: the clock of a Lambda deployment.

A Lambda instance is frozen between requests, and the background pump (notifications, deadlines, the
reconciler) freezes with it: a paused run would be announced, reminded or expired only when someone next
opened the console. The SAM template therefore schedules an EventBridge event every minute; the Lambda
Web Adapter POSTs such non-HTTP events to `AWS_LWA_PASS_THROUGH_PATH`, which the template points here.

Mounted on Lambda only. It takes no credentials (EventBridge sends none, and with `FunctionUrlAuth=NONE`
anyone can reach the path), so it can do nothing a caller chooses: it runs the chores that are due now,
each of which is idempotent and fenced like every other sweep, at most once per `MIN_INTERVAL` seconds
per instance, and answers only counts.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

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
    reason: str | None = None


class Clock:
    """When this instance last ran a pass; a lock so two requests at once make one pass."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last = float("-inf")


@router.post(PATH, response_model=Pass, response_model_exclude_none=True)
def scheduled(request: Request, event: Annotated[ScheduledEvent, Body()]) -> Pass:
    clock: Clock = request.app.state.schedule_clock
    pump: Pump = request.app.state.pump
    if not clock.lock.acquire(blocking=False):
        return Pass(ran=False, reason="a pass is running")
    try:
        waited = time.monotonic() - clock.last
        if waited < MIN_INTERVAL:
            return Pass(
                ran=False, reason=f"the last pass was {waited:.0f} s ago (at most one per {MIN_INTERVAL:.0f} s)"
            )
        clock.last = time.monotonic()
        done: dict[str, Any] = pump.once()
        return Pass(ran=True, done=done)
    finally:
        clock.lock.release()
