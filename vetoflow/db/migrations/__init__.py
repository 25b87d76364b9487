"""Alembic migrations for vetoflow's own tables. `HEAD` must name the newest revision (a test checks it)."""

HEAD = "0014_job_tallies"
VERSION_TABLE = "vetoflow_alembic_version"  # its own name: never collides with an application's alembic_version
