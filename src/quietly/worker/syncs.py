"""The sync loop: runs every due sync's reconciler, each in its own thread of a small pool.

A sync is due when a window or group of its workspace changed (``change_seq`` moved), when
its interval (or the next occurrence coming within its lead) has come, or when its backoff
after a failure is over. The loop looks every ``sync_poll_seconds`` (0.25 s), so a change is
acted on well within 2 s. A slow or unreachable Alertmanager holds only its own sync's thread:
other syncs and the decision path go on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from quietly.logs import get_logger
from quietly.services import sync_state
from quietly.storage.db import Database
from quietly.sync.runner import RunSettings, run_sync

__all__ = ["SyncLoop"]

log = get_logger("quietly.worker")


class SyncLoop:
    """``run_once()`` starts the due syncs not already running in this process."""

    def __init__(self, database: Database, settings: RunSettings,
                 clock: Callable[[], datetime], concurrency: int = 4) -> None:
        self._db = database
        self._settings = settings
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=concurrency,
                                        thread_name_prefix="quietly-sync")
        self._running: dict[int, Future[bool]] = {}
        self._lock = threading.Lock()

    def run_once(self) -> int:
        with self._db.read() as db:
            due = sync_state.due_syncs(db, self._clock())
        with self._lock:
            for sync_id in due:
                if sync_id in self._running:
                    continue
                future = self._pool.submit(run_sync, self._db, sync_id, self._settings,
                                           self._clock)
                self._running[sync_id] = future
                future.add_done_callback(self._on_done(sync_id))
        return 0  # never "busy": the next look is a poll interval away

    def _on_done(self, sync_id: int) -> Callable[[Future[bool]], None]:
        return lambda _future: self._done(sync_id)

    def _done(self, sync_id: int) -> None:
        with self._lock:
            future = self._running.pop(sync_id, None)
        if future is not None and future.exception() is not None:
            log.warning("sync run raised", sync=sync_id, error=str(future.exception()))

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait for the runs in flight (tests, shutdown)."""
        with self._lock:
            futures = list(self._running.values())
        for future in futures:
            future.exception(timeout=timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
