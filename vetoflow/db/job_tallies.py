"""Per queued job, what procrastinate's `attempts` lumps together: worker deaths and transient failures.

procrastinate adds an attempt at every hand-back: a SIGTERM drain, a transient error's retry and a dead
worker's requeue alike. Their budgets differ: a drain is no fault at all, a job whose worker keeps dying
is failed after MAX_WORKER_DEATHS (the run may be what kills them), and an error a retry may not meet
again (the database lost) gets TRANSIENT_RETRIES tries. So each is counted here, durably (any worker may
take the job next), by whoever knows which it was: the stalled-job sweep counts deaths, the job itself
its transient failures. PostgreSQL only, like the queue; rows of pruned jobs are dropped with them.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, select, text

from vetoflow.clock import utcnow
from vetoflow.db.engine import upsert_insert
from vetoflow.db.tables import job_tallies_table as tallies


class JobTallies:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def crashes(self, job_id: int) -> int:
        """How often a worker died (stopped sending heartbeats) while running this job."""
        with self.engine.connect() as conn:
            found = conn.execute(select(tallies.c.crashes).where(tallies.c.job_id == job_id)).scalar()
        return int(found or 0)

    def count_crash(self, job_id: int) -> int:
        return self._count(job_id, "crashes")

    def count_failure(self, job_id: int) -> int:
        """One more transient failure of this job; returns how many it has had, this one included."""
        return self._count(job_id, "failures")

    def _count(self, job_id: int, column: str) -> int:
        now = utcnow()
        first = {"crashes": 0, "failures": 0} | {column: 1}
        fresh = upsert_insert(self.engine, tallies).values(job_id=job_id, **first, updated_at=now)
        counted = fresh.on_conflict_do_update(
            index_elements=[tallies.c.job_id], set_={column: tallies.c[column] + 1, "updated_at": now}
        )
        with self.engine.begin() as conn:
            return int(conn.execute(counted.returning(tallies.c[column])).scalar_one())

    def forget_pruned(self) -> int:
        """Drop the tallies of jobs procrastinate no longer keeps (finished jobs are pruned hourly)."""
        gone = text("NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.id = vetoflow_job_tallies.job_id)")
        with self.engine.begin() as conn:
            return int(conn.execute(delete(tallies).where(gone)).rowcount or 0)
