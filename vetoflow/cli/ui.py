"""`vetoflow ui`: serve the operator console (Gradio) until interrupted."""

from __future__ import annotations

import click

from vetoflow.cli.common import url_prefix
from vetoflow.config import Settings


@click.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; non-local needs logins.")
@click.option("--port", default=7860, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--root-path",
    default="",
    callback=url_prefix,
    help="URL prefix when served behind a proxy or on Lambda, e.g. /console.",
)
@click.pass_context
def ui(ctx: click.Context, host: str, port: int, root_path: str) -> None:
    """Serve the operator console: inbox of paused runs, run view with Approve/Reject/Revise, new runs.

    \b
    Logins: VETOFLOW_UI_USERS="ana:pw,bo:pw2" or VETOFLOW_UI_USERS_FILE (one user:password a line).
    The logged-in user is the reviewer of record. Without logins the console is open and binds to
    localhost only.
    """
    from vetoflow.console.auth import check_bind
    from vetoflow.governance.policy import load_policy
    from vetoflow.identity.demo_logins import check_reachable_passwords
    from vetoflow.identity.directory import Directory
    from vetoflow.runs.pump import Pump
    from vetoflow.runs.store import open_service

    settings: Settings = ctx.obj
    directory = Directory.from_settings(settings)
    load_policy(settings.policy)  # a malformed policy refuses to start, naming line and field
    oidc = bool(settings.oidc_issuer and settings.oidc_client_id)
    check_bind(host, oidc or directory.has_logins)  # before opening anything: a refused bind leaves nothing behind
    check_reachable_passwords(directory.demo_passwords, host, on_lambda=settings.on_lambda)
    from vetoflow import ui as console

    with open_service(settings) as service:
        if drifts := service.reconcile(repair=True):  # rows an outage left behind their checkpoints
            click.echo(f"run index: {sum(d.repaired for d in drifts)} row(s) repaired, "
                       f"{sum(not d.repaired for d in drifts)} stalled run(s) to retry", err=True)  # fmt: skip
        mode = f"{directory.login_count} login(s)" if directory.has_logins else "open (no logins), localhost only"
        mode = f"sign-in through {settings.oidc_issuer}" if oidc else mode
        click.echo(f"vetoflow console on http://{host}:{port}{root_path or '/'} [{mode}]; runs in "
                   f"{settings.redacted_database()}", err=True)  # fmt: skip
        pump = Pump(service, settings).start()  # notifications and deadlines while the console runs
        try:
            console.launch(service, settings, host=host, port=port, root_path=root_path)
        finally:
            pump.stop()
