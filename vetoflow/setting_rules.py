"""Rules about settings that a field's type cannot express, as plain functions of the values.

Kept apart so that `config` stays a list of fields, and so that the messages tests compare against have
one home. Raised as ValueError: `load_settings` turns them into one line naming the variable.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from pydantic import SecretStr

from vetoflow.errors import ConfigurationError
from vetoflow.netloc import is_loopback

ROLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")  # as identity.roles.NAME_PATTERN

SQLITE_ON_LAMBDA = (
    "Refusing to keep runs in SQLite on AWS Lambda: /tmp is wiped when the instance is recycled, and "
    "paused runs must outlive it. Set VETOFLOW_DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DBNAME "
    "(Amazon RDS or Aurora PostgreSQL). For a throwaway demo only, set VETOFLOW_ALLOW_SQLITE_ON_LAMBDA=true."
)

QUEUE_NEEDS_POSTGRES = (
    "VETOFLOW_EXECUTOR=queue and `vetoflow worker` need PostgreSQL: the job queue lives in the same database as "
    "the runs. Set VETOFLOW_DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DBNAME, or unset VETOFLOW_EXECUTOR "
    "(default: inline) to run in this process with SQLite."
)


def queue_needs_postgres(needs: str) -> str:
    """The refusal for a command that asked for the queue itself (`replay --queue`), whatever the executor."""
    return (
        f"{needs} needs PostgreSQL: the job queue lives in the same database as the runs. "
        "Set VETOFLOW_DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DBNAME."
    )


# libpq's schemes, and SQLAlchemy's spelling of the psycopg 3 driver (normalised to libpq's on load).
DATABASE_SCHEMES = {"postgresql": "postgresql", "postgres": "postgres", "postgresql+psycopg": "postgresql",
                    "postgres+psycopg": "postgres"}  # fmt: skip
DATABASE_URL_FORMS = (
    "postgresql://USER:PASSWORD@HOST:5432/DBNAME (or postgres://, postgresql+psycopg://); unset it to keep runs "
    "in SQLite under VETOFLOW_HOME"
)

OIDC_CLAIM_PATTERN = r"^[A-Za-z0-9_:/#@$-]{1,100}(\.[A-Za-z0-9_:/#@$-]{1,100}){0,5}$"


class OidcFields(Protocol):
    """The OpenID Connect settings the cross-field check reads (a `Settings` has them)."""

    oidc_issuer: str | None
    oidc_client_id: str | None
    oidc_client_secret: SecretStr | None
    oidc_audience: str | None
    oidc_redirect_uri: str | None
    oidc_scopes: str
    oidc_session_secret: SecretStr | None

    @property
    def on_lambda(self) -> bool: ...


def check_database_url(value: str | None) -> str | None:
    """VETOFLOW_DATABASE_URL: PostgreSQL through psycopg 3 only (no driver for MySQL, say, is installed).

    The message shows the scheme alone: the rest of the URL may hold a password.
    """
    if not value:
        return value
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in DATABASE_SCHEMES:
        shown = f"{scheme[:40]!r}" if sep else "a URL without a scheme"
        raise ValueError(f"{shown} is not supported; allowed: {DATABASE_URL_FORMS}")
    return f"{DATABASE_SCHEMES[scheme]}://{rest}"  # every consumer (psycopg, SQLAlchemy) starts from libpq's form


def check_home(value: Path) -> Path:
    """VETOFLOW_HOME: a directory, or a place one can be made; a file on the way is refused at start."""
    for place in (value, *value.parents):
        if place.exists():
            if not place.is_dir():
                where = "it is a file" if place == value else f"{place} is a file"
                raise ValueError(f"{str(value)!r} must be a directory ({where})")
            break
    return value


def ensure_home(home: Path) -> Path:
    """Create the data directory at its first use; a place that cannot be made is one line, not a traceback."""
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"VETOFLOW_HOME: cannot create {str(home)!r} ({exc.strerror})") from None
    return home


def check_role_map(value: dict[str, list[str]]) -> dict[str, list[str]]:
    """VETOFLOW_OIDC_ROLE_MAP: at most 500 groups, each mapped to 1-20 role names."""
    if len(value) > 500:
        raise ValueError("at most 500 groups")
    for group, roles in value.items():
        if not 1 <= len(group) <= 256 or not 1 <= len(roles) <= 20:
            raise ValueError(f"group {group[:40]!r}: a name of 1-256 characters mapped to 1-20 roles")
        for role in roles:
            if not ROLE_NAME.fullmatch(role):
                raise ValueError(f"group {group[:40]!r}: role {role[:40]!r} is not a role name")
    return value


def check_issuer(issuer: str, variable: str = "VETOFLOW_OIDC_ISSUER") -> str:
    """https, or http on a loopback host (a provider in a test or on this machine); no query or fragment."""
    parts = urlsplit(issuer)
    secure = parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))
    if not parts.hostname or not secure or parts.query or parts.fragment or parts.username:
        raise ValueError(
            f"{variable}: {issuer[:80]!r} must be an https:// URL with a host (http:// only on localhost), "
            "without query, fragment or credentials"
        )
    return issuer


def check_oidc_settings(settings: OidcFields) -> None:
    """Refuse combinations that cannot work (raised as ValueError so `load_settings` prints one line)."""
    used = [
        name
        for name in ("oidc_client_id", "oidc_client_secret", "oidc_audience", "oidc_redirect_uri")
        if getattr(settings, name) is not None
    ]
    if settings.oidc_issuer is None:
        if used:
            raise ValueError(f"VETOFLOW_OIDC_ISSUER: required when VETOFLOW_{used[0].upper()} is set")
        return
    check_issuer(settings.oidc_issuer)
    if settings.oidc_client_id is None and settings.oidc_audience is None:
        raise ValueError(
            "VETOFLOW_OIDC_CLIENT_ID: set it (console login) and/or VETOFLOW_OIDC_AUDIENCE (API bearer JWTs) "
            "when VETOFLOW_OIDC_ISSUER is set"
        )
    if settings.oidc_client_secret is not None and settings.oidc_client_id is None:
        raise ValueError("VETOFLOW_OIDC_CLIENT_ID: required when VETOFLOW_OIDC_CLIENT_SECRET is set")
    if "openid" not in settings.oidc_scopes.split():
        raise ValueError(f"VETOFLOW_OIDC_SCOPES: must include openid (got {settings.oidc_scopes[:80]!r})")
    if settings.oidc_client_id is not None and settings.oidc_session_secret is None and settings.on_lambda:
        raise ValueError(
            "VETOFLOW_OIDC_SESSION_SECRET: required for the console's sign-in on AWS Lambda (32+ characters, the "
            "same for every instance): without it each instance signs its own cookies, so a sign-in whose "
            "callback reaches another instance fails and signed-in people are signed out at random"
        )
