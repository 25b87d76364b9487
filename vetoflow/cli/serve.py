"""`vetoflow serve`: the HTTP API (and the console, when wired in) under uvicorn."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import click

from vetoflow.cli.common import url_prefix
from vetoflow.config import Settings
from vetoflow.errors import VetoflowError

if TYPE_CHECKING:
    from vetoflow.identity.directory import Directory


def check_exposure(settings: Settings, host: str, *, console: bool = False) -> str | None:
    """Refuse unsafe exposure; return a note when the JSON API will refuse every request, or who an open
    server's callers act as.

    Without tokens the API alone is pointless, so it is refused; beside the console (which has its own
    logins, e.g. on Lambda) it is allowed, and every JSON request then answers 401.
    """
    from vetoflow.identity.directory import Directory
    from vetoflow.identity.tokens import TokenTable
    from vetoflow.netloc import is_loopback

    if settings.api_open and not is_loopback(host):
        raise VetoflowError(f"--open serves without tokens and is only allowed on localhost, not on {host}")
    directory = Directory.from_settings(settings)
    open_note = open_operator(settings, directory) if settings.api_open else None
    protected = bool(TokenTable.from_settings(settings).entries or directory.users_file or settings.oidc_audience)
    if console:
        from vetoflow.console.auth import check_bind
        from vetoflow.identity.demo_logins import check_reachable_passwords

        has_logins = directory.has_logins or bool(settings.oidc_issuer and settings.oidc_client_id)
        check_bind(host, has_logins)
        check_reachable_passwords(directory.demo_passwords, host, on_lambda=settings.on_lambda)
        if protected and not has_logins:
            raise VetoflowError(
                "the API needs tokens but the console has no logins: it would be an open door beside it. "
                "Give console users passwords (the users file or VETOFLOW_UI_USERS), sign them in through "
                "OpenID Connect (VETOFLOW_OIDC_CLIENT_ID), or serve with --no-console"
            )
    if settings.api_open or protected:
        return open_note
    hint = "set VETOFLOW_API_TOKENS='token:reviewer,...' or VETOFLOW_API_TOKENS_FILE, or start with --open on 127.0.0.1"
    if not console:
        raise VetoflowError(f"no API tokens configured: {hint}")
    return f"JSON API closed (no API tokens configured; every /runs request answers 401): {hint}"


def open_operator(settings: Settings, directory: Directory) -> str | None:
    """`--open`: who callers without a token act as (api.auth.open_user), checked before the server starts."""
    from vetoflow.identity.directory import UnknownOperatorError

    if settings.oidc_issuer:
        raise VetoflowError(
            "--open: OpenID Connect is configured (VETOFLOW_OIDC_ISSUER), so every caller is someone the provider "
            "signed in; leave out --open and send its tokens"
        )
    try:
        operator = directory.local_operator()
    except UnknownOperatorError as exc:
        raise VetoflowError(
            f"--open: requests without a token would act as the local operator {exc.name!r} ($VETOFLOW_REVIEWER or "
            f"your login), who is not a user in {exc.path}: add them (`vetoflow users add`), set "
            "VETOFLOW_REVIEWER to a user, or leave out --open and send tokens"
        ) from None
    if operator is None:
        return None
    roles = ", ".join(sorted(operator.roles))
    return f"--open: requests from this machine without a token act as {operator.name} ({roles}), from the users file"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--open",
    "open_",
    is_flag=True,
    help="Accept requests without a token (localhost only; with a users file, as the local operator there).",
)
@click.option(
    "--context-factory",
    default=None,
    help="module:function(settings) -> Context (custom clients). Env: VETOFLOW_CONTEXT_FACTORY, for every command.",
)
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning"]))
@click.option("--console/--no-console", default=True, show_default=True, help="Mount the operator console at /console.")
@click.option("--root-path", default="", callback=url_prefix, help="Path prefix when served behind a proxy, e.g. /ops.")
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    open_: bool,
    context_factory: str | None,
    log_level: str,
    console: bool,
    root_path: str,
) -> None:
    """Serve the HTTP API and the operator console (API docs at /docs, console at /console, liveness /healthz)."""
    import uvicorn
    from starlette.types import ASGIApp

    from vetoflow.api import create_app
    from vetoflow.api.deferred import DeferredApp
    from vetoflow.api.timeouts import timed_protocol
    from vetoflow.rag.warmup import EmbeddingsWarmup
    from vetoflow.runs.store import open_service

    update = {"api_open": ctx.obj.api_open or open_, "context_factory": context_factory or ctx.obj.context_factory}
    settings: Settings = ctx.obj.model_copy(update=update)
    note = check_exposure(settings, host, console=console)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with open_service(settings) as service:
        if drifts := service.reconcile(repair=True):  # rows an outage left behind their checkpoints
            click.echo(f"run index: {sum(d.repaired for d in drifts)} row(s) repaired, "
                       f"{sum(not d.repaired for d in drifts)} stalled run(s) to retry", err=True)  # fmt: skip
        warmup = EmbeddingsWarmup(service.context.retriever)  # loads once the app is up: /healthz never waits for it

        def build() -> ASGIApp:
            blocks = None
            if console:
                from vetoflow.ui import build_console  # Gradio: seconds to import, after health answers

                blocks = build_console(service, settings)
            return create_app(settings, service=service, console=blocks, warmup=warmup, bind_host=host)

        def health() -> dict[str, str]:
            embeddings = warmup.reported()
            return {"status": "ok"} if embeddings is None else {"status": "ok", "embeddings": embeddings}

        app = DeferredApp(build, health)
        click.echo(f"vetoflow API on http://{host}:{port} (runs in {settings.redacted_database()})", err=True)
        if console:
            click.echo(f"operator console on http://{host}:{port}/console/", err=True)
        if note:
            click.echo(note, err=True)
        config: dict[str, Any] = {"host": host, "port": port, "log_level": log_level, "timeout_graceful_shutdown": 5}
        config["http"] = timed_protocol(settings.request_read_timeout)  # half-sent requests: 408, then closed
        if root_path:
            config["root_path"] = root_path
        uvicorn.run(app, **config)
