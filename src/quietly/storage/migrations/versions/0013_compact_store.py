"""compact store: SQLite keeps instants as integer microseconds since the epoch;
window_targets without rowid

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 17:50:00

SQLite has no timestamp type: until now every instant was the 26-character text
"YYYY-MM-DD HH:MM:SS.ffffff" (UTC), 27 bytes of a record each, seven of them per window
(four in its row, two in its worker job, one in its audit entry) and again in the job's
due-time index. Now they are integers, microseconds since 1970-01-01 UTC
(``storage.types.sqlite_instant``): 9 bytes, exact, and ordered as the instants are. The
columns keep their declared type (``DATETIME``, numeric affinity), which stores integers as
they are, so no table is rebuilt.

``window_targets`` becomes a ``WITHOUT ROWID`` table: its rows are stored in its primary
key's b-tree (window, target), not in a rowid table with that b-tree beside it as an index.

PostgreSQL keeps ``timestamptz`` and its heap tables: nothing changes there.
"""

# Table and column names below are this file's constants, never input.
# ruff: noqa: S608

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import op
from sqlalchemy import Connection, text

revision = "0013"
down_revision = "0012"
branch_labels = None
# The alerts and worker tables (0002, 0003, branches of their own) have instants too.
depends_on = ("0002", "0003")

# Every instant column at revision 0012 (``UTCDateTime`` in tables.py then).
INSTANTS: dict[str, tuple[str, ...]] = {
    "workspaces": ("created_at",),
    "api_keys": ("created_at", "last_used_at", "revoked_at", "expires_at"),
    "windows": ("first_start", "last_end", "created_at", "updated_at", "cancelled_at",
                "archived_at"),
    "target_groups": ("created_at", "updated_at"),
    "audit_log": ("at",),
    "alerts": ("starts_at", "ends_at", "received_at", "updated_at"),
    "channels": ("created_at", "updated_at"),
    "routes": ("created_at", "updated_at"),
    "outbox": ("due_at", "next_attempt_at", "lease_until", "created_at", "delivered_at"),
    "delivery_attempts": ("at",),
    "window_jobs": ("done_until", "next_due_at"),
    "web_sessions": ("created_at", "expires_at"),
    "calendar_feeds": ("rotated_at",),
    "worker_tasks": ("last_run_at",),
    "users": ("created_at", "last_sign_in_at"),
    "user_sessions": ("created_at", "expires_at"),
    "syncs": ("created_at", "updated_at", "next_run_at", "lease_until", "last_run_at",
              "last_success_at", "last_error_at"),
    "sync_objects": ("ends_at",),
    "idempotency_keys": ("created_at",),
}

# The text SQLAlchemy's SQLite DATETIME wrote: converted in SQL, exactly. The seconds come
# from the first 19 characters alone (SQLite's date functions round fractions to
# milliseconds, which could carry into the next second), the microseconds from the last 6.
_CANONICAL = ("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
              ".[0-9][0-9][0-9][0-9][0-9][0-9]")
_TO_MICROS = ("CAST(strftime('%s', substr({c}, 1, 19)) AS INTEGER) * 1000000"
              " + CAST(substr({c}, 21, 6) AS INTEGER)")
# Integer microseconds back to that text; the floor of negative values (before 1970) taken
# by hand, as SQLite's % and / truncate towards zero.
_FRACTION = "((({c} % 1000000) + 1000000) % 1000000)"
_TO_TEXT = ("strftime('%Y-%m-%d %H:%M:%S', ({c} - {f}) / 1000000, 'unixepoch')"
            " || '.' || substr('00000' || {f}, -6)")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table, columns in INSTANTS.items():
        for c in columns:
            bind.execute(text(
                f'UPDATE {table} SET "{c}" = {_TO_MICROS.format(c=_q(c))} '
                f"WHERE \"{c}\" GLOB '{_CANONICAL}' "
                f"AND strftime('%s', substr(\"{c}\", 1, 19)) IS NOT NULL"))
            _convert_the_rest(bind, table, c)
    _rebuild_window_targets(bind, rowid=False)


_TARGETS_TABLE = """CREATE TABLE {name} (
    window_id INTEGER NOT NULL,
    target VARCHAR(300) NOT NULL,
    workspace_id INTEGER NOT NULL,
    PRIMARY KEY (window_id, target),
    FOREIGN KEY(window_id) REFERENCES windows (id) ON DELETE CASCADE
){options}"""


def _rebuild_window_targets(bind: Connection, *, rowid: bool) -> None:
    """Copy ``window_targets`` into a table made with or without a rowid, in place."""
    bind.execute(text(_TARGETS_TABLE.format(name="window_targets_0013",
                                            options="" if rowid else " WITHOUT ROWID")))
    bind.execute(text("INSERT INTO window_targets_0013 (window_id, target, workspace_id) "
                      "SELECT window_id, target, workspace_id FROM window_targets"))
    bind.execute(text("DROP TABLE window_targets"))
    bind.execute(text("ALTER TABLE window_targets_0013 RENAME TO window_targets"))
    bind.execute(text("CREATE INDEX ix_window_targets_ws_target "
                      "ON window_targets (workspace_id, target)"))


def _convert_the_rest(bind: Connection, table: str, c: str) -> None:
    """Any other text (another precision, an offset, written by hand), parsed by Python;
    what no ISO 8601 parser reads stops the migration, naming it, rather than being lost."""
    rows = bind.execute(text(f'SELECT rowid, "{c}" FROM {table} '
                             f"WHERE \"{c}\" IS NOT NULL AND typeof(\"{c}\") != 'integer'"))
    for rowid, value in rows.fetchall():
        try:
            found = datetime.fromisoformat(str(value))
        except ValueError:
            raise RuntimeError(f"{table}.{c} (rowid {rowid}) holds {value!r}, not an instant; "
                               "correct it and run the upgrade again") from None
        if found.tzinfo is None:  # stored as UTC (storage.types.UTCDateTime)
            found = found.replace(tzinfo=UTC)
        bind.execute(text(f'UPDATE {table} SET "{c}" = :v WHERE rowid = :r'),
                     {"v": (found - _EPOCH) // timedelta(microseconds=1), "r": rowid})


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table, columns in INSTANTS.items():
        for c in columns:
            expr = _TO_TEXT.format(c=_q(c), f=_FRACTION.format(c=_q(c)))
            bind.execute(text(f'UPDATE {table} SET "{c}" = {expr} '
                              f"WHERE typeof(\"{c}\") = 'integer'"))
    _rebuild_window_targets(bind, rowid=True)


def _q(name: str) -> str:
    return f'"{name}"'
