"""Console sign-in through the OpenID provider: authorization code + PKCE, state and nonce checked (Authlib).

`OidcGate` is an ASGI middleware (so it works around a mounted console in `serve` and around Gradio's own
app in `vetoflow ui`): it answers /console-auth/{login,callback,logout,signed-out}, sends a browser that
opens the console without a session to the provider, and shows a "no role" page to a person whose groups
map to no vetoflow role. The signed session cookie holds only the user's name, roles and expiry: no
token, no secret. Gradio learns the user through `auth_dependency`, which also puts the `User` on the
request for the console's permission checks.
"""

from __future__ import annotations

import html
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from authlib.integrations.starlette_client import OAuth, OAuthError  # type: ignore[import-untyped]
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from vetoflow.config import Settings
from vetoflow.identity.oidc import OidcClaimsError, OidcConfig, groups_of, user_from_claims
from vetoflow.identity.roles import Action, User, grants_for

log = logging.getLogger(__name__)
AUTH_PREFIX = "/console-auth"
SESSION_KEY = "vetoflow_user"
LINKED_KEY = "vetoflow_linked_run"  # `/console?run=ID` asked for before signing in
LINKED_RUN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a run id, as `ui.deep_link` accepts it
COOKIE = "vetoflow_console"


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body style='font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto'>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


class OidcLogin:
    """The provider client and the session format; one per console app."""

    def __init__(
        self, config: OidcConfig, settings: Settings, custom_roles: Callable[[], Mapping[str, frozenset[Action]]]
    ) -> None:
        self.config, self.custom_roles = config, custom_roles
        self.session_seconds = int(settings.oidc_session_hours * 3600)
        secret = settings.oidc_client_secret
        client_kwargs: dict[str, Any] = {
            "scope": config.scopes,
            "code_challenge_method": "S256",
            "timeout": config.timeout,
        }
        if secret is None:
            client_kwargs["token_endpoint_auth_method"] = "none"
        self.client = OAuth().register(
            "vetoflow",
            client_id=config.client_id,
            client_secret=secret.get_secret_value() if secret else None,
            server_metadata_url=config.discovery_url,
            client_kwargs=client_kwargs,
        )

    async def metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = await self.client.load_server_metadata()
        if metadata.get("issuer") != self.config.issuer:
            raise OAuthError(description="discovery names another issuer than VETOFLOW_OIDC_ISSUER")
        return metadata

    def redirect_uri(self, request: Request) -> str:
        return self.config.redirect_uri or str(request.base_url).rstrip("/") + f"{AUTH_PREFIX}/callback"

    async def login(self, request: Request) -> Response:
        await self.metadata()
        response: Response = await self.client.authorize_redirect(request, self.redirect_uri(request))
        return response

    async def claims(self, request: Request) -> dict[str, Any]:
        """The ID token's claims (signature, issuer, audience, expiry and nonce checked by Authlib), completed
        from the userinfo endpoint for claims the ID token does not carry (the ID token wins)."""
        metadata = await self.metadata()
        token = await self.client.authorize_access_token(request)
        claims = dict(token.get("userinfo") or {})
        if not claims.get("sub"):
            raise OAuthError(description="the provider returned no verified ID token")
        if metadata.get("userinfo_endpoint") and token.get("access_token"):
            extra = dict(await self.client.userinfo(token=token))
            if extra.get("sub") == claims["sub"]:
                claims = {**extra, **claims}
        return claims

    async def callback(self, request: Request, console_path: str) -> Response:
        try:
            claims = await self.claims(request)
            user = user_from_claims(claims, self.config, self.custom_roles())
        except (OAuthError, OidcClaimsError) as exc:
            log.warning("console sign-in refused: %s", getattr(exc, "description", None) or exc)
            return _page(
                "Sign-in failed",
                f"<p>{html.escape(str(getattr(exc, 'description', None) or exc))}</p>"
                f"<p><a href='{AUTH_PREFIX}/login'>Try again</a></p>",
                status=401,
            )
        if not user.roles:
            log.warning("console sign-in: %s has no vetoflow role", user.name)
            groups = ", ".join(groups_of(claims, self.config.groups_claim)[:50]) or "none"
            return _page(
                "No role in vetoflow",
                f"<p id='no-role'>You signed in as <b>{html.escape(user.name)}</b>, but none of your groups "
                f"(claim <code>{html.escape(self.config.groups_claim)}</code>: {html.escape(groups)}) gives a "
                "vetoflow role (viewer, analyst, approver, admin), so the console stays closed.</p>"
                "<p>Ask your administrator to add you to a group mapped in VETOFLOW_OIDC_ROLE_MAP.</p>"
                f"<p><a href='{AUTH_PREFIX}/logout'>Sign out</a></p>",
                status=403,
            )
        linked = request.session.get(LINKED_KEY)
        request.session.clear()
        request.session[SESSION_KEY] = {
            "name": user.name,
            "roles": sorted(user.roles),
            "exp": int(time.time()) + self.session_seconds,
        }
        log.info("console sign-in: %s (%s)", user.name, ", ".join(sorted(user.roles)))
        if isinstance(linked, str) and LINKED_RUN.fullmatch(linked):  # a notification's link opens its run
            console_path += f"?run={linked}"
        return RedirectResponse(console_path, status_code=303)

    async def logout(self, request: Request) -> Response:
        request.session.clear()
        target = str(request.base_url).rstrip("/") + f"{AUTH_PREFIX}/signed-out"
        try:
            end_session = (await self.metadata()).get("end_session_endpoint")
        except (OAuthError, OSError):
            end_session = None
        if isinstance(end_session, str):
            result = await self.client.create_logout_url(
                post_logout_redirect_uri=target, client_id=self.config.client_id
            )
            return RedirectResponse(result["url"], status_code=303)
        return RedirectResponse(target, status_code=303)

    def session_user(self, request: Request) -> User | None:
        """The signed-in user from the signed session cookie, or None (absent, malformed or expired)."""
        if "session" not in request.scope:
            return None
        raw = request.session.get(SESSION_KEY)
        if not isinstance(raw, dict) or not isinstance(raw.get("exp"), int) or raw["exp"] < time.time():
            return None
        name, roles = raw.get("name"), raw.get("roles")
        if not isinstance(name, str) or not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            return None
        held = frozenset(roles)
        return User(name, held, grants_for(held, self.custom_roles()), "oidc")

    def auth_dependency(self, request: Request) -> str | None:
        """Gradio's `auth_dependency`: the user's name, with the `User` kept on the request's state."""
        user = self.session_user(request)
        if user is not None:
            request.state.vetoflow_user = user
        return user.name if user else None


def request_user(request: Any) -> User | None:
    """The OIDC user `auth_dependency` put on a (Gradio) request, if any."""
    state = getattr(request, "state", None) if request is not None else None
    user = getattr(state, SESSION_KEY, None) if state is not None else None
    return user if isinstance(user, User) else None


class OidcGate:
    """ASGI middleware: the sign-in endpoints, and a redirect to sign in for console page loads."""

    def __init__(self, app: ASGIApp, login: OidcLogin, console_path: str) -> None:
        self.app, self.login = app, login
        self.console_path = console_path.rstrip("/") + "/"
        self.pages = {self.console_path, self.console_path.rstrip("/") or "/"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        path = scope["path"]
        response: Response | None = None
        root = scope.get("root_path", "")
        relative = path[len(root) :] if root and path.startswith(root) else path
        if relative.startswith(AUTH_PREFIX + "/"):
            response = await self._auth(request, relative[len(AUTH_PREFIX) :], root)
        elif relative in self.pages and request.method in ("GET", "HEAD") and self.login.session_user(request) is None:
            if LINKED_RUN.fullmatch(linked := request.query_params.get("run", "")):
                request.session[LINKED_KEY] = linked  # kept through the sign-in, then opened
            response = RedirectResponse(f"{root}{AUTH_PREFIX}/login", status_code=303)
        if response is None:
            await self.app(scope, receive, send)
        else:
            await response(scope, receive, send)

    async def _auth(self, request: Request, action: str, root: str) -> Response:
        try:
            if action == "/login":
                return await self.login.login(request)
            if action == "/callback":
                return await self.login.callback(request, f"{root}{self.console_path}")
            if action == "/logout":
                return await self.login.logout(request)
        except (OAuthError, OSError) as exc:
            log.warning("OpenID provider error during %s: %s", action, type(exc).__name__)
            return _page(
                "Sign-in unavailable", "<p>The identity provider could not be reached. Retry shortly.</p>", 503
            )
        if action == "/signed-out":
            return _page("Signed out", f"<p id='signed-out'>You are signed out. <a href='{root}{AUTH_PREFIX}/login'>"
                         "Sign in again</a></p>")  # fmt: skip
        return _page("Not found", "", 404)


def console_login(settings: Settings) -> OidcLogin | None:
    """The console's OIDC sign-in when VETOFLOW_OIDC_ISSUER and VETOFLOW_OIDC_CLIENT_ID are set."""
    config = OidcConfig.from_settings(settings)
    if config is None or not config.console_login:
        return None
    from vetoflow.identity.directory import Directory

    return OidcLogin(config, settings, Directory.from_settings(settings, quiet=True).custom_roles)


def gate_middleware(login: OidcLogin, settings: Settings, console_path: str) -> list[Middleware]:
    """Outermost first: the session cookie, then the gate (which reads it)."""
    secret = settings.oidc_session_secret
    return [
        Middleware(
            SessionMiddleware,
            secret_key=secret.get_secret_value() if secret else secrets.token_urlsafe(32),
            session_cookie=COOKIE,
            max_age=login.session_seconds,
            same_site="lax",
            https_only=bool(settings.oidc_redirect_uri and settings.oidc_redirect_uri.startswith("https://")),
        ),
        Middleware(OidcGate, login=login, console_path=console_path),
    ]
