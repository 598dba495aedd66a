"""Periodic tasks run once per interval across all workers, and a failure waits its turn."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from quietly.storage.db import Database
from quietly.worker.periodic import PeriodicTask, run_due_tasks


def test_a_task_runs_once_per_interval_whoever_asks(db: Database) -> None:
    runs: list[datetime] = []
    task = PeriodicTask(f"test.{uuid.uuid4().hex[:8]}", timedelta(minutes=10),
                        lambda _db, now: runs.append(now))
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    ticks = [t0, t0, t0 + timedelta(minutes=5), t0 + timedelta(minutes=10),
             t0 + timedelta(minutes=11)]
    ran = [run_due_tasks(db, [task], lambda at=at: at) for at in ticks]  # type: ignore[misc]
    assert (ran, runs) == ([1, 0, 0, 1, 0], [t0, t0 + timedelta(minutes=10)])


def test_a_failing_task_does_not_retry_before_its_interval(db: Database) -> None:
    calls: list[int] = []

    def boom(_db: Session, _now: datetime) -> None:
        calls.append(1)
        raise RuntimeError("broken")

    task = PeriodicTask(f"test.{uuid.uuid4().hex[:8]}", timedelta(hours=1), boom)
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    assert [run_due_tasks(db, [task], lambda: t0) for _ in range(3)] == [0, 0, 0]
    assert calls == [1]
