"""The FastAPI application: JSON endpoints over one RunService, plus the Gradio console when given."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI, Query

from vetoflow.api import errors, guards, lambda_schedule
from vetoflow.api.compare import router as compare_router
from vetoflow.api.deps import no_unknown_query
from vetoflow.api.events import router as events_router
from vetoflow.api.governance import router as governance_router
from vetoflow.api.openapi import with_nullable_figures
from vetoflow.api.routes import router
from vetoflow.api.schemas import Health, SafeJSONResponse
from vetoflow.config import Settings
from vetoflow.governance.policy import load_policy
from vetoflow.identity.address import ClientAddressMiddleware
from vetoflow.identity.directory import Directory
from vetoflow.identity.jwt_bearer import JwtBearer
from vetoflow.identity.oidc import OidcConfig
from vetoflow.identity.throttle import Deferred, Throttle
from vetoflow.identity.tokens import TokenTable
from vetoflow.runs.pump import Pump
from vetoflow.runs.service import RunService
from vetoflow.version import VERSION
from vetoflow.workers.health import queue_figures

if TYPE_CHECKING:
    import gradio as gr

    from vetoflow.rag.warmup import EmbeddingsWarmup

DESCRIPTION = """Start investment-decision runs, list them by status, read them, and approve, reject or
revise the ones the Accountant vetoed. Send `Authorization: Bearer <token>`: the token names the reviewer.
Errors are `{"error": "..."}`; 503 means the run database is unavailable (retry shortly)."""


@contextmanager
def _own_service(settings: Settings) -> Iterator[RunService]:
    from vetoflow.runs.store import open_service

    with open_service(settings) as service:
        yield service


def jwt_bearer_for(settings: Settings, directory: Directory) -> JwtBearer | None:
    """The provider's JWTs are accepted when VETOFLOW_OIDC_ISSUER and VETOFLOW_OIDC_AUDIENCE are set."""
    config = OidcConfig.from_settings(settings)
    if config is None or config.audience is None:
        return None
    return JwtBearer(config, directory.custom_roles)


def create_app(
    settings: Settings,
    *,
    service: RunService | None = None,
    console: gr.Blocks | None = None,
    warmup: EmbeddingsWarmup | None = None,
    bind_host: str | None = None,
) -> FastAPI:
    """An app over `service`, or over one it opens (and closes) itself from `settings` at startup.

    `warmup` starts loading the embedding model once the server is up, and /healthz reports its progress.
    `bind_host` (what `serve` listens on) picks the default allowed Host names (see api.guards).
    """
    tokens = TokenTable.from_settings(settings)  # a bad token configuration fails here, not per request

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with ExitStack() as stack:
            active = service or stack.enter_context(_own_service(settings))
            app.state.service = active
            app.state.pump = Pump(active, settings)
            stack.callback(app.state.pump.start().stop)  # notifications and deadlines while serving
            if warmup is not None:
                warmup.start()
            yield

    app = FastAPI(
        title="vetoflow",
        version=VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,
    )
    app.openapi = with_nullable_figures(app)  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.tokens = tokens
    app.state.directory = Directory.from_settings(settings)
    app.state.jwt_bearer = jwt_bearer_for(settings, app.state.directory)  # None unless VETOFLOW_OIDC_AUDIENCE
    app.state.policy = load_policy(settings.policy)  # a malformed policy refuses to start, naming line and field
    if service is not None:  # usable before (or without) the lifespan running, e.g. when mounted elsewhere
        app.state.service = service
    errors.install(app)
    app.add_middleware(ClientAddressMiddleware)

    @app.get(
        "/healthz",
        dependencies=[Depends(no_unknown_query)],  # `?detail=1` only: a misspelt flag is refused, as everywhere
        response_model=Health,
        response_model_exclude_none=True,
        summary="Liveness: answers without touching the database or waiting for the embedding model",
    )
    def healthz(
        detail: bool = Query(False, description="Queue mode: add queue depth, jobs by status, oldest wait, workers."),
    ) -> Health:
        queue = queue_figures(settings) if detail else None  # only then is the database asked anything
        return Health(status="ok", embeddings=warmup.reported() if warmup is not None else None, queue=queue)

    app.include_router(router)
    app.include_router(events_router)
    app.include_router(governance_router)
    app.include_router(compare_router)
    if settings.on_lambda:  # the deployment's clock: an EventBridge schedule (api.lambda_schedule)
        app.state.schedule_clock = lambda_schedule.Clock()
        app.include_router(lambda_schedule.router)
    if console is not None:
        from fastapi.responses import RedirectResponse

        from vetoflow.console.mounting import mount_console
        from vetoflow.console.oidc_login import console_login, gate_middleware

        @app.get("/", include_in_schema=False)
        def root() -> RedirectResponse:
            return RedirectResponse("console/")

        def shared_throttle() -> Throttle:  # the service opens with the server: asked at the first sign-in
            active: RunService = app.state.service
            return active.login_throttle()

        oidc = console_login(settings)
        console.queue(default_concurrency_limit=2)
        app = mount_console(
            app, console, "/console", settings, oidc,
            throttle=Deferred(shared_throttle), max_file_size=settings.max_file_bytes * 4,
        )  # fmt: skip
        if oidc is not None:  # sign-in through the provider: the gate inside, its session cookie around it
            for middleware in reversed(gate_middleware(oidc, settings, "/console")):
                app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    hosts = guards.allowed_hosts((settings.allowed_hosts or "").split(","), bind_host or "")
    if settings.on_lambda and "*" not in hosts:  # the Web Adapter's own requests (the schedule) come from loopback
        hosts += [h for h in guards.LOOPBACK_HOSTS if h not in hosts]
    guards.protect(app, hosts, max_body_bytes=settings.api_max_body_bytes, console_prefix="/console")
    return app
