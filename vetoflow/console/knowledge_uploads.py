"""The Knowledge tab's upload jobs as plain functions: submit (returns at once), list with progress, cancel.

The jobs themselves run in `rag.upload_jobs.UploadService`; these only turn its records into table rows and
messages, so the Gradio layout in `knowledge.py` stays a thin layer and tests call these directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vetoflow.console.knowledge_base import plan_uploads
from vetoflow.db.ingest_jobs import IngestJob
from vetoflow.errors import VetoflowError
from vetoflow.formatting import when
from vetoflow.identity.roles import PermissionDeniedError, User, require
from vetoflow.plaintext import md
from vetoflow.rag.upload_jobs import Upload, UploadService

JOB_COLUMNS = ["file", "status", "progress", "details", "by", "uploaded"]
SHOWN_JOBS = 30


def progress_text(job: IngestJob) -> str:
    """`120 / 480 chunks (25%)` once the exact count is known, the estimate before."""
    if job.chunks_total is None:
        return f"~{job.chunks_estimated:,} chunks (estimate)" if job.chunks_estimated else ""
    if job.chunks_total == 0:
        return "0 chunks"
    share = round(100 * job.chunks_done / job.chunks_total)
    return f"{job.chunks_done:,} / {job.chunks_total:,} chunks ({share}%)"


def job_rows(jobs: list[IngestJob]) -> list[list[Any]]:
    return [
        [job.file_name, job.status, progress_text(job), job.error or job.stage, job.requested_by, when(job.created_at)]
        for job in jobs
    ]


def cancel_choices(jobs: list[IngestJob]) -> list[tuple[str, str]]:
    """(label, job id) for the jobs that can still be cancelled."""
    return [(f"{job.file_name} ({job.status}, by {job.requested_by})", job.job_id) for job in jobs if job.active]


def submit_uploads(service: UploadService, paths: list[str], user: User) -> tuple[str, list[list[Any]]]:
    """Record one job per file and return at once; files over the budget are refused here with the estimate.

    Adding to the knowledge base changes what every later run cites: it needs the `start` grant (analysts).
    """
    require(user, "start")
    who = user.name
    if not paths:
        raise VetoflowError("Choose one or more files: Markdown, text, PDF or CSV.")
    labels, duplicates = plan_uploads(paths)
    jobs = service.submit([Upload(path, label) for path, label in labels.items()], who)
    queued = [job for job in jobs if job.status == "queued"]
    refused = [job for job in jobs if job.status == "refused"]
    parts = []
    if queued:
        parts.append(f"✅ {len(queued)} file(s) queued: progress shows below, and you can keep working.")
    if refused or duplicates:
        reasons = [f"- {md(job.error or '')}" for job in refused] + [f"- {md(row[0])}: {row[3]}" for row in duplicates]
        parts.append(f"⚠️ **{len(refused) + len(duplicates)} file(s) refused**:\n" + "\n".join(reasons))
    return "\n\n".join(parts), job_rows(service.recent(SHOWN_JOBS))


def cancel_upload(service: UploadService, job_id: str | None, user: User) -> str:
    """Whoever started an upload may cancel it; someone else's upload only an admin."""
    if not job_id:
        raise VetoflowError("pick an upload to cancel (only queued and running ones can be)")
    owner = service.get(job_id).requested_by
    if owner != user.name and not user.may("admin"):
        raise PermissionDeniedError(f"{user.name} may not cancel {owner}'s upload: only its uploader or an admin may")
    job = service.cancel(job_id, user.name)
    if job.status == "cancelled":
        return f"✅ Cancelled **{md(Path(job.file_name).name)}** before it started."
    return f"✅ Stopping **{md(job.file_name)}**: it ends at its next batch, and nothing of it is kept."
