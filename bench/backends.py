"""The backends a benchmark measures: a temporary SQLite home, then a throwaway PostgreSQL database."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

from vetoflow.config import Settings

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def backends(admin_url: str = DEFAULT_PG) -> Iterator[tuple[str, Settings]]:
    """Yields ("SQLite", settings), then ("PostgreSQL", settings) on a fresh database dropped afterwards;
    PostgreSQL is skipped with a printed reason when the server is unreachable."""
    with tempfile.TemporaryDirectory() as home:
        yield "SQLite", Settings(home=Path(home))
    name = f"vetoflow_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not measured: {admin_url} unreachable ({exc})")
        return
    try:
        with tempfile.TemporaryDirectory() as home:
            url = admin_url.rsplit("/", 1)[0] + f"/{name}"
            yield "PostgreSQL", Settings(home=Path(home), database_url=url)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
