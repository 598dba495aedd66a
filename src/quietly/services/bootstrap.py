"""Open the store for use: migrations applied, the default workspace present."""

from __future__ import annotations

from datetime import UTC, datetime

from quietly.services import workspaces
from quietly.settings import Settings
from quietly.storage.db import Database, DbTimeouts
from quietly.storage.migrate import upgrade

__all__ = ["prepare_database"]


def prepare_database(settings: Settings) -> Database:
    """Open the database, apply pending migrations, and create the ``default`` workspace.

    Safe to run from several processes at once (see ``storage.migrate``).
    """
    db = Database(settings.effective_database_url, DbTimeouts(
        statement_ms=settings.db_statement_timeout_ms, lock_ms=settings.db_lock_timeout_ms,
        connect_s=settings.db_connect_timeout_seconds))
    upgrade(db.engine)
    with db.transaction() as session:
        workspaces.ensure_default_workspace(session, timezone=settings.default_timezone,
                                            now=datetime.now(UTC))
    return db
