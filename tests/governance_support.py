"""Shared set-up for the approval-governance tests: a policy file, users written by the real code, a service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.identity.directory import Directory
from vetoflow.identity.roles import User
from vetoflow.identity.users_file import add_user, load_users_file
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service

POLICY = """\
tiers:
  - name: large
    when: {investment_at_least: 1000000}
    approvers: {roles: [approver], count: 2}
    requester_may_approve: false
    due: 48h
    remind_every: 12h
    at_deadline: expire
  - name: standard
    approvers: {roles: [approver], count: 1}
    requester_may_approve: false
    due: 5d
    at_deadline: {escalate: large}
"""


def governed_settings(settings: Settings, tmp_path: Path, policy: str = POLICY) -> Settings:
    path = tmp_path / "policy.yaml"
    path.write_text(policy)
    return settings.model_copy(update={"policy": path})


def people(settings: Settings, approvers: int = 3) -> dict[str, User]:
    """an (analyst and approver), vi (viewer), ap1..apN (approver), written to the users file by the real code."""
    path = settings.home / "users.yaml"
    wanted = {
        "an": ["analyst", "approver"],
        "vi": ["viewer"],
        **{f"ap{n}": ["approver"] for n in range(1, approvers + 1)},
    }
    for name, roles in wanted.items():
        add_user(path, name, roles, None)
    directory = Directory(load_users_file(path))
    found = {name: directory.user(name) for name in wanted}
    return {name: user for name, user in found.items() if user is not None}


@contextmanager
def governed_service(settings: Settings, context: Context | None = None) -> Iterator[RunService]:
    with open_service(settings, context) as service:
        yield service
