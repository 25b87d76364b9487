"""Bytes per run in the checkpoint tables before and after `prune`, on SQLite and PostgreSQL.

Real runs: the profitable sample (completed), the vetoed sample approved (a pause and a decision) and a
50-segment, 120-period plan (large states). Bytes are what the rows occupy: SQLite's used page bytes of
the checkpoint tables and their indexes (dbstat, free space excluded), PostgreSQL's pg_column_size of
every row of checkpoints, checkpoint_blobs and checkpoint_writes.

Usage: python bench/prune.py [--runs 20] [--pg postgresql://...]
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from backends import DEFAULT_PG, backends  # bench/backends.py (the script's own folder)
from sqlalchemy import Engine, text

from vetoflow.config import Settings
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario, load_scenario, validate_scenario

ROOT = Path(__file__).resolve().parent.parent
SQLITE_TABLES = ("checkpoints", "writes", "sqlite_autoindex_checkpoints_1", "sqlite_autoindex_writes_1")
PG_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


def large_plan() -> Scenario:
    segments = [
        {"name": f"S{i}", "base_revenue": 10_000 + i, "growth_mean": 0.01, "volatility": 0.1, "margin": 0.3}
        for i in range(50)
    ]
    return validate_scenario(
        {"name": "large", "investment": 1e6, "horizon": 120, "discount_rate": 0.01, "segments": segments}
    )


def used_bytes(engine: Engine) -> int:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return sum(
                int(conn.execute(text(f"SELECT COALESCE(SUM(pg_column_size(t.*)), 0) FROM {t} t")).scalar() or 0)
                for t in PG_TABLES
            )
        names = ", ".join(f"'{t}'" for t in SQLITE_TABLES)
        return int(conn.execute(text(f"SELECT SUM(pgsize - unused) FROM dbstat WHERE name IN ({names})")).scalar() or 0)


def measure(settings: Settings, label: str, runs: int) -> None:
    settings = settings.model_copy(update={"max_cells": 50_000_000})  # the large plan is 30M cells (default limit 5M)
    profitable = load_scenario(ROOT / "vetoflow" / "examples" / "profitable.yaml")
    vetoed = load_scenario(ROOT / "vetoflow" / "examples" / "vetoed.yaml")
    kinds: dict[str, list[int]] = {
        "profitable (completed)": [],
        "vetoed, approved": [],
        "50 segments x 120 periods": [],
    }
    with open_service(settings) as service:
        for kind, make in zip(kinds, (lambda: profitable, lambda: vetoed, large_plan), strict=True):
            for _ in range(runs if kind != "50 segments x 120 periods" else max(2, runs // 5)):
                before = used_bytes(service.index.engine)
                started = service.start(make())
                run_id = started.run.run_id
                if started.status == "paused":  # vetoed, or the large plan's implausible ROI: a human approves
                    service.decide(run_id, "approve", reviewer="bench")
                kinds[kind].append(used_bytes(service.index.engine) - before)
        total_before = used_bytes(service.index.engine)
        report = service.prune(timedelta(0))
        total_after = used_bytes(service.index.engine)
    count = sum(len(v) for v in kinds.values())
    print(f"{label}: {count} runs; pruned {report.runs} runs, {report.writes_deleted} writes")
    for kind, sizes in kinds.items():
        print(f"  {kind:28s} {sum(sizes) / len(sizes) / 1024:8.1f} KiB per run before prune")
    before, after = total_before / count / 1024, total_after / count / 1024
    print(f"  all runs: {before:.1f} KiB per run before, {after:.1f} KiB after ({total_after / total_before:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pg", default=DEFAULT_PG)
    args = parser.parse_args()
    for label, settings in backends(args.pg):
        measure(settings, label, args.runs)


if __name__ == "__main__":
    main()
