"""Uptrends MaintenancePeriod ↔ quietly window fields (``to_fields``, ``from_record``).

- A period belongs to one monitor: target ``monitor:<guid>`` (a GUID is lower-cased so that
  ``ABC…`` and ``abc…`` name the same monitor).
- ``MaintenanceType`` DisableMonitoring is the ``drop`` effect, DisableNotifications ``mute``.
- OneTime periods use ``StartDateTime``/``EndDateTime``: naive date-times in the workspace's
  zone (an explicit offset is honoured). An ``EndDateTime`` equal to ``StartDateTime`` (as in
  Uptrends' own one-time example) is read as the one minute that starts there: Uptrends works
  in whole minutes and a zero-length period would never apply. The end as sent is kept in
  ``vendor["uptrends"]`` and answered back.
- Daily, Weekly and Monthly use ``StartTime``/``EndTime`` ("HH:mm", workspace zone); an end
  before the start runs into the next day; equal times are refused (no length is implied).
- Monthly on a day a month lacks (``MonthDay`` 31 in April): Uptrends does not document it;
  we run on the month's last day (the native ``last_day`` rule), so a monthly period never
  silently skips a month.
- ``from_record`` answers None for windows Uptrends cannot express (RRULE or cron schedules,
  several week days, other effects, a recurring window of another API in another zone):
  they are not listed under the monitor.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from quietly.compat.uptrends.schemas import WEEK_DAYS, MaintenancePeriodIn
from quietly.core.codec import MAX_YEAR, MIN_YEAR
from quietly.core.errors import NotFound, ValidationError
from quietly.core.model import Effect, OnceSchedule, RecurringSchedule, Schedule, SimpleRule
from quietly.core.records import WindowFields, WindowRecord
from quietly.core.schedule.simplify import as_simple
from quietly.core.timeutil import to_local, to_utc

__all__ = ["ORIGIN", "before_date", "from_record", "monitor_target", "to_changes", "to_fields"]

ORIGIN = "uptrends"
_DAY_CODES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # in WEEK_DAYS order

_EFFECTS = {"DisableMonitoring": Effect.DROP, "DisableNotifications": Effect.MUTE}
_MODES = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}


def monitor_target(monitor_guid: str) -> str:
    """``monitor:<guid>``, the GUID normalised to lower case.

    Uptrends and Oh Dear share the ``monitor:`` kind on purpose (a native window on a monitor
    shows in the API that names it), and their ids cannot meet: Oh Dear's are integers,
    Uptrends' GUIDs. So a ``monitorGuid`` that is not a GUID names no Uptrends monitor (404):
    ``Monitor/1`` must not list Oh Dear monitor 1's periods (issue 16).
    """
    try:
        return f"monitor:{uuid.UUID(monitor_guid.strip())}"
    except ValueError:
        raise NotFound(f"Monitor with GUID {monitor_guid[:100]!r} not found") from None


def _datetime(value: str | None, zone: str, field: str) -> datetime:
    if value is None or not value.strip():
        raise ValidationError("is required for a OneTime maintenance period", field=field)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a date and time (yyyy-MM-ddTHH:mm)",
                              field=field) from exc
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:  # also keeps zone arithmetic in range
        raise ValidationError(f"must be a date between {MIN_YEAR} and {MAX_YEAR}", field=field)
    # Naive values are wall-clock times in the account's zone, never the server's.
    return to_utc(parsed, zone) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _clock(value: str | None, field: str) -> time:
    if value is None or not value.strip():
        raise ValidationError("is required for a recurring maintenance period", field=field)
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a time (HH:mm)", field=field) from exc
    if parsed.tzinfo is not None or parsed.second or parsed.microsecond:
        raise ValidationError(f"{value!r} is not a time (HH:mm)", field=field)
    return parsed


def _once(body: MaintenancePeriodIn, zone: str) -> tuple[Schedule, dict[str, Any]]:
    start = _datetime(body.StartDateTime, zone, "StartDateTime")
    end = _datetime(body.EndDateTime, zone, "EndDateTime")
    extra: dict[str, Any] = {}
    if end < start:
        raise ValidationError("must not be before StartDateTime", field="EndDateTime")
    if end == start:
        extra["end_as_sent"] = body.EndDateTime
        end = start + timedelta(minutes=1)
    return OnceSchedule(start=start, end=end, timezone=zone), extra


def _rule(body: MaintenancePeriodIn) -> SimpleRule:
    if body.ScheduleMode == "Daily":
        return SimpleRule(every="daily")
    if body.ScheduleMode == "Weekly":
        if body.WeekDay is None:
            raise ValidationError("is required for a Weekly maintenance period", field="WeekDay")
        return SimpleRule(every="weekly", days_of_week=(_DAY_CODES[WEEK_DAYS.index(body.WeekDay)],))
    if body.MonthDay is None:
        raise ValidationError("is required for a Monthly maintenance period", field="MonthDay")
    if not 1 <= body.MonthDay <= 31:
        raise ValidationError("must be between 1 and 31", field="MonthDay")
    return SimpleRule(every="monthly", day_of_month=body.MonthDay, short_month="last_day")


def _recurring(body: MaintenancePeriodIn, zone: str) -> RecurringSchedule:
    start = _clock(body.StartTime, "StartTime")
    end = _clock(body.EndTime, "EndTime")
    if start == end:
        raise ValidationError("must differ from StartTime", field="EndTime")
    return RecurringSchedule(timezone=zone, rule=_rule(body), start_time=start, end_time=end)


def _schedule(body: MaintenancePeriodIn, zone: str) -> tuple[Schedule, dict[str, Any]]:
    if body.ScheduleMode == "OneTime":
        return _once(body, zone)
    return _recurring(body, zone), {}


def to_fields(body: MaintenancePeriodIn, monitor_guid: str, zone: str) -> WindowFields:
    """A POSTed period for one monitor → the fields of a new window (``Id`` checked by routes)."""
    target = monitor_target(monitor_guid)
    sched, extra = _schedule(body, zone)
    return WindowFields(
        name=f"Uptrends {body.ScheduleMode} maintenance of {target}",
        description=body.Description,
        schedule=sched,
        targets=(target,),
        effects=(_EFFECTS[body.MaintenanceType],),
        origin=ORIGIN,
        vendor={ORIGIN: extra} if extra else {},
    )


def to_changes(body: MaintenancePeriodIn, record: WindowRecord, zone: str) -> dict[str, Any]:
    """A PUT body → the changed window fields (the whole period is replaced)."""
    sched, extra = _schedule(body, zone)
    vendor = {k: v for k, v in record.fields.vendor.items() if k != ORIGIN}
    if extra:
        vendor[ORIGIN] = extra
    return {"schedule": sched, "effects": (_EFFECTS[body.MaintenanceType],),
            "description": body.Description, "vendor": vendor}


def before_date(value: str, zone: str) -> datetime:
    """Cleanup's ``beforeDate``: ``yyyy-MM-dd`` is local midnight; a date-time is honoured."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if not MIN_YEAR <= day.year <= MAX_YEAR:
                raise ValueError(text)
            return to_utc(datetime.combine(day, time()), zone)
        return _datetime(text, zone, "beforeDate")
    except (ValueError, ValidationError) as exc:
        raise ValidationError(f"{value!r} is not a date (yyyy-MM-dd) between {MIN_YEAR} and "
                              f"{MAX_YEAR}", field="beforeDate") from exc


def _local_text(instant: datetime, zone: str) -> str:
    local = to_local(instant, zone).replace(tzinfo=None)
    return local.isoformat(timespec="minutes" if local.second == 0 else "seconds")


def _maintenance_type(effects: tuple[Effect, ...]) -> str | None:
    if Effect.DROP in effects:
        return "DisableMonitoring"
    if Effect.MUTE in effects:
        return "DisableNotifications"
    return None


def _recurring_out(s: RecurringSchedule, zone: str | None) -> dict[str, Any] | None:
    """``zone`` None accepts any zone (a period made here keeps its zone if the account's
    changes later; its times stay wall-clock times of that zone). A native RRULE that says
    no more than a simple form is shown as that form (issue 16)."""
    s = as_simple(s) or s
    rule = s.rule
    if (not isinstance(rule, SimpleRule) or (zone and s.timezone != zone) or s.end_time is None
            or s.start_time is None or s.until or s.count or rule.weekday_of_month):
        return None
    out: dict[str, Any] = {"ScheduleMode": _MODES[rule.every],
                           "StartTime": s.start_time.strftime("%H:%M"),
                           "EndTime": s.end_time.strftime("%H:%M")}
    if rule.every == "weekly":
        if len(rule.days_of_week) != 1:
            return None
        out["WeekDay"] = WEEK_DAYS[_DAY_CODES.index(rule.days_of_week[0])]
    elif rule.every == "monthly":
        if rule.day_of_month is None or rule.day_of_month < 1:
            return None
        out["MonthDay"] = rule.day_of_month
    return out


def from_record(record: WindowRecord, zone: str) -> dict[str, Any] | None:
    """A window → Uptrends' MaintenancePeriod, or None when Uptrends cannot express it."""
    f = record.fields
    kind = _maintenance_type(f.effects)
    if kind is None:
        return None
    sched = f.schedule
    out: dict[str, Any] | None
    if isinstance(sched, OnceSchedule):
        sent_end = (f.vendor.get(ORIGIN) or {}).get("end_as_sent")
        out = {"ScheduleMode": "OneTime", "StartDateTime": _local_text(sched.start, zone),
               "EndDateTime": _local_text(sched.end, zone)}
        if sent_end and sched.end - sched.start == timedelta(minutes=1):
            out["EndDateTime"] = out["StartDateTime"]
    else:
        out = _recurring_out(sched, None if f.origin == ORIGIN else zone)
    if out is None:
        return None
    return {"Id": record.id, **out, "MaintenanceType": kind, "Description": f.description}
