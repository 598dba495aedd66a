"""WAL checkpoints off the request path (issue #19): connections leave them to serve's
background thread, which moves every committed page into the database file."""

from __future__ import annotations

from pathlib import Path

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


def test_a_clean_stop_leaves_the_log_empty(tmp_path: Path) -> None:
    """After ``stop`` every commit is in the database file, while a connection is still
    open (which keeps SQLite from deleting the log itself)."""
    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    checkpointer = Checkpointer(db, interval=60)
    checkpointer.start()
    try:
        with db.engine.connect() as held:  # open across the stop
            with db.transaction() as session:
                session.execute(text("CREATE TABLE rows (n INTEGER)"))
                session.execute(text("INSERT INTO rows VALUES (1), (2), (3)"))
            wal = tmp_path / "c.db-wal"
            logged = wal.stat().st_size
            checkpointer.stop()
            assert (logged > 0, wal.stat().st_size,
                    held.execute(text("SELECT count(*) FROM rows")).scalar_one()) == (True, 0, 3)
    finally:
        db.dispose()
