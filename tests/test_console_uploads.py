"""The Knowledge tab's upload handlers as plain functions (the job layer itself: tests/test_ingest_jobs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.upload_support import embedding_started, junk_csv, prose, upload_service, wait_for
from vetoflow.console.knowledge_uploads import (
    JOB_COLUMNS,
    cancel_choices,
    cancel_upload,
    job_rows,
    submit_uploads,
)
from vetoflow.errors import VetoflowError
from vetoflow.identity.roles import PermissionDeniedError, User, grants_for
from vetoflow.rag.embeddings import LocalEmbeddings


def person(name: str, *roles: str) -> User:
    return User(name, frozenset(roles), grants_for(frozenset(roles), {}), "users-file")


ANA, BO, VIC, ROOT = person("ana", "analyst"), person("bo", "analyst"), person("vic", "viewer"), person("root", "admin")


def test_upload_returns_at_once_refuses_the_oversized_file_and_shows_everyones_progress(
    tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    big = junk_csv(tmp_path / "export.csv", 3_000_000)
    notes = prose(tmp_path / "notes.md", 2_000)
    (tmp_path / "again").mkdir()
    twin = prose(tmp_path / "again" / "notes.md", 1_000)
    with upload_service(tmp_path / "home", embeddings, ingest_max_chunks=500) as (service, store):
        with pytest.raises(VetoflowError, match="Choose one or more files"):
            submit_uploads(service, [], ANA)
        message, rows = submit_uploads(service, [str(big), str(notes), str(twin)], ANA)
        first, refused = message.split("\n\n")
        assert first == "✅ 1 file(s) queued: progress shows below, and you can keep working."
        assert refused.startswith("⚠️ **2 file(s) refused**:\n- export.csv\\: 3,000,")
        assert "chunks per file (VETOFLOW\\_INGEST\\_MAX\\_CHUNKS" in refused  # Markdown-escaped, shown as text
        assert refused.endswith("- notes.md: another file in this upload has the same name")
        assert len(rows[0]) == len(JOB_COLUMNS)
        by_file = {row[0]: row for row in rows}
        assert by_file["export.csv"][1:3] == [
            "refused",
            f"~{service.jobs.recent()[-1].chunks_estimated:,} chunks (estimate)",
        ]
        assert by_file["export.csv"][4] == "ana"

        [queued] = [job for job in service.recent() if job.status != "refused"]
        assert service.wait(queued.job_id, 60).status == "done"
        row = {r[0]: r for r in job_rows(service.recent())}["notes.md"]
        total = service.jobs.get(queued.job_id).chunks_total
        assert row[1:4] == ["done", f"{total} / {total} chunks (100%)", f"{total} chunk(s) added"]
        assert cancel_choices(service.recent()) == []
        assert store.count() == total


def test_an_admin_cancelling_someone_elses_upload_stops_it_and_says_so(
    tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    long = prose(tmp_path / "long.md", 60_000)
    with upload_service(tmp_path / "home", embeddings) as (service, store):
        submit_uploads(service, [str(long)], ANA)
        listed = service.recent()  # one snapshot: the job may move from queued to running at any moment
        [job] = listed
        assert cancel_choices(listed) == [(f"long.md ({job.status}, by ana)", job.job_id)]
        wait_for(embedding_started(service, job.job_id))
        with pytest.raises(VetoflowError, match="pick an upload to cancel"):
            cancel_upload(service, None, ROOT)
        with pytest.raises(PermissionDeniedError, match="bo may not cancel ana's upload"):
            cancel_upload(service, job.job_id, BO)
        message = cancel_upload(service, job.job_id, ROOT)
        assert message == "✅ Stopping **long.md**: it ends at its next batch, and nothing of it is kept."
        ended = service.wait(job.job_id, 60)
        done, total = ended.chunks_done, ended.chunks_total or 0
        assert 0 < done < total
        assert job_rows([ended])[0][1:4] == [
            "cancelled",
            f"{done} / {total} chunks ({round(100 * done / total)}%)",
            "cancelled by root; nothing was written",
        ]
        assert store.count() == 0
        with pytest.raises(VetoflowError, match=r"long\.md is cancelled already; nothing to cancel"):
            cancel_upload(service, job.job_id, ROOT)


def test_a_viewer_may_not_upload_and_an_uploader_may_cancel_their_own(
    tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    long = prose(tmp_path / "long.md", 60_000)
    with upload_service(tmp_path / "home", embeddings) as (service, store):
        with pytest.raises(PermissionDeniedError, match=r"vic \(viewer\) may not start runs"):
            submit_uploads(service, [str(long)], VIC)
        assert service.recent() == []
        submit_uploads(service, [str(long)], BO)
        [job] = service.recent()
        assert cancel_upload(service, job.job_id, BO).startswith("✅")
        assert service.wait(job.job_id, 60).status == "cancelled"
        assert store.count() == 0
