"""Gauges computed at scrape time from the store, so every process reports the same truth.

- ``quietly_maintenance_active{workspace,target,kind,<kind>}``: 1 for each target a window
  names while one of its occurrences runs, 0 for targets named only by windows not running
  now (so alert rules can join on it; see ``metrics.MaintenanceActive``); targets reached
  only through groups or matchers are not listed.
- ``quietly_windows{workspace,state}``: live windows by stored state.
- ``quietly_outbox_backlog{status}``: pending, delivering and failed messages.
- ``quietly_worker_lag_seconds``: how long the most overdue job or first delivery has waited.
- ``quietly_sync_objects``, ``quietly_sync_errors_total``, ``quietly_sync_drift_repairs_total``,
  ``quietly_sync_last_success_timestamp_seconds`` ``{workspace,sync}``: each sync's figures.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from quietly.core import lifecycle
from quietly.metrics import (
    MAINTENANCE_ACTIVE,
    OUTBOX_BACKLOG,
    SYNCS,
    WINDOWS_BY_STATE,
    WORKER_LAG,
    SyncFigures,
)
from quietly.services.deliveries import backlog_counts
from quietly.storage.mappers import window_record_from_row
from quietly.storage.tables import OutboxRow, SyncRow, WindowJobRow, WindowRow, WorkspaceRow

__all__ = ["refresh_gauges"]


def _slugs(db: Session) -> dict[int, str]:
    return {int(i): str(s) for i, s in db.execute(select(WorkspaceRow.id, WorkspaceRow.slug))}


def _maintenance(db: Session, slugs: dict[int, str], now: datetime, limit: int) -> None:
    """Targets of windows that may run now get 1 if one does; other named targets get 0."""
    live = (select(WindowRow).where(WindowRow.archived_at.is_(None),
                                    or_(WindowRow.cancelled_at.is_(None),
                                        WindowRow.cancelled_at > now),
                                    or_(WindowRow.last_end.is_(None), WindowRow.last_end > now)))
    values: dict[tuple[str, str], int] = {}
    for row in db.scalars(live):
        slug = slugs.get(row.workspace_id, str(row.workspace_id))
        running = (row.first_start is not None and row.first_start <= now
                   and lifecycle.current_occurrence(
                       window_record_from_row(row).to_window(), now) is not None)
        for target in row.targets:
            key = (slug, str(target))
            values[key] = max(values.get(key, 0), int(running))
    MAINTENANCE_ACTIVE.replace(((slug, target, value) for (slug, target), value
                                in values.items()), limit)


def _windows_by_state(db: Session, slugs: dict[int, str]) -> None:
    rows = db.execute(select(WindowRow.workspace_id, WindowRow.state, func.count())
                      .where(WindowRow.archived_at.is_(None))
                      .group_by(WindowRow.workspace_id, WindowRow.state))
    WINDOWS_BY_STATE.clear()
    for workspace_id, state, count in rows:
        WINDOWS_BY_STATE.labels(slugs.get(workspace_id, str(workspace_id)), state).set(count)


def _lag(db: Session, now: datetime) -> float:
    oldest_job = db.scalar(select(func.min(WindowJobRow.next_due_at))
                           .where(WindowJobRow.next_due_at <= now))
    oldest_message = db.scalar(select(func.min(OutboxRow.next_attempt_at))
                               .where(OutboxRow.status == "pending", OutboxRow.attempts == 0,
                                      OutboxRow.next_attempt_at <= now))
    waits = [(now - t).total_seconds() for t in (oldest_job, oldest_message) if t is not None]
    return max(waits, default=0.0)


def _syncs(db: Session, slugs: dict[int, str]) -> None:
    rows = db.execute(select(SyncRow.workspace_id, SyncRow.name, SyncRow.objects,
                             SyncRow.errors_total, SyncRow.repairs_total,
                             SyncRow.last_success_at).order_by(SyncRow.id))
    SYNCS.figures = [
        SyncFigures(slugs.get(ws, str(ws)), name, objects, errors, repairs,
                    None if success is None else success.timestamp())
        for ws, name, objects, errors, repairs, success in rows]


def refresh_gauges(db: Session, now: datetime, *, max_targets: int = 10_000) -> None:
    """Recompute every store-derived gauge (called by ``/metrics`` before rendering);
    ``quietly_maintenance_active`` keeps at most ``max_targets`` series."""
    slugs = _slugs(db)
    _maintenance(db, slugs, now, max_targets)
    _windows_by_state(db, slugs)
    for status, count in backlog_counts(db).items():
        OUTBOX_BACKLOG.labels(status).set(count)
    WORKER_LAG.set(_lag(db, now))
    _syncs(db, slugs)
