"""Runs of the first release keep working beside the risk figures; new runs carry them into the index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from tests.test_cli import vetoflow
from tests.test_upgrade import POSTGRES_PAUSED, release1_postgres, release1_sqlite
from vetoflow.config import Settings
from vetoflow.console.common import run_rows
from vetoflow.console.run_outputs import view_outputs
from vetoflow.render import run_panel
from vetoflow.risk.compare import compare
from vetoflow.risk.words import OLDER_METHOD, PATH_WISE
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service
from vetoflow.runs.views import RunView
from vetoflow.scenario import load_scenario

OLD_PAUSED = "c3810327a83a"  # vetoed sample, paused, written by the first release


def rendered(view: RunView) -> str:
    console = Console(width=200, record=True)
    console.print(run_panel(view))
    return console.export_text()


def test_old_runs_show_their_figures_marked_as_the_older_method(tmp_path: Path) -> None:
    with open_service(release1_sqlite(tmp_path)) as service:
        old = service.view(OLD_PAUSED)
        assert old.state.financials is not None
        assert old.state.financials.method == "per_period_bands"
        assert old.state.forecast is not None
        assert old.state.forecast.outcomes is None
        text = rendered(old)
        assert OLDER_METHOD in text
        assert "P(loss)" not in text
        row = next(r for r in service.list(["paused"]) if r.run_id == OLD_PAUSED)
        assert row.loss_probability is None
        assert run_rows([row], ["P(loss)"])[0][0] == "-"
        approved = service.decide(OLD_PAUSED, "approve", reviewer="ana", comment="old run, new release")
        assert approved.status == "completed"


def test_the_console_shows_an_old_run_s_figures_marked_as_the_older_method_and_no_charts_it_cannot_draw(
    tmp_path: Path,
) -> None:
    with open_service(release1_sqlite(tmp_path)) as service:
        old = service.view(OLD_PAUSED)
    outputs = view_outputs(old)
    figures, histogram, tornado = outputs[1], outputs[13], outputs[14]
    assert f"| Figures | {OLDER_METHOD} |" in figures
    assert "| ROI (P50) | -90.3% |" in figures  # its own figures, as the first release computed them
    assert "P(loss)" not in figures
    assert histogram.layout.title.text == "NPV: not available"  # no paths were kept: none invented
    assert tornado.layout.title.text == "Sensitivity: not available"


def test_replaying_an_old_run_from_the_forecaster_gives_path_wise_figures(tmp_path: Path) -> None:
    with open_service(release1_sqlite(tmp_path)) as service:
        replayed = service.replay(OLD_PAUSED, from_node="forecaster")
        new = replayed.new.state
        assert new.financials is not None
        assert new.financials.method == "path_wise"
        assert new.financials.loss_probability == 1.0
        side_by_side = {row.key: row for row in compare(replayed.old.state, new).figures}
        assert side_by_side["method"].a == "older method (per-period bands)"
        assert side_by_side["method"].b == "path-wise"
        assert side_by_side["loss_probability"].a == "-"
        assert PATH_WISE in rendered(replayed.new)


def test_old_postgres_runs_load_show_compare_and_replay(tmp_path: Path, postgres_url: str) -> None:
    """The first release's PostgreSQL database: its runs show their old figures marked as the older method
    (no path-wise figures, none invented), and replay and compare beside the new figures."""
    with open_service(release1_postgres(tmp_path, postgres_url)) as service:
        old_rows = service.list(limit=100)
        assert {r.run_id for r in old_rows if r.status == "paused"} == POSTGRES_PAUSED
        for row in old_rows:
            old = service.view(row.run_id)
            assert old.state.financials is not None
            assert old.state.financials.method == "per_period_bands"
            assert old.state.financials.loss_probability is None  # absent, not made up
            assert old.state.forecast is not None
            assert old.state.forecast.outcomes is None
            assert row.loss_probability is None
            text = rendered(old)
            assert OLDER_METHOD in text
            assert "P(loss)" not in text
            assert service.trace_inputs(row.run_id).checkpoints  # its history still reads
        paused = sorted(POSTGRES_PAUSED)[0]
        replayed = service.replay(paused, from_node="forecaster")
        new = replayed.new.state
        assert new.financials is not None
        assert new.financials.method == "path_wise"
        assert new.financials.loss_probability is not None
        assert 0.0 <= new.financials.loss_probability <= 1.0
        assert new.scenario == replayed.old.state.scenario  # the same plan, figured the new way
        side_by_side = {row.key: row for row in compare(replayed.old.state, new).figures}
        assert side_by_side["method"].a == "older method (per-period bands)"
        assert side_by_side["method"].b == "path-wise"
        assert side_by_side["loss_probability"].a == "-"
        assert side_by_side["loss_probability"].b != "-"
        assert PATH_WISE in rendered(replayed.new)
        assert service.view(paused).status == "paused"  # the source run is untouched and still decidable
        assert service.decide(paused, "approve", reviewer="ana").status == "completed"


def test_the_inbox_shows_p_loss_from_the_index(service: RunService, examples: Path) -> None:
    view = service.start(load_scenario(examples / "borderline.yaml"))
    assert view.status == "paused"
    row = next(r for r in service.list(["paused"]) if r.run_id == view.run.run_id)
    assert view.state.financials is not None
    assert row.loss_probability == view.state.financials.loss_probability
    assert run_rows([row], ["P(loss)"])[0][0] == "55.2%"


@pytest.mark.slow  # whole `vetoflow` processes (or a browser): the full suite runs it
def test_compare_command_puts_two_runs_side_by_side(settings: Settings, examples: Path, tmp_path: Path) -> None:
    cheaper = tmp_path / "cheaper.yaml"
    shutil.copy(examples / "borderline.yaml", cheaper)
    cheaper.write_text(cheaper.read_text().replace("investment: 420000", "investment: 300000"))
    ids = []
    for path in (examples / "borderline.yaml", cheaper):
        started = vetoflow(settings, "run", path, "--json")
        ids.append(json.loads(started.stdout)["run"]["run_id"])
    shown = vetoflow(settings, "compare", *ids)
    assert shown.returncode == 0, shown.stderr
    for text in ("Inputs changed", "investment", "420000.0", "300000.0", "P(loss) = P(NPV < 0)", "55.2%"):
        assert text in shown.stdout, text
    data = json.loads(vetoflow(settings, "compare", *ids, "--json").stdout)
    assert [c["key"] for c in data["inputs_changed"]] == ["investment"]
    assert vetoflow(settings, "compare", ids[0], "nope").returncode == 5
