"""A first-release database gains the governance tables in place; its paused runs show a digest and are
decided through the approval gate under the policy in force (the pause is recorded on first decision)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from tests.test_upgrade import SQLITE_PAUSED, release1_postgres, release1_sqlite
from vetoflow.config import Settings
from vetoflow.db.engine import open_engine
from vetoflow.runs import audit, audit_check
from vetoflow.runs.store import open_service

GOVERNANCE_TABLES = {
    "vetoflow_audit", "vetoflow_audit_head", "vetoflow_outbox", "vetoflow_delivery_attempts",
    "vetoflow_pauses", "vetoflow_approvals",
}  # fmt: skip


def decide_an_old_pause(settings: Settings, run_id: str) -> None:
    with open_service(settings) as service:
        view = service.view(run_id)
        assert view.pending is not None
        digest = view.pending.digest
        assert digest is not None
        # the first release's payload had no why_waiting, sources or revised: they read empty, and the wire
        # still shows only the keys it stored (and the digest)
        assert view.pending.decision.veto is True
        assert view.pending.figures.npv == view.state.financials.npv
        assert (view.pending.why_waiting, view.pending.sources, view.pending.revised) == ([], [], None)
        assert set(view.model_dump(mode="json")["pending"]) == {
            "run_id", "scenario", "revision", "figures", "decision", "allowed_actions", "revisable", "digest",
        }  # fmt: skip
        assert digest.startswith("sha256:")
        assert view.approval is None, "no pause row yet: the first release never wrote one"
        done = service.decide(run_id, "approve", reviewer="ana", digest=digest, via="cli")
        assert done.status == "completed"
        assert done.decisions[-1].payload["digest"] == digest
        events = [e["event"] for e in audit.entries(service.database.engine, run_id=run_id)]
        assert events == ["run.paused", "run.decided", "run.completed"]
        assert audit_check.verify(service.database.engine).ok
    with open_engine(settings) as engine, engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= GOVERNANCE_TABLES


def test_release1_sqlite_pauses_are_decided_through_the_gate(tmp_path: Path) -> None:
    decide_an_old_pause(release1_sqlite(tmp_path), sorted(SQLITE_PAUSED)[0])


def test_release1_postgres_pauses_are_decided_through_the_gate(tmp_path: Path, postgres_url: str) -> None:
    settings = release1_postgres(tmp_path, postgres_url)
    decide_an_old_pause(settings, "4ae729c51cde")
