"""A CLI that answers at once: `--help` and `runs` load only what they use (checked with -X importtime)."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests.conftest import EXAMPLES, env_for
from vetoflow.cli.app import COMMANDS, SHORT_HELP, cli
from vetoflow.config import Settings

pytestmark = pytest.mark.slow  # starts processes: left out of make test-fast

# What `vetoflow --help` must never import: each costs 0.1-3 s (LangGraph pulls LangSmith and OpenTelemetry).
HELP_FORBIDDEN = (
    "torch", "transformers", "chromadb", "gradio", "langgraph", "langchain_core", "langsmith", "sqlalchemy",
    "numpy", "pandas", "statsmodels", "onnxruntime", "fastapi", "uvicorn", "psycopg", "alembic",
)  # fmt: skip
# `vetoflow runs` reads the run index (SQLAlchemy) and nothing of the graph, the models or the servers.
RUNS_FORBIDDEN = (
    "torch", "transformers", "chromadb", "gradio", "langgraph", "langchain_core", "langsmith", "numpy",
    "statsmodels", "onnxruntime", "fastapi", "uvicorn", "alembic",
)  # fmt: skip


def imports_of(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vetoflow", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    found = re.findall(r"^import time:\s+\d+ \|\s+\d+ \| +(\S+)$", done.stderr, re.MULTILINE)
    return done, {name.split(".")[0] for name in found}


def test_help_lists_every_command_and_imports_no_heavy_module(tmp_path: Path) -> None:
    done, modules = imports_of(env_for(Settings(home=tmp_path / "home", database_url=None)), "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "click" in modules  # the check sees what the process imported
    assert sorted(modules & set(HELP_FORBIDDEN)) == []
    for name in COMMANDS:
        assert re.search(rf"^  {name}\s", done.stdout, re.MULTILINE), name


def test_the_help_table_says_what_each_command_says_of_itself() -> None:
    """A new command needs its line in SHORT_HELP (else `--help` imports it): copy its docstring's first line."""
    assert sorted(SHORT_HELP) == sorted(COMMANDS)
    for name, spec in COMMANDS.items():
        module, _, attribute = spec.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        assert command.get_short_help_str(limit=1000) == SHORT_HELP[name], name
        assert cli.get_command(click.Context(cli), name) is command


def test_runs_lists_from_the_run_index_alone(settings: Settings) -> None:
    env = env_for(settings)
    started = subprocess.run(
        [sys.executable, "-m", "vetoflow", "run", str(EXAMPLES / "vetoed.yaml"), "--json"],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert started.returncode == 3, started.stderr[-2000:]
    run_id = json.loads(started.stdout)["run"]["run_id"]

    done, modules = imports_of(env, "runs", "--status", "paused", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "sqlalchemy" in modules
    assert sorted(modules & set(RUNS_FORBIDDEN)) == []
    assert [row["run_id"] for row in json.loads(done.stdout)] == [run_id]


@pytest.mark.parametrize("home_exists", [False, True])
def test_runs_on_a_new_database_creates_it_and_lists_nothing(tmp_path: Path, home_exists: bool) -> None:
    home = tmp_path / "home"
    if home_exists:
        home.mkdir()
    env = env_for(Settings(home=home, database_url=None))
    done = subprocess.run(
        [sys.executable, "-m", "vetoflow", "runs", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == []
    assert (home / "vetoflow.db").is_file()


# `vetoflow run` needs the graph and the database, never the servers or the torch reference embeddings.
RUN_FORBIDDEN = ("torch", "sentence_transformers", "transformers", "gradio", "fastapi", "uvicorn", "starlette")


def test_run_loads_no_server_and_no_torch(tmp_path: Path) -> None:
    done, modules = imports_of(
        env_for(Settings(home=tmp_path / "home", database_url=None)), "run", str(EXAMPLES / "profitable.yaml")
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "langgraph" in modules  # the check sees what the process imported
    assert sorted(modules & set(RUN_FORBIDDEN)) == []
