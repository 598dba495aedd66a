"""Extending a window by some minutes, and cancelling it with its extensions.

A one-time window is extended by moving its end (allowed while scheduled or active). A
recurring window cannot stretch one occurrence without changing them all, so extending it
adds a one-time *extension* window (``parent_id`` = the series) that starts where the running
occurrence — or, between occurrences, the next one — ends, with the same scope and effects;
extending again lengthens that extension.
Cancelling a series through ``cancel_with_extensions`` cancels its live extensions too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from quietly.core import lifecycle
from quietly.core.errors import Conflict, ValidationError
from quietly.core.model import OnceSchedule, State
from quietly.core.records import Principal, WindowFields, WindowRecord
from quietly.services import windows
from quietly.storage.tables import WindowRow

__all__ = ["MAX_EXTENSION", "cancel_with_extensions", "extend_window", "extensions_of"]

MAX_EXTENSION = timedelta(days=7)


def extend_window(db: Session, principal: Principal, window_id: int, by: timedelta,
                  now: datetime) -> WindowRecord:
    """Extend by ``by``; returns the changed one-time window or the new extension window.

    Raises Conflict for completed or cancelled windows (nothing left to extend).
    """
    if not timedelta(0) < by <= MAX_EXTENSION:
        raise ValidationError("extend by a positive amount of at most 7 days", field="minutes")
    record = windows.get_window(db, principal, window_id)
    window = record.to_window()
    state = lifecycle.state_at(window, now)
    if state in (State.COMPLETED, State.CANCELLED):
        raise Conflict(f"the window is {state.value}; there is nothing left to extend",
                       field="state")
    schedule = record.fields.schedule
    if isinstance(schedule, OnceSchedule):
        new_schedule = replace(schedule, end=schedule.end + by)
        return windows.update_window(db, principal, window_id, {"schedule": new_schedule}, now)
    target = lifecycle.current_occurrence(window, now) or lifecycle.next_occurrence(window, now)
    if target is None:
        raise Conflict("the window has no running or upcoming occurrence to extend",
                       field="state")
    for child in extensions_of(db, principal, window_id):
        child_schedule = child.fields.schedule
        live = lifecycle.state_at(child.to_window(), now) in (State.SCHEDULED, State.ACTIVE)
        if live and isinstance(child_schedule, OnceSchedule) and \
                child_schedule.start == target.end:
            # Extending again stretches the extension already there instead of stacking.
            longer = replace(child_schedule, end=child_schedule.end + by)
            return windows.update_window(db, principal, child.id, {"schedule": longer}, now)
    fields = record.fields
    extension = WindowFields(
        name=f"{fields.name} (extended)", description=fields.description,
        schedule=OnceSchedule(start=target.end, end=target.end + by,
                              timezone=schedule.timezone),
        targets=fields.targets, groups=fields.groups, match=fields.match,
        all_targets=fields.all_targets, effects=fields.effects,
        escalation_targets=fields.escalation_targets, incident_id=fields.incident_id,
        publish_to_status_page=fields.publish_to_status_page, parent_id=record.id)
    return windows.create_window(db, principal, extension, now)


def extensions_of(db: Session, principal: Principal, window_id: int) -> list[WindowRecord]:
    """The live (not deleted) windows created by extending ``window_id``."""
    ids = db.scalars(select(WindowRow.id).where(
        WindowRow.workspace_id == principal.workspace_id, WindowRow.parent_id == window_id,
        WindowRow.archived_at.is_(None), WindowRow.origin == "native").order_by(WindowRow.id))
    return [windows.get_window(db, principal, i) for i in ids]


def cancel_with_extensions(db: Session, principal: Principal, window_id: int,
                           now: datetime) -> WindowRecord:
    """Cancel the window and every extension of it that is still scheduled or active."""
    record = windows.cancel_window(db, principal, window_id, now)
    for child in extensions_of(db, principal, window_id):
        if lifecycle.state_at(child.to_window(), now) in (State.SCHEDULED, State.ACTIVE):
            windows.cancel_window(db, principal, child.id, now)
    return record
