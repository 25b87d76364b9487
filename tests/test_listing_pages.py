"""Keyset pages over the run index: every run exactly once, at the cost of the first page, on both backends."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text, update

from tests.api_support import ApiEnv, LocalApi, api, client, local_api  # noqa: F401  (the API fixtures)
from tests.test_cli import vetoflow
from vetoflow.cli import cli
from vetoflow.config import Settings
from vetoflow.db.tables import runs_table
from vetoflow.errors import UsageError
from vetoflow.runs.index import cursor_of, parse_cursor
from vetoflow.runs.service import RunService
from vetoflow.scenario import Scenario


def create_runs(service: RunService, count: int, *, status: str = "queued", prefix: str = "run") -> list[str]:
    """Index rows as `start` writes them in queue mode (the row is born before any worker runs it)."""
    ids = []
    for i in range(count):
        run_id = uuid.uuid4().hex[:12]
        service.index.create(run_id, f"{prefix} {i}", 100_000.0, None, status="queued")
        if status != "queued":
            service.index.update(run_id, status=status)
        ids.append(run_id)
    return ids


def walk(service: RunService, statuses: list[str], limit: int, during_each_page: object = None) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = service.page(statuses, limit=limit, after=cursor)
        seen += [row.run_id for row in page.runs]
        if callable(during_each_page):
            during_each_page()
        if page.next_cursor is None:
            return seen
        assert len(page.runs) == limit
        cursor = page.next_cursor


def test_pages_return_every_run_exactly_once_while_runs_are_added(service: RunService, vetoed: Scenario) -> None:
    real = service.start(vetoed).run.run_id  # one run the graph paused, among index rows
    existing = set(create_runs(service, 60, status="paused")) | {real}
    create_runs(service, 15, status="completed")  # filtered out
    stop = threading.Event()
    added: list[str] = []

    def keep_adding() -> None:
        while not stop.is_set() and len(added) < 200:
            added.extend(create_runs(service, 1, status="paused", prefix="late"))

    writer = threading.Thread(target=keep_adding)
    writer.start()
    try:
        seen = walk(service, ["paused"], limit=7, during_each_page=lambda: stop.wait(0.005))
    finally:
        stop.set()
        writer.join()
    assert added, "the writer added no run while the pages were read"
    assert len(seen) == len(set(seen)), "a run was listed twice"
    assert existing <= set(seen), "a run that existed before the first page was never listed"
    assert set(seen) <= existing | set(added)


def test_runs_created_in_the_same_instant_are_ordered_by_id_and_none_is_skipped(service: RunService) -> None:
    ids = create_runs(service, 9)
    same = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    with service.database.engine.begin() as conn:
        conn.execute(update(runs_table).where(runs_table.c.run_id.in_(ids)).values(created_at=same))
    seen = walk(service, [], limit=2)
    assert seen == sorted(ids, reverse=True)


def test_offset_pages_still_work_for_old_callers(service: RunService) -> None:
    ids = create_runs(service, 5)[::-1]  # newest first
    assert [r.run_id for r in service.list(limit=2, offset=2)] == ids[2:4]
    with pytest.raises(UsageError, match="either a cursor or an offset"):
        service.page(limit=2, offset=2, after=service.page(limit=2).next_cursor)


@pytest.mark.parametrize(
    "tampered",
    ["", "not base64!", "MjAyNi0wMS0wMQ", "x" * 200, "MjAyNi0wMS0wMVQwMDowMDowMC4wMDAwMDB8JyBPUiAxPTEgLS0"],
)
def test_a_cursor_not_made_by_a_listing_is_refused(tampered: str) -> None:
    with pytest.raises(UsageError, match="invalid cursor"):
        parse_cursor(tampered)


def test_a_cursor_names_the_last_rows_sort_key(service: RunService) -> None:
    create_runs(service, 3)
    row = service.list(limit=1)[0]
    assert parse_cursor(cursor_of(row)) == (row.created_at, row.run_id)


def test_sqlite_pages_seek_through_the_listing_index(tmp_path: Path) -> None:
    from vetoflow.runs.store import open_service

    with open_service(Settings(home=tmp_path)) as service:
        create_runs(service, 3, status="paused")
        cursor = service.page(["paused"], limit=1).next_cursor
        assert cursor is not None
        created_at, run_id = parse_cursor(cursor)
        with service.database.engine.connect() as conn:
            plan = conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT * FROM vetoflow_runs WHERE status = 'paused' "
                    "AND (created_at, run_id) < (:c, :r) ORDER BY created_at DESC, run_id DESC LIMIT 51"
                ),
                {"c": created_at.strftime("%Y-%m-%d %H:%M:%S.%f"), "r": run_id},
            ).all()
    details = " ".join(str(row[-1]) for row in plan)
    assert "ix_vetoflow_runs_status_page" in details
    assert "TEMP B-TREE" not in details  # no sort: the index hands rows over in listing order


def test_api_pages_with_a_cursor_and_says_when_there_are_no_more(api: ApiEnv) -> None:  # noqa: F811
    ids = set(create_runs(api.service, 5))
    seen: list[str] = []
    with client(api.url) as http:
        cursor: str | None = None
        for _ in range(3):
            params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            body = http.get("/runs", params=params).json()
            seen += [r["run_id"] for r in body["runs"]]
            cursor = body["next_cursor"]
        assert cursor is None
        refused = http.get("/runs", params={"cursor": "bogus"})
        first_cursor = http.get("/runs", params={"limit": 2}).json()["next_cursor"]
        both = http.get("/runs", params={"cursor": first_cursor, "offset": 1})
    assert sorted(seen) == sorted(ids)
    assert refused.status_code == 422
    assert "invalid cursor" in refused.text
    assert both.status_code == 422
    assert "either a cursor or an offset" in both.text


def test_an_empty_cursor_is_the_first_page_in_the_api_and_the_cli(local_api: LocalApi, home: Settings) -> None:  # noqa: F811
    newest_first = create_runs(local_api.service, 3, status="paused")[::-1]
    listed = local_api.http.get("/runs?status=paused&limit=2&cursor=")
    assert listed.status_code == 200, listed.text
    assert [r["run_id"] for r in listed.json()["runs"]] == newest_first[:2]
    assert listed.json()["next_cursor"] == local_api.http.get("/runs?status=paused&limit=2").json()["next_cursor"]
    args = ["--home", str(home.home), "runs", "-s", "paused", "-n", "2", "--after", "", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert [r["run_id"] for r in json.loads(result.stdout)] == newest_first[:2]


@pytest.mark.slow
def test_cli_prints_the_next_page_command(settings: Settings, examples: Path) -> None:
    for _ in range(3):
        assert vetoflow(settings, "run", examples / "vetoed.yaml").returncode == 3
    first = vetoflow(settings, "runs", "-s", "paused", "-n", "2", "--json")
    assert first.returncode == 0, first.stderr
    command = first.stderr.strip().split("more: ")[-1].split()
    assert command[:5] == ["vetoflow", "runs", "-s", "paused", "-n"]
    second = vetoflow(settings, *command[1:], "--json")
    assert second.returncode == 0
    assert "more:" not in second.stderr
    ids = [r["run_id"] for r in [*json.loads(first.stdout), *json.loads(second.stdout)]]
    assert len(set(ids)) == 3
    bad = vetoflow(settings, "runs", "--after", "bogus")
    assert bad.returncode == 2
    assert "invalid cursor" in bad.stderr
