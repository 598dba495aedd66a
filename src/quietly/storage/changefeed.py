"""The change feed's rows on SQLite (table ``changes``, migration 0014).

Every change of a window or a group writes the payload PostgreSQL would ``NOTIFY``
(``services.outbox.notify_changes``) as a row, in the change's own transaction, with the
writing process's token (``Database.origin``). Every ``serve`` process on the same file
reads the rows the others wrote (``worker.feed``). The statements here are plain SQL on the
driver's connection: they run inside every write on SQLite, where SQLAlchemy's per-statement
work would cost more than SQLite's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime

from quietly.storage.types import sqlite_instant

__all__ = ["INSERT", "newest", "prune", "rows", "stamp", "version"]

INSERT = "INSERT INTO changes (origin, payload, at) VALUES (?, ?, ?)"
_AFTER = "SELECT id, origin, payload FROM changes WHERE id > ? ORDER BY id LIMIT ?"
_NEWEST = "SELECT max(id) FROM changes"
# The newest row stays: the next id is one more than the largest, so ids only grow.
_PRUNE = "DELETE FROM changes WHERE at < ? AND id < (SELECT max(id) FROM changes)"


def stamp(origin: str, payloads: Iterable[str],
          at: datetime | None = None) -> list[tuple[str, str, int | None]]:
    """The rows ``INSERT`` writes for ``payloads`` (``at``: now, by default)."""
    when = sqlite_instant(at or datetime.now(UTC))
    return [(origin, payload, when) for payload in payloads]


def version(conn: sqlite3.Connection) -> int:
    """SQLite's ``data_version`` of ``conn``: it changes when another connection commits
    (read from the shared memory of the write-ahead log, not from the file)."""
    found: int = conn.execute("PRAGMA data_version").fetchone()[0]
    return found


def newest(conn: sqlite3.Connection) -> int:
    """The largest id held (0 when there is none)."""
    high: int | None = conn.execute(_NEWEST).fetchone()[0]
    return high or 0


def rows(conn: sqlite3.Connection, after: int, limit: int) -> list[tuple[int, str, str]]:
    """Up to ``limit`` rows with an id above ``after``, in order: (id, origin, payload)."""
    return conn.execute(_AFTER, (after, limit)).fetchall()


def prune(conn: sqlite3.Connection, before: datetime) -> int:
    """Delete the rows written before ``before`` but the newest; how many went."""
    return conn.execute(_PRUNE, (sqlite_instant(before),)).rowcount
