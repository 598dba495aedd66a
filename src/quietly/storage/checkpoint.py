"""SQLite WAL checkpoints off the request path.

By default SQLite checkpoints the write-ahead log in whichever connection commits past 1,000
pages: that commit then copies the log into the database file and syncs it, which on a busy
disk costs tens of milliseconds, landing on one request in every hundred or so creates.
Connections are opened with ``wal_autocheckpoint`` raised (``storage.db``: a safety net that
bounds the log at 64 MiB when nothing else checkpoints) and ``serve`` runs this thread, which
makes a PASSIVE checkpoint (it never blocks readers or writers) every ``interval`` seconds.
Durability does not change: a commit is in the log either way; a checkpoint only moves it.

``stop`` ends with a TRUNCATE checkpoint: after a clean stop the database file holds every
commit and the log is empty, whichever connections are still open (SQLite deletes the log
only when the last one closes), so the file alone can be copied and its size is the data's.
"""

from __future__ import annotations

import sqlite3
import threading

from sqlalchemy.exc import DBAPIError

from quietly.logs import get_logger
from quietly.storage.db import Database

__all__ = ["Checkpointer"]

log = get_logger(__name__)


class Checkpointer:
    def __init__(self, db: Database, interval: float = 1.0) -> None:
        self._db = db
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="quietly-wal-checkpoint",
                                        daemon=True)

    def start(self) -> None:
        if self._db.is_sqlite:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
            # Stopped last (``api.app``), when nothing else writes: a reader or writer still
            # running is waited for up to the busy timeout, then left with the log as it is.
            try:
                busy, logged, moved = self.checkpoint("TRUNCATE")
            except (DBAPIError, sqlite3.Error) as exc:
                log.warning("WAL not truncated at stop", error=str(exc))
            else:
                if busy:
                    log.info("WAL not truncated at stop: the database was busy",
                             logged=logged, moved=moved)

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """One checkpoint, PASSIVE (never waits) or TRUNCATE (waits for writers and readers,
        moves the whole log, empties the file): (busy, pages in the log, pages moved)."""
        assert mode in ("PASSIVE", "TRUNCATE")
        # On the driver connection, outside any transaction (the engine begins every
        # transaction with BEGIN IMMEDIATE, inside which SQLite refuses a checkpoint).
        raw = self._db.engine.raw_connection()
        try:
            busy, logged, moved = raw.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            return int(busy), int(logged), int(moved)
        finally:
            raw.close()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.checkpoint()
            except (DBAPIError, sqlite3.Error) as exc:  # next round (or the safety net) does
                log.debug("WAL checkpoint skipped", error=str(exc))
