"""The audit log: a hash chain that names the edited or deleted row, exported as csv or jsonl."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, text, update

from tests.conftest import env_for
from vetoflow.config import Settings
from vetoflow.db import open_database
from vetoflow.db.tables import audit_table
from vetoflow.runs import audit
from vetoflow.runs.audit import GENESIS


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    with open_database(settings) as database:  # migrated: the governance tables exist
        yield database.engine


def fill(engine: Engine, count: int = 5) -> None:
    for number in range(count):
        audit.record(
            engine, "run.decided", run_id=f"run{number}", actor="ana", via="cli",
            details={"action": "approve", "comment": f"ok {number}", "digest": "sha256:" + "a" * 64},
        )  # fmt: skip


def test_an_untouched_log_verifies_and_exports(engine: Engine) -> None:
    fill(engine)
    verdict = audit.verify(engine)
    assert (verdict.ok, verdict.checked, verdict.problems) == (True, 5, [])
    lines = "".join(audit.export(engine, "jsonl")).splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    assert rows[0]["prev_hash"] == GENESIS
    assert rows[2]["details"]["comment"] == "ok 2"
    table = list(csv.DictReader(io.StringIO("".join(audit.export(engine, "csv")))))
    assert [r["run_id"] for r in table] == ["run0", "run1", "run2", "run3", "run4"]
    assert json.loads(table[0]["details"])["action"] == "approve"
    later = "".join(audit.export(engine, "jsonl", since=rows[3]["at"])).splitlines()
    assert [json.loads(line)["seq"] for line in later] == [4, 5]


def test_verify_names_a_row_edited_in_the_database(engine: Engine) -> None:
    fill(engine)
    with engine.begin() as conn:  # an insider rewrites the comment straight in SQL
        conn.execute(text("UPDATE vetoflow_audit SET details = :d WHERE seq = 3"), {"d": '{"action":"reject"}'})
    verdict = audit.verify(engine)
    assert not verdict.ok
    assert verdict.problems == ["row seq 3 (run.decided, run run2) was edited: it no longer matches its hash"]


def test_verify_names_deleted_rows_in_the_middle_and_at_the_end(engine: Engine) -> None:
    fill(engine)
    with engine.begin() as conn:
        conn.execute(delete(audit_table).where(audit_table.c.seq == 2))
    assert audit.verify(engine).problems == ["row(s) seq 2 deleted: seq 3 follows seq 1"]
    with engine.begin() as conn:
        conn.execute(delete(audit_table).where(audit_table.c.seq >= 4))
    problems = audit.verify(engine).problems
    assert "the newest row(s) after seq 3 were deleted (the head records seq 5)" in problems


def test_a_forged_rehash_of_one_row_breaks_the_next_link(engine: Engine) -> None:
    fill(engine)
    with engine.begin() as conn:
        conn.execute(update(audit_table).where(audit_table.c.seq == 2).values(hash="sha256:" + "f" * 64))
    problems = audit.verify(engine).problems
    assert "row seq 2 (run.decided, run run1) was edited: it no longer matches its hash" in problems
    assert "row seq 3: prev_hash does not match the hash of seq 2" in problems


def test_concurrent_writers_form_one_chain(engine: Engine) -> None:
    barrier = threading.Barrier(8)

    def write(worker: int) -> None:
        barrier.wait()
        for number in range(5):
            audit.record(engine, "run.paused", run_id=f"w{worker}-{number}", actor="system", via="sweep", details={})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    verdict = audit.verify(engine)
    assert (verdict.ok, verdict.checked) == (True, 40), verdict.problems


def vetoflow(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vetoflow", *args], capture_output=True, text=True, env=env_for(settings), check=False
    )


@pytest.mark.slow  # whole `vetoflow` processes (or a browser): the full suite runs it
def test_cli_exports_and_verify_catches_an_edit(settings: Settings, engine: Engine) -> None:
    fill(engine, 3)
    exported = vetoflow(settings, "audit", "export", "--format", "csv", "--since", "2000-01-01")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines()[0] == "seq,at,event,run_id,actor,via,details,prev_hash,hash"
    assert len(exported.stdout.splitlines()) == 4
    assert vetoflow(settings, "audit", "export", "--since", "2999-01-01").stdout == ""
    ok = vetoflow(settings, "audit", "verify")
    assert ok.returncode == 0
    assert "3 rows, hash chain verified" in ok.stdout
    with engine.begin() as conn:
        conn.execute(text("UPDATE vetoflow_audit SET actor = 'mallory' WHERE seq = 2"))
    bad = vetoflow(settings, "audit", "verify")
    assert bad.returncode == 1
    assert "row seq 2 (run.decided, run run1) was edited" in bad.stderr
    assert vetoflow(settings, "audit", "export", "--since", "yesterday").returncode == 2  # a bad option value: usage
