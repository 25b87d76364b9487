"""Files for the knowledge-upload tests, made in tmp_path (nothing big is committed), and a job service over
a real Chroma store and the real packaged embedding model."""

from __future__ import annotations

import random
import string
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from vetoflow.config import Settings
from vetoflow.db import open_database
from vetoflow.db.ingest_jobs import IngestJob, IngestJobs
from vetoflow.rag.embeddings import LocalEmbeddings
from vetoflow.rag.store import KnowledgeStore, open_store
from vetoflow.rag.upload_jobs import UploadService

WORDS = tuple(
    [
        "the",
        "kiosk",
        "pilot",
        "margin",
        "revenue",
        "store",
        "quarter",
        "lease",
        "customer",
        "growth",
        "risk",
        "board",
        "review",
        "rollout",
    ]
)


def junk_csv(path: Path, size: int, seed: int = 1) -> Path:
    """Rows of random letters and numbers, the kind of export nobody meant to upload (a block of random
    rows repeated with fresh ids, so 10 MB takes a fraction of a second to write)."""
    rng = random.Random(seed)
    block = []
    for _ in range(500):
        note = "".join(rng.choices(string.ascii_letters + " ", k=40))
        code = "".join(rng.choices(string.hexdigits, k=16))
        name = "".join(rng.choices(string.ascii_letters, k=12))
        block.append(f"{name},{rng.choice(['north', 'south'])},{rng.random() * 1e4:.2f},{note},{code}\n")
    lines = ["id,customer,region,amount,note,code\n"]
    written, row = len(lines[0]), 0
    while written < size:
        line = f"{row},{block[row % len(block)]}"
        lines.append(line)
        written += len(line)
        row += 1
    path.write_text("".join(lines))
    return path


def prose(path: Path, size: int, seed: int = 2, title: str = "Notes") -> Path:
    """Markdown paragraphs of ordinary words."""
    rng = random.Random(seed)
    with path.open("w") as out:
        out.write(f"# {title}\n\n")
        while out.tell() < size:
            out.write(" ".join(rng.choices(WORDS, k=rng.randint(8, 30))) + ".\n")
            if rng.random() < 0.2:
                out.write("\n")
    return path


@contextmanager
def upload_service(
    home: Path, embeddings: LocalEmbeddings, *, batch: int = 8, **overrides: object
) -> Iterator[tuple[UploadService, KnowledgeStore]]:
    settings = Settings(home=home, database_url=None, **overrides)  # type: ignore[arg-type]
    store = open_store(settings, embeddings)
    with open_database(settings) as database:
        yield UploadService(settings, IngestJobs(database.engine), lambda: store, batch=batch), store


def wait_for(check: Callable[[], IngestJob | None], timeout: float = 120.0) -> IngestJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found is not None:
            return found
        time.sleep(0.05)
    raise TimeoutError("the upload never reached the state waited for")


def embedding_started(service: UploadService, job_id: str) -> Callable[[], IngestJob | None]:
    """A check for `wait_for`: the job, once it has embedded its first batch."""

    def check() -> IngestJob | None:
        job = service.jobs.get(job_id)
        return job if job.chunks_done > 0 else None

    return check
