"""Failed console sign-ins are counted in the database: two instances of a server (two services, as two
Lambda instances would have) throttle one user and one address together, a restart forgets nothing, and
a database that cannot be asked still leaves the process's own throttle in force. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select

from vetoflow.config import Settings
from vetoflow.db.engine import sqlalchemy_url
from vetoflow.db.login_failures import FORGET_AFTER, SharedLoginThrottle
from vetoflow.db.tables import login_failures_table
from vetoflow.identity.directory import Directory
from vetoflow.identity.passwords import hash_password
from vetoflow.identity.users_file import add_user
from vetoflow.runs.store import open_service

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
STRONG_PASSWORD = "Right-Horse-Battery-42"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def with_ana(settings: Settings) -> Settings:
    add_user(settings.home / "users.yaml", "ana", ["approver"], hash_password(STRONG_PASSWORD))
    return settings


def test_two_instances_throttle_one_user_together_and_a_restart_forgets_nothing(with_ana: Settings) -> None:
    clock = Clock()
    with open_service(with_ana) as one, open_service(with_ana) as two:
        first = Directory.from_settings(with_ana, SharedLoginThrottle(one.database.engine, clock=clock))
        second = Directory.from_settings(with_ana, SharedLoginThrottle(two.database.engine, clock=clock))
        for _ in range(5):
            assert first.login("ana", "wrong guess", "203.0.113.7") is None
        assert second.login("ana", STRONG_PASSWORD, "198.51.100.9") is None, "the other instance waits too"
    with open_service(with_ana) as restarted:
        third = SharedLoginThrottle(restarted.database.engine, clock=clock)
        assert third.wait_seconds("ana", None) == pytest.approx(1.0), "counted in the database, not in memory"
        clock.now += timedelta(seconds=1)
        directory = Directory.from_settings(with_ana, third)
        assert directory.login("ana", STRONG_PASSWORD, "198.51.100.9") is not None
        assert third.wait_seconds("ana", None) == 0.0, "a success clears the user's count everywhere"
    with open_service(with_ana) as one, open_service(with_ana) as two:
        counting = SharedLoginThrottle(one.database.engine, clock=clock)
        for _ in range(5):
            counting.failed("ana", None)
        assert counting.wait_seconds("ana", None) > 0
        SharedLoginThrottle(two.database.engine, clock=clock).succeeded("ana")
        assert counting.wait_seconds("ana", None) == 0.0, "a success on another instance counts here too"


def test_an_address_spreading_guesses_over_names_and_instances_is_throttled(with_ana: Settings) -> None:
    clock = Clock()
    with open_service(with_ana) as one, open_service(with_ana) as two:
        throttles = [SharedLoginThrottle(s.database.engine, clock=clock) for s in (one, two)]
        directories = [Directory.from_settings(with_ana, t) for t in throttles]
        for number in range(20):
            assert directories[number % 2].login(f"guess{number}", "x", "203.0.113.7") is None
        assert throttles[0].wait_seconds("someone", "203.0.113.7") == pytest.approx(1.0)
        assert throttles[1].wait_seconds("someone", "198.51.100.9") == 0.0, "other addresses are not held up"


def test_a_key_silent_for_a_day_starts_over_and_its_row_goes(with_ana: Settings) -> None:
    clock = Clock()
    with open_service(with_ana) as service:
        throttle = SharedLoginThrottle(service.database.engine, clock=clock)
        for _ in range(7):
            throttle.failed("ana", None)
        clock.now += FORGET_AFTER + timedelta(seconds=1)
        assert throttle.wait_seconds("ana", None) == 0.0, "the same process forgets too"
        throttle.failed("ana", None)
        assert throttle.wait_seconds("ana", None) == 0.0, "one typo a day later: counted from one again"
        fresh = SharedLoginThrottle(service.database.engine, clock=clock)  # a new process: no counts of its own
        assert fresh.wait_seconds("ana", None) == 0.0
        fresh.failed("ana", None)
        with service.database.engine.connect() as conn:
            failures = conn.execute(select(login_failures_table.c.failures)).scalar_one()
        assert failures == 2, "counted from one again (the typo, then this)"
        for number in range(98):  # the 100th failure of a process also drops rows silent for a day
            fresh.failed(f"u{number}", None)
        clock.now += FORGET_AFTER + timedelta(seconds=1)
        fresh.failed("late", None)
        with service.database.engine.connect() as conn:
            left = conn.execute(select(func.count()).select_from(login_failures_table)).scalar_one()
        assert left == 1


def test_a_database_that_cannot_be_asked_leaves_the_process_throttle_in_force(
    with_ana: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = create_engine(sqlalchemy_url("postgresql://nobody@127.0.0.1:1/none"))  # the server gone away
    clock = Clock()
    throttle = SharedLoginThrottle(unreachable, clock=clock)
    directory = Directory.from_settings(with_ana, throttle)
    for _ in range(5):
        assert directory.login("ana", "wrong guess", "203.0.113.7") is None
    assert directory.login("ana", STRONG_PASSWORD, "203.0.113.7") is None, "fails closed"
    assert "login throttle: a failure could not be recorded" in caplog.text
    unreachable.dispose()
