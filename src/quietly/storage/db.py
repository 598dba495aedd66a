"""Engine and session factory, with the SQLite traps of STACK.md handled.

SQLite: every connection gets WAL, a busy timeout, foreign keys and ``synchronous=NORMAL``;
pysqlite's own transaction handling is switched off and every transaction starts with
``BEGIN IMMEDIATE``, because a WAL read-then-write transaction fails at once with "database is
locked" when another connection committed in between (busy_timeout does not help there).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database", "create_db_engine", "on_commit", "publish"]


def _sqlite_on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
    cur = dbapi_conn.cursor()
    for pragma in ("journal_mode=WAL", "busy_timeout=5000", "foreign_keys=ON",
                   "synchronous=NORMAL"):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine for ``url``; for SQLite, create the file's folder first."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_timeout", 5)
    # Fail fast when the server is unreachable instead of hanging the request.
    kwargs.setdefault("connect_args", {"connect_timeout": 2})
    return create_engine(url, **kwargs)


class Database:
    """The engine plus a session factory; ``transaction()`` is the unit of work.

    Callbacks registered with ``on_commit`` run after the transaction committed, so in-memory
    state (the decision index) only ever reflects durable changes.
    """

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_db_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._subscribers: list[Callable[[Any], None]] = []

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
        finally:
            session.close()
        for hook in hooks:
            hook()

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
