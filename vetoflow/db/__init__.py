"""The one owner of persistence: engine and pool, SQLite PRAGMAs, the checkpointer, vetoflow's tables, migrations.

`Database` and `open_database` load on first use (PEP 562): they bring in LangGraph's checkpointer, which
importing `vetoflow.db.tables` alone (the run index, `vetoflow runs`) must not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vetoflow.db.database import Database, open_database

__all__ = ["Database", "open_database"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from vetoflow.db import database

        return getattr(database, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
