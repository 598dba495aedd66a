"""Oh Dear shapes ↔ quietly windows (``to_fields`` for periods, ``from_record`` for both kinds).

- A maintenance period is a one-time window on ``monitor:<id>`` with the ``mute`` effect.
  Times come in as "Y-m-d H:i" and go out as "Y-m-d H:i:s", both wall-clock times in the
  team's (workspace's) zone; a period without a name keeps ``name: null`` in
  ``vendor["ohdear"]`` (the window itself needs a name).
- A recurring definition is a recurring window with the simple daily/weekly/monthly rule in
  the team's zone. ``days_of_week`` counts 0 = Sunday … 6 = Saturday; ``day_of_month`` 31 runs
  on the last day of shorter months (the native ``last_day`` rule). An ``end_time`` before the
  ``start_time`` ends on the next day; equal times are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any

from quietly.api.types import parse_path_id
from quietly.core import lifecycle
from quietly.core.errors import ValidationError
from quietly.core.model import Effect, OnceSchedule, RecurringSchedule, SimpleRule
from quietly.core.records import WindowFields, WindowRecord
from quietly.core.schedule import human_schedule_short
from quietly.core.timeutil import to_local, to_utc

__all__ = ["ORIGIN", "Definition", "from_record", "monitor_of", "monitor_target",
           "parse_minute", "period_from_record", "recurring_from_record", "to_changes",
           "to_fields"]

ORIGIN = "ohdear"
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # index = Oh Dear's day number


def monitor_target(monitor_id: int) -> str:
    return f"monitor:{monitor_id}"


def monitor_of(record: WindowRecord) -> int | None:
    """The Oh Dear monitor a window belongs to: its first ``monitor:<integer>`` target."""
    for target in record.fields.targets:
        kind, _, ident = target.partition(":")
        monitor = parse_path_id(ident) if kind == "monitor" else None
        if monitor is not None:  # the bound every path id has, so the path can name it
            return monitor
    return None


def parse_minute(text: str, zone: str) -> datetime:
    """"Y-m-d H:i" (already format-checked) in the team's zone → a UTC instant."""
    local = datetime.strptime(text, "%Y-%m-%d %H:%M")  # noqa: DTZ007 - wall clock, zone below
    return to_utc(local, zone)


def _local(instant: datetime, zone: str) -> str:
    return to_local(instant, zone).strftime("%Y-%m-%d %H:%M:%S")


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).replace(microsecond=0).isoformat()


def _vendor(name: str | None, **extra: Any) -> dict[str, Any]:
    return {ORIGIN: {"name": name, **extra}}


def _once(starts_at: str, ends_at: str, zone: str) -> OnceSchedule:
    start, end = parse_minute(starts_at, zone), parse_minute(ends_at, zone)
    if end <= start:
        raise ValidationError("The ends at field must be a date after starts at.",
                              field="ends_at")
    return OnceSchedule(start=start, end=end, timezone=zone)


def to_fields(monitor_id: int, starts_at: str, ends_at: str, name: str | None, zone: str,
              parent_id: int | None = None) -> WindowFields:
    """A scheduled maintenance period → the fields of a one-time window."""
    return period_fields(monitor_id, _once(starts_at, ends_at, zone), name, parent_id)


def period_fields(monitor_id: int, schedule: OnceSchedule | RecurringSchedule,
                  name: str | None, parent_id: int | None = None,
                  **extra: Any) -> WindowFields:
    target = monitor_target(monitor_id)
    return WindowFields(name=name or f"Maintenance of {target}", schedule=schedule,
                        targets=(target,), effects=(Effect.MUTE,), origin=ORIGIN,
                        vendor=_vendor(name, **extra), parent_id=parent_id)


def to_changes(record: WindowRecord, starts_at: str, ends_at: str, name: str | None,
               zone: str) -> dict[str, Any]:
    """A PUT of a period → its changed fields (times and name)."""
    mine = dict(record.fields.vendor.get(ORIGIN) or {})
    mine["name"] = name
    return {"schedule": _once(starts_at, ends_at, zone),
            "name": name or record.fields.name,
            "vendor": {**record.fields.vendor, ORIGIN: mine}}


def _name(record: WindowRecord) -> str | None:
    mine = record.fields.vendor.get(ORIGIN)
    if isinstance(mine, dict) and "name" in mine:
        value = mine["name"]
        return value if isinstance(value, str) else None
    return record.fields.name


def period_from_record(record: WindowRecord, zone: str) -> dict[str, Any] | None:
    """A one-time window of an Oh Dear monitor → the period object, or None.

    A cancelled window ends where it was cancelled.
    """
    sched, monitor = record.fields.schedule, monitor_of(record)
    if not isinstance(sched, OnceSchedule) or monitor is None:
        return None
    end = sched.end
    cut = lifecycle.cut_off(record.to_window())
    if cut is not None and cut < end:
        end = max(cut, sched.start)
    return {"id": record.id, "monitor_id": monitor, "name": _name(record),
            "starts_at": _local(sched.start, zone), "ends_at": _local(end, zone)}


@dataclass(frozen=True, slots=True)
class Definition:
    """A recurring definition in Oh Dear's terms, checked by ``to_schedule``."""

    recurrence_type: str
    start_time: str
    end_time: str
    days_of_week: tuple[int, ...] | None = None
    day_of_month: int | None = None

    def rule(self) -> SimpleRule:
        if self.recurrence_type == "weekly":
            if not self.days_of_week:
                raise ValidationError("The days of week field is required when recurrence "
                                      "type is weekly.", field="days_of_week")
            days = tuple(_DAYS[d] for d in sorted(set(self.days_of_week)))
            return SimpleRule(every="weekly", days_of_week=days)
        if self.recurrence_type == "monthly":
            if self.day_of_month is None:
                raise ValidationError("The day of month field is required when recurrence "
                                      "type is monthly.", field="day_of_month")
            return SimpleRule(every="monthly", day_of_month=self.day_of_month,
                              short_month="last_day")
        return SimpleRule(every="daily")

    def to_schedule(self, zone: str, starts_on: date | None) -> RecurringSchedule:
        if self.start_time == self.end_time:
            raise ValidationError("The end time field and start time must be different.",
                                  field="end_time")
        return RecurringSchedule(timezone=zone, rule=self.rule(),
                                 start_time=time.fromisoformat(self.start_time),
                                 end_time=time.fromisoformat(self.end_time),
                                 starts_on=starts_on)


def definition_of(record: WindowRecord, zone: str) -> Definition | None:
    """The Oh Dear definition of a recurring window, or None if Oh Dear cannot express it.

    Windows of other APIs must be in the team's zone; Oh Dear's own keep their zone if the
    team's changes later (an update moves them to the new one).
    """
    s = record.fields.schedule
    if (not isinstance(s, RecurringSchedule) or not isinstance(s.rule, SimpleRule)
            or (s.timezone != zone and record.fields.origin != ORIGIN)
            or s.start_time is None or s.end_time is None
            or s.until or s.count or s.rule.weekday_of_month or monitor_of(record) is None):
        return None
    rule = s.rule
    if rule.every == "monthly" and (rule.day_of_month is None or rule.day_of_month < 1):
        return None
    days = tuple(_DAYS.index(d) for d in rule.days_of_week) if rule.every == "weekly" else None
    return Definition(recurrence_type=rule.every, start_time=s.start_time.strftime("%H:%M"),
                      end_time=s.end_time.strftime("%H:%M"),
                      days_of_week=tuple(sorted(days)) if days else None,
                      day_of_month=rule.day_of_month if rule.every == "monthly" else None)


def recurring_from_record(record: WindowRecord, zone: str) -> dict[str, Any] | None:
    """A recurring window → Oh Dear's recurring-period object, or None."""
    definition = definition_of(record, zone)
    if definition is None:
        return None
    assert isinstance(record.fields.schedule, RecurringSchedule)
    mine = record.fields.vendor.get(ORIGIN) or {}
    return {
        "id": record.id, "monitor_id": monitor_of(record), "name": _name(record),
        "recurrence_type": definition.recurrence_type,
        "days_of_week": list(definition.days_of_week) if definition.days_of_week else None,
        "day_of_month": definition.day_of_month,
        "start_time": definition.start_time, "end_time": definition.end_time,
        "human_readable_schedule": human_schedule_short(
            replace(record.fields.schedule, starts_on=None)),
        "last_generated_until": mine.get("last_generated_until"),
        "created_at": _iso(record.created_at), "updated_at": _iso(record.updated_at),
    }


def from_record(record: WindowRecord, zone: str) -> dict[str, Any] | None:
    """Either kind: a period for one-time windows, a recurring object for recurring ones."""
    if isinstance(record.fields.schedule, OnceSchedule):
        return period_from_record(record, zone)
    return recurring_from_record(record, zone)
