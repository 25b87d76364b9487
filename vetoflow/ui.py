"""The operator console: a `gr.Blocks` app over one RunService, served alone or mounted into FastAPI.

`build_console` only builds; `mount_console` (console.mounting) mounts it with its sign-in, theme and CSS,
for `launch` and for the API server alike.
"""

from __future__ import annotations

import re
from typing import Any

import gradio as gr

from vetoflow.config import Settings, default_reviewer
from vetoflow.console.auth import check_bind
from vetoflow.console.common import ConsoleDeps
from vetoflow.console.compare import render_compare
from vetoflow.console.inbox import render_inbox, selected_run_id
from vetoflow.console.knowledge import render_knowledge
from vetoflow.console.mounting import mount_console
from vetoflow.console.new_run import render_new_run
from vetoflow.console.notifications import render_notifications
from vetoflow.console.oidc_login import AUTH_PREFIX, console_login, gate_middleware
from vetoflow.console.queue_footer import render_queue_footer
from vetoflow.console.run_view import render_run_view
from vetoflow.console.runs import find_runs, render_runs
from vetoflow.console.server import ConsoleServer
from vetoflow.console.trace_tab import render_trace_tab
from vetoflow.identity.address import ClientAddressMiddleware
from vetoflow.identity.directory import Directory
from vetoflow.plaintext import md
from vetoflow.runs.service import RunService

TITLE = "vetoflow console"


RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The address bar names the run shown (so it can be copied and sent), changed only when a run is opened (never
# as an id is typed); no reload, no new history entry.
LINK_JS = """(runId) => {
  const url = new URL(window.location.href);
  if (runId && runId.trim()) { url.searchParams.set("run", runId.trim()); } else { url.searchParams.delete("run"); }
  window.history.replaceState(null, "", url);
}"""


def console_oidc_enabled(settings: Settings) -> bool:
    """Console sign-in goes through the OpenID provider (issuer and client id set)."""
    return settings.oidc_issuer is not None and settings.oidc_client_id is not None


def deep_link(request: gr.Request | None) -> tuple[str, str] | None:
    """`?run=ID` (as in `/console?run=ID`): the run to open and the tab to show; None without a (valid) one."""
    params = getattr(request, "query_params", None) or {}
    run_id = str(params.get("run") or "").strip()
    if not RUN_ID.fullmatch(run_id):
        return None
    return run_id, "run"


def _banner(deps: ConsoleDeps, request: gr.Request | None) -> str:
    if deps.oidc:
        user = deps.user(request)
        roles = ", ".join(sorted(user.roles)) or "no role"
        return (
            f"Signed in as **{md(user.name)}** ({md(roles)}): your decisions are recorded under this name. "
            f"[Sign out]({AUTH_PREFIX}/logout)"
        )
    if deps.auth_enabled:
        return f"Signed in as **{md(deps.reviewer(request))}**: your decisions are recorded under this name."
    return (
        "⚠️ **Open console**: no logins are configured (`VETOFLOW_UI_USERS`), so it only listens on localhost. "
        f"Decisions are recorded as **{md(deps.open_reviewer)}**."
    )


def _render_tabs(deps: ConsoleDeps) -> tuple[gr.Tabs, Any, Any, Any, Any, Any]:
    """The tabs, in the order an operator uses them; returns the panels the console wires together."""
    with gr.Tabs() as tabs:
        with gr.Tab("Inbox", id="inbox"):
            inbox = render_inbox(deps)
        with gr.Tab("Run", id="run"):
            run = render_run_view(deps)
        with gr.Tab("New run", id="new"):
            new = render_new_run(deps)
        with gr.Tab("Runs", id="runs"):
            runs = render_runs(deps)
        with gr.Tab("Knowledge", id="knowledge") as knowledge_tab:
            render_knowledge(deps, knowledge_tab)
        with gr.Tab("Trace", id="trace"):
            trace = render_trace_tab(deps.service)
        with gr.Tab("Compare", id="compare") as compare_tab:
            render_compare(deps.service, compare_tab)
        with gr.Tab("Notifications", id="notifications") as notifications_tab:
            render_notifications(deps, notifications_tab)
    return tabs, inbox, run, new, runs, trace


def build_console(
    service: RunService,
    settings: Settings,
    *,
    auth_enabled: bool | None = None,
    user_label: str | None = None,
    refresh_seconds: float | None = None,
) -> gr.Blocks:
    """Build (not launch) the console. `auth_enabled` defaults to whether logins are configured;
    `user_label` is the reviewer recorded when the console is open (default: $VETOFLOW_REVIEWER or the OS user);
    every `refresh_seconds` (default `VETOFLOW_UI_POLL_SECONDS`) each open page asks the service whether
    anything changed (two key reads).
    """
    directory = Directory.from_settings(settings)
    oidc = console_oidc_enabled(settings)
    enabled = (directory.has_logins or oidc) if auth_enabled is None else auth_enabled
    deps = ConsoleDeps(service, settings, enabled, user_label or default_reviewer(), directory, oidc=oidc)
    demo = gr.Blocks(title=TITLE, analytics_enabled=False)
    with demo:
        with gr.Row():
            gr.Markdown("# vetoflow · operator console", elem_id="console-title")
            banner = gr.Markdown(elem_id="console-banner")
        tabs, inbox, run, new, runs, trace = _render_tabs(deps)
        render_queue_footer(settings)  # queue mode only
        seen = gr.State(None)  # the service's change marker when this page last refreshed
        poll = gr.Timer(refresh_seconds or settings.ui_poll_seconds)

        def open_selected(evt: gr.SelectData) -> tuple[str, Any]:
            return selected_run_id(evt), gr.Tabs(selected="run")

        def open_id(run_id: str) -> tuple[str, Any]:
            return run_id, gr.Tabs(selected="run")

        private: dict[str, Any] = {"api_visibility": "private"}
        for table in (inbox.table, runs.table):
            table.select(open_selected, outputs=[run.run_id, tabs], **private).then(
                run.load, inputs=[run.run_id], outputs=run.outputs, **private
            )
        new.open_button.click(open_id, inputs=[new.run_id], outputs=[run.run_id, tabs], **private).then(
            run.load, inputs=[run.run_id], outputs=run.outputs, **private
        )
        run.trace_button.click(
            lambda run_id: (run_id, gr.Tabs(selected="trace")), [run.shown_id], [trace.run_id, tabs], **private
        ).then(trace.show, inputs=[trace.run_id], outputs=trace.outputs, **private)
        run.shown_id.change(None, inputs=[run.shown_id], js=LINK_JS, **private)  # the address names the run shown

        lists = [inbox.table, inbox.count, runs.table, runs.count]

        def refreshed_lists(show: str, statuses: list[str], search: str, request: gr.Request) -> tuple[Any, ...]:
            return (*inbox.load(show, request), *find_runs(deps, statuses, search))

        def first_load(request: gr.Request) -> tuple[Any, ...]:
            marker = service.change_marker()
            wanted = deep_link(request)
            if wanted is None:
                opened: tuple[Any, ...] = (gr.skip(), gr.skip(), *(gr.skip() for _ in run.outputs))
            else:
                run_id, tab = wanted
                opened = (run_id, gr.Tabs(selected=tab), *run.load(run_id, request))
            lists_now = refreshed_lists("all", [], "", request)
            return (_banner(deps, request), marker, *lists_now, *opened)

        load_outputs = [banner, seen, *lists, run.run_id, tabs, *run.outputs]
        demo.load(first_load, outputs=load_outputs, **private)

        def tick(  # noqa: PLR0917 (Gradio passes inputs positionally)
            before: str | None,
            show: str,
            statuses: list[str],
            search: str,
            run_id: str,
            watched: dict[str, Any] | None,
            typed_comment: str,
            draft: str,
            request: gr.Request,
        ) -> tuple[Any, ...]:
            """The change poll: nothing unless the service's marker moved since this page last looked (but the
            progress panel of a queued or running run, whose elapsed times move). The comment boxes' text goes
            along, so a comment typed on a run a colleague closes is moved, not lost."""
            marker = service.change_marker()
            if marker == before:
                return (*(gr.skip() for _ in range(1 + len(lists))), *run.unchanged(run_id, watched))
            reloaded = run.watch(run_id, watched, request, typed_comment, draft)
            return (marker, *refreshed_lists(show, statuses, search, request), *reloaded)

        poll_inputs = [seen, inbox.show, runs.statuses, runs.search, run.run_id, run.watched, *run.drafts]
        poll.tick(tick, inputs=poll_inputs, outputs=[seen, *lists, *run.outputs], show_progress="hidden", **private)
    return demo


def console_app(service: RunService, settings: Settings, *, host: str, root_path: str = "") -> Any:
    """The console alone, mounted at `/` in a parent app that carries the same Host, Origin and CORS guards as
    `serve` (api.guards): a page on another site, or one reached by DNS rebinding, cannot drive it."""
    from fastapi import FastAPI

    from vetoflow.api import guards

    oidc = console_login(settings)
    demo = build_console(service, settings)
    demo.queue(default_concurrency_limit=2)
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app = mount_console(
        app,
        demo,
        "",
        settings,
        oidc,
        throttle=service.login_throttle(),
        root_path=root_path or None,
        show_error=True,
        max_file_size=settings.max_file_bytes * 4,
    )
    if oidc is not None:  # sign-in through the provider: the gate inside, its session cookie around it
        for middleware in reversed(gate_middleware(oidc, settings, "/")):
            app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    app.add_middleware(ClientAddressMiddleware)
    hosts = guards.allowed_hosts((settings.allowed_hosts or "").split(","), host)
    guards.protect(app, hosts, max_body_bytes=None, console_prefix="/")
    return app


def launch(
    service: RunService,
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    root_path: str = "",
    prevent_thread_lock: bool = False,
) -> ConsoleServer:
    """Serve the console alone (in the background with `prevent_thread_lock`). Refuses a non-local host when
    no logins are configured."""
    check_bind(host, console_login(settings) is not None or Directory.from_settings(settings).has_logins)
    server = ConsoleServer(console_app(service, settings, host=host, root_path=root_path), host, port)
    if prevent_thread_lock:
        return server.start()
    server.run()
    return server
