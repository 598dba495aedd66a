"""Ending maintenance: ``stop`` by target or by window, without ending other people's.

``stop_targets`` ends, for the named targets, the *immediate* maintenance running on them
(windows made by ``start_maintenance``); with ``every=True`` it ends every running one-time
window naming them (what Oh Dear's ``stop-maintenance`` documents). ``stop_window`` ends one
window by id, or some of its targets. Either way a window that also names other targets is
narrowed rather than ended, so those stay covered; recurring windows are never touched (cancel
a series with ``cancel_window``). Windows that still cover a target and were left alone are
returned too, so callers can say why the target is still quiet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from quietly.core import lifecycle
from quietly.core.errors import Conflict, NotFound, ValidationError
from quietly.core.model import OnceSchedule, State
from quietly.core.records import Principal, WindowRecord
from quietly.services import scopes, windows
from quietly.storage.tables import WindowTargetRow

__all__ = ["Stopped", "stop_targets", "stop_window"]


@dataclass(frozen=True, slots=True)
class Stopped:
    """What a stop did: windows ended or narrowed, and running ones it left alone."""

    stopped: list[WindowRecord]
    left_running: list[WindowRecord]


def _check_delay(delay: timedelta) -> None:
    if delay < timedelta(0):
        raise ValidationError("must not be negative", field="delay_seconds")


def _is_running_once(record: WindowRecord, now: datetime) -> bool:
    return (isinstance(record.fields.schedule, OnceSchedule)
            and lifecycle.state_at(record.to_window(), now) is State.ACTIVE)


def _covers_more_than(record: WindowRecord, targets: set[str]) -> bool:
    f = record.fields
    return bool(set(f.targets) - targets or f.groups or f.match or f.all_targets)


def _end(db: Session, principal: Principal, record: WindowRecord, targets: set[str] | None,
         delay: timedelta, now: datetime) -> WindowRecord:
    """End ``record`` at ``now + delay``: the whole window, or for ``targets`` only when it
    covers more than them (None: the whole window whatever it covers)."""
    if targets is not None and _covers_more_than(record, targets):
        if delay:
            raise ValidationError(
                f"window {record.id} also covers other targets; only a whole window can end "
                "later, so stop these targets now or stop the window by id",
                field="delay_seconds")
        return windows.narrow_targets(db, principal, record.id, targets, now)
    sched = record.fields.schedule
    assert isinstance(sched, OnceSchedule)
    # A one-time window must end after it starts: one stopped in its first instant lasts 1 µs.
    new_end = max(min(sched.end, now + delay), sched.start + timedelta(microseconds=1))
    return windows.update_window(db, principal, record.id,
                                 {"schedule": replace(sched, end=new_end)}, now)


def _windows_naming(db: Session, principal: Principal, targets: Sequence[str]) -> list[int]:
    stmt = (select(WindowTargetRow.window_id)
            .where(WindowTargetRow.workspace_id == principal.workspace_id,
                   WindowTargetRow.target.in_(list(targets))))
    return sorted(set(db.scalars(stmt)))


def stop_targets(
    db: Session, principal: Principal, *, targets: Sequence[str], delay: timedelta,
    now: datetime, every: bool = False,
) -> Stopped:
    """End the running immediate maintenance of ``targets`` (``every``: any running one-time
    window naming them) at ``now + delay``. Nothing running is not an error."""
    scopes.check_targets(principal, targets)
    if not targets:
        raise ValidationError("name at least one target, or a window id", field="targets")
    _check_delay(delay)
    wanted = set(targets)
    stopped: list[WindowRecord] = []
    left: list[WindowRecord] = []
    for window_id in _windows_naming(db, principal, targets):
        try:
            record = windows.get_window(db, principal, window_id)
        except NotFound:
            continue  # deleted since the query: nothing to end
        if lifecycle.state_at(record.to_window(), now) is not State.ACTIVE:
            continue
        if _is_running_once(record, now) and (every or windows.is_immediate(record)):
            stopped.append(_end(db, principal, record, wanted & set(record.fields.targets),
                                delay, now))
        else:
            left.append(record)
    return Stopped(stopped, left)


def stop_window(
    db: Session, principal: Principal, window_id: int, *, targets: Sequence[str] = (),
    delay: timedelta, now: datetime,
) -> Stopped:
    """End window ``window_id`` (or only ``targets`` of it) at ``now + delay``.

    A window that has already ended is nothing to stop; one that has not started yet, or a
    recurring one, is refused (409): that is what cancelling is for.
    """
    scopes.check_window(db, principal, window_id)
    _check_delay(delay)
    record = windows.get_window(db, principal, window_id)
    state = lifecycle.state_at(record.to_window(), now)
    if state in (State.COMPLETED, State.CANCELLED):
        return Stopped([], [])
    if state is State.SCHEDULED:
        raise Conflict(f"window {window_id} has not started; cancel it instead", field="window_id")
    if not isinstance(record.fields.schedule, OnceSchedule):
        raise Conflict(f"window {window_id} is recurring; stop ends one-time windows only, "
                       "so cancel the series instead", field="window_id")
    for i, target in enumerate(targets):
        if target not in record.fields.targets:
            raise ValidationError(f"window {window_id} does not name {target}",
                                  field=f"targets[{i}]")
    ended = _end(db, principal, record, set(targets) if targets else None, delay, now)
    return Stopped([ended], [])

