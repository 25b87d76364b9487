"""Tampering the chain alone cannot show: the head deleted or edited with the newest rows (named by verify,
and refused by the next write instead of re-seeded over), and an export's lines reordered or repeated
(named as such, not as deletions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text

from tests.cli_support import invoke, refused
from vetoflow.config import Settings
from vetoflow.db.tables import audit_head_table, audit_table
from vetoflow.identity.roles import BUILTIN_ROLES, User
from vetoflow.runs import audit, audit_check
from vetoflow.runs.audit import AuditChainError
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

ANA = User("ana", frozenset({"viewer"}), BUILTIN_ROLES["viewer"])


def entries(service: RunService) -> int:
    with service.database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_table)).scalar_one())


def test_a_deleted_head_is_named_and_the_next_write_is_refused_whole(service: RunService, vetoed: Scenario) -> None:
    run_id = service.start(vetoed).run.run_id
    service.comment(run_id, ANA, "first look")
    newest = entries(service)
    with service.database.engine.begin() as conn:  # the insider hides the last entry: its row and the head
        conn.execute(delete(audit_table).where(audit_table.c.seq == newest))
        conn.execute(delete(audit_head_table))
    verdict = audit_check.verify(service.database.engine)
    assert not verdict.ok
    assert verdict.problems == [
        f"the head row is missing (deleted), so rows after seq {newest - 1} may have been deleted with it"
    ]
    with pytest.raises(AuditChainError, match="head row is missing but entries exist: nothing was recorded"):
        service.comment(run_id, ANA, "second look")
    assert [c.text for c in service.comments(run_id)] == ["first look"], "the second went with its audit entry"
    assert entries(service) == newest - 1


def test_a_head_set_back_is_named_and_the_next_write_is_refused(service: RunService, vetoed: Scenario) -> None:
    run_id = service.start(vetoed).run.run_id
    newest = entries(service)
    with service.database.engine.begin() as conn:
        conn.execute(text("UPDATE vetoflow_audit_head SET seq = seq - 1"))
    assert audit_check.verify(service.database.engine).problems == [
        f"the head (seq {newest - 1}) does not match the newest row (seq {newest}): the head or the rows after it "
        "were edited"
    ]
    with pytest.raises(AuditChainError, match=f"the audit log has seq {newest} past its head"):
        service.comment(run_id, ANA, "a look")
    assert service.comments(run_id) == []


def test_the_cli_refuses_a_write_to_a_headless_log_in_one_line(home: Settings, vetoed: Scenario) -> None:
    with open_service(home) as service:
        run_id = service.start(vetoed).run.run_id
        with service.database.engine.begin() as conn:
            conn.execute(delete(audit_head_table))
    result = invoke(home, "comment", run_id, "-m", "hello", "--reviewer", "ana")
    refused(result, 1, "the audit log's head row is missing", "`vetoflow audit verify` names what was altered")
    verified = invoke(home, "audit", "verify")
    assert verified.exit_code == 1
    assert "the head row is missing (deleted)" in verified.stderr


def lines_of(service: RunService) -> list[str]:
    return "".join(audit.export(service.database.engine, "jsonl")).splitlines(keepends=True)


@pytest.mark.parametrize(
    ("order", "problems"),
    [
        ([0, 1, 2, 3, 3, 4], ["row seq 4 repeated: a row with that seq came before"]),
        ([0, 1, 3, 2, 4], ["row seq 3 out of order: it follows seq 4"]),
        ([0, 1, 3, 5, 2], ["row(s) seq 5 deleted: seq 6 follows seq 4", "row seq 3 out of order: it follows seq 6"]),
        ([0, 1, 4, 2], ["row(s) seq 4 deleted", "row seq 3 out of order: it follows seq 5"]),
    ],
    ids=["repeated", "swapped", "swapped-and-deleted", "partly-filled"],
)
def test_an_export_with_lines_moved_or_copied_names_them_so(
    service: RunService, vetoed: Scenario, tmp_path: Path, order: list[int], problems: list[str]
) -> None:
    run_id = service.start(vetoed).run.run_id
    for number in range(6):
        service.comment(run_id, ANA, f"look {number}")
    lines = lines_of(service)
    assert [json.loads(line)["seq"] for line in lines[:5]] == [1, 2, 3, 4, 5], "line i holds seq i + 1"
    path = tmp_path / "audit.jsonl"
    path.write_text("".join(lines[i] for i in order), encoding="utf-8")
    assert audit_check.verify_file(path, []).problems == problems
