"""Identity: the users file written by `vetoflow users`, argon2 passwords, hashed tokens, roles and throttling."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from pydantic import SecretStr

from tests.cli_support import issued_token
from tests.conftest import env_for
from vetoflow.cli import cli
from vetoflow.config import Settings
from vetoflow.errors import VetoflowError
from vetoflow.identity.directory import Directory
from vetoflow.identity.passwords import check_strength
from vetoflow.identity.roles import PermissionDeniedError, require
from vetoflow.identity.throttle import Backoff, LoginThrottle
from vetoflow.identity.users_file import load_users_file

STRONG = "Correct-Horse-42"


def users(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = env_for(Settings(home=home))
    return subprocess.run(
        [sys.executable, "-m", "vetoflow", "users", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def run_cli(home: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--home", str(home), "users", *args], input=stdin)


@pytest.mark.slow  # starts a process: left out of make test-fast
def test_users_add_and_token_write_only_hashes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    added = users(
        home, "add", "ana", "--role", "approver", "--role", "analyst", "--password-stdin", stdin=STRONG + "\n"
    )
    assert added.returncode == 0, added.stderr
    token = users(home, "token", "ana")
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip()
    assert secret.startswith("vft_")
    assert len(secret) > 40
    path = home / "users.yaml"
    text = path.read_text()
    assert STRONG not in text
    assert secret not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entry = yaml.safe_load(text)["users"]["ana"]
    assert entry["roles"] == ["approver", "analyst"]
    assert entry["password"].startswith("$argon2id$")

    directory = Directory.from_settings(Settings(home=home))
    by_token = directory.by_token(secret)
    assert by_token is not None
    assert by_token.name == "ana"
    assert by_token.may("decide")
    assert by_token.may("start")
    assert directory.by_token(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert directory.login("ana", STRONG) is not None
    assert directory.login("ana", STRONG + "x") is None
    assert directory.login("nobody", STRONG) is None


@pytest.mark.slow  # starts a process: left out of make test-fast
def test_weak_passwords_unknown_roles_and_duplicates_are_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    weak = users(home, "add", "bo", "--role", "viewer", "--password-stdin", stdin="short\n")
    assert weak.returncode == 1
    assert "at least 12 characters" in weak.stderr
    assert not (home / "users.yaml").exists()
    settings = Settings(home=home)
    result = run_cli(home, "add", "bo", "--role", "auditor", "--password-stdin", stdin=STRONG)
    assert result.exit_code == 1
    assert "unknown role" in result.output
    assert run_cli(home, "add", "bo", "--role", "viewer", "--no-password").exit_code == 0
    again = run_cli(home, "add", "bo", "--role", "viewer", "--no-password")
    assert again.exit_code == 1
    assert "already exists" in again.output
    changed = run_cli(home, "passwd", "bo", "--password-stdin", stdin="Another-Pass-99")
    assert changed.exit_code == 0, changed.output
    assert Directory.from_settings(settings).login("bo", "Another-Pass-99") is not None


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("aaaaaaaaaaaaaaaaaaaa", "too easy"),
        ("alllowercase1", "mix three"),
        ("Ana-Password-1", "too easy"),
        ("x" * 2000, "at most"),
    ],
)
def test_password_strength_rules(password: str, why: str) -> None:
    with pytest.raises(VetoflowError, match=why):
        check_strength(password, "ana")


def test_installation_roles_grant_listed_actions(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text("roles:\n  finance_lead: [read, comment, decide]\nusers:\n  fi: {roles: [finance_lead]}\n")
    directory = Directory(load_users_file(path))
    fi = directory.user("fi")
    assert fi is not None
    assert fi.may("decide")
    assert not fi.may("start")
    with pytest.raises(PermissionDeniedError, match=r"fi \(finance_lead\) may not start runs"):
        require(fi, "start")
    path.write_text("users:\n  x: {roles: [viewer], password: plain-text}\n")
    with pytest.raises(VetoflowError, match=r"users.x.password: must be an argon2 hash"):
        load_users_file(path)


def test_viewer_may_read_but_not_decide() -> None:
    from vetoflow.identity.roles import BUILTIN_ROLES, User

    viewer = User("vi", frozenset({"viewer"}), BUILTIN_ROLES["viewer"])
    assert require(viewer, "read") is viewer
    with pytest.raises(
        PermissionDeniedError, match="may not approve or reject runs: that needs the role approver or admin"
    ):
        require(viewer, "decide")


def test_login_back_off_doubles_per_user_and_per_address(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    run_cli(tmp_path, "add", "ana", "--role", "approver", "--password-stdin", stdin=STRONG)
    now = [1000.0]
    policy = Backoff(free_per_user=3, free_per_address=5, base_seconds=2.0)
    throttle = LoginThrottle(policy, clock=lambda: now[0])
    directory = Directory(load_users_file(path), throttle=throttle)
    for _ in range(3):
        assert directory.login("ana", "wrong", "10.0.0.1") is None
    assert throttle.wait_seconds("ana", None) == pytest.approx(2.0)
    assert directory.login("ana", STRONG, "10.0.0.2") is None, "throttled: even the right password waits"
    now[0] += 2.0
    assert directory.login("ana", "wrong", "10.0.0.1") is None
    assert throttle.wait_seconds("ana", None) == pytest.approx(4.0), "back-off doubles"
    now[0] += 4.0
    assert directory.login("ana", STRONG, "10.0.0.2") is not None
    assert throttle.wait_seconds("ana", None) == 0.0, "success clears the user's count"
    assert throttle.wait_seconds("someone-else", "10.0.0.1") == 0.0, "4 failures from 10.0.0.1: below 5"
    assert directory.login("zed", "x", "10.0.0.1") is None
    assert throttle.wait_seconds("someone-else", "10.0.0.1") == pytest.approx(2.0), "the address is throttled"


def test_plain_text_logins_still_work_as_a_warned_demo(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(home=tmp_path, ui_users=SecretStr("ana:pw-ana"))
    directory = Directory.from_settings(settings)
    assert "DEPRECATED" in caplog.text
    assert directory.demo
    user = directory.login("ana", "pw-ana")
    assert user is not None
    assert user.source == "demo"
    assert user.may("decide")
    run_cli(tmp_path, "add", "bo", "--role", "viewer", "--no-password")
    caplog.clear()
    directory = Directory.from_settings(settings)
    assert directory.login("ana", "pw-ana") is None, "with a users file, plain-text logins are ignored"
    assert "are ignored" in caplog.text


def test_a_directory_in_use_sees_revoked_tokens_changed_roles_and_removed_users_at_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "add", "ana", "--role", "approver", "--password-stdin", stdin=STRONG).exit_code == 0
    first, second = (issued_token(home, "ana") for _ in range(2))
    directory = Directory.from_settings(Settings(home=home))  # what a running server holds
    assert directory.by_token(first) is not None
    listed = run_cli(home, "list").output
    first_id = first.removeprefix("vft_").split("_")[0]
    assert f"2 token(s): {first_id}, " in listed, "ids are listed, never hashes"

    assert run_cli(home, "revoke", "ana", "--token", first_id).exit_code == 0
    assert directory.by_token(first) is None, "revoked: refused without a restart"
    assert directory.by_token(second) is not None
    unknown = run_cli(home, "revoke", "ana", "--token", "nope")
    assert unknown.exit_code == 1
    assert "--token nope: ana has no such token" in unknown.output
    assert run_cli(home, "revoke", "ana").exit_code == 2, "--token ID or --all"

    assert run_cli(home, "roles", "ana", "--role", "viewer").exit_code == 0
    demoted = directory.by_token(second)
    assert demoted is not None
    assert not demoted.may("decide")
    assert run_cli(home, "roles", "ana", "--role", "auditor").exit_code == 1, "unknown roles are refused"

    assert run_cli(home, "remove", "ana").exit_code == 0
    assert directory.by_token(second) is None
    assert directory.login("ana", STRONG) is None
    assert directory.user("ana") is None


def test_a_users_file_that_breaks_or_empties_lets_nobody_in_and_never_brings_back_demo_logins(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "add", "ana", "--role", "approver", "--password-stdin", stdin=STRONG).exit_code == 0
    token = issued_token(home, "ana")
    settings = Settings(home=home, api_tokens=SecretStr("demo-token-0123456789:bo"))
    directory = Directory.from_settings(settings)
    path = home / "users.yaml"
    good = path.read_text()
    path.write_text("users: [not, a, mapping]\n")
    assert directory.by_token(token) is None
    assert directory.by_token("demo-token-0123456789") is None
    assert "nobody is let in until it is fixed" in caplog.text
    path.write_text(good + "\n")  # fixed (and a different size: the change is seen)
    assert directory.by_token(token) is not None
    path.write_text("users: {}\n")
    assert directory.by_token(token) is None
    assert directory.by_token("demo-token-0123456789") is None, "emptying the file is not demo mode"
    with pytest.raises(VetoflowError, match="--reviewer bo: no such user"):
        directory.reviewer("bo")  # nor does the CLI's reviewer get demo roles


@pytest.mark.parametrize("token_id", ["4e512345", "12e45678", "1234e567", "00001234"])
def test_a_token_whose_id_reads_as_a_number_still_names_its_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token_id: str
) -> None:
    """Token ids are 8 random hex digits: about one in seventy is digits around an `e`, a float to YAML 1.2."""
    home = tmp_path / "home"
    assert run_cli(home, "add", "ana", "--role", "approver", "--no-password").exit_code == 0
    monkeypatch.setattr("vetoflow.identity.users_file.secrets.token_hex", lambda _: token_id)
    token = issued_token(home, "ana")
    path = home / "users.yaml"
    user = Directory.from_settings(Settings(home=home)).by_token(token)
    assert user is not None, path.read_text()
    assert user.name == "ana"
    written = yaml.safe_load(path.read_text())  # as the previous release wrote it: unquoted where YAML 1.1 allows
    path.write_text(yaml.safe_dump(written, sort_keys=False))
    assert Directory.from_settings(Settings(home=home)).by_token(token) is not None, "files already written too"
