"""Two operators deciding the same run at once, on SQLite and on PostgreSQL: exactly one decision wins.

The loser is told who decided; nothing is applied twice (one decision row, one review, at most one summary).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from gradio_client import Client

from tests.conftest import PG_ADMIN_URL
from tests.console_helpers import ANA, BO, Console, serve_console
from tests.helpers import CountingSynthesizer
from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.scenario import load_scenario

pytestmark = pytest.mark.slow  # servers, subprocesses or a browser: left out of make test-fast

EXAMPLES = Path(__file__).resolve().parent.parent / "vetoflow" / "examples"
MESSAGE, HISTORY = 0, 11


@pytest.fixture(scope="module")
def synthesizer() -> CountingSynthesizer:
    return CountingSynthesizer()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def console(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, synthesizer: CountingSynthesizer
) -> Iterator[Console]:
    home = tmp_path_factory.mktemp("home")
    if request.param == "sqlite":
        with serve_console(Settings(home=home, database_url=None), Context(synthesizer=synthesizer)) as served:
            yield served
        return
    name = f"vetoflow_ui_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN_URL} (set VETOFLOW_TEST_PG): {exc}")
    settings = Settings(home=home, database_url=f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}")
    try:
        with serve_console(settings, Context(synthesizer=synthesizer)) as served:
            yield served
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("round_", range(3))
def test_two_operators_decide_at_once_exactly_one_wins(
    console: Console, synthesizer: CountingSynthesizer, round_: int
) -> None:
    """...and the one who lost the race finds the comment they sent with it in the run's thread."""
    run_id = console.service.start(load_scenario(EXAMPLES / "vetoed.yaml")).run.run_id
    ana, bo = Client(console.url, auth=ANA, verbose=False), Client(console.url, auth=BO, verbose=False)
    calls = synthesizer.calls
    for client in (ana, bo):  # each decides on the run shown in their own session
        client.predict(run_id, api_name="/open_run")
    assert "Overrule the veto?" in str(ana.predict(run_id, "ana approves", api_name="/approve"))
    jobs = {
        "ana": ana.submit(run_id, "ana approves", api_name="/confirm_approve"),
        "bo": bo.submit(run_id, "bo rejects", api_name="/reject"),
    }
    messages = {who: job.result(timeout=120)[MESSAGE] for who, job in jobs.items()}
    winners = [who for who, text in messages.items() if "recorded" in text]
    assert len(winners) == 1, messages
    [winner] = winners
    [loser] = {"ana", "bo"} - {winner}
    action = "approve" if winner == "ana" else "reject"
    assert f"run {run_id} was already decided\\: {action} by {winner}" in messages[loser]

    view = console.service.view(run_id)
    assert [(d.reviewer, d.action) for d in view.decisions] == [(winner, action)]
    assert [r.reviewer for r in view.state.reviews] == [winner]
    assert view.status == ("completed" if action == "approve" else "rejected")
    assert synthesizer.calls == calls + (1 if action == "approve" else 0)
    said = {"ana": "ana approves", "bo": "bo rejects"}
    assert [(c.author, c.text, c.lost_race) for c in view.comments] == [(loser, said[loser], True)], "kept, not lost"
