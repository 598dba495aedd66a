"""What ``quietly serve`` runs beside the API: the change listener and the embedded worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from quietly.services.decisions import DecisionService
from quietly.settings import Settings
from quietly.storage.db import Database

if TYPE_CHECKING:
    from quietly.worker.feed import ChangeFeed
    from quietly.worker.listener import ChangeListener, IndexFollower

# The listener (PostgreSQL) and the worker (unless ``--no-worker``) are imported when started:
# a SQLite server without its worker starts without them (issue 19: start-up).

__all__ = ["sqlite_feed", "start_background", "start_listener"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def start_listener(settings: Settings, db: Database,
                   decisions: DecisionService) -> ChangeListener | None:
    """On PostgreSQL, start the change listener, which subscribes and then loads the index
    (see ``worker.listener``); None on SQLite, where the caller loads the index itself."""
    if db.is_sqlite:
        return None
    from quietly.worker.listener import ChangeListener

    listener = ChangeListener(db, decisions, _utcnow,
                              check_seconds=settings.index_check_seconds)
    listener.start()
    return listener


def sqlite_feed(settings: Settings, db: Database,
                decisions: DecisionService) -> ChangeFeed | None:
    """On a SQLite file, the change feed's follower, marked (``worker.feed``): call before
    the index is loaded, ``start`` it after. None on PostgreSQL and in memory."""
    if db.followers is None:  # not a SQLite file (``Database.followers``)
        return None
    from quietly.worker.feed import ChangeFeed

    # Followed from now on: writers that asked before have committed once the write lock
    # has been held here (``changefeed.Followers``), so they are in the load that follows.
    db.followers.join()
    with db.transaction() as session:
        session.connection()  # BEGIN IMMEDIATE: waits for every write in flight
    feed = ChangeFeed(db, decisions, _utcnow, db.followers.database,
                      check_seconds=settings.index_check_seconds)
    feed.mark()
    return feed


def start_background(settings: Settings, db: Database, decisions: DecisionService,
                     listener: IndexFollower | None = None) -> Callable[[], None]:
    """Start (unless ``--no-worker``) the worker; returns the function that stops it and the
    change ``listener`` started before."""
    stoppers: list[Callable[[], None]] = []
    if listener is not None:
        stoppers.append(listener.stop)
    if settings.run_worker:
        from quietly.sync.runner import run_settings
        from quietly.worker.runner import Worker

        worker = Worker(db, allow_private=settings.webhook_allow_private,
                        sync_settings=run_settings(settings))
        worker.start()
        stoppers.append(worker.stop)

    def stop() -> None:
        for stopper in reversed(stoppers):
            stopper()

    return stop
