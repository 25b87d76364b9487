"""Listing paused runs among 100,000 runs, on SQLite and (when reachable) PostgreSQL.

Usage: python bench/list_runs.py [--runs 100000] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backends import DEFAULT_PG, backends  # bench/backends.py (the script's own folder)
from sqlalchemy import insert

from vetoflow.config import Settings
from vetoflow.runs.index import RunIndex, runs_table
from vetoflow.runs.store import open_service
from vetoflow.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
STATUSES = ["completed"] * 6 + ["paused"] * 2 + ["rejected", "failed"]


def fill(index: RunIndex, count: int) -> None:
    """Bulk rows shaped like real ones: listing reads only the index, never the checkpoints."""
    rng = random.Random(0)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        created = start + timedelta(minutes=i)
        roi = rng.uniform(-1, 2)
        rows.append(
            {
                "run_id": uuid.uuid4().hex[:12],
                "name": f"scenario {i}",
                "status": rng.choice(STATUSES),
                "created_at": created,
                "updated_at": created,
                "investment": rng.uniform(1e5, 5e6),
                "roi": roi,
                "downside_roi": roi - 0.3,
                "npv": roi * 1e5,
                "veto": roi < 0,
                "revision": 0,
                "veto_reason": "ROI below threshold" if roi < 0 else None,
            }
        )
    with index.engine.begin() as conn:
        conn.execute(insert(runs_table), rows)


def measure(settings: Settings, count: int, label: str) -> None:
    scenario = load_scenario(ROOT / "vetoflow" / "examples" / "vetoed.yaml")
    with open_service(settings) as service:
        fill(service.index, count - 1)
        service.start(scenario)  # and one real paused run, the newest
        samples = []
        for _ in range(50):
            start = time.perf_counter()
            rows = service.list(["paused"], limit=50)
            samples.append((time.perf_counter() - start) * 1e3)
        assert rows[0].name == scenario.name
        full = []
        for _ in range(10):
            start = time.perf_counter()
            service.list(["paused"], limit=10_000)
            full.append((time.perf_counter() - start) * 1e3)
    p95 = statistics.quantiles(samples, n=20)[-1]
    print(
        f"{label:10s} {count:,} runs: paused, first page of 50: median {statistics.median(samples):6.2f} ms, "
        f"p95 {p95:6.2f} ms; all paused (~{count // 5:,}): median {statistics.median(full):6.1f} ms  (aim < 200 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--pg", default=DEFAULT_PG)
    args = parser.parse_args()
    for label, settings in backends(args.pg):
        measure(settings, args.runs, label)


if __name__ == "__main__":
    main()
