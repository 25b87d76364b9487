"""A background thread in `vetoflow serve` / `vetoflow ui`: delivers due notifications every few seconds
and sweeps deadlines every minute, so a paused run is announced within seconds without any cron.

It only drives the durable outbox and pause rows, so it is safe beside `vetoflow sweep` and other servers.
"""

from __future__ import annotations

import logging
import threading
import time

from vetoflow.config import Settings
from vetoflow.runs.service import RunService

log = logging.getLogger(__name__)
SWEEP_SECONDS = 60.0


class Pump:
    def __init__(self, service: RunService, settings: Settings) -> None:
        self.service, self.settings = service, settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Pump:
        if self.settings.notify_every > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="vetoflow-notify", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        last_sweep = 0.0
        while not self._stop.wait(self.settings.notify_every):
            try:
                if self.service.gate is not None and time.monotonic() - last_sweep >= SWEEP_SECONDS:
                    last_sweep = time.monotonic()
                    self.service.sweep()
                self.service.deliver_notifications()
            except Exception as exc:  # keep pumping; the outbox keeps what failed
                log.warning("notification pump: %s: %s", type(exc).__name__, exc)
