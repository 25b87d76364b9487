"""The driver exceptions that mean "the database is unreachable right now" (retry later), for every backend."""

from __future__ import annotations

import sqlite3

import psycopg
import sqlalchemy.exc

DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    psycopg.OperationalError,  # psycopg_pool.PoolTimeout is one of these
    psycopg.InterfaceError,
    sqlite3.OperationalError,
)
