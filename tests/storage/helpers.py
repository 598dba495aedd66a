"""Helpers of the storage tests: workspaces made for one test, and the windows table's rows
as stored."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from quietly.services import workspaces
from quietly.storage.db import Database
from quietly.storage.tables import WindowRow

__all__ = ["drop_workspaces", "new_workspaces", "next_window_id", "scratch_workspaces",
           "stored_windows"]


def new_workspaces(db: Database, prefix: str, now: datetime, count: int = 2) -> list[int]:
    """``count`` new workspaces (slugs ``prefix-…``), committed; their ids."""
    made = []
    with db.transaction() as session:
        for _ in range(count):
            slug = f"{prefix}-{uuid.uuid4().hex[:10]}"
            made.append(workspaces.create_workspace(session, slug, name=slug, timezone="UTC",
                                                    now=now).id)
    return made


def drop_workspaces(db: Database, ids: list[int]) -> None:
    with db.transaction() as session:
        for ws_id in ids:
            session.execute(text("DELETE FROM workspaces WHERE id = :id"), {"id": ws_id})


@contextmanager
def scratch_workspaces(db: Database, prefix: str, now: datetime,
                       count: int = 2) -> Iterator[list[int]]:
    """``new_workspaces``, dropped when the block ends."""
    made = new_workspaces(db, prefix, now, count)
    try:
        yield made
    finally:
        drop_workspaces(db, made)


def next_window_id(conn: Connection) -> int:
    """The id after the windows table's largest (1 when empty)."""
    return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM windows")).scalar_one()) + 1


def stored_windows(conn: Connection, first_id: int) -> list[tuple[Any, ...]]:
    """The windows from ``first_id`` on (SQLite), in id order: workspace, id, then each
    other column's value and its ``typeof``."""
    table = WindowRow.__table__
    names = [f'"{c.name}"' for c in table.c if c.name not in ("id", "workspace_id")]
    return [tuple(r) for r in conn.execute(text(
        "SELECT workspace_id, id, " + ", ".join(f"{c}, typeof({c})" for c in names)
        + f" FROM windows WHERE id >= {int(first_id)} ORDER BY id")).all()]
