"""``quietly worker``: migrate, start a ``Worker``, run until SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import threading
from types import FrameType

from quietly.logs import get_logger
from quietly.notify import guard
from quietly.settings import Settings
from quietly.storage.db import Database
from quietly.storage.migrate import upgrade
from quietly.sync.runner import run_settings
from quietly.worker.runner import Worker

__all__ = ["run_worker"]

log = get_logger("quietly.worker")


def run_worker(settings: Settings) -> None:
    """Run one standalone worker against the configured database until told to stop."""
    db = Database(settings.effective_database_url)
    upgrade(db.engine)
    guard.configure(guard.AllowList.parse(settings.webhook_allow))
    worker = Worker(db, allow_private=settings.webhook_allow_private,
                        sync_settings=run_settings(settings))
    stopping = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("worker stopping", signal=signum)
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    worker.start()
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        worker.stop()
        db.dispose()
