"""The `vetoflow` group: settings, error mapping, and the table of commands (imported only when used)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from vetoflow.cli.common import EXIT_CODES, not_empty
from vetoflow.errors import VetoflowError

# name -> "module:attribute"; a command's module is imported only when that command runs.
OPTION_NAMES = {"checkpoint_id": "--checkpoint", "from_node": "--from"}  # a service field as the CLI spells it
COMMANDS = {
    "run": "vetoflow.cli.runs:run",
    "runs": "vetoflow.cli.runs:runs",
    "show": "vetoflow.cli.runs:show",
    "approve": "vetoflow.cli.runs:approve",
    "reject": "vetoflow.cli.runs:reject",
    "revise": "vetoflow.cli.runs:revise",
    "retry": "vetoflow.cli.runs:retry",
    "demo": "vetoflow.cli.runs:demo",
    "compare": "vetoflow.cli.compare:compare",
    "trace": "vetoflow.cli.trace:trace",
    "graph": "vetoflow.cli.trace:graph",
    "replay": "vetoflow.cli.replay:replay",
    "serve": "vetoflow.cli.serve:serve",
    "ui": "vetoflow.cli.ui:ui",
    "ingest": "vetoflow.cli.knowledge:ingest",
    "sources": "vetoflow.cli.knowledge:sources",
    "prune": "vetoflow.cli.prune:prune",
    "db": "vetoflow.cli.db:db",
    "doctor": "vetoflow.cli.doctor:doctor",
    "users": "vetoflow.cli.users:users",
    "audit": "vetoflow.cli.governance:audit",
    "notifications": "vetoflow.cli.governance:notifications",
    "policy": "vetoflow.cli.governance:policy",
    "worker": "vetoflow.cli.worker:worker",
    "sweep": "vetoflow.cli.governance:sweep",
    "comment": "vetoflow.cli.comments:comment",
    "comments": "vetoflow.cli.comments:comments",
}

# name -> the command's one-line help, so `vetoflow --help` lists commands without importing them (torch,
# Gradio, LangGraph). tests/test_cli_imports.py checks it against each command's own docstring.
SHORT_HELP = {
    "run": "Start a run from a scenario file (YAML or JSON).",
    "runs": "List runs, newest first, a page at a time (the next page's command goes to stderr).",
    "show": "Show one run: figures, forecast, the Accountant's reasons, decisions and the summary.",
    "approve": "Overrule the Accountant's veto: the run goes on to the Synthesizer.",
    "reject": "Uphold the veto: the run ends as rejected; no LLM is called.",
    "revise": "Change assumptions and re-run the Forecaster and Accountant.",
    "retry": "Resume a failed or interrupted run from its last checkpoint.",
    "demo": "Run every sample scenario and say which runs wait for approval.",
    "trace": "Show a run's timeline from its checkpoints: nodes, timings, state changes, pauses, decisions, errors.",
    "graph": "Print the graph as mermaid, or draw it as a PNG without any web service.",
    "replay": "Re-run saved runs from a checkpoint as forks; the originals stay untouched.",
    "serve": "Serve the HTTP API and the operator console (API docs at /docs, console at /console, liveness /healthz).",
    "ui": "Serve the operator console: inbox of paused runs, run view with Approve/Reject/Revise, new runs.",
    "ingest": "Add Markdown, text, PDF and CSV files (or folders of them) to the knowledge base.",
    "sources": "List the documents in the knowledge base, or remove one.",
    "prune": "Remove what finished runs no longer need; paused, running and failed runs are never touched.",
    "db": "Database schema: upgrade it in place (`vetoflow db upgrade`; every start does it too).",
    "users": "Manage the users file (VETOFLOW_USERS_FILE, default $VETOFLOW_HOME/users.yaml).",
    "audit": "The hash-chained decision log.",
    "notifications": "The notification outbox: what was sent, is waiting for a retry, or is dead (with each try).",
    "policy": "Check and print the approval policy in force (VETOFLOW_POLICY, or the built-in default).",
    "sweep": "Send due reminders, escalate and expire overdue pauses (each exactly once), then deliver notifications.",
    "worker": "Execute queued runs from PostgreSQL until stopped (SIGTERM drains: current node, then stop).",
    "compare": "Put two runs side by side: inputs changed, ROI, P(loss), NPV range, IRR, payback.",
    "comment": "Add a comment to a run's thread without deciding (recorded in the audit log).",
    "comments": "Show a run's comment thread, oldest first.",
    "doctor": "Check the run index against the checkpoints (after a database outage, say); exit 1 on unrepaired drift.",
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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table: listing commands must not import them (torch, Gradio, LangGraph)."""
        rows = []
        for name in self.list_commands(ctx):
            if name not in SHORT_HELP:  # not in the table: correct, only slower (the test says to add it)
                command = self.get_command(ctx, name)
                rows.append((name, command.get_short_help_str(limit=1000) if command else ""))
            else:
                rows.append((name, SHORT_HELP[name]))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VetoflowError as exc:
            error_type = type("VetoflowCliError", (click.ClickException,), {"exit_code": exc.exit_code})
            from vetoflow.plaintext import clean

            raise error_type(clean(exc.named(OPTION_NAMES), multiline=True)) from None


def home_directory(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """`--home`: a directory, created when missing; a file in the way or an unwritable place is one line."""
    if value is None:
        return None
    home = Path(not_empty(ctx, param, value))
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "a file is in the way" if isinstance(exc, FileExistsError | NotADirectoryError) else exc.strerror
        raise click.BadParameter(f"{value!r} is not a directory we can create/use ({why})", param=param) from None
    return home


@click.group(cls=VetoflowGroup, epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(),
    callback=home_directory,
    help="Data directory, created if missing. Env: VETOFLOW_HOME (./.vetoflow).",
)
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

    ctx.obj = load_settings(home=home) if home is not None else load_settings()
    ctx.obj.check_executor()


def main() -> None:
    cli(prog_name="vetoflow")
