"""Recurring definitions and the maintenance periods generated from them.

Model (how suppression is shared between the definition and its periods, without counting
any minute twice):

- The definition is a native recurring window (origin ``ohdear``, ``monitor:<id>``, ``mute``,
  the simple rule in the team's zone).
- Its *generated periods* are native one-time windows with ``parent_id`` = the definition's id:
  each has its own id, is listed with the other periods, and can be changed or deleted alone.
  They are exactly the definition's occurrences that start on the generated days (computed by
  ``core.schedule``, so daylight-saving changes are handled once, the native way).
- The definition itself governs from the first day that was *not* generated: its schedule's
  ``starts_on`` is the day after ``last_generated_until``. So suppression continues beyond the
  7 generated days, and a generated period that is deleted or moved really frees its slot
  (the definition does not cover the same minutes a second time).
- ``generate_now: false`` generates nothing; the definition then governs from today.

Regeneration (PUT with ``regenerate_future_periods``, the default) deletes the generated
periods that have not started, generates the next 7 days from the new schedule (skipping
what overlaps a kept, running period) and moves ``starts_on`` to the day after. Without it,
existing periods stay and the new schedule governs from the day after the generated ones.
Deleting a definition keeps periods that have started (they stay as standalone one-time
windows whose ``parent_id`` names the deleted definition); ``delete_future_periods`` also
deletes those that have not started.

Oh Dear's scheduler generates ahead every day; ``extend_all`` (for a daily worker job) does
the same here: for every Oh Dear definition it generates the days up to 7 ahead that are not
generated yet and moves ``starts_on`` along. Suppression never waits for it: until it runs,
the definition itself covers those days.

Limitation: the native lifecycle forbids changing the schedule of a window while one of its
own occurrences runs, so a definition cannot be changed during an occurrence that it governs
itself (one past the generated days, or with ``generate_now: false``); the API answers 422.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from quietly.compat.ohdear.convert import ORIGIN, Definition, monitor_of, period_fields
from quietly.core import lifecycle, schedule
from quietly.core.model import Occurrence, OnceSchedule, RecurringSchedule
from quietly.core.records import Principal, Role, WindowRecord
from quietly.core.timeutil import to_local, to_utc
from quietly.services import windows, workspaces

__all__ = ["GENERATE_DAYS", "children", "create_recurring", "delete_recurring", "extend_all",
           "extend_generation", "generated_occurrences", "stop_running", "update_recurring"]

GENERATE_DAYS = 7


def _today(now: datetime, zone: str) -> date:
    return to_local(now, zone).date()


def generated_occurrences(sched: RecurringSchedule, first: date, days: int) -> list[Occurrence]:
    """The occurrences of ``sched`` whose local start date is in ``[first, first + days)``."""
    zone = sched.timezone
    last = first + timedelta(days=days)
    found = schedule.occurrences(replace(sched, starts_on=first),
                                 to_utc(datetime.combine(first, time()), zone),
                                 to_utc(datetime.combine(last, time()), zone))
    return [o for o in found if first <= to_local(o.start, zone).date() < last]


def children(db: Session, principal: Principal, parent_id: int,
             now: datetime) -> list[WindowRecord]:
    """Every live period generated from the definition ``parent_id``."""
    found: list[WindowRecord] = []
    cursor: str | None = None
    while True:
        page, cursor = windows.list_windows(
            db, principal, windows.ListFilter(parent_id=parent_id, limit=500, cursor=cursor),
            now)
        found.extend(page)
        if cursor is None:
            return found


def _not_started(record: WindowRecord, now: datetime) -> bool:
    sched = record.fields.schedule
    return isinstance(sched, OnceSchedule) and sched.start > now


def _generate(db: Session, principal: Principal, parent: WindowRecord, monitor_id: int,
              sched: RecurringSchedule, name: str | None, now: datetime,
              keep: list[WindowRecord]) -> date:
    """Create the next days' periods (those not yet ended and not overlapping ``keep``);
    return the last generated date."""
    first = _today(now, sched.timezone)
    taken = [r.fields.schedule for r in keep if isinstance(r.fields.schedule, OnceSchedule)]
    periods = [period_fields(monitor_id, OnceSchedule(occ.start, occ.end, sched.timezone),
                             name, parent_id=parent.id, generated=True)
               for occ in generated_occurrences(sched, first, GENERATE_DAYS)
               if occ.end > now and not any(t.start < occ.end and occ.start < t.end
                                            for t in taken)]
    windows.create_windows(db, principal, periods, now, item_prefix=None)
    return first + timedelta(days=GENERATE_DAYS - 1)


def _vendor(record_vendor: dict[str, Any], name: str | None,
            until: date | None) -> dict[str, Any]:
    mine = dict(record_vendor.get(ORIGIN) or {})
    mine.update(name=name, kind="recurring",
                last_generated_until=until.isoformat() if until else None)
    return {**record_vendor, ORIGIN: mine}


def create_recurring(db: Session, principal: Principal, monitor_id: int, name: str,
                     definition: Definition, generate_now: bool, now: datetime) -> WindowRecord:
    """Store a definition and, with ``generate_now``, its periods of the next 7 days."""
    zone = principal.workspace_timezone
    today = _today(now, zone)
    sched = definition.to_schedule(zone, today)
    fields = period_fields(monitor_id, sched, name, kind="recurring",
                           last_generated_until=None)
    if generate_now:  # the definition governs only after the generated days
        fields = replace(fields, schedule=replace(
            sched, starts_on=today + timedelta(days=GENERATE_DAYS)))
    parent = windows.create_window(db, principal, fields, now)
    if not generate_now:
        return parent
    until = _generate(db, principal, parent, monitor_id, sched, name, now, keep=[])
    return windows.update_window(db, principal, parent.id,
                                 {"vendor": _vendor(parent.fields.vendor, name, until)}, now)


def update_recurring(db: Session, principal: Principal, parent: WindowRecord, monitor_id: int,
                     name: str | None, definition: Definition, regenerate: bool,
                     now: datetime) -> WindowRecord:
    """Change a definition; with ``regenerate`` replace its not-yet-started periods."""
    zone = principal.workspace_timezone
    current = parent.fields.schedule
    assert isinstance(current, RecurringSchedule)
    mine = parent.fields.vendor.get(ORIGIN) or {}
    until_text = mine.get("last_generated_until")
    until = date.fromisoformat(until_text) if isinstance(until_text, str) else None
    new = definition.to_schedule(zone, current.starts_on)
    if not regenerate:
        changes = {"schedule": new, "name": name or parent.fields.name,
                   "vendor": _vendor(parent.fields.vendor, name, until)}
        return windows.update_window(db, principal, parent.id, changes, now)
    today = _today(now, zone)
    after = today + timedelta(days=GENERATE_DAYS)
    updated = windows.update_window(db, principal, parent.id, {
        "schedule": replace(new, starts_on=after), "name": name or parent.fields.name,
        "vendor": _vendor(parent.fields.vendor, name, after - timedelta(days=1))}, now)
    kept = []
    for child in children(db, principal, parent.id, now):
        if _not_started(child, now):
            windows.delete_window(db, principal, child.id, now)
        else:
            kept.append(child)
    _generate(db, principal, updated, monitor_id, replace(new, starts_on=today), name, now,
              keep=kept)
    return updated


def delete_recurring(db: Session, principal: Principal, parent: WindowRecord,
                     delete_future: bool, now: datetime) -> None:
    """Delete a definition; periods that have started are always kept."""
    if delete_future:
        for child in children(db, principal, parent.id, now):
            if _not_started(child, now):
                windows.delete_window(db, principal, child.id, now)
    windows.delete_window(db, principal, parent.id, now)


def extend_generation(db: Session, principal: Principal, parent: WindowRecord,
                      now: datetime) -> int:
    """Generate the days up to 7 ahead not generated yet; return how many periods were made.

    Skipped (0) while the definition itself runs an occurrence (its schedule is frozen then;
    the next run catches up) or when it is not an Oh Dear definition.
    """
    sched = parent.fields.schedule
    mine = parent.fields.vendor.get(ORIGIN) or {}
    if not isinstance(sched, RecurringSchedule) or mine.get("kind") != "recurring":
        return 0
    today = _today(now, sched.timezone)
    first = sched.starts_on or today
    after = today + timedelta(days=GENERATE_DAYS)
    if first >= after or lifecycle.current_occurrence(parent.to_window(), now) is not None:
        return 0
    monitor_id = monitor_of(parent)
    if monitor_id is None:
        return 0
    periods = [period_fields(monitor_id, OnceSchedule(occ.start, occ.end, sched.timezone),
                             mine.get("name"), parent_id=parent.id, generated=True)
               for occ in generated_occurrences(sched, first, (after - first).days)
               if occ.end > now]
    made = len(windows.create_windows(db, principal, periods, now, item_prefix=None))
    windows.update_window(db, principal, parent.id, {
        "schedule": replace(sched, starts_on=after),
        "vendor": _vendor(parent.fields.vendor, mine.get("name"),
                          after - timedelta(days=1))}, now)
    return made


def extend_all(db: Session, now: datetime) -> int:
    """Run ``extend_generation`` for every Oh Dear definition of every workspace (daily job)."""
    made = 0
    for ws in workspaces.list_workspaces(db):
        system = Principal(workspace_id=ws.id, workspace_slug=ws.slug,
                           workspace_timezone=ws.timezone, role=Role.EDITOR, key_id=None,
                           key_name="system:ohdear-generation")
        cursor: str | None = None
        while True:
            page, cursor = windows.list_windows(
                db, system, windows.ListFilter(origin=ORIGIN, limit=500, cursor=cursor), now)
            for record in page:
                made += extend_generation(db, system, record, now)
            if cursor is None:
                break
    return made


def stop_running(db: Session, principal: Principal, parent: WindowRecord, end: datetime,
                 now: datetime) -> WindowRecord | None:
    """End the occurrence a definition itself runs at ``now``, at ``end`` (stop-maintenance).

    Oh Dear: "Ends active maintenance for a monitor." The running occurrence becomes a
    generated period from its start to ``end`` (so it is listed, and the minutes already
    suppressed stay on record), and the definition governs again from the next day, like
    after generation. Later occurrences are untouched. None when nothing runs.
    """
    sched = parent.fields.schedule
    monitor_id = monitor_of(parent)
    running = lifecycle.current_occurrence(parent.to_window(), now)
    if not isinstance(sched, RecurringSchedule) or running is None or monitor_id is None:
        return None
    # A period must end after now to be created: "now" is the next microsecond.
    stop_at = max(min(running.end, end), now + timedelta(microseconds=1))
    mine = parent.fields.vendor.get(ORIGIN) or {}
    fields = period_fields(monitor_id, OnceSchedule(running.start, stop_at, sched.timezone),
                           mine.get("name"), parent_id=parent.id, generated=True)
    period = windows.create_window(db, principal, fields, now)
    day = to_local(running.start, sched.timezone).date()
    windows.defer_start(db, principal, parent.id, day + timedelta(days=1), now,
                        vendor=_vendor(parent.fields.vendor, mine.get("name"), day))
    return period
