"""Bad input at the command line is one `Error:` line naming the option or field and what is allowed, with
the documented exit code: never a traceback, never an empty value read as "not given"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli_support import invoke, refused
from tests.conftest import EXAMPLES
from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.identity.users_file import add_user, load_users_file
from vetoflow.inputs import load_json, load_yaml

DEEP = "[" * 100_000


@pytest.mark.parametrize("name", ["deep.json", "deep.yaml"])
def test_a_deeply_nested_scenario_is_one_error_not_a_crash(home: Settings, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(DEEP)
    refused(invoke(home, "run", path), 1, name, "nested deeper than 32 levels")


def test_a_yaml_key_that_is_a_list_or_not_text_is_refused_by_line(home: Settings, tmp_path: Path) -> None:
    path = tmp_path / "complex.yaml"
    path.write_text("name: x\n? [a, b]\n: 1\n")
    refused(invoke(home, "run", path), 1, "complex.yaml: a key on line 2 is a list or mapping")
    with pytest.raises(VetoflowError, match="key 1 on line 2 is not text"):
        load_yaml("name: x\n1: y\n")
    with pytest.raises(VetoflowError, match="nested deeper than 32 levels"):
        load_json('{"a": ' * 40 + "1" + "}" * 40)
    assert load_json('{"a": "' + "[" * 100 + '"}') == {"a": "[" * 100}  # brackets inside text do not count


def test_policy_and_users_files_nested_too_deep_are_one_error(home: Settings, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(DEEP)
    refused(invoke(home, "policy", VETOFLOW_POLICY=str(policy)), 1, "policy.yaml: nested deeper than 32 levels")
    users = tmp_path / "users.yaml"
    users.write_text(DEEP)
    refused(invoke(home, "users", "list", VETOFLOW_USERS_FILE=str(users)), 1, "users.yaml: nested deeper")


@pytest.mark.parametrize(("given", "why"), [("afile", "a file is in the way"), ("/proc/nope", "No such file")])
def test_home_that_cannot_be_a_directory_is_named(home: Settings, tmp_path: Path, given: str, why: str) -> None:
    (tmp_path / "afile").write_text("")
    path = given if given.startswith("/") else str(tmp_path / given)
    refused(invoke(home, "--home", path, "runs"), 2, "'--home'", "is not a directory we can create/use", why)


def test_an_unsupported_database_url_is_refused_at_settings_load(home: Settings) -> None:
    result = invoke(home, "runs", VETOFLOW_DATABASE_URL="mysql://root:s3cret@db/x")
    line = refused(result, 1, "VETOFLOW_DATABASE_URL", "'mysql' is not supported", "postgresql://")
    assert "s3cret" not in line
    driver = Settings(home=home.home, database_url="postgresql+psycopg://u:pw@db:5432/x")
    assert driver.database_url == "postgresql://u:pw@db:5432/x"  # psycopg itself cannot read SQLAlchemy's form


def test_runs_says_it_cannot_reach_postgresql_without_the_password(home: Settings) -> None:
    result = invoke(home, "runs", VETOFLOW_DATABASE_URL="postgresql://u:s3cret@127.0.0.1:1/db")
    line = refused(result, 10, "cannot reach PostgreSQL at VETOFLOW_DATABASE_URL", "127.0.0.1")
    assert "s3cret" not in result.output
    assert line == result.stderr.strip()  # libpq's hint joins the line


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["demo", "--examples", "/nonexistent"], "'--examples'"),
        (["graph", "--png", "/no/dir/x.png"], "--png"),
        (["ui", "--root-path", "no-slash"], "'--root-path'"),
        (["serve", "--no-console", "--root-path", "no-slash"], "'--root-path'"),
    ],
)
def test_a_path_option_that_cannot_work_is_a_usage_error(home: Settings, args: list[str], option: str) -> None:
    refused(invoke(home, *args), 2, option)


def test_sweep_names_now_and_refuses_a_future_now(home: Settings) -> None:
    garbage = refused(invoke(home, "sweep", "--now", "garbage"), 2, "--now 'garbage': a date or date-time")
    assert "--since" not in garbage
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    refused(invoke(home, "sweep", "--now", later), 2, "is in the future", "at most 5 minutes ahead")
    refused(invoke(home, "audit", "export", "--since", "soon"), 2, "--since 'soon'")
    just_now = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert invoke(home, "sweep", "--now", just_now, "--no-deliver").exit_code == 0


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("name=foo", "--set name: cannot be revised; allowed: investment, horizon"),
        ("currency=EUR", "--set currency: cannot be revised"),
        ("segments.Retail.colour=red", "--set segments.Retail.colour: revisable segment fields are base_revenue"),
    ],
)
def test_set_names_a_field_that_cannot_be_revised_before_its_value(
    home: Settings, assignment: str, message: str
) -> None:
    refused(invoke(home, "revise", "anyrun", "--set", assignment), 1, message)
    refused(invoke(home, "replay", "anyrun", "--set", assignment), 1, message)


@pytest.mark.parametrize(
    "args",
    [
        ["replay", "anyrun", "--checkpoint", ""],
        ["approve", "anyrun", "--digest", ""],
        ["approve", "anyrun", "--reviewer", " "],
        ["--home", "", "runs"],
        ["run", str(EXAMPLES / "vetoed.yaml"), "--requester", ""],
        ["demo", "--requester", ""],
        ["notifications", "--run", ""],
    ],
)
def test_an_empty_option_value_is_refused_not_read_as_not_given(
    home: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # `--home ''` used to mean the current directory
    option = next(arg for arg in args if arg.startswith("--"))
    refused(invoke(home, *args), 2, f"'{option}'", "cannot be empty")
    assert not (tmp_path / "vetoflow.db").exists()


def test_users_add_refuses_a_password_on_stdin_with_no_password(home: Settings) -> None:
    args = ("users", "add", "ana", "--role", "viewer", "--password-stdin", "--no-password")
    refused(invoke(home, *args, input="Correct-Horse-42\n"), 2, "--password-stdin and --no-password")
    assert load_users_file(home.home / "users.yaml").users == {}


def test_notifications_of_an_unknown_run_exits_5(home: Settings) -> None:
    add_user(home.home / "users.yaml", "ad", ["admin"], None)
    refused(invoke(home, "notifications", "--run", "nosuch", "--reviewer", "ad"), 5, "no run with id 'nosuch'")


def test_replay_queue_on_sqlite_names_what_was_asked_not_an_executor_nobody_set(home: Settings) -> None:
    line = refused(
        invoke(home, "replay", "--all", "--from", "synthesizer", "--queue"), 1, "`replay --queue` needs PostgreSQL"
    )
    assert "VETOFLOW_DATABASE_URL=postgresql://" in line
    assert "VETOFLOW_EXECUTOR" not in line
