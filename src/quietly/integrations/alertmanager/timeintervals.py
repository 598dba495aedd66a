"""Alertmanager time intervals → quietly recurring schedules, keeping Alertmanager's semantics.

Pure: no I/O; the clock (``now``, only to pick the years whose calendars are examined) is passed
in. ``parse_interval`` reads one entry of a ``time_intervals`` list exactly as Alertmanager 0.25
does (``timeinterval.go``: same ranges, names, bounds and messages); ``translate`` turns it into
native ``schedule`` objects (the wire shape of ``POST /api/v1/windows``).

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

Errors::

    IntervalError (ValueError)   the interval is not valid Alertmanager configuration;
                                 ``path`` names the field, the message is Alertmanager's
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from quietly.core.codec import MAX_YEAR, MIN_YEAR, schedule_from_json
from quietly.core.errors import QuietlyError
from quietly.core.schedule import validate
from quietly.core.timeutil import get_zone

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

_WEEKDAYS = {"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4,
             "friday": 5, "saturday": 6}
_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_RRULE_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")  # Alertmanager's weekday numbers
_DAY_MINUTES = 24 * 60
# Years examined when the interval names none: its windows start applying now and Alertmanager's
# calendars repeat (tz rules are projected, leap years cycle), so a few decades show them all.
_YEARS_AHEAD = 40


class IntervalError(ValueError):
    """An invalid time interval; ``path`` is the field (``days_of_month[0]``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Range:
    """An inclusive range of Alertmanager's integers (weekday 0 = Sunday, month 1 = January)."""

    begin: int
    end: int


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """One Alertmanager time interval; ``None`` fields are absent (match everything)."""

    times: tuple[tuple[int, int], ...] | None = None  # minutes of the day, [start, end)
    weekdays: tuple[Range, ...] | None = None
    days_of_month: tuple[Range, ...] | None = None
    months: tuple[Range, ...] | None = None
    years: tuple[Range, ...] | None = None
    location: str = "UTC"
    # Not Alertmanager's: set by ``complement`` for "the days days_of_month does NOT select".
    other_days: bool = False


@dataclass(frozen=True, slots=True)
class Translation:
    """The schedules for one interval, and what could not be (or only nearly) translated."""

    schedules: tuple[dict[str, Any], ...] = ()
    untranslatable: tuple[str, ...] = ()
    approximations: tuple[str, ...] = ()
    never: str | None = None  # why Alertmanager itself never matches, if it never does
    inactive: tuple[str, ...] = ()  # parts left out because they never fire (quietly refuses)


# Parsing ------------------------------------------------------------------------------------


def _member(text: str, names: Mapping[str, int] | None, kind: str) -> int:
    if names is not None and text in names:
        return names[text]
    if names is not None and kind == "weekday":
        raise ValueError(f"{text} is not a valid weekday")
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text} is not a valid {kind}") from None


def _range(raw: object, names: Mapping[str, int] | None, kind: str) -> Range:
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a {kind} range such as 'a:b'")
    text = str(raw).lower()
    parts = text.split(":") if ":" in text else [text, text]
    if len(parts) != 2:
        raise ValueError(f"couldn't parse range {text}, invalid format")
    return Range(_member(parts[0], names, kind), _member(parts[1], names, kind))


def _check_weekdays(r: Range, text: str) -> None:
    if r.begin > r.end:
        raise ValueError("start day cannot be before end day")
    if not (0 <= r.begin <= 6 and 0 <= r.end <= 6):
        raise ValueError(f"{text} is not a valid day of the week: out of range")


def _check_days(r: Range, text: str) -> None:
    for value in (r.begin, r.end):
        if value == 0 or not -31 <= value <= 31:
            raise ValueError(f"{value} is not a valid day of the month: out of range")
    if r.begin < 0 < r.end:
        raise ValueError("end day must be negative if start day is negative")
    # Alertmanager's check with a 28-day month: catches ranges that are always empty.
    begin = 28 + r.begin if r.begin < 0 else r.begin
    end = 28 + r.end if r.end < 0 else r.end
    if begin > end:
        raise ValueError(f"end day {r.end} is always before start day {r.begin}")


def _check_months(r: Range, text: str) -> None:
    names = {number: name for name, number in _MONTHS.items()}
    if r.begin > r.end:
        raise ValueError(f"end month {names.get(r.end, r.end)} is before start month "
                         f"{names.get(r.begin, r.begin)}")
    # Alertmanager 0.25 accepts numbers outside 1-12: they simply never match.


def _check_years(r: Range, text: str) -> None:
    if r.begin > r.end:
        raise ValueError(f"end year {r.end} is before start year {r.begin}")


_FIELDS = {  # field → (names, kind word, check)
    "weekdays": (_WEEKDAYS, "weekday", _check_weekdays),
    "days_of_month": (None, "day of the month", _check_days),
    "months": (_MONTHS, "month", _check_months),
    "years": (None, "year", _check_years),
}


def _ranges(name: str, raw: object) -> tuple[Range, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise IntervalError(name, "must be a list")
    names, kind, check = _FIELDS[name]
    out = []
    for i, item in enumerate(raw):
        try:
            r = _range(item, names, kind)
            check(r, str(item).lower())
        except ValueError as exc:
            raise IntervalError(f"{name}[{i}]", str(exc)) from None
        out.append(r)
    return tuple(out)


def _minute(text: object, path: str) -> int:
    value = text if isinstance(text, str) else ""
    hours, _, minutes = value.partition(":")
    valid = (len(value) == 5 and hours.isdigit() and minutes.isdigit()
             and ((int(hours) <= 23 and int(minutes) <= 59) or value == "24:00"))
    if not valid:
        raise IntervalError(path, f"couldn't parse timestamp {text}, invalid format")
    return int(hours) * 60 + int(minutes)


def _times(raw: object) -> tuple[tuple[int, int], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise IntervalError("times", "must be a list")
    out = []
    for i, item in enumerate(raw):
        path = f"times[{i}]"
        if not isinstance(item, Mapping) or not item.get("start_time") \
                or not item.get("end_time"):
            raise IntervalError(path, "both start and end times must be provided")
        start = _minute(item["start_time"], f"{path}.start_time")
        end = _minute(item["end_time"], f"{path}.end_time")
        if start >= end:
            raise IntervalError(path, "start time cannot be equal or greater than end time")
        out.append((start, end))
    return tuple(out)


def _location(raw: object) -> str:
    if raw is None or raw == "":
        return "UTC"
    if not isinstance(raw, str):
        raise IntervalError("location", "must be a time zone name such as 'Europe/Berlin'")
    if raw == "Local":
        raise IntervalError("location", "'Local' is the Alertmanager host's own zone, which "
                            "quietly cannot know: name the zone (e.g. 'Europe/Berlin')")
    try:
        get_zone(raw)
    except QuietlyError:
        raise IntervalError("location", f"unknown time zone {raw!r}") from None
    return raw


_KNOWN = {"times", "weekdays", "days_of_month", "months", "years", "location"}


def parse_interval(data: object) -> TimeInterval:
    """Read one interval (a mapping from YAML or JSON) as Alertmanager does; IntervalError."""
    if not isinstance(data, Mapping):
        raise IntervalError("", "a time interval must be a mapping")
    unknown = sorted(str(k) for k in data if k not in _KNOWN)
    if unknown:
        raise IntervalError(unknown[0], "field not found in Alertmanager's time interval")
    return TimeInterval(
        times=_times(data.get("times")),
        weekdays=_ranges("weekdays", data.get("weekdays")),
        days_of_month=_ranges("days_of_month", data.get("days_of_month")),
        months=_ranges("months", data.get("months")),
        years=_ranges("years", data.get("years")),
        location=_location(data.get("location")))


def parse_intervals(data: object) -> tuple[TimeInterval, ...]:
    """A list of intervals (one named ``time_intervals`` entry); errors name the index."""
    if not isinstance(data, list):
        raise IntervalError("", "must be a list of time intervals")
    out = []
    for i, item in enumerate(data):
        try:
            out.append(parse_interval(item))
        except IntervalError as exc:
            raise IntervalError(f"[{i}]" + (f".{exc.path}" if exc.path else ""),
                                exc.message) from None
    return tuple(out)


# Alertmanager's calendar --------------------------------------------------------------------


def alertmanager_days_in_month(year: int, month: int, zone: str) -> int:
    """The month's length as Alertmanager computes it: whole 24 h spans between the local
    midnights starting it and the next month (one less in a month that springs forward)."""
    tz = get_zone(zone)
    first = datetime(year, month, 1, tzinfo=tz).astimezone(UTC)
    nxt = (datetime(year + 1, 1, 1, tzinfo=tz) if month == 12
           else datetime(year, month + 1, 1, tzinfo=tz)).astimezone(UTC)
    return int((nxt - first) / timedelta(days=1))


def _am_day_selected(day: int, r: Range, am_days: int) -> bool:
    """Alertmanager's test of one day-of-month range for a month it counts ``am_days`` long."""
    begin = am_days + r.begin + 1 if r.begin < 0 else r.begin
    end = am_days + r.end + 1 if r.end < 0 else r.end
    if begin > am_days:
        return False
    begin = max(-am_days, min(begin, am_days))
    end = max(-am_days, min(end, am_days))
    return begin <= day <= end


@dataclass(frozen=True, slots=True)
class _Calendar:
    """One shape a month takes: its real length and the days Alertmanager selects in it."""

    length: int
    selected: frozenset[int]


def _calendars(month: int, years: Iterable[int], zone: str,
               ranges: Sequence[Range], invert: bool = False) -> set[_Calendar]:
    found = set()
    for year in years:
        length = calendar.monthrange(year, month)[1]
        am_days = alertmanager_days_in_month(year, month, zone)
        days = frozenset(d for d in range(1, length + 1)
                         if any(_am_day_selected(d, r, am_days) for r in ranges) != invert)
        found.add(_Calendar(length, days))
    return found


def _picks(value: int, length: int) -> int:
    """The day BYMONTHDAY ``value`` selects in a month of ``length`` days (0: none)."""
    day = value if value > 0 else length + value + 1
    return day if 1 <= day <= length else 0


def _selection(values: Iterable[int], length: int) -> frozenset[int]:
    return frozenset(d for d in (_picks(v, length) for v in values) if d)


def _bymonthday(shapes: set[_Calendar], negative_first: bool) -> tuple[int, ...] | None:
    """The simplest BYMONTHDAY list selecting exactly each shape's days, or None if none does.

    A value is usable only if every day it picks, in every shape, is wanted; the union of all
    usable values is the largest list that selects nothing unwanted, so if even it misses a
    wanted day, no list can work. Single-sign lists are preferred, in the sign the interval
    was written in.
    """
    usable = [v for v in (*range(1, 32), *range(-1, -32, -1))
              if all(_picks(v, s.length) in s.selected or not _picks(v, s.length)
                     for s in shapes) and any(_picks(v, s.length) for s in shapes)]
    positive = [v for v in usable if v > 0]
    negative = [v for v in usable if v < 0]
    order = (negative, positive) if negative_first else (positive, negative)
    for candidate in (*order, usable):
        if all(_selection(candidate, s.length) == s.selected for s in shapes):
            return tuple(sorted(candidate, key=lambda v: (v < 0, abs(v))))
    return None


# Translation --------------------------------------------------------------------------------


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
    shapes_of = {m: _calendars(m, years, interval.location, interval.days_of_month,
                               interval.other_days) for m in months}
    months = [m for m in months if any(s.selected for s in shapes_of[m])]  # others never
    shared = _bymonthday(set().union(*(shapes_of[m] for m in months)), negative_first) \
        if months else None
    if shared is not None:  # one list fits every month: one window per time and year range
        plan.groups[shared] = months
        return plan
    for month in months:
        shapes = shapes_of[month]
        values = _bymonthday(shapes, negative_first)
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


# Daylight-saving edges ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Change:
    """A wall-clock stretch on one day that a zone skips (gap) or repeats (fold)."""

    first: datetime  # naive local wall clock, exclusive bounds for "strictly inside"
    last: datetime
    gap: bool


@lru_cache(maxsize=64)
def _changes(zone: str, first_year: int, last_year: int) -> tuple[_Change, ...]:
    """Every offset change of ``zone`` in the years, found day by day and then to the minute."""
    tz: ZoneInfo = get_zone(zone)
    found = []
    day = datetime(first_year, 1, 1, tzinfo=UTC)
    stop = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    offset = day.astimezone(tz).utcoffset()
    while day < stop:
        nxt = day + timedelta(days=1)
        new = nxt.astimezone(tz).utcoffset()
        if new != offset and offset is not None and new is not None:
            low, high = day, nxt  # the change happens in (low, high]
            while high - low > timedelta(minutes=1):
                mid = low + (high - low) / 2
                if mid.astimezone(tz).utcoffset() == offset:
                    low = mid
                else:
                    high = mid
            at = high.replace(second=0, microsecond=0)
            before, after = (at + offset).replace(tzinfo=None), (at + new).replace(tzinfo=None)
            found.append(_Change(min(before, after), max(before, after), gap=new > offset))
            offset = new
        day = nxt
    return tuple(found)


def _dst_approximations(interval: TimeInterval, now: datetime) -> tuple[str, ...]:
    # The changes of the coming decade show every wall time a zone currently skips or repeats.
    changes = _changes(interval.location, now.year - 1, now.year + 10)
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
