"""`vetoflow demo` starts runs like `vetoflow run`: the start permission, a recorded requester, the file-size
limit, every file checked before any run, and its table newest first like `vetoflow runs`."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli_support import invoke, refused
from tests.conftest import EXAMPLES
from vetoflow.config import Settings
from vetoflow.identity.users_file import add_user
from vetoflow.runs.store import open_service


def samples(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "samples"
    folder.mkdir()
    for name in names:
        shutil.copy(EXAMPLES / name, folder / name)
    return folder


def run_count(settings: Settings) -> int:
    with open_service(settings) as service:
        return len(service.list())


def test_demo_records_its_requester_and_lists_newest_first(home: Settings, tmp_path: Path) -> None:
    folder = samples(tmp_path, "profitable.yaml", "vetoed.yaml")  # run in this order
    result = invoke(home, "demo", "--examples", folder, "--requester", "an")
    assert result.exit_code == 0, result.output
    with open_service(home) as service:
        ids = {row.name: row.run_id for row in service.list()}
        assert {service.view(run_id).state.requester for run_id in ids.values()} == {"an"}
    table = result.stdout.split("newest first", 1)[1]  # run ids never wrap, whatever the terminal's width
    assert table.index(ids["Retail kiosk rollout"]) < table.index(ids["Nordic SaaS expansion"])  # vetoed ran last


def test_demo_checks_the_start_permission(home: Settings, tmp_path: Path) -> None:
    add_user(home.home / "users.yaml", "vi", ["viewer"], None)
    folder = samples(tmp_path, "profitable.yaml")
    refused(invoke(home, "demo", "--examples", folder, "--requester", "vi"), 7, "vi (viewer)")
    assert run_count(home) == 0


def test_demo_runs_nothing_when_one_file_is_invalid(home: Settings, tmp_path: Path) -> None:
    folder = samples(tmp_path, "profitable.yaml", "vetoed.yaml")
    (folder / "zz_broken.yaml").write_text("name: broken\ninvestment: -1\n")
    result = invoke(home, "demo", "--examples", folder)
    assert result.exit_code == 1, result.output
    assert "1 of 3 scenario(s) invalid; nothing was run" in result.stderr
    assert "zz_broken.yaml" in result.stderr
    assert "Traceback" not in result.output
    assert run_count(home) == 0


def test_demo_honours_the_file_size_limit(home: Settings, tmp_path: Path) -> None:
    folder = samples(tmp_path, "profitable.yaml")
    padded = folder / "profitable.yaml"
    padded.write_text(padded.read_text() + "#" * 2_000 + "\n")
    result = invoke(home, "demo", "--examples", folder, VETOFLOW_MAX_FILE_BYTES="1000")
    assert result.exit_code == 1, result.output
    assert "the limit is 1,000" in result.stderr
    assert run_count(home) == 0
