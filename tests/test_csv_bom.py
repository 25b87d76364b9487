"""A CSV saved by Excel as "CSV UTF-8" starts with a byte order mark; it loads like any other CSV (the BOM was
read as part of the first column's name: "needs a 'revenue' column"). The parsers, a scenario's files, the
console's segments upload and the API's attachments."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api_support import LocalApi, local_api
from vetoflow.console.uploads import read_upload
from vetoflow.scenario import load_scenario, parse_history_csv, parse_segments_csv

__all__ = ["local_api"]  # the fixture

BOM = b"\xef\xbb\xbf"
HISTORY = b"revenue\n1\n1\n1\n1\n"
SEGMENTS = b"name,base_revenue,margin\nKiosks,1000,0.2\n"
PLAN = b"name: t\ninvestment: 10\nhorizon: 2\ndiscount_rate: 0\nsegments_csv: segments.csv\n"
PLAN_WITH_HISTORY = (
    b"name: t\ninvestment: 10\nhorizon: 2\ndiscount_rate: 0\nsegments:\n"
    b"  - {name: Subs, base_revenue: 1, margin: 0.5, history_csv: history.csv}\n"
)


def test_the_csv_parsers_read_past_a_leading_bom() -> None:
    assert parse_history_csv((BOM + HISTORY).decode(), "history.csv") == [1.0] * 4
    assert parse_segments_csv((BOM + SEGMENTS).decode()) == [{"name": "Kiosks", "base_revenue": 1000.0, "margin": 0.2}]


@pytest.mark.parametrize("plan_bom", [b"", BOM], ids=["plain-plan", "bom-plan"])
def test_a_scenario_whose_files_start_with_a_bom_loads(tmp_path: Path, plan_bom: bytes) -> None:
    (tmp_path / "history.csv").write_bytes(BOM + HISTORY)
    (tmp_path / "segments.csv").write_bytes(BOM + SEGMENTS)
    (tmp_path / "history.yaml").write_bytes(plan_bom + PLAN_WITH_HISTORY)
    (tmp_path / "segments.yaml").write_bytes(plan_bom + PLAN)
    assert load_scenario(tmp_path / "history.yaml").segments[0].history == [1.0] * 4
    assert [s.name for s in load_scenario(tmp_path / "segments.yaml").segments] == ["Kiosks"]


def test_the_consoles_segments_upload_reads_past_a_bom(tmp_path: Path) -> None:
    (tmp_path / "segments.csv").write_bytes(BOM + SEGMENTS)
    scenario, segments = read_upload(tmp_path / "segments.csv", max_bytes=1_000_000)
    assert scenario is None
    assert [(s.name, s.base_revenue) for s in segments] == [("Kiosks", 1000.0)]


def test_an_api_upload_with_a_bom_history_attachment_starts_the_run(local_api: LocalApi) -> None:
    files = [("scenario", ("plan.yaml", PLAN_WITH_HISTORY)), ("attachments", ("history.csv", BOM + HISTORY))]
    answer = local_api.http.post("/runs/upload", files=files)
    assert answer.status_code == 201, answer.text
    assert answer.json()["run"]["status"] in ("completed", "paused")
