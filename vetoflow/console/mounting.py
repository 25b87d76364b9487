"""How the console is mounted (by `vetoflow ui` and by `serve` at /console): sign-in, theme, CSS, key bindings.

Its own module, below both ui.py and the API, so the API's app builds the console without reaching up.
"""

from __future__ import annotations

import inspect
from typing import Any

import gradio as gr
from fastapi import FastAPI
from gradio.routes import App as GradioApp
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from vetoflow.config import Settings
from vetoflow.console.keys import CSS as KEYS_CSS
from vetoflow.console.keys import KEYS_HEAD
from vetoflow.console.oidc_login import OidcLogin
from vetoflow.identity.directory import Directory
from vetoflow.identity.throttle import Throttle

CSS = (
    """
.gradio-container { max-width: 1400px !important; }
.gradio-container table, .gradio-container table *, .gradio-container .cell-wrap * {
  font-family: ui-sans-serif, system-ui, "DejaVu Sans", sans-serif !important;
}
#inbox-table td, #runs-table td { font-size: 0.9rem; }
#run-figures table { width: 100%; }
#run-message p, #new-upload-message p { font-size: 1rem; }
#run-approval { color: var(--body-text-color-subdued); }
#run-confirm { border: 2px solid var(--color-accent); padding: 0.5rem; }
"""
    + KEYS_CSS
)


def console_theme() -> gr.themes.Base:
    """System fonts only: the console must render with no internet access (no web fonts)."""
    system = ["ui-sans-serif", "system-ui", "DejaVu Sans", "sans-serif"]
    mono = ["ui-monospace", "DejaVu Sans Mono", "monospace"]
    return gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", font=system, font_mono=mono)


def mount_options(
    settings: Settings, oidc: OidcLogin | None = None, *, throttle: Throttle | None = None
) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch` and `gr.mount_gradio_app`: logins (if any), theme and CSS.

    With OpenID Connect (`oidc`), Gradio asks the signed session for the user instead of showing its form.
    `throttle`: where failed sign-ins are counted (a server's: the database, shared by every instance).
    """
    options: dict[str, Any] = {"theme": console_theme(), "css": CSS, "head": KEYS_HEAD, "footer_links": []}
    if oidc is not None:
        return options | {"auth_dependency": oidc.auth_dependency}
    check = Directory.from_settings(settings, throttle).password_checker()
    if check is not None:
        options |= {"auth": check, "auth_message": "vetoflow console: sign in; you are the reviewer of record."}
    return options


def mount_console(
    app: FastAPI,
    console: gr.Blocks,
    path: str,
    settings: Settings,
    oidc: OidcLogin | None = None,
    *,
    throttle: Throttle | None = None,
    **extra: Any,
) -> FastAPI:
    """`gr.mount_gradio_app` with `mount_options`, and every `gradio_api` route behind the sign-in (see below)."""
    app = gr.mount_gradio_app(app, console, path=path, **extra, **mount_options(settings, oidc, throttle=throttle))
    if path.strip("/") and not any(getattr(route, "path", None) == "/favicon.ico" for route in app.routes):
        icon = path.rstrip("/") + "/favicon.ico"  # browsers ask the site's root; the console's own icon answers

        @app.get("/favicon.ico", include_in_schema=False)
        def favicon() -> RedirectResponse:
            return RedirectResponse(icon, status_code=308)

    for route in app.routes:
        if isinstance(route, Mount) and isinstance(route.app, GradioApp) and route.app.get_blocks() is console:
            route.app.add_middleware(ApiSignIn, gradio=route.app)
    return app


class ApiSignIn:
    """ASGI middleware inside Gradio's app: with logins, no `gradio_api` route answers without a session.

    Gradio checks the login on most of its API but not all of it: its heartbeat stream (`GET
    gradio_api/heartbeat/<anything>`) answered 200 and held the connection open for anyone, as `reset`,
    `cancel` or `startup-events` answer anyone. The sign-in page needs none of them, so all get Gradio's own
    401, judged as Gradio judges a session (its login cookie, or `auth_dependency`)."""

    def __init__(self, app: ASGIApp, gradio: GradioApp) -> None:
        self.app, self.gradio = app, gradio

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._api(scope) and await self._user(Request(scope)) is None:
            blocks = self.gradio.get_blocks()
            detail = {"error": "Not authenticated", "auth_message": blocks.auth_message}
            await JSONResponse({"detail": detail}, status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _api(self, scope: Scope) -> bool:
        if self.gradio.auth is None and self.gradio.auth_dependency is None:
            return False  # an open console (loopback only): nothing to sign in to
        path, root = str(scope["path"]), str(scope.get("root_path", ""))
        relative = path[len(root) :] if root and path.startswith(root) else path
        return relative.startswith("/gradio_api/")

    async def _user(self, request: Request) -> str | None:
        if self.gradio.auth_dependency is not None:
            user = self.gradio.auth_dependency(request)
            return await user if inspect.isawaitable(user) else user
        cookie = self.gradio.cookie_id
        token = request.cookies.get(f"access-token-{cookie}") or request.cookies.get(f"access-token-unsecure-{cookie}")
        user = self.gradio.tokens.get(token) if token else None
        return user if isinstance(user, str) else None
