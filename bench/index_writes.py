"""Statements and transactions per run on vetoflow's own tables (run index, events, governance), counted
with a SQLAlchemy `before_cursor_execute` listener on the service's engine (SQLite; the checkpointer
has its own connection and is not counted).

Two runs are measured: the profitable sample (start -> completed) and the vetoed sample started then
approved (start -> paused, decide -> completed). Printed per table and statement kind.

Usage: python bench/index_writes.py
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from vetoflow.config import Settings
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
TABLE = re.compile(r"^\s*(INSERT INTO|UPDATE|DELETE FROM|SELECT\s.*?\sFROM)\s+(\w+)", re.S | re.I)


@contextmanager
def counting(engine: Engine) -> Iterator[Counter[str]]:
    """Counts `KIND table` per statement and `COMMIT` per committed transaction while the block runs."""
    counts: Counter[str] = Counter()

    def statement(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        match = TABLE.match(sql)
        if match:
            kind = match.group(1).split()[0].upper()
            counts[f"{kind} {match.group(2)}"] += 1

    def commit(conn: Any) -> None:
        counts["COMMIT"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def measure(service: RunService, label: str, work: Callable[[], object], runs: int = 5) -> Counter[str]:
    work()  # warm-up: first-use queries (schema checks, caches) are not a run's cost
    with counting(service.database.engine) as counts:
        for _ in range(runs):
            work()
    per_run = Counter({key: round(value / runs, 1) for key, value in counts.items()})
    writes = sum(v for k, v in per_run.items() if not k.startswith(("SELECT", "COMMIT")))
    reads = sum(v for k, v in per_run.items() if k.startswith("SELECT"))
    print(f"{label}: {writes:g} writes, {reads:g} reads, {per_run['COMMIT']:g} commits per run")
    for key, value in sorted(per_run.items()):
        print(f"    {key:<40} {value:g}")
    return per_run


def main() -> None:
    examples = ROOT / "vetoflow" / "examples"
    profitable, vetoed = load_scenario(examples / "profitable.yaml"), load_scenario(examples / "vetoed.yaml")
    with tempfile.TemporaryDirectory() as home, open_service(Settings(home=Path(home))) as service:

        def paused_then_approved() -> None:
            run_id = service.start(vetoed).run.run_id
            service.decide(run_id, "approve", reviewer="ana", comment="strategic bet")

        measure(service, "profitable (start -> completed)", lambda: service.start(profitable))
        measure(service, "vetoed, approved (start -> paused; decide -> completed)", paused_then_approved)


if __name__ == "__main__":
    main()
