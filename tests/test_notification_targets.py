"""A webhook's URL is its secret (Slack's path tokens, userinfo): logs, `vetoflow notifications`,
`vetoflow policy` and `GET /notifications` show `scheme://host/…`; only the outbox's `channel` keeps the
full URL, which delivery needs. Real receivers and a real API server on loopback; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.api_support import client, live_server
from tests.cli_support import invoke
from tests.governance_support import governed_service, governed_settings
from tests.receivers import HookReceiver, hook_receiver
from vetoflow.api import create_app
from vetoflow.config import Settings
from vetoflow.db.tables import outbox_table
from vetoflow.governance.targets import safe_target, scrub
from vetoflow.identity.users_file import add_user, new_token
from vetoflow.scenario import Scenario

SLACK_PATH = "/services/XXXX/SECRET/slackTOKEN"
SECRETS = ("SECRET", "slackTOKEN", "hookuser", "hookPASSWORD", "hookTOKEN")


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("https://hooks.slack.com/services/XXXX/SECRET/TOKEN", "https://hooks.slack.com/…"),
        ("https://hookuser:hookPASSWORD@host:8443/in?key=k", "https://***@host:8443/…"),
        ("http://[::1]:9000/", "http://[::1]:9000/"),
        ("https://hooks.slack.com/…", "https://hooks.slack.com/…"),
        ("finance@example.com, cfo@example.com", "finance@example.com, cfo@example.com"),
    ],
)
def test_a_target_is_shown_as_scheme_and_host_only(target: str, shown: str) -> None:
    assert safe_target(target) == shown


def test_urls_inside_an_error_message_are_masked() -> None:
    said = scrub("ConnectError: cannot reach https://u:pw@host/services/T/B/X (refused)")
    assert said == "ConnectError: cannot reach https://***@host/… (refused)"


@pytest.fixture
def receiver() -> Iterator[HookReceiver]:
    with hook_receiver() as hooks:
        hooks.fail_first[SLACK_PATH] = 99  # dead after its one allowed try
        yield hooks


def secret_policy(receiver: HookReceiver) -> str:
    host = receiver.url.removeprefix("http://")
    return (
        "tiers:\n  - name: standard\n    approvers: {roles: [approver], count: 1}\n"
        f"notify:\n  - slack: {receiver.url}{SLACK_PATH}\n    events: [run.paused]\n"
        f"  - webhook: http://hookuser:hookPASSWORD@{host}/hook/hookTOKEN\n    events: [run.paused]\n"
    )


def assert_clean(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"{leaked} in {text!r}"


def test_logs_listings_and_the_api_never_show_a_webhook_s_secret(
    settings: Settings,
    tmp_path: Path,
    vetoed: Scenario,
    receiver: HookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = governed_settings(settings, tmp_path, secret_policy(receiver))
    users = settings.home / "users.yaml"
    add_user(users, "ad", ["admin"], None)
    with governed_service(settings) as service:
        run_id = service.start(vetoed).run.run_id
    env = {"VETOFLOW_POLICY": str(settings.policy), "VETOFLOW_NOTIFY_MAX_ATTEMPTS": "1", "VETOFLOW_REVIEWER": "ad"}
    host = receiver.url.removeprefix("http://")

    with caplog.at_level(logging.WARNING, logger="vetoflow"):
        delivered = invoke(settings, "notifications", "--deliver", **env)
    assert delivered.exit_code == 0, delivered.output
    assert receiver.ids("/hook/hookTOKEN", 200), "the full URL (with its credentials) is still used to deliver"
    assert_clean(delivered.output)
    assert_clean(caplog.text)
    assert f"to http://{host}/… is dead: HTTP 500" in caplog.text
    assert f"slack    dead     tries 1  http://{host}/…  (HTTP 500 (gave up after 1 tries))" in delivered.stdout
    assert f"webhook  sent     tries 1  http://***@{host}/…" in delivered.stdout

    listed = invoke(settings, "notifications", "--json", **env)
    assert_clean(listed.output)
    assert {row["target"] for row in json.loads(listed.stdout)} == {f"http://{host}/…", f"http://***@{host}/…"}
    policy = invoke(settings, "policy", **env)
    assert policy.exit_code == 0, policy.output
    assert_clean(policy.output)

    with governed_service(settings) as service, live_server(create_app(settings, service=service)) as url:
        with client(url, new_token(users, "ad")) as admin:
            answer = admin.get("/notifications", params={"run": run_id})
        assert answer.status_code == 200, answer.text
        assert_clean(answer.text)
        assert len(answer.json()) == 2
        with service.index.engine.connect() as conn:
            rows = conn.execute(select(outbox_table.c.target, outbox_table.c.channel)).all()
    assert all(target.endswith("/…") for target, _ in rows), "the display column holds the safe form"
    assert any("hookPASSWORD" in str(channel) for _, channel in rows), "delivery keeps what it needs"
