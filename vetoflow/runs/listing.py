"""Listing runs with nothing but the run index: no checkpointer, no graph, no clients (LangGraph unloaded).

`vetoflow runs` (and any other listing) answers from `vetoflow_runs` alone, so it costs an engine and one
query, not the seconds of importing LangGraph and opening the checkpointer. A database that is new or
behind the newest schema is opened fully once first, which creates and migrates it as every start does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from vetoflow.config import Settings
from vetoflow.runs.index import RunIndex, RunPage, RunRow


class ListingQueries:
    """`list` and `page`: the same queries for RunService (which inherits them) and RunListing."""

    index: RunIndex

    def list(
        self, statuses: Sequence[str] = (), limit: int = 50, offset: int = 0, *, after: str | None = None
    ) -> list[RunRow]:
        """Newest first; `after` is the `next_cursor` of the previous page (see `page`)."""
        return self.index.list_runs(statuses, limit=limit, offset=offset, after=after)

    def page(
        self, statuses: Sequence[str] = (), limit: int = 50, offset: int = 0, *, after: str | None = None
    ) -> RunPage:
        """One page and the cursor of the next: every run shows exactly once across pages, even while
        runs are being added (they sort before the first page's cursor)."""
        return self.index.page(statuses, limit=limit, offset=offset, after=after)


class RunListing(ListingQueries):
    """The read side of RunService that needs no graph."""

    def __init__(self, index: RunIndex) -> None:
        self.index = index


@contextmanager
def open_listing(settings: Settings) -> Iterator[RunListing]:
    from sqlalchemy.exc import OperationalError

    from vetoflow.db.engine import open_engine
    from vetoflow.db.migrate import current_revision
    from vetoflow.db.migrations import HEAD
    from vetoflow.errors import database_unreachable

    settings.check_durable_store()
    with open_engine(settings) as engine:
        try:
            with engine.connect() as conn:
                current = current_revision(conn)
        except OperationalError as exc:  # as `run` and `show` say it, not SQLAlchemy's traceback
            if not settings.database_url:
                raise
            raise database_unreachable(exc.orig or exc) from None
        if current == HEAD:
            yield RunListing(RunIndex(engine))
            return
    from vetoflow.db import open_database

    # New or behind: the full open creates and migrates it, under the schema lock, as every start does.
    with open_database(settings) as database:
        yield RunListing(RunIndex(database.engine))
