"""`vetoflow db upgrade`: bring the database's schema to the newest version in place (also done at every start)."""

from __future__ import annotations

import click


@click.group()
def db() -> None:
    """Database schema: upgrade it in place (`vetoflow db upgrade`; every start does it too)."""


@db.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Apply every pending migration (runs also do this when they open the database)."""
    from vetoflow.db import open_database
    from vetoflow.db.migrations import HEAD

    with open_database(ctx.obj) as database:  # migrates LangGraph's tables and vetoflow's, under the schema lock
        before = database.migrated_from
    where = ctx.obj.redacted_database()
    if before == HEAD:
        click.echo(f"{where}: already at {HEAD}")
    else:
        was = before or "no schema version (a new database, or one from the first release)"
        click.echo(f"{where}: upgraded from {was} to {HEAD}")
