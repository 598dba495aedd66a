"""Engine and session factory, with the SQLite traps of STACK.md handled.

SQLite: every connection gets WAL, a busy timeout, foreign keys and ``synchronous=NORMAL``;
pysqlite's own transaction handling is switched off and every transaction starts with
``BEGIN IMMEDIATE``, because a WAL read-then-write transaction fails at once with "database is
locked" when another connection committed in between (busy_timeout does not help there).
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from quietly.core.errors import Unavailable
from quietly.logs import get_logger
from quietly.storage import changefeed

__all__ = ["Database", "DbTimeouts", "create_db_engine", "on_commit", "publish",
           "publish_many", "write_deadline"]


@dataclass(frozen=True, slots=True)
class DbTimeouts:
    """How long the database may make us wait (settings ``db_*``).

    PostgreSQL: ``statement_timeout`` and ``lock_timeout`` per session, ``connect_timeout``;
    SQLite: ``busy_timeout`` (waiting for another writer's lock) is ``lock_ms``.
    """

    statement_ms: int = 30_000
    lock_ms: int = 5_000
    connect_s: int = 2


log = get_logger(__name__)

# A request's deadline (time.monotonic): a transaction still open past it is rolled back
# instead of committed, so a write whose client got a 503 never lands later.
_DEADLINE: ContextVar[float | None] = ContextVar("quietly_write_deadline", default=None)


@contextmanager
def write_deadline(seconds: float) -> Iterator[None]:
    """Transactions in this context (threads started from it included) must commit within
    ``seconds`` from now, or are rolled back with ``Unavailable``."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _sqlite_on_connect(busy_ms: int, dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
    cur = dbapi_conn.cursor()
    # wal_autocheckpoint: checkpoints run in serve's background thread (storage.checkpoint),
    # not in the commit of whichever request passes 1,000 pages; 16,384 pages is the bound.
    for pragma in ("journal_mode=WAL", f"busy_timeout={int(busy_ms)}", "foreign_keys=ON",
                   "synchronous=NORMAL", "wal_autocheckpoint=16384"):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(url: str, timeouts: DbTimeouts | None = None, **kwargs: Any) -> Engine:
    """Create the engine for ``url``; for SQLite, create the file's folder first."""
    timeouts = timeouts or DbTimeouts()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", partial(_sqlite_on_connect, timeouts.lock_ms))
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    from quietly.storage.tables import with_postgresql_where

    with_postgresql_where()  # the tables' partial indexes, complete for this database
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_timeout", 5)
    # Fail fast when the server is unreachable instead of hanging the request.
    kwargs.setdefault("connect_args", {
        "connect_timeout": timeouts.connect_s,
        "options": f"-c statement_timeout={int(timeouts.statement_ms)} "
                   f"-c lock_timeout={int(timeouts.lock_ms)}"})
    return create_engine(url, **kwargs)


class Database:
    """The engine plus a session factory; ``transaction()`` is the unit of work.

    Callbacks registered with ``on_commit`` run after the transaction committed, so in-memory
    state (the decision index) only ever reflects durable changes.
    """

    def __init__(self, url: str, timeouts: DbTimeouts | None = None,
                 **engine_kwargs: Any) -> None:
        self.url = url
        # This process's token in the change feed (``storage.changefeed``): it skips its own.
        self.origin = secrets.token_hex(8)
        self.engine = create_db_engine(url, timeouts, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._subscribers: list[Callable[[Any], None]] = []
        # Who follows a SQLite file's change feed (``storage.changefeed.Followers``).
        path = self.engine.url.database if self.is_sqlite else None
        self.followers = (changefeed.Followers.of(path)
                          if path and path != ":memory:" and not path.startswith("file:")
                          else None)

    def feed_followed(self) -> bool:
        """Whether a change must write its feed row: another process follows this SQLite
        file's feed (asked inside the write transaction; see ``changefeed.Followers``)."""
        return self.followers is not None and self.followers.others()

    def subscribe(self, subscriber: Callable[[Any], None]) -> None:
        """Call ``subscriber(event)`` for every event published by a committed transaction."""
        self._subscribers.append(subscriber)

    def deliver(self, event: Any) -> None:
        for subscriber in self._subscribers:
            subscriber(event)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Open a session in a transaction; commit on success, roll back on error."""
        session = self._sessions()
        hooks: list[Callable[[], None]] = []
        session.info["after_commit"] = hooks
        session.info["database"] = self
        try:
            with session.begin():
                yield session
                deadline = _DEADLINE.get()
                if deadline is not None and time.monotonic() > deadline:
                    raise Unavailable("the database was too slow: the change was not saved; "
                                      "retry (with the same Idempotency-Key)")
        finally:
            session.close()
        # Committed: a failing hook (an index update) is logged, not raised, so that no
        # caller takes it for a failed commit and writes again (as ``GroupCommitter`` does).
        for hook in hooks:
            try:
                hook()
            except Exception:
                log.exception("a change hook failed after a commit")

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads only (still transactional, so reads are consistent)."""
        with self.transaction() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def on_commit(session: Session, hook: Callable[[], None]) -> None:
    """Run ``hook`` once the session's transaction has committed."""
    session.info.setdefault("after_commit", []).append(hook)


def publish(session: Session, event: Any) -> None:
    """Tell the database's subscribers about ``event`` once this transaction has committed."""
    database: Database | None = session.info.get("database")
    if database is not None:
        on_commit(session, lambda: database.deliver(event))


def publish_many(session: Session, events: list[Any]) -> None:
    """``publish`` for many events, delivered in order once this transaction has committed."""
    database: Database | None = session.info.get("database")
    if database is not None and events:
        def deliver() -> None:
            for event in events:
                database.deliver(event)

        on_commit(session, deliver)
