"""What the risk figures cost: forecast time with and without the tornado, and checkpoint bytes.

Both are measured in this process, as ratios against a baseline: the Forecaster without the per-path
outcomes and tornado (what the previous release computed), and the same runs stored without them.

Usage: python bench/risk.py [--repeats N] [--scenario FILE ...]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vetoflow.config import Settings
from vetoflow.forecasting.montecarlo import run_forecast, simulate_revenue
from vetoflow.graph import Context
from vetoflow.risk.tornado import tornado
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario, load_scenario
from vetoflow.state import Forecast

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ["profitable.yaml", "borderline.yaml", "vetoed.yaml"]


def median_s(work: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def without_risk(scenario: Scenario) -> Forecast:
    """The baseline forecaster: bands only, as the previous release stored them."""
    return run_forecast(scenario).model_copy(update={"outcomes": None, "sensitivity": None})


def checkpoint_bytes(scenario: Scenario, forecaster: Callable[[Scenario], Forecast]) -> tuple[float, int]:
    """(mean bytes per checkpoint, checkpoints) of one run stored in a fresh SQLite home."""
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        with open_service(settings, Context(forecast=forecaster)) as service:
            run_id = service.start(scenario).run.run_id
        with sqlite3.connect(settings.sqlite_path) as db:
            total, count = db.execute(
                "SELECT SUM(LENGTH(checkpoint) + LENGTH(metadata)), COUNT(*) FROM checkpoints WHERE thread_id = ?",
                (run_id,),
            ).fetchone()
            (writes,) = db.execute("SELECT SUM(LENGTH(value)) FROM writes WHERE thread_id = ?", (run_id,)).fetchone()
        return (total + (writes or 0)) / count, count


def previous_forecaster(scenario: Scenario) -> object:
    """The baseline: simulate the paths and reduce them to per-period bands, as the previous release did."""
    revenue, _ = simulate_revenue(scenario)
    margins = np.array([s.margin for s in scenario.segments])[:, None, None]
    return [np.percentile(v, (10, 50, 90), axis=0) for v in (*revenue, revenue.sum(0), (revenue * margins).sum(0))]


def measure(scenario: Scenario, repeats: int) -> str:
    revenue, _ = simulate_revenue(scenario)
    profit = sum((revenue[i] * s.margin for i, s in enumerate(scenario.segments)), np.zeros(revenue.shape[1:]))
    run_forecast(scenario)  # warm caches and imports before timing anything
    plain = median_s(lambda: previous_forecaster(scenario), repeats)
    full = median_s(lambda: run_forecast(scenario), repeats)
    alone = median_s(lambda: tornado(scenario, revenue, profit), repeats)
    before, _ = checkpoint_bytes(scenario, without_risk)
    after, _ = checkpoint_bytes(scenario, run_forecast)
    size = f"{scenario.paths}x{scenario.horizon}x{len(scenario.segments)}"
    return (
        f"{scenario.name[:24]:<24} {size:>14} {plain:8.3f} {full:8.3f} {full / plain:6.2f} {alone:9.3f}"
        f" {before:6.0f} -> {after:5.0f} {after / before:6.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--scenario", action="append", type=Path)
    args = parser.parse_args()
    files = args.scenario or [ROOT / "vetoflow" / "examples" / name for name in DEFAULT]
    scenarios = [load_scenario(path) for path in files]
    scenarios.append(scenarios[0].model_copy(update={"name": "largest run allowed", "paths": 20_000, "horizon": 120}))
    head = f"{'scenario':<24} {'paths x T x S':>14} {'before s':>8} {'after s':>8} {'time x':>6} {'tornado s':>9}"
    print(head + f" {'bytes/checkpoint':>15} {'bytes x':>6}")
    for scenario in scenarios:
        print(measure(scenario, args.repeats if scenario.paths < 50_000 else 3))
    print("before: simulate the paths and their per-period bands (the previous Forecaster); after: the")
    print("Forecaster with per-path outcomes, IRR, summaries and tornado; tornado: the tornado alone;")
    print("bytes/checkpoint: mean bytes per stored SQLite checkpoint (checkpoint, metadata, writes) of one run")


if __name__ == "__main__":
    main()
