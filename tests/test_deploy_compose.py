"""deploy/compose.yaml starts: every vetoflow service's command, with the environment compose gives it, gets
through the checks `serve` and `worker` make before they bind or take jobs (tokens against console logins,
queue mode against the database, migrations). Only the last step (uvicorn, the worker loop) is left out."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from vetoflow.cli.app import cli

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "deploy" / "compose.yaml"
README_TOKENS = "a-long-random-token-1234:ana"  # what the file's header and the README tell a deployer to set
VARIABLE = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")


def services() -> dict[str, dict[str, Any]]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # `<<:` merges the anchors
    return {name: spec for name, spec in loaded["services"].items() if spec.get("image") == "vetoflow"}


def interpolate(value: str, shell: dict[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?error}`, from the deployer's shell."""

    def one(match: re.Match[str]) -> str:
        name, kind, other = match.groups()
        if shell.get(name):
            return shell[name]
        if kind == "?":
            raise AssertionError(f"compose refuses to start without {name}: {other}")
        return other if kind == "-" else ""

    return VARIABLE.sub(one, value)


def environment(spec: dict[str, Any], shell: dict[str, str]) -> dict[str, str]:
    return {name: interpolate(str(value), shell) for name, value in spec.get("environment", {}).items()}


def test_the_compose_file_has_api_replicas_and_workers() -> None:
    commands = {name: spec["command"][:2] for name, spec in services().items()}
    assert commands == {
        "api-1": ["vetoflow", "serve"],
        "api-2": ["vetoflow", "serve"],
        "worker-1": ["vetoflow", "worker"],
        "worker-2": ["vetoflow", "worker"],
    }


def test_the_readme_and_the_file_start_it_the_same_way() -> None:
    start = f"VETOFLOW_API_TOKENS='{README_TOKENS}' docker compose -f deploy/compose.yaml up"
    assert start in COMPOSE.read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert start in readme
    assert "--no-console" in readme[readme.index(start) :][:400]  # what the replicas serve, said beside it


@pytest.mark.parametrize("name", sorted(services()))
def test_each_service_of_the_compose_file_passes_its_start_up_checks(
    name: str, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_env: None
) -> None:
    spec = services()[name]
    env = environment(spec, {"VETOFLOW_API_TOKENS": README_TOKENS})
    assert env["VETOFLOW_DATABASE_URL"].startswith("postgresql://")
    assert env["VETOFLOW_EXECUTOR"] == "queue"
    env |= {"VETOFLOW_DATABASE_URL": postgres_url, "VETOFLOW_HOME": str(tmp_path / "home")}  # here, not in docker
    for variable in [v for v in os.environ if v.startswith("VETOFLOW_")]:
        monkeypatch.delenv(variable)
    started: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **config: started.append(config))
    monkeypatch.setattr("vetoflow.workers.runner.run_worker", lambda *_, **kwargs: started.append(kwargs))
    command = [interpolate(part, {}) for part in spec["command"]]
    result = CliRunner().invoke(cli, command[1:], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert len(started) == 1, result.output  # it got as far as binding (serve) or taking jobs (worker)
    if command[1] == "serve":
        assert (started[0]["host"], started[0]["port"]) == ("0.0.0.0", 8080)
    else:
        assert started[0]["concurrency"] == 4
        check = [interpolate(part, {}) for part in spec["healthcheck"]["test"][1:]]
        assert check[:2] == ["vetoflow", "worker"]
        health = CliRunner().invoke(cli, check[1:], env=env, catch_exceptions=False)
        assert health.exit_code == 1, health.output  # a verdict (nothing runs here), not a usage error (2)
        assert health.output.splitlines()[-1].startswith("unhealthy: ")
