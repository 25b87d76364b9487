"""Knowledge uploads as background jobs: sized up in milliseconds, embedded off the request thread, cancellable.

`submit` records one job per file in the job table (`db/ingest_jobs.py`) and returns at once: a file over
the chunk budget, of an unsupported type, too large or already being uploaded is `refused` there and then,
with the reason. Accepted files are copied out of the web server's temp folder and run on a small pool of
`VETOFLOW_INGEST_WORKERS` daemon threads in this process (default 2): that many files embed at the same
time, each at its own pace, and the rest wait in a first-come queue. Because every accepted file fits the
budget (minutes, not hours), nobody waits long behind anyone else. Progress and status live in the table,
so every user of every console process sees them; Cancel is a flag there, checked between embedding batches.

A job embeds all its chunks before it writes any (`rag.ingest.embed_chunks` then `write_chunks`): a
cancelled or failed upload leaves the store exactly as it was.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vetoflow.config import Settings
from vetoflow.db.ingest_jobs import IngestJob, IngestJobs, JobStatus
from vetoflow.errors import VetoflowError
from vetoflow.rag.budget import IngestBudget, readable_seconds
from vetoflow.rag.chunks import SUPPORTED
from vetoflow.rag.ingest import OverBudgetError, SkipFileError, plan_file
from vetoflow.rag.store import KnowledgeStore
from vetoflow.rag.write import CancelledError, embed_chunks, write_chunks

log = logging.getLogger(__name__)
JOB_BATCH = 16  # chunks per embedding call: a progress step and a cancel check every second or two
STALE_SECONDS = 1800.0  # an unfinished job untouched this long belonged to a process that is gone
LOADING = "loading the embedding model"


@dataclass(frozen=True)
class Upload:
    """A file to ingest and the label (`source`) to record it under."""

    path: Path
    label: str


class UploadService:
    """One per console process: the worker threads, the budget and the store they share."""

    def __init__(
        self,
        settings: Settings,
        jobs: IngestJobs,
        open_store: Callable[[], KnowledgeStore],
        *,
        batch: int = JOB_BATCH,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.open_store = open_store
        self.batch = batch
        self.budget = IngestBudget(settings.ingest_max_chunks)
        self.staging = settings.home / "uploads"
        self._queue: queue.Queue[tuple[str, Upload]] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one store write (and its rollback) at a time
        self._finished: dict[str, threading.Event] = {}
        jobs.fail_abandoned(STALE_SECONDS)

    # -- what the front end calls ----------------------------------------------------------------
    def submit(self, uploads: list[Upload], who: str) -> list[IngestJob]:
        """One job per file, recorded and returned at once; refused files never take a worker."""
        busy = self.jobs.active_names()
        recorded = []
        for upload in uploads:
            job_id = uuid.uuid4().hex
            size = upload.path.stat().st_size if upload.path.is_file() else 0
            chunks, reason = self.refusal(upload, size, busy)
            if reason:
                recorded.append(self._record(job_id, upload.label, size, chunks, who=who, refused=reason))
                continue
            busy.add(upload.label)
            staged = self.staging / job_id / "file"
            staged.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(upload.path, staged.with_suffix(upload.path.suffix.lower()))
            recorded.append(self._record(job_id, upload.label, size, chunks, who=who, refused=None))
            self._finished[job_id] = threading.Event()
            self._queue.put((job_id, Upload(staged.with_suffix(upload.path.suffix.lower()), upload.label)))
            self._ensure_workers()
        return recorded

    def refusal(self, upload: Upload, size: int, busy: set[str]) -> tuple[int, str | None]:
        """(estimated chunks, why the file is refused or None); cheap checks first, the file is read last."""
        if upload.label in busy:
            return 0, f"{upload.label} is being uploaded already; wait for that upload or cancel it"
        if upload.path.suffix.lower() not in SUPPORTED:
            allowed = ", ".join(sorted(SUPPORTED))
            return 0, f"{upload.label}: unsupported type {upload.path.suffix or '(none)'}; allowed: {allowed}"
        if size > self.settings.max_ingest_bytes:
            limit = self.settings.max_ingest_bytes
            return 0, f"{upload.label}: {size:,} bytes; the limit is {limit:,} (VETOFLOW_MAX_INGEST_BYTES)"
        chunks = self.budget.estimate(upload.path, upload.label).chunks
        return chunks, self.budget.refusal(upload.label, size, chunks)

    def get(self, job_id: str) -> IngestJob:
        try:
            return self.jobs.get(job_id)
        except Exception:
            raise VetoflowError(f"no upload {job_id!r}; pick one from the list") from None

    def cancel(self, job_id: str, who: str) -> IngestJob:
        job = self.get(job_id)
        if not job.active:
            raise VetoflowError(f"{job.file_name} is {job.status} already; nothing to cancel")
        return self.jobs.request_cancel(job_id, who)

    def recent(self, limit: int = 50) -> list[IngestJob]:
        return self.jobs.recent(limit)

    def wait(self, job_id: str, timeout: float) -> IngestJob:
        """Block until a job this process runs has finished (tests and scripts; the console polls)."""
        event = self._finished.get(job_id)
        if event is not None and not event.wait(timeout):
            raise TimeoutError(f"upload {job_id} still running after {timeout} s")
        return self.jobs.get(job_id)

    # -- the workers -----------------------------------------------------------------------------
    def _record(self, job_id: str, name: str, size: int, chunks: int, *, who: str, refused: str | None) -> IngestJob:
        status: JobStatus = "refused" if refused else "queued"
        return self.jobs.create(
            job_id, name, size_bytes=size, chunks_estimated=chunks, requested_by=who, status=status, error=refused
        )

    def _ensure_workers(self) -> None:
        """Daemon threads, started on first use: a stopping console never waits for an upload."""
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < self.settings.ingest_workers:
                thread = threading.Thread(target=self._work, name=f"vetoflow-ingest-{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while True:
            job_id, upload = self._queue.get()
            try:
                self.run(job_id, upload)
            finally:
                shutil.rmtree(upload.path.parent, ignore_errors=True)
                self._finished.pop(job_id, threading.Event()).set()

    def run(self, job_id: str, upload: Upload) -> None:
        """One job, start to end; every outcome is written to its row, nothing escapes the worker."""
        if not self.jobs.start(job_id):
            return  # cancelled while queued
        try:
            self._ingest(job_id, upload)
        except CancelledError:
            who = self.jobs.get(job_id).cancel_requested_by or "?"
            self.jobs.finish(job_id, "cancelled", stage=f"cancelled by {who}; nothing was written")
        except OverBudgetError as exc:
            self.jobs.finish(job_id, "refused", error=str(exc))
        except SkipFileError as exc:
            self.jobs.finish(job_id, "failed", error=f"{upload.label}: {exc}")
        except VetoflowError as exc:
            self.jobs.finish(job_id, "failed", error=str(exc))
        except Exception as exc:  # a worker thread must record every failure, or the job stays "running"
            log.exception("knowledge upload %s failed", job_id)
            self.jobs.finish(job_id, "failed", error=f"unexpected error: {type(exc).__name__}: {exc}")

    def _ingest(self, job_id: str, upload: Upload) -> None:
        def stop() -> bool:
            return self.jobs.cancel_requested(job_id)

        self.jobs.progress(job_id, stage=LOADING)
        store = self.open_store()
        self.jobs.progress(job_id, stage="reading and splitting")
        plan = plan_file(
            store, upload.path, max_bytes=self.settings.max_ingest_bytes, label=upload.label, budget=self.budget
        )
        if plan.unchanged:
            self.jobs.finish(job_id, "done", stage="unchanged: the same content is in the store already")
            return
        started = time.monotonic()

        def on_progress(done: int, total: int) -> None:
            per_chunk = (time.monotonic() - started) / done
            left = readable_seconds(per_chunk * (total - done))
            self.jobs.progress(job_id, stage=f"embedding, about {left} left", done=done)

        self.jobs.progress(job_id, stage="embedding", done=0, total=len(plan.new))
        vectors = embed_chunks(store, plan.new, batch=self.batch, on_progress=on_progress, stop=stop)
        if plan.new:
            self._learn((time.monotonic() - started) / len(plan.new))
        with self._write_lock:
            if stop():
                raise CancelledError
            write_chunks(store, plan.new, vectors, plan.stale)
        outcome = f"{len(plan.new)} chunk(s) added"
        if plan.replaced:
            outcome = f"replaced: {len(plan.new)} new chunk(s), {len(plan.stale)} old chunk(s) removed"
        self.jobs.finish(job_id, "done", stage=outcome)

    def _learn(self, seconds_per_chunk: float) -> None:
        """Estimates follow what this machine measured (weighted toward the past, within sane bounds)."""
        measured = min(2.0, max(0.005, seconds_per_chunk))
        self.budget.seconds_per_chunk = 0.7 * self.budget.seconds_per_chunk + 0.3 * measured
