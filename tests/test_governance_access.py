"""A viewer is refused on decide everywhere (CLI, API, console); the CLI's --reviewer must be a known user."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gradio as gr
import pytest
from click.testing import CliRunner
from gradio_client import Client

from tests.api_support import client, live_server
from tests.cli_support import issued_token
from tests.conftest import env_for
from tests.console_helpers import overrule_veto, serve_console
from vetoflow.api import create_app
from vetoflow.cli import cli
from vetoflow.config import Settings
from vetoflow.console.common import ConsoleDeps
from vetoflow.console.new_run import start_control
from vetoflow.identity.directory import Directory
from vetoflow.identity.users_file import add_user
from vetoflow.runs import audit
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

PASSWORD = "Viewer-Pass-2026"


def add_users(home: Path) -> dict[str, str]:
    """vi (viewer) and ap (approver), with passwords; returns their API tokens."""
    runner = CliRunner()
    tokens = {}
    for name, role in (("vi", "viewer"), ("ap", "approver")):
        added = runner.invoke(
            cli, ["--home", str(home), "users", "add", name, "--role", role, "--password-stdin"], input=PASSWORD
        )
        assert added.exit_code == 0, added.output
        tokens[name] = issued_token(home, name)
    return tokens


@pytest.fixture
def governed(settings: Settings) -> tuple[Settings, dict[str, str]]:
    tokens = add_users(settings.home)
    return settings, tokens


def cli_decide(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vetoflow", *args], capture_output=True, text=True, env=env_for(settings), check=False
    )


@pytest.mark.slow  # whole `vetoflow` processes (or a browser): the full suite runs it
def test_cli_refuses_a_viewer_and_an_unknown_reviewer(
    governed: tuple[Settings, dict[str, str]], vetoed: Scenario
) -> None:
    settings, _ = governed
    with open_service(settings) as service:
        run_id = service.start(vetoed).run.run_id
    refused = cli_decide(settings, "approve", run_id, "--reviewer", "vi")
    assert refused.returncode == 7, refused.stderr
    assert "vi (viewer) may not approve or reject runs" in refused.stderr
    unknown = cli_decide(settings, "approve", run_id, "--reviewer", "ghost")
    assert unknown.returncode == 1
    assert "--reviewer ghost: no such user" in unknown.stderr
    with open_service(settings) as service:
        assert service.view(run_id).status == "paused"
        assert service.view(run_id).decisions == []
    done = cli_decide(settings, "approve", run_id, "--reviewer", "ap", "-m", "fine")
    assert done.returncode == 0, done.stderr
    with open_service(settings) as service:
        log = list(audit.entries(service.index.engine, run_id=run_id))
    decided = [(e["actor"], e["via"]) for e in log if e["event"] == "run.decided"]
    assert decided == [("ap", "cli")], "the audit log marks a CLI decision as such"


def test_api_answers_403_to_a_viewer_and_lets_an_approver_decide(
    governed: tuple[Settings, dict[str, str]], vetoed: Scenario
) -> None:
    settings, tokens = governed
    with open_service(settings) as service, live_server(create_app(settings, service=service)) as url:
        run_id = service.start(vetoed).run.run_id
        with client(url, tokens["vi"]) as viewer, client(url, tokens["ap"]) as approver:
            assert viewer.get(f"/runs/{run_id}").status_code == 200
            refused = viewer.post(f"/runs/{run_id}/decision", json={"action": "approve"})
            assert refused.status_code == 403
            assert "vi (viewer) may not approve or reject runs" in refused.json()["error"]
            assert viewer.post("/runs", json={"scenario_path": "vetoed.yaml"}).status_code == 403
            assert service.view(run_id).status == "paused"
            assert service.view(run_id).decisions == []
            done = approver.post(f"/runs/{run_id}/decision", json={"action": "approve"})
            assert done.status_code == 200, done.text
            assert done.json()["decisions"][0]["reviewer"] == "ap"
        with client(url, "vft_00000000_not-a-real-token") as stranger:
            assert stranger.get("/runs").status_code == 401


@pytest.mark.slow  # a launched console and its HTTP clients: left out of make test-fast
def test_console_refuses_a_viewer_with_the_reason(tmp_path: Path, vetoed: Scenario) -> None:
    settings = Settings(home=tmp_path / "home", database_url=None)
    add_users(settings.home)
    with serve_console(settings) as console:
        run_id = console.service.start(vetoed).run.run_id
        viewer = Client(console.url, auth=("vi", PASSWORD), verbose=False)
        viewer.predict(run_id, api_name="/open_run")  # decisions act on the run shown
        out = viewer.predict(run_id, "looks fine", api_name="/approve")
        assert "vi (viewer) may not approve or reject runs" in out[0]
        assert console.service.view(run_id).status == "paused"
        approver = Client(console.url, auth=("ap", PASSWORD), verbose=False)
        assert "approve recorded" in overrule_veto(approver, run_id, "ok")[0]
        with pytest.raises(ValueError, match=r"(?i)could not login|incorrect"):
            Client(console.url, auth=("ana", "pw-ana"), verbose=False)  # plain-text demo logins are ignored now


def test_the_start_run_button_is_off_for_a_signed_in_viewer_with_the_reason(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=None)
    add_users(settings.home)
    add_user(settings.home / "users.yaml", "an", ["analyst"], None)
    with open_service(settings) as service:
        deps = ConsoleDeps(service, settings, True, "nobody", Directory.from_settings(settings))
        button, note = start_control(deps, gr.Request(username="vi"))
        assert button["interactive"] is False
        assert note.startswith("**Start run** is off: vi (viewer) may not start runs")
        approver, why = start_control(deps, gr.Request(username="ap"))
        assert approver["interactive"] is False
        assert "ap (approver) may not start runs" in why
        analyst, none = start_control(deps, gr.Request(username="an"))
        assert (analyst["interactive"], none) == (True, "")


def test_a_replay_is_requested_by_the_api_caller_or_the_cli_requester_who_then_cannot_approve_it(
    governed: tuple[Settings, dict[str, str]], vetoed: Scenario
) -> None:
    settings, _ = governed
    runner = CliRunner()
    home = ["--home", str(settings.home)]
    added = runner.invoke(
        cli, [*home, "users", "add", "both", "--role", "analyst", "--role", "approver", "--password-stdin"],
        input=PASSWORD,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    token = issued_token(settings.home, "both")
    with open_service(settings) as service, live_server(create_app(settings, service=service)) as url:
        source = service.start(vetoed, requester="vi").run.run_id
        with client(url, token) as both:
            replayed = both.post(f"/runs/{source}/replay", json={"overrides": {"investment": 450_000}})
            assert replayed.status_code == 201, replayed.text
            assert replayed.json()["state"]["requester"] == "both"
            refused = both.post(f"/runs/{replayed.json()['run']['run_id']}/decision", json={"action": "approve"})
            assert refused.status_code == 403
            assert "four-eyes" in refused.json()["error"]
    env = env_for(settings)  # the same backend (CliRunner sets the variables for the call)
    by_cli = runner.invoke(cli, ["replay", source, "--requester", "both", "--set", "investment=460000"], env=env)
    assert by_cli.exit_code == 3, by_cli.output  # paused: it needs approval
    with open_service(settings) as service:
        replay_id = service.list()[0].run_id
        assert service.view(replay_id).state.requester == "both"
    refused_cli = runner.invoke(cli, ["replay", source, "--requester", "vi"], env=env)
    assert refused_cli.exit_code == 7, refused_cli.output  # a viewer may not start runs, replays included
    stranger = runner.invoke(cli, ["replay", source, "--requester", "ghost"], env=env)
    assert "--requester ghost: no such user" in stranger.output, "the error names the option the command has"


def test_a_running_api_refuses_a_revoked_token_and_a_demoted_approver_at_once(
    governed: tuple[Settings, dict[str, str]], vetoed: Scenario
) -> None:
    settings, tokens = governed
    runner = CliRunner()
    home = ["--home", str(settings.home)]
    second = issued_token(settings.home, "vi")
    with open_service(settings) as service, live_server(create_app(settings, service=service)) as url:
        run_id = service.start(vetoed).run.run_id
        with client(url, tokens["vi"]) as viewer, client(url, second) as other, client(url, tokens["ap"]) as approver:
            assert viewer.get("/runs").status_code == 200
            vi_first = tokens["vi"].removeprefix("vft_").split("_")[0]
            assert runner.invoke(cli, [*home, "users", "revoke", "vi", "--token", vi_first]).exit_code == 0
            assert viewer.get("/runs").status_code == 401, "the revoked token, with no restart"
            assert other.get("/runs").status_code == 200, "the user's other token still works"
            assert runner.invoke(cli, [*home, "users", "roles", "ap", "--role", "viewer"]).exit_code == 0
            refused = approver.post(f"/runs/{run_id}/decision", json={"action": "approve"})
            assert refused.status_code == 403, refused.text
            assert service.view(run_id).status == "paused"
