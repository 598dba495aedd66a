"""A write waiting on the database answers 503 in bounded time and never commits later
(issue #14 point 3: a POST hung past 15 s, then committed when PostgreSQL resumed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text

from quietly.api.app import create_app
from quietly.api.server import server_config
from quietly.settings import Settings
from quietly.storage.db import Database
from tests.api.helpers import window_body
from tests.conftest import Tenant, _free_port, make_tenant, serving


@pytest.fixture
def impatient(settings: Settings, db: Database) -> Iterator[Tenant]:
    """A server answering writes within 1 s, whose store would wait a minute for a lock:
    only the write deadline can answer a blocked write in time."""
    port = _free_port()
    app = create_app(settings.model_copy(update={"write_timeout_seconds": 1.0,
                                                 "db_lock_timeout_ms": 60_000}), database=db)
    config = server_config(app, host="127.0.0.1", port=port, log_level="warning",
                           lifespan="on")
    with serving(config):
        tenant = make_tenant(db, f"http://127.0.0.1:{port}")
        yield tenant
        tenant.close()


def _hold_writes(conn: Connection, db: Database) -> None:
    """Make every write of the app wait: SQLite's write lock (BEGIN IMMEDIATE, emitted by
    the engine), PostgreSQL's strongest lock on the windows table."""
    if not db.is_sqlite:
        conn.execute(text("LOCK TABLE windows IN ACCESS EXCLUSIVE MODE"))


def test_a_blocked_write_is_503_and_is_rolled_back_when_the_store_lets_go(
        impatient: Tenant, db: Database) -> None:
    name = "blocked-write-must-not-land"
    impatient.editor.get("/api/v1/windows")  # the key is known before the store blocks
    with db.engine.begin() as conn:
        _hold_writes(conn, db)
        response = impatient.editor.post("/api/v1/windows", json=window_body(name))
    # Taking the lock again waits for the abandoned handler's transaction to end.
    with db.engine.begin() as conn:
        _hold_writes(conn, db)
        landed = conn.execute(text("SELECT count(*) FROM windows WHERE name = :n"),
                              {"n": name}).scalar_one()
    assert (response.status_code, response.headers.get("retry-after"),
            "within 1 s" in response.json()["detail"], landed) == (503, "5", True, 0)
