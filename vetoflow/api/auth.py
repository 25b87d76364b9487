"""Bearer tokens from configuration: the token names the reviewer, so the body never can.

Demo tokens are compared with `hmac.compare_digest` against every configured token, no early exit
(`identity/tokens.py`); no token is ever logged or echoed. Without a token a request is refused, unless
the server was started open, in which case only loopback clients are let in: as the local operator of
the users file when there is one (like the open console, so named users and four-eyes still hold), else
as the reviewer `local`.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from fastapi import HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vetoflow.config import Settings
from vetoflow.identity.directory import DEMO_ROLES, Directory, UnknownOperatorError
from vetoflow.identity.jwt_bearer import InvalidBearerError, JwtBearer, looks_like_jwt
from vetoflow.identity.roles import User, grants_for, require
from vetoflow.netloc import is_loopback

log = logging.getLogger(__name__)
OPEN_REVIEWER = "local"
bearer = HTTPBearer(
    auto_error=False,
    description="A users-file token (vft_...), a JWT from the OpenID provider, or a demo token; it names the reviewer.",
)


def _refuse(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def current_user(request: Request, credentials: HTTPAuthorizationCredentials | None) -> User:
    """Who is asking, with their roles: from the bearer token (the OpenID provider's JWT, the users file,
    or the deprecated VETOFLOW_API_TOKENS), or `local` on an open, loopback-only server."""
    directory: Directory = request.app.state.directory
    address = request.client.host if request.client else "unknown address"
    jwt_bearer: JwtBearer | None = getattr(request.app.state, "jwt_bearer", None)
    if credentials is not None and jwt_bearer is not None and looks_like_jwt(credentials.credentials):
        try:
            return jwt_bearer.user(credentials.credentials)
        except InvalidBearerError as exc:
            log.warning("API login failed from %s: %s", address, exc)
            raise _refuse(str(exc)) from None
    if credentials is not None:
        user = directory.by_token(credentials.credentials)
        if user is None:
            log.warning("API login failed from %s: %s", address, directory.token_hint(credentials.credentials))
            raise _refuse("invalid bearer token")
        return user
    if request.app.state.settings.api_open:
        client = request.client.host if request.client else None
        if is_loopback(client):
            return open_user(request.app.state.settings, directory)
        raise _refuse("this server is open to localhost only; send a bearer token")
    raise _refuse("missing bearer token: send 'Authorization: Bearer <token>'")


def open_user(settings: Settings, directory: Directory) -> User:
    """A loopback caller without a token on an open server: the local operator of the users file, with that
    user's roles (`local`, a fictitious approver beside named users, only in demo mode)."""
    if settings.oidc_issuer:
        raise _refuse("this server signs people in through OpenID Connect: send the provider's bearer token")
    try:
        operator = directory.local_operator()
    except UnknownOperatorError as exc:
        raise _refuse(
            f"requests without a token act as the local operator {exc.name!r}, who is not a user in {exc.path}; "
            "send a bearer token"
        ) from None
    if operator is None:
        return User(OPEN_REVIEWER, DEMO_ROLES, grants_for(DEMO_ROLES, {}), "open")
    return replace(operator, source="open")


def current_reviewer(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    """The acting user's name; the user (with roles) is kept on `request.state.user` for `require`."""
    user = require(current_user(request, credentials), "read")
    request.state.user = user
    return user.name
