"""The `vetoflow` group: settings, error mapping, and the table of commands (imported only when used)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from vetoflow.cli.common import EXIT_CODES
from vetoflow.errors import VetoflowError

# name -> "module:attribute"; a command's module is imported only when that command runs or is listed.
COMMANDS = {
    "run": "vetoflow.cli.runs:run",
    "runs": "vetoflow.cli.runs:runs",
    "show": "vetoflow.cli.runs:show",
    "approve": "vetoflow.cli.runs:approve",
    "reject": "vetoflow.cli.runs:reject",
    "revise": "vetoflow.cli.runs:revise",
    "retry": "vetoflow.cli.runs:retry",
    "demo": "vetoflow.cli.runs:demo",
    "trace": "vetoflow.cli.trace:trace",
    "graph": "vetoflow.cli.trace:graph",
    "replay": "vetoflow.cli.replay:replay",
    "serve": "vetoflow.cli.serve:serve",
    "ui": "vetoflow.cli.ui:ui",
    "ingest": "vetoflow.cli.knowledge:ingest",
    "sources": "vetoflow.cli.knowledge:sources",
    "db": "vetoflow.cli.db:db",
    "users": "vetoflow.cli.users:users",
    "audit": "vetoflow.cli.governance:audit",
    "notifications": "vetoflow.cli.governance:notifications",
    "policy": "vetoflow.cli.governance:policy",
    "sweep": "vetoflow.cli.governance:sweep",
}


class VetoflowGroup(click.Group):
    """Loads commands lazily; prints user errors as `Error: ...` with their documented exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module, _, attribute = spec.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VetoflowError as exc:
            error_type = type("VetoflowCliError", (click.ClickException,), {"exit_code": exc.exit_code})
            from vetoflow.plaintext import clean

            raise error_type(clean(str(exc), multiline=True)) from None


@click.group(cls=VetoflowGroup, epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(path_type=Path), help="Data directory. Env: VETOFLOW_HOME (./.vetoflow).")
@click.version_option(package_name="vetoflow")
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """Run investment decisions through the vetoflow graph, with a human veto.

    \b
    Typical session:
      vetoflow run examples/vetoed.yaml        # pauses: the Accountant vetoes
      vetoflow runs --status paused            # what waits for a decision
      vetoflow approve RUN_ID -m "strategic"   # resumes it, from any shell
    """
    from vetoflow.config import load_settings

    ctx.obj = load_settings(home=home) if home else load_settings()


def main() -> None:
    cli(prog_name="vetoflow")
