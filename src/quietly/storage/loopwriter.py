"""Plain window creates on SQLite: one connection of their own, grouped on the event loop.

``GroupCommitter`` runs every unit in a SQLAlchemy session on a request thread: for a plain
``POST /api/v1/windows`` the session's transaction, the pool's checkout and reset and the
hop to a worker thread and back cost several times what SQLite does (bench/README.md,
"Writes"). ``LoopWriter`` takes those units (``work(tx) -> result``, statements on a
``RawTx``) from coroutines of the event loop and runs them on one SQLite connection it keeps
for itself, with the statements compiled once (``storage.bulk``: the same SQL and the same
value encoders as a bulk insert, so instants are stored as ``_sqlite_instant`` stores them):

- units submitted while the loop is busy are run as one group, at the loop's next turn, in
  one ``BEGIN IMMEDIATE`` … ``COMMIT`` (each in a SAVEPOINT of its own when the group has
  several): one commit for all of them, no thread switch at all;
- a unit's future (``run``), or its callback (``submit``, called right there, without
  another turn of the loop), gets its result only after the commit returned (SQLite in WAL mode: the
  commit is in the log file, which survives a killed process), and after the change hooks
  (``RawTx.publish``: the decision index) ran; a unit that raises is rolled back to its
  savepoint alone and gets its own exception; if the commit fails each unit is run again alone;
- a unit whose request deadline (``write_deadline``) passed is refused with ``Unavailable``;
- the loop never waits for SQLite's lock: the connection's ``busy_timeout`` is 0 there. When
  another connection (the worker, a session write) holds the lock, the group goes to a
  thread that waits for it as every other writer does (``DbTimeouts.lock_ms``), and units
  submitted meanwhile wait for that group.

Only for SQLite files (an in-memory database is one connection's alone).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Table

from quietly.core.errors import Unavailable
from quietly.logs import get_logger
from quietly.storage import changefeed
from quietly.storage.bulk import sqlite_insert
from quietly.storage.db import _DEADLINE, Database

__all__ = ["LoopWriter", "RawTx"]

T = TypeVar("T")
log = get_logger(__name__)

_TOO_SLOW = ("the database was too slow: the change was not saved; retry (with the same "
             "Idempotency-Key)")


class RawTx:
    """What a unit of ``LoopWriter`` writes with: statements on the writer's connection, in
    its transaction, and the events to deliver once it has committed."""

    __slots__ = ("_conn", "_database", "_followed", "hooks")

    def __init__(self, conn: sqlite3.Connection, database: Database) -> None:
        self._conn = conn
        self._database = database
        self._followed: bool | None = None  # another process follows the change feed
        self.hooks: list[Any] = []  # events for Database.deliver, in order

    def insert(self, table: Table, row: dict[str, Any]) -> int | None:
        """``INSERT`` one row, its values encoded as ``storage.bulk.insert_rows`` encodes
        them (JSON compact, instants by ``storage.types.sqlite_instant``); the row's rowid
        (its ``INTEGER PRIMARY KEY`` when the table has one: the id SQLite gave a row
        inserted without it, one more than the largest, as ``SELECT max(id) + 1`` would)."""
        sql, encode = sqlite_insert(table, frozenset(row))
        return self._conn.execute(sql, encode(row)).lastrowid

    def insert_many(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        sql, encode = sqlite_insert(table, frozenset(rows[0]))
        self._conn.executemany(sql, [encode(row) for row in rows])

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, params)

    def publish(self, event: Any) -> None:
        """Deliver ``event`` to the database's subscribers once the transaction committed."""
        self.hooks.append(event)

    def notify(self, payload: str) -> None:
        """Tell the other processes on this file (``outbox.notify_change``'s row), if any
        follows its feed (asked once per transaction)."""
        if self._followed is None:
            self._followed = self._database.feed_followed()
        if self._followed:
            self._conn.execute(changefeed.INSERT,
                               changefeed.stamp(self._database.origin, (payload,))[0])


@dataclass(eq=False, slots=True)
class _Unit(Generic[T]):
    work: Callable[[RawTx], T]
    deadline: float | None
    future: asyncio.Future[T] | None  # run's, or None: submit's ``done`` is called
    done: Callable[[T | None, BaseException | None], None] | None = None
    result: Any = None
    error: BaseException | None = None
    events: list[Any] | None = None


class LoopWriter:
    """``await writer.run(work)``: ``work``'s result once its group has committed; or
    ``writer.submit(work, deadline, done)``: ``done(result, error)`` then."""

    def __init__(self, db: Database, max_group: int = 256,
                 on_commit: Callable[[int], None] | None = None) -> None:
        self._db = db
        self._max_group = max(1, max_group)
        self._on_commit = on_commit
        self._proxy = db.engine.raw_connection()  # the engine's pragmas, WAL among them
        conn = self._proxy.driver_connection
        assert isinstance(conn, sqlite3.Connection)
        conn.isolation_level = None
        # The engine's busy_timeout (DbTimeouts.lock_ms): how long a thread waits for the lock.
        self._lock_ms = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
        conn.execute("PRAGMA busy_timeout=0")
        self._conn = conn
        self._pending: list[_Unit[Any]] = []
        self._scheduled = False
        self._in_thread = False  # a group waits for the lock in a thread: it has the connection
        self._closed = False
        self.groups = 0  # commits made (for tests and metrics)
        self.units = 0  # units committed in them

    @staticmethod
    def usable(db: Database) -> bool:
        """Whether ``db`` is a SQLite file (a second connection sees the same data)."""
        url = db.engine.url
        return db.is_sqlite and url.database not in (None, "", ":memory:") \
            and "mode=memory" not in str(url)

    def run(self, work: Callable[[RawTx], T], deadline: float | None = None
            ) -> asyncio.Future[T]:
        """Submit ``work`` (on the running loop); await the returned future. ``deadline``
        (``time.monotonic``): the request's, when not set by ``write_deadline``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if self._closed:
            future.set_exception(Unavailable("the server is stopping; retry"))
            return future
        self._add(_Unit(work, _DEADLINE.get() if deadline is None else deadline, future),
                  loop)
        return future

    def submit(self, work: Callable[[RawTx], T], deadline: float | None,
               done: Callable[[T | None, BaseException | None], None]) -> None:
        """``run`` without a future (on the running loop): ``done(result, None)`` once the
        group committed, or ``done(None, error)``, called from the writer's own turn of the
        loop (a future's callbacks would wait for the next one). ``done`` must not raise."""
        if self._closed:
            done(None, Unavailable("the server is stopping; retry"))
            return
        self._add(_Unit(work, deadline, None, done), asyncio.get_running_loop())

    def _add(self, unit: _Unit[Any], loop: asyncio.AbstractEventLoop) -> None:
        self._pending.append(unit)
        if not self._scheduled and not self._in_thread:
            self._scheduled = True
            loop.call_soon(self._flush, loop)

    def close(self) -> None:
        """Stop taking units; those not yet run are refused (nothing of them written)."""
        self._closed = True
        pending, self._pending = self._pending, []
        for unit in pending:
            unit.error = Unavailable("the server is stopping; retry")
        self._finish(pending)
        if not self._in_thread:
            self._release()

    def _release(self) -> None:
        """Give the connection back to the engine's pool as the pool made it."""
        _rollback(self._conn)
        self._conn.execute(f"PRAGMA busy_timeout={self._lock_ms}")
        self._proxy.close()

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        if self._in_thread or self._closed or not self._pending:
            return
        group = self._pending[:self._max_group]
        del self._pending[:self._max_group]
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # another connection writes: wait in a thread
            self._in_thread = True
            loop.run_in_executor(None, self._wait_and_run, loop, group)
            return
        self._run_begun(group)
        self._finish(group)
        if self._pending:
            self._scheduled = True
            loop.call_soon(self._flush, loop)

    def _wait_and_run(self, loop: asyncio.AbstractEventLoop, group: list[_Unit[Any]]) -> None:
        try:
            self._begin_waiting()
        except BaseException as exc:
            for unit in group:
                unit.error = exc
        else:
            self._run_begun(group)
        loop.call_soon_threadsafe(self._thread_done, loop, group)

    def _begin_waiting(self) -> None:
        """``BEGIN IMMEDIATE``, waiting up to the engine's ``busy_timeout`` for the lock.

        Asked again after pauses of 0.2 ms doubling up to 2 ms, not through SQLite's busy
        handler, which sleeps 1, 2, 5, 10, 15 … 100 ms between tries: another process's
        write holds the lock a fraction of a millisecond, and waking late left both
        processes idle (two ``serve`` processes on one file made 3,400 creates/s together
        where one alone made 6,000).
        """
        deadline = time.monotonic() + self._lock_ms / 1000
        pause = 0.0002
        while True:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY \
                        or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.002)

    def _thread_done(self, loop: asyncio.AbstractEventLoop, group: list[_Unit[Any]]) -> None:
        self._in_thread = False
        self._finish(group)
        if self._closed:
            self._release()
        elif self._pending and not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush, loop)

    def _run_begun(self, group: list[_Unit[Any]]) -> None:
        """Run ``group`` in the transaction just begun and commit; on a failed commit, run
        each unit again alone. Sets each unit's result or error."""
        try:
            self._statements(group)
            self._check_deadlines(group)
            self._conn.execute("COMMIT")
        except BaseException as exc:
            _rollback(self._conn)
            if len(group) == 1:
                group[0].error, group[0].result, group[0].events = exc, None, None
                return
            for unit in group:
                unit.error = unit.result = unit.events = None
                try:
                    self._conn.execute(f"PRAGMA busy_timeout={self._lock_ms}")
                    self._conn.execute("BEGIN IMMEDIATE")
                    self._conn.execute("PRAGMA busy_timeout=0")
                    self._statements([unit])
                    self._check_deadlines([unit])
                    self._conn.execute("COMMIT")
                except BaseException as alone:
                    _rollback(self._conn)
                    self._conn.execute("PRAGMA busy_timeout=0")
                    unit.error, unit.result, unit.events = alone, None, None
                else:
                    self._committed([unit])
            return
        self._committed(group)

    def _statements(self, group: list[_Unit[Any]]) -> None:
        alone = len(group) == 1
        for unit in group:
            if unit.error is not None:
                continue
            if unit.deadline is not None and time.monotonic() > unit.deadline:
                unit.error = Unavailable(_TOO_SLOW)
                continue
            tx = RawTx(self._conn, self._db)
            if alone:  # its error rolls back the whole transaction
                unit.result = unit.work(tx)
                unit.events = tx.hooks
                continue
            self._conn.execute("SAVEPOINT unit")
            try:
                unit.result = unit.work(tx)
            except Exception as exc:
                self._conn.execute("ROLLBACK TO unit")
                unit.error, unit.result = exc, None
            else:
                unit.events = tx.hooks
            self._conn.execute("RELEASE unit")

    def _check_deadlines(self, group: list[_Unit[Any]]) -> None:
        """Refuse a unit whose request was answered 503 while the group ran: alone, its
        error rolls the transaction back; in a group it is taken out before the commit."""
        now = time.monotonic()
        late = [u for u in group if u.error is None and u.deadline is not None
                and now > u.deadline]
        if not late:
            return
        if len(group) == 1:
            raise Unavailable(_TOO_SLOW)
        raise _Late(late)

    def _committed(self, group: list[_Unit[Any]]) -> None:
        ok = [unit for unit in group if unit.error is None]
        self.groups += 1
        self.units += len(ok)
        if self._on_commit is not None:
            self._on_commit(len(ok))
        for unit in ok:  # the index sees the changes in commit order, before any answer
            for event in unit.events or ():
                try:
                    self._db.deliver(event)
                except Exception:
                    log.exception("a change hook failed after a group commit")

    def _finish(self, group: list[_Unit[Any]]) -> None:
        for unit in group:
            future = unit.future
            if future is None:
                assert unit.done is not None
                try:
                    unit.done(None if unit.error is not None else unit.result, unit.error)
                except Exception:
                    log.exception("a create's answer failed after its commit")
            elif future.done():  # its request went away (cancelled)
                continue
            elif unit.error is not None:
                future.set_exception(unit.error)
            else:
                future.set_result(unit.result)


class _Late(Exception):
    """Some units of a group passed their deadline: the group is run again unit by unit
    (each late one is then refused alone, the others commit)."""

    def __init__(self, late: list[_Unit[Any]]) -> None:
        super().__init__("late units")
        self.late = late


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("rollback of a group failed")
