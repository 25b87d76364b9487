"""Opens the run service a process works with: the database (migrated), the compiled graph, the clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from vetoflow.config import Settings
from vetoflow.db import open_database
from vetoflow.governance.policy import load_policy
from vetoflow.graph import Context, build_graph
from vetoflow.identity.directory import Directory
from vetoflow.runs.gate import Gate
from vetoflow.runs.service import RunService


@contextmanager
def open_service(settings: Settings, context: Context | None = None) -> Iterator[RunService]:
    """Every front end opens runs here. Clients come from `settings` (the composition root) unless given."""
    from vetoflow.runtime import make_context

    with open_database(settings) as database:
        graph = build_graph().compile(checkpointer=database.checkpointer)
        named = Directory.from_settings(settings, quiet=True).users_file is not None
        gate = Gate(database.engine, load_policy(settings.policy, named_users=named), settings)
        yield RunService(graph, database, context if context is not None else make_context(settings), gate)
