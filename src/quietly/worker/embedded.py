"""What ``quietly serve`` runs beside the API: the change listener and the embedded worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from quietly.services.decisions import DecisionService
from quietly.settings import Settings
from quietly.storage.db import Database
from quietly.sync.runner import run_settings
from quietly.worker.listener import ChangeListener
from quietly.worker.runner import Worker

__all__ = ["start_background"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def start_background(settings: Settings, db: Database,
                     decisions: DecisionService) -> Callable[[], None]:
    """Start the PostgreSQL change listener and (unless ``--no-worker``) the worker; returns
    the function that stops both."""
    stoppers: list[Callable[[], None]] = []
    if not db.is_sqlite:
        listener = ChangeListener(db, decisions, _utcnow)
        listener.start()
        stoppers.append(listener.stop)
    if settings.run_worker:
        worker = Worker(db, allow_private=settings.webhook_allow_private,
                        sync_settings=run_settings(settings))
        worker.start()
        stoppers.append(worker.stop)

    def stop() -> None:
        for stopper in reversed(stoppers):
            stopper()

    return stop
