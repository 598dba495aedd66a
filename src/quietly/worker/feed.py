"""Cross-process index refresh on SQLite: the change feed (``storage.changefeed``).

Several ``serve`` processes may share one SQLite file (``--reuse-port``, or behind a load
balancer on one host). Each change of a window or a group writes a row naming it in its own
transaction, with the writing process's token. This thread, one per ``serve`` process on a
SQLite file, asks SQLite every ``poll_seconds`` (50 ms) whether another connection has
committed since it last looked (``PRAGMA data_version``: the write-ahead log's shared
memory, no read of the file); only then does it read the rows after the last it saw, skip
its own process's, and load what the others' name into the decision index
(``IndexFollower.apply``, what a PostgreSQL notification does). So decisions everywhere
follow a change within a tenth of a second.

- **Nothing is missed at start-up.** ``mark`` notes the newest row before the index is
  loaded, and the thread starts once the load is done: a change committed before the mark
  is in the load; one after it is read from the feed (and applying a change the load
  already had is harmless: the index keeps the newer version, a deleted window stays
  deleted).
- **A gap reloads.** Rows are pruned after ``keep`` (two minutes: a process reads them
  within a tenth of a second, and a busy store writes thousands a second; the newest row
  always stays, so ids only grow). A process that did not read for that long (stopped,
  suspended) finds the row after its last one gone, and a table that went back (a restored
  backup) holds less than it saw: either way it reloads its whole index, with a warning.
- **The safety net** of the PostgreSQL listener runs here too (``IndexFollower.catch_up``,
  every ``check_seconds``), once another process has written to the file: a ``serve``
  alone has nobody's changes to miss, and the check reads every window written in the last
  minutes.
- **Rows only while followed.** Writers write rows only while another process follows the
  file (``changefeed.Followers``, which ``embedded.sqlite_feed`` joins before the mark).
- Each process prunes the feed every half minute (one short write).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from quietly.logs import get_logger
from quietly.services.decisions import DecisionService
from quietly.storage import changefeed
from quietly.storage.db import Database
from quietly.worker.listener import IndexFollower

__all__ = ["ChangeFeed"]

log = get_logger("quietly.feed")

_BATCH = 5_000  # rows read at a time


class ChangeFeed(IndexFollower):
    """A daemon thread applying other processes' changes on the same SQLite file."""

    thread_name = "quietly-feed"

    def __init__(self, database: Database, decisions: DecisionService,
                 clock: Callable[[], datetime], path: str, *, poll_seconds: float = 0.05,
                 check_seconds: float = 5.0, keep: timedelta = timedelta(minutes=2),
                 prune_seconds: float = 30.0) -> None:
        super().__init__(database, decisions, clock, check_seconds=check_seconds)
        self._poll = poll_seconds
        self._keep = keep
        self._prune_every = prune_seconds
        # Its own connection, read-only: ``data_version`` is per connection.
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                     check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._seen = 0  # the newest row read (or marked)
        self._version: int | None = None
        self.reloads = 0  # whole-index reloads after a gap
        self.others_seen = False  # a row of another process's has been read
        self.synced = threading.Event()  # marked, loaded and following: ``/readyz``'s check

    def start(self) -> None:
        """Follow from the mark on; call once the index is loaded."""
        super().start()
        self.synced.set()

    def mark(self) -> None:
        """Note where the feed stands; call before the index is loaded."""
        self._version = changefeed.version(self._conn)
        self._seen = changefeed.newest(self._conn)
        self._checked_from = self._clock()

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        if not self._thread.is_alive():
            self._conn.close()

    def _run(self) -> None:
        next_check = time.monotonic() + self._check
        next_prune = time.monotonic() + self._prune_every
        while not self._stop.wait(self._poll):
            try:
                self.follow()
                if self._check > 0 and self.others_seen and time.monotonic() >= next_check:
                    self.catch_up(self.follow)
                    next_check = time.monotonic() + self._check
                if time.monotonic() >= next_prune:
                    self.prune(self._clock() - self._keep)
                    next_prune = time.monotonic() + self._prune_every
            except Exception as exc:  # keep serving from the index; look again shortly
                log.warning("change feed: reading failed; retrying", error=str(exc))
                self._stop.wait(1.0)

    def follow(self) -> int:
        """Apply the rows other processes wrote since the last look; how many rows were
        read (0 when nothing was committed since, which costs one pragma)."""
        version = changefeed.version(self._conn)
        if version == self._version:
            return 0
        self._version = version
        read = 0
        while True:
            batch = changefeed.rows(self._conn, self._seen, _BATCH)
            if (batch and batch[0][0] != self._seen + 1) or (
                    not batch and changefeed.newest(self._conn) < self._seen):
                self._reload(batch[0][0] if batch else None)
                return read
            if not batch:
                return read
            read += len(batch)
            self._seen = batch[-1][0]
            origin = self._db.origin
            theirs = {payload for _, writer, payload in batch if writer != origin}
            if theirs:
                self.others_seen = True
                self.apply(theirs)
            if len(batch) < _BATCH:
                return read

    def _reload(self, found: int | None) -> None:
        log.warning("change feed: rows this process had not read are gone (pruned, or the "
                    "store was restored); reloading the decision index",
                    last_read=self._seen, next_held=found)
        self._seen = changefeed.newest(self._conn)
        self.reloads += 1
        self._decisions.load(self._clock())

    def prune(self, before: datetime) -> int:
        """Delete the rows written before ``before`` (the newest stays); how many went."""
        with self._db.transaction() as session:
            driver = session.connection().connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            return changefeed.prune(driver, before)
