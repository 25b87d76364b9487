"""The console's Notifications tab shows the delivery log (each notification, its status and tries) to
those who may read the audit log, and refuses everyone else with the reason."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from gradio_client import Client

from tests.console_helpers import serve_console
from tests.governance_support import POLICY, governed_settings
from tests.receivers import HookReceiver, webhook_channel
from vetoflow.config import Settings
from vetoflow.console.common import ConsoleDeps
from vetoflow.console.notifications import delivery_log
from vetoflow.identity.directory import Directory
from vetoflow.identity.passwords import hash_password
from vetoflow.identity.users_file import add_user
from vetoflow.runs.store import open_service
from vetoflow.scenario import Scenario

PASSWORD = "Notify-Pass-2026"


def rows_of(table: Any) -> list[list[str]]:
    return [list(map(str, row)) for row in table["data"]]


@pytest.mark.slow  # a launched console and its HTTP clients: left out of make test-fast
def test_an_admin_sees_each_notification_with_its_tries_and_a_viewer_is_refused(
    home: Settings, tmp_path: Path, vetoed: Scenario, receiver: HookReceiver
) -> None:
    receiver.fail_first["/hook"] = 1  # the first try answers 500: the log shows the retry
    policy = POLICY + webhook_channel(receiver) + "    events: [run.paused]\n"
    settings = governed_settings(home, tmp_path, policy)
    for name, role in (("ad", "admin"), ("vi", "viewer")):
        add_user(settings.home / "users.yaml", name, [role], hash_password(PASSWORD))
    with serve_console(settings) as console:
        run_id = console.service.start(vetoed).run.run_id
        deadline = time.monotonic() + 60
        while [r["status"] for r in console.service.notifications(run_id)] != ["sent"]:
            assert time.monotonic() < deadline, console.service.notifications(run_id)
            console.service.deliver_notifications()  # beside the console's own delivery pass
            time.sleep(0.5)
        [notification] = console.service.notifications(run_id)

        admin = Client(console.url, auth=("ad", PASSWORD), verbose=False)
        message, table = admin.predict(run_id, api_name="/notifications")
        assert message == f"1 notification(s) for run {run_id}, newest first."
        [row] = rows_of(table)
        assert row[1:7] == [
            "run.paused",
            run_id,
            "webhook",
            f"{receiver.url}/…",
            "sent",
            "retry (HTTP 500), sent",
        ]
        assert row[7] == notification["id"] == receiver.ids("/hook", 200)[0]
        everything, all_rows = admin.predict("", api_name="/notifications")
        assert everything.startswith("1 notification(s) for all runs")
        assert rows_of(all_rows) == [row]
        unknown, none = admin.predict("no-such-run", api_name="/notifications")
        assert "no-such-run" in unknown
        assert rows_of(none) == []

        viewer = Client(console.url, auth=("vi", PASSWORD), verbose=False)
        refused, nothing = viewer.predict(run_id, api_name="/notifications")
        assert "vi (viewer) may not read the audit log" in refused
        assert rows_of(nothing) == []


def test_the_notifications_handler_lists_a_sent_notification_to_an_admin_and_refuses_a_viewer(
    home: Settings, tmp_path: Path, vetoed: Scenario, receiver: HookReceiver
) -> None:
    """The same tab as above, its handler called as a plain function (the fast lane's copy of the promise)."""
    policy = POLICY + webhook_channel(receiver) + "    events: [run.paused]\n"
    settings = governed_settings(home, tmp_path, policy)
    for name, role in (("ad", "admin"), ("vi", "viewer")):
        add_user(settings.home / "users.yaml", name, [role], None)
    with open_service(settings) as service:
        run_id = service.start(vetoed).run.run_id
        service.deliver_notifications()
        deps = ConsoleDeps(service, settings, True, "nobody", Directory.from_settings(settings))
        message, rows = delivery_log(deps, run_id, gr.Request(username="ad"))
        assert message == f"1 notification(s) for run {run_id}, newest first."
        [row] = rows
        assert row[1:7] == ["run.paused", run_id, "webhook", f"{receiver.url}/…", "sent", "sent"]
        assert row[7] == receiver.ids("/hook", 200)[0]
        refused, nothing = delivery_log(deps, run_id, gr.Request(username="vi"))
        assert "vi (viewer) may not read the audit log" in refused
        assert nothing == []
