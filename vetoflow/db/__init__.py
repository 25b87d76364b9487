"""The one owner of persistence: engine and pool, SQLite PRAGMAs, the checkpointer, vetoflow's tables, migrations."""

from vetoflow.db.database import Database, open_database

__all__ = ["Database", "open_database"]
