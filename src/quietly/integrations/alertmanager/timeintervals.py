"""Alertmanager time intervals → quietly recurring schedules, keeping Alertmanager's semantics.

Pure: no I/O; the clock (``now``, only to pick the years whose calendars are examined) is passed
in. ``translate`` turns one parsed interval (``parse_interval``) into native ``schedule``
objects (the wire shape of ``POST /api/v1/windows``); ``complement`` gives the intervals whose
union is everything the interval does not contain (``active_time_intervals``).

What Alertmanager means (``TimeInterval.ContainsTime``), evaluated on the wall clock of
``location`` (default UTC): the minute of the day (seconds ignored) lies in one of ``times``
(``[start, end)``, ``24:00`` allowed as an end, never past midnight), and the local date is in one
of the ``days_of_month``, ``months``, ``weekdays`` and ``years`` ranges; an absent field matches
everything, a present but empty one nothing.

How it becomes windows (the choices this module makes):

- **One schedule per time range x year range x group of months.** A quietly window has one
  start and one end time, so each ``times`` entry gets its own window (a missing ``times`` is the
  whole day, ``00:00``-``00:00`` next day); RRULE has no BYYEAR, so each ``years`` range becomes
  ``starts_on`` January 1 … ``until`` December 31 of its own window. The day filters become one
  ``FREQ=DAILY`` RRULE whose BYxxx parts are filters, ANDed between parts and ORed within one,
  exactly like Alertmanager's fields: ``BYDAY`` (weekdays, Sunday = 0 in Alertmanager),
  ``BYMONTH`` and ``BYMONTHDAY``.
- **Days of the month follow Alertmanager's own arithmetic, quirks included.** Alertmanager
  counts a month's days as whole 24-hour spans between the local midnights of the 1st of the
  month and of the next month: a month with a spring-forward change has one day less (Berlin's
  March has 30, so ``-1`` is March 30 and ``31`` never matches in March). Negative days count
  from that end, a begin past it skips the range, both ends are clamped. For every month the
  interval can match, the days Alertmanager selects are computed for each calendar that month
  has over the years examined (leap years, daylight-saving rule changes), and one BYMONTHDAY
  list (positive and/or negative days) that selects exactly those days in every calendar is
  searched; months that share a list share a window. A month for which no list exists (its
  selected days differ between years in a way BYMONTHDAY cannot say, e.g. ``20:-10`` in
  February picks day 20 in leap years only) is reported as untranslatable, never dropped.
- **Daylight-saving days.** quietly reads a wall time inside a gap with the offset before it and
  an ambiguous one as its first instant (RFC 5545); Alertmanager compares the minute of the day.
  Both agree for every time outside a change and for times at a change's edges (``02:00``,
  ``03:00``). A ``start_time``/``end_time`` strictly inside a gap or fold of the zone (Berlin
  ``02:30``) differs on the change days: such ranges are translated and listed as approximations.

Parsing (Alertmanager's rules and messages) is ``interval_parse``; its calendar arithmetic
and the BYMONTHDAY search are ``interval_calendar``; this module re-exports what callers need.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from quietly.core.codec import MAX_YEAR, MIN_YEAR, schedule_from_json
from quietly.core.errors import QuietlyError
from quietly.core.schedule import validate
from quietly.integrations.alertmanager.interval_calendar import (
    alertmanager_days_in_month,
    bymonthday,
    month_shapes,
    zone_changes,
)
from quietly.integrations.alertmanager.interval_parse import (
    LOCAL,
    IntervalError,
    Range,
    TimeInterval,
    parse_interval,
    parse_intervals,
)

__all__ = [
    "IntervalError",
    "Range",
    "TimeInterval",
    "Translation",
    "alertmanager_days_in_month",
    "complement",
    "parse_interval",
    "parse_intervals",
    "translate",
]

_RRULE_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")  # Alertmanager's weekday numbers
_DAY_MINUTES = 24 * 60
# Years examined when the interval names none: its windows start applying now and Alertmanager's
# calendars repeat (tz rules are projected, leap years cycle), so a few decades show them all.
_YEARS_AHEAD = 40


@dataclass(frozen=True, slots=True)
class Translation:
    """The schedules for one interval, and what could not be (or only nearly) translated."""

    schedules: tuple[dict[str, Any], ...] = ()
    untranslatable: tuple[str, ...] = ()
    approximations: tuple[str, ...] = ()
    never: str | None = None  # why Alertmanager itself never matches, if it never does
    inactive: tuple[str, ...] = ()  # parts left out because they never fire (quietly refuses)


def _years_examined(interval: TimeInterval, now: datetime) -> list[int]:
    if not interval.years:
        return list(range(now.year - 1, now.year + _YEARS_AHEAD))
    years: set[int] = set()
    for r in interval.years:
        begin, end = max(r.begin, MIN_YEAR), min(r.end, MAX_YEAR)
        years.update(range(begin, min(end, begin + _YEARS_AHEAD) + 1))
    return sorted(years)


def _months_of(interval: TimeInterval) -> list[int]:
    if interval.months is None:
        return list(range(1, 13))
    return [m for m in range(1, 13) if any(r.begin <= m <= r.end for r in interval.months)]


@dataclass
class _MonthPlan:
    groups: dict[tuple[int, ...] | None, list[int]] = field(default_factory=dict)
    untranslatable: list[str] = field(default_factory=list)


def _plan_months(interval: TimeInterval, years: list[int]) -> _MonthPlan:
    """Group the months the interval can match by the BYMONTHDAY list they need."""
    plan = _MonthPlan()
    months = _months_of(interval)
    if interval.days_of_month is None:
        if months:
            plan.groups[None] = months
        return plan
    negative_first = all(r.begin < 0 for r in interval.days_of_month)
    shapes_of = {m: month_shapes(m, years, interval.location, interval.days_of_month,
                               interval.other_days) for m in months}
    months = [m for m in months if any(s.selected for s in shapes_of[m])]  # others never
    shared = bymonthday(set().union(*(shapes_of[m] for m in months)), negative_first) \
        if months else None
    if shared is not None:  # one list fits every month: one window per time and year range
        plan.groups[shared] = months
        return plan
    for month in months:
        shapes = shapes_of[month]
        values = bymonthday(shapes, negative_first)
        if values is None:
            days = "; ".join(f"{sorted(s.selected) or 'none'} in a {s.length}-day "
                             f"{calendar.month_name[month]}"
                             for s in sorted(shapes, key=lambda s: s.length))
            plan.untranslatable.append(
                f"{calendar.month_name[month]}: Alertmanager selects different days in "
                f"different years ({days}); one BYMONTHDAY list cannot say that")
            continue
        plan.groups.setdefault(values, []).append(month)
    return plan


def _rrule(months: list[int], monthdays: tuple[int, ...] | None,
           weekdays: tuple[Range, ...] | None) -> str:
    parts = ["FREQ=DAILY"]
    if len(months) < 12:
        parts.append("BYMONTH=" + ",".join(map(str, months)))
    if monthdays is not None:
        parts.append("BYMONTHDAY=" + ",".join(map(str, monthdays)))
    if weekdays is not None:
        days = sorted({d for r in weekdays for d in range(r.begin, r.end + 1)})
        if len(days) < 7:
            days.sort(key=_monday_first)
            parts.append("BYDAY=" + ",".join(_RRULE_DAYS[d] for d in days))
    return ";".join(parts)


def _monday_first(day: int) -> int:
    return (day - 1) % 7


def _clock(minute: int) -> str:
    minute %= _DAY_MINUTES  # 24:00 ends at the next midnight: end_time 00:00 (next day)
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _never(interval: TimeInterval) -> str | None:
    """Why Alertmanager never matches this interval (a present but empty list), or None."""
    for name in ("times", "weekdays", "days_of_month", "months", "years"):
        value = getattr(interval, name)
        if value is not None and not value:
            return f"{name} is an empty list, so Alertmanager never matches this interval"
    if interval.months and not _months_of(interval):
        return "its months lie outside 1-12, so Alertmanager never matches this interval"
    if interval.years and all(r.end < MIN_YEAR or r.begin > MAX_YEAR for r in interval.years):
        return f"its years lie outside {MIN_YEAR}-{MAX_YEAR}"
    return None


def translate(interval: TimeInterval, *, now: datetime) -> Translation:
    """The recurring schedules whose union is active exactly when ``interval`` contains the
    instant (see the module docstring for the choices and the reported exceptions)."""
    if interval.location == LOCAL:
        return Translation(untranslatable=(
            "location 'Local' is the Alertmanager host's own zone, which quietly cannot know: "
            "name the zone (e.g. 'Europe/Berlin')",))
    never = _never(interval)
    if never:
        return Translation(never=never)
    plan = _plan_months(interval, _years_examined(interval, now))
    times = interval.times or ((0, _DAY_MINUTES),)
    year_ranges: Sequence[Range | None] = interval.years or (None,)
    schedules: list[dict[str, Any]] = []
    inactive: list[str] = []
    for years in year_ranges:
        if years is not None and (years.end < MIN_YEAR or years.begin > MAX_YEAR):
            continue
        for monthdays, months in plan.groups.items():
            rule = _rrule(months, monthdays, interval.weekdays)
            for start, end in times:
                schedule: dict[str, Any] = {
                    "kind": "recurring", "timezone": interval.location, "rrule": rule,
                    "start_time": _clock(start), "end_time": _clock(end)}
                if years is not None:
                    schedule["starts_on"] = date(max(years.begin, MIN_YEAR), 1, 1).isoformat()
                    schedule["until"] = date(min(years.end, MAX_YEAR), 12, 31).isoformat()
                problem = _refused(schedule)
                if problem:  # quietly refuses only rules that never fire: neither does AM
                    inactive.append(f"{rule} {schedule['start_time']}-"
                                    f"{schedule['end_time']}: {problem}")
                    continue
                schedules.append(schedule)
    if not schedules and not plan.untranslatable:
        never = "; ".join(inactive) or "its days of the month never fall in its months"
    return Translation(schedules=tuple(schedules), untranslatable=tuple(plan.untranslatable),
                       approximations=_dst_approximations(interval, now), never=never,
                       inactive=tuple(inactive))


def _other(ranges: tuple[Range, ...], first: int, last: int) -> tuple[Range, ...]:
    """The values of ``first..last`` outside ``ranges``, as ranges."""
    inside = {v for r in ranges for v in range(r.begin, r.end + 1)}
    out: list[Range] = []
    for value in range(first, last + 1):
        if value in inside:
            continue
        if out and out[-1].end == value - 1:
            out[-1] = Range(out[-1].begin, value)
        else:
            out.append(Range(value, value))
    return tuple(out)


def _free_times(times: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """The parts of the day ``[0, 24:00)`` outside ``times``."""
    free, cursor = [], 0
    for start, end in sorted(times):
        if start > cursor:
            free.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < _DAY_MINUTES:
        free.append((cursor, _DAY_MINUTES))
    return tuple(free)


def complement(interval: TimeInterval) -> tuple[TimeInterval, ...]:
    """Intervals whose union holds exactly the instants ``interval`` does not contain.

    For ``active_time_intervals`` (a route muted outside them): a day failing any one day
    filter is wholly outside; a day passing them all is outside in its free minutes.
    """
    if _never(interval):
        return (TimeInterval(location=interval.location),)
    zone = interval.location
    parts = []
    if interval.times is not None and _free_times(interval.times):
        parts.append(TimeInterval(
            times=_free_times(interval.times), weekdays=interval.weekdays,
            days_of_month=interval.days_of_month, months=interval.months,
            years=interval.years, location=zone))
    if interval.weekdays is not None and _other(interval.weekdays, 0, 6):
        parts.append(TimeInterval(weekdays=_other(interval.weekdays, 0, 6), location=zone))
    if interval.months is not None and _other(interval.months, 1, 12):
        parts.append(TimeInterval(months=_other(interval.months, 1, 12), location=zone))
    if interval.years is not None and _other(interval.years, MIN_YEAR, MAX_YEAR):
        parts.append(TimeInterval(years=_other(interval.years, MIN_YEAR, MAX_YEAR),
                                  location=zone))
    if interval.days_of_month is not None:
        parts.append(TimeInterval(days_of_month=interval.days_of_month, location=zone,
                                  other_days=True))
    return tuple(parts)


def _refused(schedule: dict[str, Any]) -> str | None:
    """quietly's own verdict on a schedule (a rule that never fires is refused), or None."""
    try:
        validate(schedule_from_json(schedule))
    except QuietlyError as exc:
        return str(exc)
    return None


def _dst_approximations(interval: TimeInterval, now: datetime) -> tuple[str, ...]:
    # The changes of the coming decade show every wall time a zone currently skips or repeats.
    changes = zone_changes(interval.location, now.year - 1, now.year + 10)
    notes = []
    for start, end in interval.times or ():
        for label, minute in (("start_time", start), ("end_time", end)):
            for change in changes:
                wall = datetime.combine(change.first.date(), datetime.min.time()) \
                    + timedelta(minutes=minute)
                if change.first < wall < change.last:
                    kind = "skipped" if change.gap else "repeated"
                    notes.append(
                        f"{label} {_clock(minute) if minute < _DAY_MINUTES else '24:00'} "
                        f"falls inside the hour {interval.location} {kind} on "
                        f"{change.first.date().isoformat()} (and similar days): on such days "
                        "quietly reads it by RFC 5545 (a skipped time with the offset before "
                        "the change, a repeated one at its first instant) while Alertmanager "
                        "compares the minute of the day")
                    break
    return tuple(notes)
