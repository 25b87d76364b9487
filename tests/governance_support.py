"""Shared set-up for the approval-governance tests: a policy file, users written by the real code, a service."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.identity.directory import Directory
from vetoflow.identity.roles import User
from vetoflow.identity.users_file import add_user, load_users_file
from vetoflow.runs.service import RunService
from vetoflow.runs.store import open_service

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the injected clock's first reading
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


def people(settings: Settings, roles: Mapping[str, Sequence[str]] | None = None, approvers: int = 3) -> dict[str, User]:
    """Users written to the users file by the real code, by name. Default: an (analyst and approver), vi
    (viewer), ap1..apN (approver)."""
    path = settings.home / "users.yaml"
    wanted = roles or {
        "an": ["analyst", "approver"],
        "vi": ["viewer"],
        **{f"ap{n}": ["approver"] for n in range(1, approvers + 1)},
    }
    for name, held in wanted.items():
        add_user(path, name, list(held), None)
    directory = Directory(load_users_file(path))
    found = {name: directory.user(name) for name in wanted}
    return {name: user for name, user in found.items() if user is not None}


def at(service: RunService, when: datetime) -> None:
    """The gate's clock (deadlines, reminders, escalations) reads `when` from now on."""
    assert service.gate is not None
    service.gate.clock = lambda: when


def approve(service: RunService, run_id: str, user: User, via: str = "cli") -> str:
    """`user` approves; the run's status after it ("paused" while the tier needs more approvers)."""
    return service.decide(run_id, "approve", reviewer=user.name, user=user, via=via).status


@contextmanager
def governed_service(settings: Settings, context: Context | None = None) -> Iterator[RunService]:
    with open_service(settings, context) as service:
        yield service
