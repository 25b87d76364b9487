"""`vetoflow` in-process (click's CliRunner) with only the test's own VETOFLOW_* settings, and what a clean
refusal looks like: the documented exit code, one `Error:` line, no exception escaping click."""

from __future__ import annotations

import os
import re
from pathlib import Path

from click.testing import CliRunner, Result

from tests.conftest import env_for
from vetoflow.cli import cli
from vetoflow.config import Settings


def invoke(settings: Settings, *args: str | Path, input: str | None = None, **env: str) -> Result:
    """Run `vetoflow ARGS` against `settings`; `env` adds VETOFLOW_* variables (or others) on top."""
    cleared: dict[str, str | None] = {name: None for name in os.environ if name.startswith("VETOFLOW_")}
    environment = cleared | env_for(settings) | env
    return CliRunner().invoke(cli, [str(arg) for arg in args], input=input, env=environment)


def refused(result: Result, exit_code: int, *expected: str) -> str:
    """The command stopped with `exit_code` and one `Error:` line holding every `expected` text."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == exit_code, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for text in expected:
        assert text in errors[0], result.stderr
    assert "Traceback" not in result.output
    return errors[0]


def issued_token(home: Path, name: str) -> str:
    """`vetoflow users token NAME`'s token, read from stdout alone (click's `output` mixes in stderr, where
    anything another thread happens to print during the call would land)."""
    result = CliRunner().invoke(cli, ["--home", str(home), "users", "token", name])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert re.fullmatch(r"vft_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", token), result.output
    return token
