"""Opens the run service a process works with: the database (migrated), the compiled graph, the clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from vetoflow.config import Settings
from vetoflow.db import open_database
from vetoflow.governance.policy import load_policy
from vetoflow.governance.policy_checks import check_policy
from vetoflow.graph import Context, build_graph
from vetoflow.identity.directory import Directory
from vetoflow.runs.gate import Gate
from vetoflow.runs.queueing import JobDispatcher
from vetoflow.runs.service import RunService


@contextmanager
def open_service(
    settings: Settings, context: Context | None = None, *, dispatch: bool | None = None
) -> Iterator[RunService]:
    """Every front end opens runs here. Clients come from `settings` (the composition root) unless given.

    `dispatch`: hand runs to workers (default: when VETOFLOW_EXECUTOR=queue); a worker itself passes False.
    """
    from vetoflow.runtime import make_context

    settings.check_executor()
    with ExitStack() as stack, open_database(settings) as database:
        dispatcher: JobDispatcher | None = None
        if dispatch if dispatch is not None else settings.executor == "queue":
            from vetoflow.db.job_queue import JobQueue

            settings.check_queue()
            assert database.pool is not None  # check_queue: queue mode is PostgreSQL only
            queue = JobQueue(database.pool)
            stack.callback(queue.close)
            dispatcher = queue
        graph = build_graph().compile(checkpointer=database.checkpointer)
        clients = context if context is not None else make_context(settings)
        directory = Directory.from_settings(settings, quiet=True)
        named = directory.users_file is not None or settings.oidc_issuer is not None  # people sign in as themselves
        policy = load_policy(settings.policy, named_users=named)
        gate = Gate(database.engine, check_policy(policy, settings, directory.custom_roles()), settings)
        yield RunService(graph, database, clients, dispatcher, gate=gate, lease_seconds=settings.lease_seconds)
