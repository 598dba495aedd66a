"""When an occurrence ends: ``resolve_on_end`` and ``reroute_on_end`` for the alerts it held.

Runs in the worker's job transaction at the ``ended`` transition, so the alert updates and the
outbox messages they cause commit with the job's bookmark — exactly once.

- ``resolve_on_end``: every firing alert the window holds is marked ``resolved`` (ending at
  the occurrence's end); nothing is sent for it.
- ``reroute_on_end``: every firing alert the window holds, and no other window still running
  holds, becomes ``delivered`` (a new revision) and goes to its routes like a fresh alert.
  An alert another running window still holds stays held (that window decides later).

Resolved alerts, and alerts already delivered, are left alone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from quietly.core import lifecycle
from quietly.core.records import WindowRecord
from quietly.services.routes import to_routes
from quietly.storage.mappers import window_record_from_row
from quietly.storage.tables import AlertRow, AlertWindowRow, WindowRow
from quietly.worker.timeline import Transition

__all__ = ["handle_occurrence_end"]


def _still_held_elsewhere(db: Session, row: AlertRow, window_id: int, at: datetime) -> bool:
    others = [int(w) for w in row.held_by if int(w) != window_id]
    if not others:
        return False
    for other in db.scalars(select(WindowRow).where(WindowRow.id.in_(others),
                                                    WindowRow.archived_at.is_(None))):
        window = window_record_from_row(other).to_window()
        if lifecycle.current_occurrence(window, at) is not None:
            return True
    return False


def _held_alerts(db: Session, record: WindowRecord) -> list[AlertRow]:
    ids = select(AlertWindowRow.alert_id).where(AlertWindowRow.window_id == record.id,
                                                AlertWindowRow.workspace_id ==
                                                record.workspace_id)
    stmt = (select(AlertRow).where(AlertRow.id.in_(ids), AlertRow.delivery == "held",
                                   AlertRow.status == "firing")
            .order_by(AlertRow.id))
    return list(db.scalars(stmt))


def handle_occurrence_end(db: Session, record: WindowRecord, transition: Transition,
                          now: datetime) -> int:
    """Apply the window's end-of-occurrence behaviour; returns how many alerts it changed."""
    fields = record.fields
    if not (fields.resolve_on_end or fields.reroute_on_end):
        return 0
    changed = 0
    for row in _held_alerts(db, record):
        if fields.resolve_on_end:
            row.status = "resolved"
            row.ends_at = transition.at
        elif _still_held_elsewhere(db, row, record.id, transition.at):
            continue
        else:
            row.delivery = "delivered"
            row.verdict = "deliver"
            row.held_by = []
            db.execute(delete(AlertWindowRow).where(AlertWindowRow.alert_id == row.id))
        row.revision += 1
        row.updated_at = now
        db.flush()
        if row.delivery == "delivered":
            to_routes(db, row, "reroute_on_end", now, window_id=record.id)
        changed += 1
    return changed
