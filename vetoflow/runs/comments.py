"""A run's comment thread: anyone who may read a run may comment on it without deciding.

Each comment is stored with its audit entry (`run.commented`) in one transaction, so the hash-chained log
holds the thread too. A decision refused because the pause was already decided keeps its comment here,
marked `lost_race`, so the losing operator's reasoning is not thrown away.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, insert, select

from vetoflow.clock import aware
from vetoflow.db.tables import comments_table
from vetoflow.errors import VetoflowError
from vetoflow.runs import audit

MAX_COMMENT = 4000
"""Characters in one comment (as a decision's comment)."""


class CommentRow(BaseModel):
    """One comment, shown as plain text in every front end."""

    id: int
    run_id: str
    author: str
    text: str
    via: str
    lost_race: bool = Field(description="The comment of a decision refused because someone decided first.")
    action: str | None = Field(default=None, description="The refused decision's action (lost races only).")
    created_at: datetime


def checked_text(text: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise VetoflowError("comment: write some text (it cannot be empty)")
    if len(stripped) > MAX_COMMENT:
        raise VetoflowError(f"comment: at most {MAX_COMMENT} characters (got {len(stripped)})")
    return stripped


def add(
    engine: Engine,
    run_id: str,
    author: str,
    text: str,
    *,
    via: str,
    lost_race: bool = False,
    action: str | None = None,
) -> CommentRow:
    """Store one comment and its audit entry together."""
    now = datetime.now(UTC)
    values = {
        "run_id": run_id, "author": author[:120], "text": checked_text(text), "via": via[:16],
        "lost_race": lost_race, "action": action, "created_at": now,
    }  # fmt: skip
    with engine.begin() as conn:
        new_id = conn.execute(insert(comments_table).values(**values).returning(comments_table.c.id)).scalar_one()
        details = {"comment": values["text"], "comment_id": new_id, "lost_race": lost_race}
        if action:
            details["refused_action"] = action
        audit.append(conn, "run.commented", run_id=run_id, actor=author, via=via, details=details, at=now)
    return CommentRow(id=new_id, **values)


def thread(source: Engine | Connection, run_id: str) -> list[CommentRow]:
    """The run's comments, oldest first; read on `source` when it is a connection (the caller's transaction)."""
    query = select(comments_table).where(comments_table.c.run_id == run_id).order_by(comments_table.c.id)
    if isinstance(source, Connection):
        rows = source.execute(query).mappings().all()
    else:
        with source.connect() as conn:
            rows = conn.execute(query).mappings().all()
    return [CommentRow.model_validate({**row, "created_at": aware(row["created_at"])}) for row in rows]
