"""Following a run through the service's event log, the same log `GET /runs/{id}/events` streams.

The New run tab starts a run (inline: a thread here executes it; queue mode: `start` only records and
defers, a worker executes it) and polls the log until the run settles; the Run view reads it on the
console's poll for a run that is queued or running wherever it was started. Only `RunService` is called.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from vetoflow.console.progress import run_progress
from vetoflow.errors import VetoflowError
from vetoflow.runs.events import MAX_BATCH, RunEvent
from vetoflow.runs.index import new_run_id
from vetoflow.runs.queueing import UNSETTLED
from vetoflow.runs.service import RunService
from vetoflow.runs.views import RunView
from vetoflow.scenario import Scenario

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
TICK_SECONDS = 1.0  # an update at least this often while nothing happens, so the elapsed times move


@dataclass
class Launch:
    """A run being started in a thread: its id is known before the first event is written."""

    run_id: str
    done: threading.Event = field(default_factory=threading.Event)
    view: RunView | None = None  # what `start` returned: the settled run inline, the queued one in queue mode
    error: Exception | None = None

    def finished_here(self) -> bool:
        """`start` came back with nothing left to wait for: it raised, or it executed the run (inline mode)."""
        if not self.done.is_set():
            return False
        return self.error is not None or (self.view is not None and self.view.status not in UNSETTLED)


def launch(service: RunService, scenario: Scenario, requester: str) -> Launch:
    started = Launch(new_run_id())

    def work() -> None:
        try:
            started.view = service.start(scenario, run_id=started.run_id, requester=requester, via="console")
        except Exception as exc:  # shown to the operator; the service keeps failed runs resumable
            if not isinstance(exc, VetoflowError):  # a fault, not a refusal: its traceback belongs in the log
                log.error("console: starting run %s failed", started.run_id, exc_info=exc)
            started.error = exc
        finally:
            started.done.set()

    threading.Thread(target=work, name="vetoflow-new-run", daemon=True).start()
    return started


def event_log(service: RunService, run_id: str, after: int = 0) -> list[RunEvent]:
    """Every event of the run after `after`, oldest first (the service hands them out a batch at a time)."""
    events: list[RunEvent] = []
    while batch := service.events_since(run_id, after):
        events += batch
        after = batch[-1].id
        if len(batch) < MAX_BATCH:
            break
    return events


def follow(
    service: RunService,
    launched: Launch,
    *,
    max_seconds: float | None = None,
    poll_seconds: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[list[RunEvent]]:
    """The run's events so far: once at once, then after each new event (and every TICK_SECONDS), until the
    run has settled (`RunService.settled_after`, as the SSE stream ends), its start failed, or `max_seconds`
    passed (queue mode with no worker taking it: the Run view follows it from there)."""
    events: list[RunEvent] = []
    started = last_yield = clock()
    yield events
    while True:
        finished = launched.finished_here()  # read before the events, so none written before it are missed
        fresh = event_log(service, launched.run_id, events[-1].id if events else 0)
        if fresh:
            for event in fresh:  # one update per event: each node shows as it starts and as it finishes
                events = [*events, event]
                yield events
            last_yield = clock()
        elif clock() - last_yield >= TICK_SECONDS:
            yield events
            last_yield = clock()
        if not fresh and finished:
            return
        if not fresh and events and service.settled_after(launched.run_id, events[-1].id):
            return
        if max_seconds is not None and clock() - started >= max_seconds:
            return
        time.sleep(poll_seconds)


def progress_panel(service: RunService, view: RunView | None, *, watched_active: bool = False) -> dict[str, Any]:
    """The Run view's progress panel: shown while the run is queued or running (wherever it executes), and once
    it has settled in front of an operator who watched it run; hidden for a run opened after it settled."""
    if view is None or (view.status not in UNSETTLED and not watched_active):
        return gr.update(value="", visible=False)
    return gr.update(value=run_progress(event_log(service, view.run.run_id)).text, visible=True)


def moving_progress(service: RunService, run_id: str, watched: dict[str, Any] | None) -> Any:
    """The poll when the open run did not change: a queued or running run's panel is redrawn (its times move)."""
    run_id = (run_id or "").strip()
    if not run_id or not watched or watched.get("run") != run_id or watched.get("status") not in UNSETTLED:
        return gr.skip()
    try:
        return gr.update(value=run_progress(event_log(service, run_id)).text, visible=True)
    except VetoflowError:
        return gr.skip()
