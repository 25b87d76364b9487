"""One background thread per process for a run's small timed chores (renewing its lease, writing its held
progress events), so that executing a run does not start a thread of its own.

A run used to start a lease-renewal thread each time it executed: about 0.7 ms of CPU per run, more than
the Accountant's work at the default size. Chores are short database writes; one that fails is logged
and the next beat tries again.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Chore:
    """A scheduled call; `cancel` stops it (a call already running finishes)."""

    def __init__(self, func: Callable[[], object], every: float | None) -> None:
        self.func = func
        self.every = every
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Ticker:
    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a forked child has no ticker thread and a fresh lock

    def _reset(self) -> None:
        self._lock = threading.Condition()
        self._due: list[tuple[float, int, Chore]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def after(self, delay: float, func: Callable[[], object]) -> Chore:
        """Call `func` once, `delay` seconds from now."""
        return self._schedule(Chore(func, None), delay)

    def every(self, interval: float, func: Callable[[], object]) -> Chore:
        """Call `func` every `interval` seconds, the first time one interval from now, until cancelled."""
        return self._schedule(Chore(func, interval), interval)

    def _schedule(self, chore: Chore, delay: float) -> Chore:
        with self._lock:
            heapq.heappush(self._due, (time.monotonic() + delay, next(self._order), chore))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="vetoflow-ticker", daemon=True)
                self._thread.start()
            self._lock.notify()
        return chore

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._lock.wait(self._due[0][0] - time.monotonic() if self._due else None)
                _, _, chore = heapq.heappop(self._due)
            if chore.cancelled:
                continue
            try:
                chore.func()
            except Exception:  # a database blip: a repeating chore tries again at its next beat
                log.warning(
                    "background chore %s failed", getattr(chore.func, "__qualname__", chore.func), exc_info=True
                )
            if chore.every is not None and not chore.cancelled:
                self._schedule(chore, chore.every)


_default = Ticker()


def default_ticker() -> Ticker:
    """The process's ticker (its thread starts with the first chore)."""
    return _default
