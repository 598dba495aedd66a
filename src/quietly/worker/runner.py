"""``Worker``: the lifecycle worker, embedded in ``quietly serve`` or run by ``quietly worker``.

Two loops in daemon threads: one applies due window transitions (``jobs``), the other
delivers outbox messages (``delivery``). Any number of workers may run against one database;
they share the work through row claims and leases, with no leader.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from quietly.logs import get_logger
from quietly.notify import HttpTransport, Transport
from quietly.storage.db import Database
from quietly.sync.runner import RunSettings
from quietly.worker.config import WorkerConfig
from quietly.worker.delivery import Deliverer
from quietly.worker.endings import handle_occurrence_end
from quietly.worker.jobs import ensure_jobs, process_due_jobs
from quietly.worker.periodic import PeriodicTask, default_tasks, run_due_tasks
from quietly.worker.syncs import SyncLoop

__all__ = ["Worker"]

log = get_logger("quietly.worker")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Worker:
    """Start with ``start()``, stop with ``stop()``; ``tick()`` runs one round (tests)."""

    def __init__(self, database: Database, config: WorkerConfig | None = None, *,
                 allow_private: bool = False, transport: Transport | None = None,
                 clock: Callable[[], datetime] = _utcnow,
                 tasks: list[PeriodicTask] | None = None,
                 sync_settings: RunSettings | None = None) -> None:
        self.config = config or WorkerConfig()
        self._tasks = (default_tasks(timedelta(days=self.config.retention_days))
                       if tasks is None else tasks)
        self.worker_id = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._db = database
        self._clock = clock
        self._own_transport = transport is None
        self._transport = transport or HttpTransport(
            allow_private=allow_private, timeout=self.config.http_timeout_seconds,
            max_response_bytes=self.config.max_response_bytes)
        self._deliverer = Deliverer(database, self._transport, self.config, self.worker_id,
                                    clock)
        self._syncs = SyncLoop(database, self._sync_settings(sync_settings, allow_private),
                               clock, self.config.sync_concurrency)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(self._jobs_round,
                                                      self.config.poll_seconds),
                             name="quietly-jobs", daemon=True),
            threading.Thread(target=self._loop, args=(self._deliverer.run_once,
                                                      self.config.delivery_poll_seconds),
                             name="quietly-delivery", daemon=True),
            threading.Thread(target=self._loop, args=(self._periodic_round, 30.0),
                             name="quietly-periodic", daemon=True),
            threading.Thread(target=self._loop, args=(self._syncs.run_once,
                                                      self.config.sync_poll_seconds),
                             name="quietly-syncs", daemon=True),
        ]

    def _sync_settings(self, given: RunSettings | None, allow_private: bool) -> RunSettings:
        from dataclasses import replace

        base = given or RunSettings(worker_id=self.worker_id, allow_private=allow_private)
        return replace(base, worker_id=self.worker_id,
                       lease=timedelta(seconds=self.config.sync_lease_seconds),
                       http_timeout=self.config.http_timeout_seconds)

    def start(self) -> None:
        with self._db.transaction() as db:
            ensure_jobs(db, self._clock())
        for thread in self._threads:
            thread.start()
        log.info("worker started", worker=self.worker_id)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=15)
        self._deliverer.close()
        self._syncs.close()
        if self._own_transport and isinstance(self._transport, HttpTransport):
            self._transport.close()

    def tick(self) -> None:
        """One synchronous round of both loops (for tests and one-shot runs)."""
        self._jobs_round()
        while self._deliverer.run_once():
            pass

    def _jobs_round(self) -> int:
        total = 0
        while True:  # drain: a full batch means more may be due right now
            handled = process_due_jobs(self._db, self._clock, self.config,
                                       handle_occurrence_end)
            total += handled
            if handled < self.config.job_batch or self._stop.is_set():
                return total

    def _periodic_round(self) -> int:
        run_due_tasks(self._db, self._tasks, self._clock)
        return 0  # never busy: the next check is a poll interval away

    def _loop(self, work: Callable[[], int], interval: float) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                busy = work()
                failures = 0
            except Exception as exc:  # outlive database outages and bugs in one message
                failures += 1
                log.warning("worker round failed; retrying", error=str(exc),
                            loop=threading.current_thread().name, failures=failures)
                busy = 0
            if not busy:
                # Back off while the database is away: at most one warning per 30 s per loop.
                self._stop.wait(min(30.0, interval * 2 ** min(failures, 8)))
