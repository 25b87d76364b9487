"""Roles grant actions; `require(user, action)` is the single permission check every adapter calls.

A role outside the built-in four is defined by the installation in the users file (`roles:`) as the list
of actions it grants; policies may then name it as an approver role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from vetoflow.errors import VetoflowError

Action = Literal["read", "comment", "start", "revise", "decide", "audit", "admin"]
ACTIONS: tuple[Action, ...] = ("read", "comment", "start", "revise", "decide", "audit", "admin")
BUILTIN_ROLES: dict[str, frozenset[Action]] = {
    "viewer": frozenset({"read", "comment"}),
    "analyst": frozenset({"read", "comment", "start", "revise"}),
    "approver": frozenset({"read", "comment", "revise", "decide"}),
    "admin": frozenset(ACTIONS),
}
ACTION_WORDS: dict[Action, str] = {
    "read": "read runs",
    "comment": "comment on runs",
    "start": "start runs",
    "revise": "revise runs",
    "decide": "approve or reject runs",
    "audit": "read the audit log",
    "admin": "administer vetoflow",
}
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
NAME_RULE = "1-64 characters: letters, digits, '.', '_', '@', '-' (starting with a letter or digit)"
Source = Literal["users-file", "demo", "open", "oidc", "cli"]


class PermissionDeniedError(VetoflowError):
    """The user's roles do not grant the action (HTTP 403, CLI exit code 7)."""

    exit_code = 7
    http_status = 403


@dataclass(frozen=True)
class User:
    """An authenticated person, with the roles they hold and the actions those roles grant."""

    name: str
    roles: frozenset[str]
    grants: frozenset[Action] = field(default_factory=frozenset)
    source: Source = "users-file"

    def may(self, action: Action) -> bool:
        return action in self.grants


def check_name(name: str, what: str = "user name") -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise VetoflowError(f"{what} {name!r}: must be {NAME_RULE}")
    return name


def grants_for(roles: Iterable[str], custom: Mapping[str, frozenset[Action]]) -> frozenset[Action]:
    """Every action any of the roles grants; an unknown role grants nothing."""
    table = {**BUILTIN_ROLES, **custom}
    granted: set[Action] = set()
    for role in roles:
        granted |= table.get(role, frozenset())
    return frozenset(granted)


def parse_custom_roles(raw: object, source: str) -> dict[str, frozenset[Action]]:
    """`roles: {finance_lead: [read, comment, decide]}` from the users file."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise VetoflowError(f"{source}: roles must be a mapping of role name to a list of actions")
    custom: dict[str, frozenset[Action]] = {}
    for role, actions in raw.items():
        check_name(str(role), f"{source}: role")
        if role in BUILTIN_ROLES:
            raise VetoflowError(f"{source}: roles.{role}: built-in roles cannot be redefined")
        if not isinstance(actions, list) or not all(a in ACTIONS for a in actions):
            raise VetoflowError(f"{source}: roles.{role}: a list of actions from {', '.join(ACTIONS)}")
        custom[str(role)] = frozenset(actions)
    return custom


def require(user: User, action: Action) -> User:
    """Refuse (PermissionDeniedError) unless one of the user's roles grants `action`."""
    if not user.may(action):
        held = ", ".join(sorted(user.roles)) or "no role"
        allowed = [r for r, g in BUILTIN_ROLES.items() if action in g]
        raise PermissionDeniedError(
            f"{user.name} ({held}) may not {ACTION_WORDS[action]}: that needs the role {' or '.join(allowed)}"
            + (" or an installation role granting it" if action != "admin" else "")
        )
    return user
