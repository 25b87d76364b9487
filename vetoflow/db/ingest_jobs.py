"""The knowledge-upload job table: every console process writes its jobs' progress here, every user reads it.

A job is one uploaded file. Status moves queued -> running -> done | failed | cancelled, or is `refused`
from the start (over the chunk budget). Cancel is a column, not a signal, so any user in any process can
cancel: a queued job is cancelled at once, a running one stops at its next embedding batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Engine, insert, select, update

from vetoflow.clock import aware, utcnow
from vetoflow.db.tables import ingest_jobs_table as jobs

JobStatus = Literal["queued", "running", "done", "failed", "cancelled", "refused"]
ACTIVE: tuple[JobStatus, ...] = ("queued", "running")
INTERRUPTED = "interrupted: the console process that ran this upload stopped; upload the file again"


@dataclass(frozen=True)
class IngestJob:
    job_id: str
    file_name: str
    size_bytes: int
    chunks_estimated: int
    chunks_total: int | None
    chunks_done: int
    status: JobStatus
    stage: str
    error: str | None
    requested_by: str
    cancel_requested_by: str | None
    created_at: datetime
    started_at: datetime | None
    updated_at: datetime
    finished_at: datetime | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @classmethod
    def from_row(cls, row: Any) -> IngestJob:
        values = dict(row)
        for key in ("created_at", "started_at", "updated_at", "finished_at"):
            if values[key] is not None:
                values[key] = aware(values[key])
        values["status"] = cast(JobStatus, values["status"])
        return cls(**values)


class IngestJobs:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        job_id: str,
        file_name: str,
        *,
        size_bytes: int,
        chunks_estimated: int,
        requested_by: str,
        status: JobStatus = "queued",
        error: str | None = None,
    ) -> IngestJob:
        now = utcnow()
        values = {
            "job_id": job_id,
            "file_name": file_name,
            "size_bytes": size_bytes,
            "chunks_estimated": chunks_estimated,
            "chunks_done": 0,
            "status": status,
            "stage": "" if status != "queued" else "waiting for a free slot",
            "error": error,
            "requested_by": requested_by,
            "created_at": now,
            "updated_at": now,
            "finished_at": None if status in ACTIVE else now,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(jobs).values(**values))
        return self.get(job_id)

    def get(self, job_id: str) -> IngestJob:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.job_id == job_id)).mappings().one()
        return IngestJob.from_row(row)

    def recent(self, limit: int = 50) -> list[IngestJob]:
        """Newest first: what the console's upload list shows to every user."""
        query = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.job_id).limit(limit)
        with self.engine.connect() as conn:
            return [IngestJob.from_row(row) for row in conn.execute(query).mappings()]

    def active_names(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(select(jobs.c.file_name).where(jobs.c.status.in_(ACTIVE))).scalars())

    def start(self, job_id: str) -> bool:
        """queued -> running; False when the job was cancelled while it waited."""
        now = utcnow()
        query = update(jobs).where(jobs.c.job_id == job_id, jobs.c.status == "queued")
        with self.engine.begin() as conn:
            moved = conn.execute(query.values(status="running", stage="starting", started_at=now, updated_at=now))
        return moved.rowcount == 1

    def progress(self, job_id: str, *, stage: str, done: int | None = None, total: int | None = None) -> None:
        values: dict[str, Any] = {"stage": stage[:200], "updated_at": utcnow()}
        if done is not None:
            values["chunks_done"] = done
        if total is not None:
            values["chunks_total"] = total
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.job_id == job_id, jobs.c.status == "running").values(**values))

    def finish(self, job_id: str, status: JobStatus, *, stage: str = "", error: str | None = None) -> None:
        now = utcnow()
        values = {"status": status, "stage": stage[:200], "error": error, "updated_at": now, "finished_at": now}
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.job_id == job_id, jobs.c.status.in_(ACTIVE)).values(**values))

    def request_cancel(self, job_id: str, who: str) -> IngestJob:
        """A queued job is cancelled now; a running one is flagged and stops at its next batch."""
        now = utcnow()
        by_who = f"cancelled by {who}"[:200]
        with self.engine.begin() as conn:
            where = jobs.c.job_id == job_id
            conn.execute(
                update(jobs)
                .where(where, jobs.c.status == "queued")
                .values(status="cancelled", stage=by_who, cancel_requested_by=who, updated_at=now, finished_at=now)
            )
            conn.execute(
                update(jobs)
                .where(where, jobs.c.status == "running", jobs.c.cancel_requested_by.is_(None))
                .values(cancel_requested_by=who, updated_at=now)
            )
        return self.get(job_id)

    def cancel_requested(self, job_id: str) -> bool:
        with self.engine.connect() as conn:
            who = conn.execute(select(jobs.c.cancel_requested_by).where(jobs.c.job_id == job_id)).scalar()
        return who is not None

    def fail_abandoned(self, stale_seconds: float) -> int:
        """Jobs whose process died (no progress for `stale_seconds`) are failed, so nobody waits on them."""
        now = utcnow()
        cutoff = now - timedelta(seconds=stale_seconds)
        query = update(jobs).where(jobs.c.status.in_(ACTIVE), jobs.c.updated_at < cutoff)
        with self.engine.begin() as conn:
            result = conn.execute(query.values(status="failed", error=INTERRUPTED, updated_at=now, finished_at=now))
        return int(result.rowcount)
