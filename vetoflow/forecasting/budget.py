"""One size budget for simulations: a bound per run, and a bound on all runs simulating at once.

The Monte Carlo holds about `BYTES_PER_CELL` bytes per cell (paths x horizon x segments) at its peak
(measured with tracemalloc in `tests/test_budget.py`). A run larger than `max_cells` is refused before it
starts, wherever it starts or changes (CLI, API, console, replay, revise: RunService checks, and the
Forecaster checks again). Runs in flight share `max_cells_in_flight`: a Forecaster waits for room (up to
`wait_seconds`, then the run fails with a message and can be retried), so concurrent runs cannot add up
past what the process can hold. The defaults (5 M cells per run, 20 M in flight, about 480 MB of
simulation) leave most of a 2 GB Lambda to Python, the console, the embedding model and the database
driver.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from vetoflow.errors import VetoflowError
from vetoflow.scenario import Scenario

BYTES_PER_CELL = 24
DEFAULT_MAX_CELLS = 5_000_000
DEFAULT_MAX_CELLS_IN_FLIGHT = 20_000_000


def cells(scenario: Scenario) -> int:
    return scenario.paths * scenario.horizon * len(scenario.segments)


class SizeBudget:
    """Thread-safe: one per process, shared by every run the process executes."""

    def __init__(
        self,
        max_cells: int = DEFAULT_MAX_CELLS,
        max_cells_in_flight: int = DEFAULT_MAX_CELLS_IN_FLIGHT,
        wait_seconds: float = 60.0,
    ) -> None:
        self.max_cells = max_cells
        self.max_cells_in_flight = max(max_cells_in_flight, max_cells)
        self.wait_seconds = wait_seconds
        self.in_flight = 0
        self.peak_in_flight = 0
        self._room = threading.Condition()

    def check(self, scenario: Scenario) -> Scenario:
        """The scenario, if one run of it fits; else a VetoflowError naming the product and the limit."""
        size = cells(scenario)
        if size > self.max_cells:
            raise VetoflowError(
                f"paths x horizon x segments = {scenario.paths:,} x {scenario.horizon} x {len(scenario.segments)} "
                f"= {size:,} cells is over this server's limit of {self.max_cells:,} per run; lower paths or "
                "horizon (VETOFLOW_MAX_CELLS)"
            )
        return scenario

    @contextmanager
    def hold(self, scenario: Scenario) -> Iterator[None]:
        """Reserve the scenario's cells while simulating; waits for room, up to `wait_seconds`."""
        size = cells(self.check(scenario))
        deadline = time.monotonic() + self.wait_seconds
        with self._room:
            while self.in_flight + size > self.max_cells_in_flight:
                left = deadline - time.monotonic()
                if left <= 0 or not self._room.wait(timeout=left):
                    raise VetoflowError(
                        f"the server is simulating {self.in_flight:,} cells already (limit "
                        f"{self.max_cells_in_flight:,}, VETOFLOW_MAX_CELLS_IN_FLIGHT); retry the run shortly"
                    )
            self.in_flight += size
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._room:
                self.in_flight -= size
                self._room.notify_all()
