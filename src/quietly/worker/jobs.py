"""Window jobs: apply due transitions, enqueue their events, store the window's state.

Each transaction claims up to ``job_batch`` due jobs together with their windows — on
PostgreSQL ``FOR UPDATE SKIP LOCKED`` over the join, so concurrent workers split the work and
a worker never waits on a row (no deadlock with API writes, which lock the window, then the
job); on SQLite the ``BEGIN IMMEDIATE`` transaction is the lock. Everything a job does — its
outbox rows, the end-of-occurrence alert handling, the new bookmark — commits together, and
the outbox's unique keys make a repeat harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import exists, literal, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from quietly.core import lifecycle
from quietly.core.codec import format_instant
from quietly.core.records import WindowRecord
from quietly.logs import get_logger
from quietly.services.channels import Channel, resolve_channels
from quietly.services.outbox import Message, enqueue_event
from quietly.services.serialize import occurrence_to_json, window_to_json
from quietly.storage.db import Database
from quietly.storage.mappers import window_record_from_row
from quietly.storage.tables import WindowJobRow, WindowRow
from quietly.storage.types import UTCDateTime
from quietly.worker import timeline
from quietly.worker.config import WorkerConfig

__all__ = ["ensure_jobs", "process_due_jobs", "process_job"]

log = get_logger("quietly.worker")
POISON_RETRY = timedelta(minutes=1)

OccurrenceEndHook = Callable[[Session, WindowRecord, timeline.Transition, datetime], object]


def ensure_jobs(db: Session, now: datetime) -> None:
    """Give every live window without a job one (windows made before the worker existed)."""
    at = literal(now, UTCDateTime())
    missing = (select(WindowRow.id, WindowRow.workspace_id, at, at)
               .where(WindowRow.archived_at.is_(None),
                      ~exists().where(WindowJobRow.window_id == WindowRow.id)))
    columns = ["window_id", "workspace_id", "done_until", "next_due_at"]
    insert: object = sqlite_insert
    if db.get_bind().dialect.name == "postgresql":  # (imported here: not on SQLite)
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        insert = pg_insert
    stmt = insert(WindowJobRow).from_select(columns, missing)  # type: ignore[operator]
    db.execute(stmt.on_conflict_do_nothing())


def _claim(db: Session, now: datetime, limit: int) -> list[tuple[WindowJobRow, WindowRow]]:
    stmt = (select(WindowJobRow, WindowRow)
            .join(WindowRow, WindowRow.id == WindowJobRow.window_id)
            .where(WindowJobRow.next_due_at <= now)
            .order_by(WindowJobRow.next_due_at).limit(limit)
            .with_for_update(skip_locked=True))
    return [(job, row) for job, row in db.execute(stmt)]


def _message(record: WindowRecord, t: timeline.Transition, now: datetime,
             config: WorkerConfig) -> Message:
    lateness = now - t.at
    skip = None
    if lateness > config.skip_after:
        skip = (f"{int(lateness.total_seconds())} s late, more than the "
                f"{int(config.skip_after_seconds)} s allowed; recorded, not sent")
    return Message(
        workspace_id=record.workspace_id, kind=t.kind, key=f"w{record.id}:{t.key}",
        window_id=record.id, due_at=t.at, late=lateness > config.late_after, skip_reason=skip,
        body={"at": format_instant(t.at), "workspace_id": record.workspace_id,
              "window": window_to_json(record, now),
              "occurrence": occurrence_to_json(t.occurrence),
              "message": record.fields.notification_message})


def process_job(db: Session, job: WindowJobRow, row: WindowRow, now: datetime,
                config: WorkerConfig, on_end: OccurrenceEndHook | None = None) -> int:
    """Apply the window's transitions in ``[done_until, now)``; returns how many there were."""
    if row.archived_at is not None:
        db.delete(job)
        return 0
    record = window_record_from_row(row)
    window = record.to_window()
    leads = timeline.Leads(record.fields.notify_start_minutes_before,
                           record.fields.notify_end_minutes_before)
    due = timeline.transitions(window, leads, job.done_until, now)
    targets: list[Channel] = (resolve_channels(db, record.workspace_id,
                                               record.fields.notify_channels) if due else [])
    for t in due:
        enqueue_event(db, _message(record, t, now, config), targets, now)
        if t.event == "ended" and on_end is not None:
            on_end(db, record, t, now)
    job.done_until = max(job.done_until, now)
    job.next_due_at = timeline.next_due(window, leads, job.done_until)
    state = lifecycle.state_at(window, now).value
    if row.state != state:
        row.state = state
    return len(due)


def process_due_jobs(database: Database, clock: Callable[[], datetime], config: WorkerConfig,
                     on_end: OccurrenceEndHook | None = None) -> int:
    """One transaction's worth of due jobs; returns how many jobs were handled."""
    with database.transaction() as db:
        now = clock()
        claimed = _claim(db, now, config.job_batch)
        for job, row in claimed:
            try:
                with db.begin_nested():  # one broken window must not stall the others
                    process_job(db, job, row, now, config, on_end)
            except Exception as exc:
                log.warning("window job failed; retrying in a minute", window=row.id,
                            error=str(exc))
                job.next_due_at = now + POISON_RETRY
    return len(claimed)
