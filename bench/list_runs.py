"""Listing paused runs among 100,000 runs, on SQLite and (when reachable) PostgreSQL.

Measures the first page (what the inbox, `vetoflow runs` and `GET /runs` show), the last page of the
~20,000 paused runs reached by OFFSET (what paging by offset costs at the end) and by keyset cursor (what
`--after` / `?cursor=` costs there), a walk over every paused run a page of 500 at a time, and the old
single query that reads them all at once. Aim: every listing call under 200 ms.

Usage: python bench/list_runs.py [--runs 100000] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backends import DEFAULT_PG, backends  # bench/backends.py (the script's own folder)
from sqlalchemy import insert, text

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
        if service.database.engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load:
            with service.database.engine.begin() as conn:  # without statistics the planner sorts all paused rows
                conn.execute(text("ANALYZE vetoflow_runs"))
        service.start(scenario)  # and one real paused run, the newest
        first = timed(lambda: service.list(["paused"], limit=50), 50)
        assert service.list(["paused"], limit=1)[0].name == scenario.name
        paused = len(service.list(["paused"], limit=count))
        last = max(0, paused - 50)
        by_offset = timed(lambda: service.list(["paused"], limit=50, offset=last), 10)
        cursor = service.page(["paused"], limit=last).next_cursor if last else None
        by_cursor = timed(lambda: service.list(["paused"], limit=50, after=cursor), 50)

        def walk() -> None:
            after: str | None = None
            while True:
                page = service.page(["paused"], limit=500, after=after)
                if page.next_cursor is None:
                    return
                after = page.next_cursor

        walks = timed(walk, 5)
        pages = -(-paused // 500)
        at_once = timed(lambda: service.list(["paused"], limit=count), 5)
    print(
        f"{label:10s} {count:,} runs, {paused:,} paused, median ms: first page of 50 {first:6.2f}; "
        f"last page by offset {by_offset:6.1f}, by cursor {by_cursor:6.2f}; every paused run in {pages} "
        f"cursor pages of 500 {walks:6.1f} ({walks / pages:5.2f} per page); all in one query {at_once:6.1f}"
        "  (aim: each call < 200 ms)"
    )


def timed(call: Callable[[], object], times: int) -> float:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--pg", default=DEFAULT_PG)
    args = parser.parse_args()
    for label, settings in backends(args.pg):
        measure(settings, args.runs, label)


if __name__ == "__main__":
    main()
