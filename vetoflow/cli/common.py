"""What every command shares: exit codes, options, the service, step progress, printing a run."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from vetoflow.context import Context
    from vetoflow.identity.roles import Action, User
    from vetoflow.runs.service import RunService
    from vetoflow.runs.views import RunView

EXIT_CODES = """\b
Exit codes:
  0  done (run completed, or rejected by a human)
  1  invalid input or configuration
  2  bad command-line usage
  3  run paused, waiting for a human decision
  4  run failed (resume it with: vetoflow retry RUN_ID)
  5  no such run
  6  the pause was already decided by someone else, or its figures changed since you saw them
  7  not allowed: your role or the approval policy does not permit this action
  8  queue mode: the run is queued for a worker
  9  the run is being executed by another process right now (its lease is live)
 10  the run database could not be reached: nothing was lost; try again once it is back"""

STATUS_EXIT = {"completed": 0, "rejected": 0, "paused": 3, "failed": 4, "running": 4, "stalled": 4, "queued": 8}
F = TypeVar("F", bound=Callable[..., Any])


def not_empty(_ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Option callback: `--opt ''` is refused, never read as "not given" (a blank name, checkpoint, digest)."""
    if isinstance(value, str) and not value.strip():
        raise click.BadParameter("cannot be empty; give a value or leave the option out", param=param)
    return value


PREFIX = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+")


def url_prefix(_ctx: click.Context, param: click.Parameter, value: str) -> str:
    """`--root-path`: empty (served at /), or a path such as /console or /ops/vetoflow."""
    if value and not PREFIX.fullmatch(value):
        raise click.BadParameter(
            f"{value[:80]!r} is not a URL path prefix: it must start with / and name one or more path "
            "segments, without a trailing /, query or spaces (e.g. /console)",
            param=param,
        )
    return value


json_option = click.option("--json", "json_mode", is_flag=True, help="Print machine-readable JSON.")
comment_option = click.option("--comment", "-m", default="", help="Why; kept in the run's history.")
digest_option = click.option(
    "--digest",
    default=None,
    callback=not_empty,
    help="pending.digest from `vetoflow show --json`: refuse if the figures changed since.",
)


def default_reviewer() -> str:
    from vetoflow.config import default_reviewer as reviewer  # settings load only when a command runs

    return reviewer()


def requester_option(help_text: str) -> Callable[[F], F]:
    """`--requester` of `run`, `demo` and `replay`: who starts the run(s)."""
    return click.option(
        "--requester",
        default=default_reviewer,
        callback=not_empty,
        show_default="$VETOFLOW_REVIEWER or your login",
        help=help_text,
    )


def acting_option(help_text: str) -> Callable[[F], F]:
    """`--reviewer`: who acts, checked by `acting_user` (a user of the users file when one exists)."""
    return click.option(
        "--reviewer",
        default=default_reviewer,
        callback=not_empty,
        show_default="$VETOFLOW_REVIEWER or your login",
        help=help_text,
    )


reviewer_option = acting_option("Who decides (recorded).")


def acting_user(ctx: click.Context, name: str, action: Action, option: str = "--reviewer") -> User:
    """The CLI acts as NAME (given by `option`), who must be a user of the users file when one exists,
    allowed to do `action`."""
    from vetoflow.identity.directory import Directory
    from vetoflow.identity.roles import require

    return require(Directory.from_settings(ctx.obj).reviewer(name, option), action)


@contextmanager
def service_for(ctx: click.Context, context: Context | None = None) -> Iterator[RunService]:
    """The run service over the configured database, with the clients the settings ask for."""
    from vetoflow.runs.store import open_service

    with open_service(ctx.obj, context) as service:
        yield service


def progress(json_mode: bool) -> Callable[[str, dict[str, Any]], None]:
    from vetoflow.render import err

    def on_step(node: str, _update: dict[str, Any]) -> None:
        err.print(f"[green]✓[/] {node}", highlight=False)

    return (lambda *_: None) if json_mode else on_step


def emit(view: RunView, json_mode: bool) -> None:
    from vetoflow import render

    if json_mode:
        click.echo(view.model_dump_json(indent=2))
    else:
        render.out.print(render.run_panel(view))
    sys.exit(STATUS_EXIT[view.status])


def parse_assignments(assignments: tuple[str, ...]) -> dict[str, Any]:
    """`--set KEY=VALUE` pairs, typed strictly (no YAML 1.1 coercions), as revise/replay overrides."""
    from vetoflow.inputs import parse_assignments as parse

    return parse(assignments, check_key=revisable_key)


def revisable_key(key: str) -> None:
    """A `--set` key names a revisable field (which segments exist is checked against the run)."""
    from vetoflow.errors import VetoflowError
    from vetoflow.scenario import override_target

    try:
        override_target(key)
    except VetoflowError as exc:
        raise VetoflowError(f"--set {exc}") from None
