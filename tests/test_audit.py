"""The audit log: a hash chain that names the edited or deleted row, exported as csv or jsonl."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, text, update

from tests.conftest import env_for
from vetoflow.config import Settings
from vetoflow.db import open_database
from vetoflow.db.tables import audit_table
from vetoflow.errors import UsageError, VetoflowError
from vetoflow.identity.users_file import add_user
from vetoflow.runs import audit, audit_check
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
    verdict = audit_check.verify(engine)
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
    verdict = audit_check.verify(engine)
    assert not verdict.ok
    assert verdict.problems == ["row seq 3 (run.decided, run run2) was edited: it no longer matches its hash"]


def test_verify_names_deleted_rows_in_the_middle_and_at_the_end(engine: Engine) -> None:
    fill(engine)
    with engine.begin() as conn:
        conn.execute(delete(audit_table).where(audit_table.c.seq == 2))
    assert audit_check.verify(engine).problems == ["row(s) seq 2 deleted: seq 3 follows seq 1"]
    with engine.begin() as conn:
        conn.execute(delete(audit_table).where(audit_table.c.seq >= 4))
    problems = audit_check.verify(engine).problems
    assert "the newest row(s) after seq 3 were deleted (the head records seq 5)" in problems


def test_a_forged_rehash_of_one_row_breaks_the_next_link(engine: Engine) -> None:
    fill(engine)
    with engine.begin() as conn:
        conn.execute(update(audit_table).where(audit_table.c.seq == 2).values(hash="sha256:" + "f" * 64))
    problems = audit_check.verify(engine).problems
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
    verdict = audit_check.verify(engine)
    assert (verdict.ok, verdict.checked) == (True, 40), verdict.problems


def exported(engine: Engine, tmp_path: Path, fmt: str, since: str | None = None) -> Path:
    path = tmp_path / f"audit.{fmt}"
    path.write_text("".join(audit.export(engine, fmt, since)), encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_exported_file_verifies_offline_whole_or_from_a_date(engine: Engine, tmp_path: Path, fmt: str) -> None:
    fill(engine)
    whole = audit_check.verify_file(exported(engine, tmp_path, fmt), [])
    assert (whole.ok, whole.checked, whole.first_seq, whole.problems) == (True, 5, 1, [])
    live = audit_check.verify(engine)
    assert whole.last == live.last, "the file ends where the live log does"
    third = next(audit.entries(engine, run_id="run2"))
    later = audit_check.verify_file(exported(engine, tmp_path, fmt, since=third["at"]), [])
    assert (later.ok, later.checked, later.first_seq) == (True, 3, 3)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_exported_file_with_a_changed_or_dropped_line_names_it(engine: Engine, tmp_path: Path, fmt: str) -> None:
    fill(engine)
    path = exported(engine, tmp_path, fmt)
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("ok 3", "ok 9"), encoding="utf-8")
    edited = audit_check.verify_file(path, [])
    assert edited.problems == ["row seq 4 (run.decided, run run3) was edited: it no longer matches its hash"]
    lines = original.splitlines(keepends=True)
    dropped = [line for line in lines if '"run1"' not in line and ",run1," not in line]
    assert len(dropped) == len(lines) - 1
    path.write_text("".join(dropped), encoding="utf-8")
    assert audit_check.verify_file(path, []).problems == ["row(s) seq 2 deleted: seq 3 follows seq 1"]


def test_an_anchor_catches_a_chain_rewritten_and_rehashed_by_someone_with_write_access(engine: Engine) -> None:
    fill(engine, 3)
    noted = audit_check.verify(engine).last
    assert noted is not None
    assert noted.seq == 3
    assert audit_check.verify(engine, [noted]).anchors_met == [noted]
    rows = list(audit.entries(engine))
    with engine.begin() as conn:  # the insider edits seq 2 and recomputes every hash after it, head included
        prev = rows[0]["hash"]
        for row in rows[1:]:
            details = {**row["details"], "comment": "forged"} if row["seq"] == 2 else row["details"]
            fields = (row["at"], row["event"], row["run_id"], row["actor"], row["via"], audit.canonical(details))
            digest = audit.row_hash(prev, row["seq"], fields)
            values = {"details": fields[-1], "prev_hash": prev, "hash": digest}
            conn.execute(update(audit_table).where(audit_table.c.seq == row["seq"]).values(**values))
            prev = digest
        conn.execute(text("UPDATE vetoflow_audit_head SET hash = :h"), {"h": prev})
    assert audit_check.verify(engine).ok, "the chain alone cannot tell"
    rewritten = audit_check.verify(engine, [noted])
    assert rewritten.problems == [f"row seq 3 is not the anchored entry {noted}: the chain was rewritten from there on"]
    beyond = audit_check.Anchor(9, noted.hash)
    assert audit_check.verify(engine, [beyond]).problems == [f"anchor {beyond}: no row seq 9 among the entries checked"]


def test_a_file_that_is_not_an_export_is_refused_with_its_line(engine: Engine, tmp_path: Path) -> None:
    fill(engine, 1)
    path = tmp_path / "notes.jsonl"
    path.write_text('{"seq": 1, "event": "run.paused"}\n', encoding="utf-8")
    with pytest.raises(VetoflowError, match=r"--file line 1: not an audit entry \(no at, run_id, actor"):
        audit_check.verify_file(path, [])
    entry = json.loads("".join(audit.export(engine, "jsonl")).splitlines()[0])
    path.write_text(json.dumps({**entry, "prev_hash": None}) + "\n", encoding="utf-8")
    assert audit_check.verify_file(path, []).problems == [
        "row seq 1 (run.decided, run run0) was edited: its hashes are not text"
    ]
    path.write_bytes(b"\xff\xfe binary")
    with pytest.raises(VetoflowError, match="is not UTF-8 text"):
        audit_check.verify_file(path, [])
    with pytest.raises(UsageError, match="--file: cannot read"):
        audit_check.verify_file(tmp_path / "missing.jsonl", [])
    with pytest.raises(UsageError, match=r"--anchor '3:abc': expected SEQ:HASH"):
        audit_check.parse_anchor("3:abc")


def vetoflow(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vetoflow", *args], capture_output=True, text=True, env=env_for(settings), check=False
    )


@pytest.mark.slow  # whole `vetoflow` processes (or a browser): the full suite runs it
def test_cli_exports_and_verify_catches_an_edit(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    fill(engine, 3)
    add_user(settings.home / "users.yaml", "ad", ["admin"], None)  # reading the log needs the audit role
    exported = vetoflow(settings, "audit", "export", "--format", "csv", "--since", "2000-01-01", "--reviewer", "ad")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines()[0] == "seq,at,event,run_id,actor,via,details,prev_hash,hash"
    assert len(exported.stdout.splitlines()) == 4
    assert vetoflow(settings, "audit", "export", "--since", "2999-01-01", "--reviewer", "ad").stdout == ""
    ok = vetoflow(settings, "audit", "verify")
    assert ok.returncode == 0
    assert "3 rows, hash chain verified" in ok.stdout
    last = ok.stdout.split("last entry (anchor a later check with --anchor): ")[1].strip()
    assert last.startswith("3:sha256:")
    export_file = tmp_path / "audit.csv"
    export_file.write_text(exported.stdout, encoding="utf-8")
    offline = vetoflow(settings, "audit", "verify", "--file", str(export_file), "--anchor", last)
    assert offline.returncode == 0, offline.stderr
    assert f"{export_file} intact: seq 1-3, hash chain verified; anchor(s) 3 found" in offline.stdout
    one_run = vetoflow(settings, "audit", "export", "--run", "run1", "--reviewer", "ad").stdout.splitlines()
    assert [json.loads(line)["run_id"] for line in one_run] == ["run1"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE vetoflow_audit SET actor = 'mallory' WHERE seq = 2"))
    bad = vetoflow(settings, "audit", "verify")
    assert bad.returncode == 1
    assert "row seq 2 (run.decided, run run1) was edited" in bad.stderr
    assert vetoflow(settings, "audit", "export", "--since", "yesterday").returncode == 2  # a bad option value: usage
