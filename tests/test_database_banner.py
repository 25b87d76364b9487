"""The database URL that `db upgrade`, `serve`, `ui` and `runs` print: a libpq password is masked
wherever the URL carries it (userinfo or query string), the rest stays for the operator to check."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_support import invoke
from vetoflow.config import Settings
from vetoflow.db_url import redact_database_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://postgres@127.0.0.1:5432/db?password=hunter2",
            "postgresql://postgres@127.0.0.1:5432/db?password=***",
        ),
        ("postgresql://ana:hunter2@[::1]:5432/db", "postgresql://ana:***@[::1]:5432/db"),
        ("postgresql://ana:hun?ter#2@db/runs", "postgresql://ana:***@db/runs"),
        (
            "postgresql://db/runs?sslmode=require&sslpassword=k3y&Pass%77ord=x&passfile=/p&connect_timeout=3",
            "postgresql://db/runs?sslmode=require&sslpassword=***&Pass%77ord=***&passfile=***&connect_timeout=3",
        ),
        ("postgresql:///runs?host=/var/run/postgresql", "postgresql:///runs?host=/var/run/postgresql"),
    ],
)
def test_a_database_password_is_masked_in_the_userinfo_and_the_query(url: str, shown: str) -> None:
    assert redact_database_url(url) == shown


def test_db_upgrade_does_not_print_a_password_given_in_the_query_string(postgres_url: str, tmp_path: Path) -> None:
    url = f"{postgres_url}?password=hunter2&sslpassword=hunter3&connect_timeout=5"
    settings = Settings(home=tmp_path / "home", database_url=url)
    done = invoke(settings, "db", "upgrade")
    assert done.exit_code == 0, done.output
    assert "hunter" not in done.output
    assert "?password=***&sslpassword=***&connect_timeout=5: upgraded from" in done.stdout
