"""WAL checkpoints off the request path (issue #19): connections leave them to serve's
background thread, which moves every committed page into the database file."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from quietly.storage.checkpoint import Checkpointer
from quietly.storage.db import Database


def test_the_checkpointer_moves_the_log_into_the_database(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("PostgreSQL has no write-ahead log of ours to checkpoint")
    with db.transaction() as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS ckpt_rows (n INTEGER)"))
        session.execute(text("INSERT INTO ckpt_rows VALUES (1), (2), (3)"))
        autocheckpoint = session.execute(text("PRAGMA wal_autocheckpoint")).scalar_one()
    busy, logged, moved = Checkpointer(db).checkpoint()
    assert (autocheckpoint, busy, logged == moved) == (16384, 0, True)
