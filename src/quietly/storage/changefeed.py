"""The change feed's rows on SQLite (table ``changes``, migration 0014).

Every change of a window or a group writes the payload PostgreSQL would ``NOTIFY``
(``services.outbox.notify_changes``) as a row, in the change's own transaction, with the
writing process's token (``Database.origin``), whenever another process follows the feed
(``Followers``). Every ``serve`` process on the same file reads the rows the others wrote
(``worker.feed``). The statements here are plain SQL on the driver's connection: they run
inside writes on SQLite, where SQLAlchemy's per-statement work would cost more than SQLite's.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime

from quietly.storage.types import sqlite_instant

__all__ = ["INSERT", "Followers", "newest", "prune", "rows", "stamp", "version"]

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


class Followers:
    """Whether a process other than this one follows the change feed of a SQLite file.

    A ``serve`` process follows (``join``): it holds a shared POSIX lock (``lockf``) on the
    file ``<database>-followers`` beside the database for as long as it lives; the kernel
    lets go of it when the process ends, however it ends. A writer asks, inside its write
    transaction, whether another process holds one (``others``: an exclusive lock tried
    without waiting, and given back at once: two system calls); when none does it writes no
    feed rows, so a ``serve`` alone on its file pays nothing for the feed.

    A joining process takes SQLite's write lock once after ``join``
    (``worker.embedded.sqlite_feed``): a write transaction that asked before the lock existed
    has committed by then, so it is in the index the process loads afterwards; every later
    one sees the lock and writes its rows.

    One per file and process (``of``): POSIX locks belong to the process, and closing any of
    its descriptors of the file would let go of all of them, so the one descriptor stays
    open as long as the process.
    """

    _of: dict[str, Followers] = {}
    _made = threading.Lock()

    @classmethod
    def of(cls, database_path: str) -> Followers:
        """This process's ``Followers`` of the database file at ``database_path``."""
        key = os.path.abspath(database_path)
        with cls._made:
            found = cls._of.get(key)
            if found is None:
                found = cls._of[key] = cls(key)
            return found

    def __init__(self, database_path: str) -> None:
        self.database = database_path
        self.path = database_path + "-followers"
        self._fd: int | None = None
        self._joined = False
        self._lock = threading.Lock()  # this process's lock calls, one at a time

    def _file(self) -> int | None:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                return None
        return self._fd

    def join(self) -> bool:
        """Hold this process's shared lock from now on (waits while a writer asks); False if
        the file cannot be opened (then every writer, unable to tell, writes its rows)."""
        fd = self._file()
        if fd is None:
            return False
        with self._lock:
            fcntl.lockf(fd, fcntl.LOCK_SH)
            self._joined = True
        return True

    def others(self) -> bool:
        """Whether another process follows the feed (True when it cannot be told)."""
        fd = self._file()
        if fd is None:
            return True
        with self._lock:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # EAGAIN or EACCES: another process holds its shared lock
                return True
            # Alone: back to what this process held (a conversion: never without its lock).
            fcntl.lockf(fd, fcntl.LOCK_SH if self._joined else fcntl.LOCK_UN)
            return False
