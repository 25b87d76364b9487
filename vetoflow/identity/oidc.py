"""OpenID Connect settings and the one mapping from a provider's claims to a vetoflow `User`.

The console (authorization-code login) and the API (bearer JWTs) both turn claims into a user here, so a
person gets the same name and roles through either door. Roles come from a groups claim; without a role
map a group named like a role is that role, with one only the mapped groups count (fail closed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vetoflow.errors import VetoflowError
from vetoflow.identity.roles import BUILTIN_ROLES, NAME_PATTERN, NAME_RULE, Action, User, grants_for

if TYPE_CHECKING:
    from vetoflow.config import Settings

log = logging.getLogger(__name__)
MAX_GROUPS = 500


class OidcClaimsError(VetoflowError):
    """A verified token whose claims cannot name a vetoflow user (HTTP 401)."""

    exit_code = 2
    http_status = 401


@dataclass(frozen=True)
class OidcConfig:
    """What the console login and the API's JWT check need, taken from the settings."""

    issuer: str
    client_id: str | None
    scopes: str
    groups_claim: str
    name_claim: str
    role_map: Mapping[str, tuple[str, ...]]
    audience: str | None
    redirect_uri: str | None
    leeway: int
    jwks_max_age: int
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        """None when OIDC is off (no issuer)."""
        if settings.oidc_issuer is None:
            return None
        return cls(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            scopes=settings.oidc_scopes,
            groups_claim=settings.oidc_groups_claim,
            name_claim=settings.oidc_name_claim,
            role_map={group: tuple(roles) for group, roles in settings.oidc_role_map.items()},
            audience=settings.oidc_audience,
            redirect_uri=settings.oidc_redirect_uri,
            leeway=settings.oidc_leeway,
            jwks_max_age=settings.oidc_jwks_max_age,
            timeout=settings.oidc_timeout,
        )

    @property
    def console_login(self) -> bool:
        return self.client_id is not None

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def claim(claims: Mapping[str, Any], path: str) -> Any:
    """A claim by name; a name not present as a whole is read as a dotted path into nested objects."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def groups_of(claims: Mapping[str, Any], groups_claim: str) -> list[str]:
    """The groups claim as a list of strings: a list, or one string (some providers send a single group)."""
    raw = claim(claims, groups_claim)
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = raw.split(",") if "," in raw else [raw]
    if not isinstance(raw, list):
        raise OidcClaimsError(f"claim {groups_claim!r} must be a list of group names")
    return [group.strip() for group in raw[:MAX_GROUPS] if isinstance(group, str) and group.strip()]


def roles_for(groups: list[str], config: OidcConfig, known: Mapping[str, frozenset[Action]]) -> frozenset[str]:
    """Only roles vetoflow knows (built-in or defined in the users file); unknown ones are dropped."""
    table = {**BUILTIN_ROLES, **known}
    mapped = config.role_map
    roles = {role for group in groups for role in mapped.get(group, ())} if mapped else set(groups)
    return frozenset(role for role in roles if role in table)


def user_from_claims(
    claims: Mapping[str, Any], config: OidcConfig, known: Mapping[str, frozenset[Action]] | None = None
) -> User:
    """The vetoflow user these (already verified) claims describe; refuses a name vetoflow cannot record."""
    custom = dict(known or {})
    names = [claim(claims, path) for path in config.name_claim.split(",")]
    name = next((n for n in names if isinstance(n, str) and n), claims.get("sub"))
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        shown = repr(name[:70]) if isinstance(name, str) else "missing"
        raise OidcClaimsError(
            f"the token's user name ({config.name_claim} or sub: {shown}) is not a usable name: {NAME_RULE}"
        )
    roles = roles_for(groups_of(claims, config.groups_claim), config, custom)
    return User(name, roles, grants_for(roles, custom), "oidc")
