"""Periodic tasks shared by all workers: each runs at most once per interval, cluster-wide.

A task is claimed with one conditional UPDATE (``last_run_at`` older than the interval →
now) whose row count says whether this worker won, in its own transaction; the task then
runs in a second one. A task that fails waits for its next interval (no hot retry loop).

Tasks today: ``ohdear.extend_generation`` (hourly; idempotent) keeps Oh Dear's recurring
definitions generated 7 days ahead, as Oh Dear's own scheduler does daily;
``outbox.purge`` (hourly) deletes finished messages older than the retention (30 days), at
most 10,000 a run, so the delivery log does not grow without end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from quietly.logs import get_logger
from quietly.services.deliveries import purge_finished
from quietly.storage.db import Database
from quietly.storage.tables import WorkerTaskRow

__all__ = ["PeriodicTask", "default_tasks", "run_due_tasks"]

log = get_logger("quietly.worker")
_NEVER = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PeriodicTask:
    name: str
    every: timedelta
    run: Callable[[Session, datetime], object]


def default_tasks(retention: timedelta = timedelta(days=30)) -> list[PeriodicTask]:
    from quietly.compat.ohdear.generation import extend_all

    def purge(db: Session, now: datetime) -> int:
        return purge_finished(db, now - retention)

    return [PeriodicTask("ohdear.extend_generation", timedelta(hours=1), extend_all),
            PeriodicTask("outbox.purge", timedelta(hours=1), purge)]


def _claim(db: Session, task: PeriodicTask, now: datetime) -> bool:
    insert: object = sqlite_insert
    if db.get_bind().dialect.name == "postgresql":  # (imported here: not on SQLite)
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        insert = pg_insert
    db.execute(insert(WorkerTaskRow).values(  # type: ignore[operator]
        name=task.name, last_run_at=_NEVER).on_conflict_do_nothing())
    result = db.execute(update(WorkerTaskRow)
                        .where(WorkerTaskRow.name == task.name,
                               WorkerTaskRow.last_run_at <= now - task.every)
                        .values(last_run_at=now))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def run_due_tasks(database: Database, tasks: list[PeriodicTask],
                  clock: Callable[[], datetime]) -> int:
    """Run every task whose interval has passed and that no other worker took; returns how
    many ran."""
    ran = 0
    for task in tasks:
        with database.transaction() as db:
            won = _claim(db, task, clock())
        if not won:
            continue
        try:
            with database.transaction() as db:
                task.run(db, clock())
            ran += 1
        except Exception as exc:  # wait for the next interval rather than retry hot
            log.warning("periodic task failed", task=task.name, error=str(exc))
    return ran
