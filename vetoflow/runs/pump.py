"""A background thread in `vetoflow serve` / `vetoflow ui`: delivers due notifications every few seconds,
sweeps deadlines every minute and reconciles the run index every VETOFLOW_RECONCILE_EVERY seconds, so a
paused run is announced within seconds and a row an outage left behind is repaired without any cron.

It only drives the durable outbox, pause rows and conditional index refreshes, so it is safe beside
`vetoflow sweep`, the workers and other servers. Its own thread, not the ticker's: a reconcile pass reads
every unfinished run, and lease renewals must not wait behind it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from vetoflow.config import Settings
from vetoflow.runs.reconcile import repaired_text
from vetoflow.runs.service import RunService
from vetoflow.runs.views import Drift

log = logging.getLogger(__name__)
SWEEP_SECONDS = 60.0


class Pump:
    def __init__(self, service: RunService, settings: Settings) -> None:
        self.service, self.settings = service, settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        chores: list[tuple[str, float, Callable[[], object]]] = []
        if settings.notify_every > 0:
            chores.append(("notification pump", settings.notify_every, self._notify))
        if settings.reconcile_every > 0:
            chores.append(("reconciler", float(settings.reconcile_every), self._reconcile))
        self.chores = chores
        self._last_sweep = 0.0

    def start(self) -> Pump:
        if self.chores and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="vetoflow-pump", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        due = {name: time.monotonic() + every for name, every, _ in self.chores}
        while not self._stop.wait(max(0.0, min(due.values()) - time.monotonic())):
            for name, every, chore in self.chores:
                if time.monotonic() < due[name]:
                    continue
                due[name] = time.monotonic() + every
                try:
                    chore()
                except Exception as exc:  # keep pumping: the outbox keeps what failed, the next pass looks again
                    log.warning("%s: %s: %s", name, type(exc).__name__, exc)

    def once(self) -> tuple[dict[str, int], list[str]]:
        """Every chore at once, now: what a scheduled trigger asks for where no thread can keep time (an AWS
        Lambda instance is frozen between requests, its thread with it). Counts of what was done, and what
        failed: each chore runs even if one before it failed (the next pass looks again)."""
        done: dict[str, int] = {}
        errors: list[str] = []

        def attempt(name: str, chore: Callable[[], dict[str, int]]) -> None:
            try:
                done.update(chore())
            except Exception as exc:
                log.warning("%s: %s: %s", name, type(exc).__name__, exc)
                errors.append(f"{name}: {type(exc).__name__}: {exc}"[:300])

        if self.service.gate is not None:
            attempt("sweep", self._swept)
            attempt("notification pump", self._delivered)
        attempt("reconciler", self._repaired)
        return done, errors

    def _swept(self) -> dict[str, int]:
        report = self.service.sweep()
        return {"reminded": len(report.reminded), "escalated": len(report.escalated), "expired": len(report.expired)}

    def _delivered(self) -> dict[str, int]:
        report = self.service.deliver_notifications()
        sent, retrying, dead = len(report.sent), len(report.retried), len(report.dead)
        return {"notifications_sent": sent, "notifications_retrying": retrying, "notifications_dead": dead}

    def _repaired(self) -> dict[str, int]:
        return {"runs_repaired": len(self._repairs())}

    def _repairs(self) -> list[Drift]:
        return [d for d in self.service.reconcile(repair=True) if d.repaired]

    def _notify(self) -> None:
        if self.service.gate is not None and time.monotonic() - self._last_sweep >= SWEEP_SECONDS:
            self._last_sweep = time.monotonic()
            self.service.sweep()
        self.service.deliver_notifications()

    def _reconcile(self) -> None:
        if repaired := self._repairs():
            log.info("reconciler: %s", repaired_text(repaired))
