"""Alertmanager's time intervals as Alertmanager 0.25 reads them (``timeinterval.go``).

``parse_interval`` takes one entry of a ``time_intervals`` list (a mapping from YAML or JSON)
and checks it with Alertmanager's rules and messages: the same names (weekdays, months, case
insensitive), ranges ``a:b``, bounds (days of the month ±1…31, a negative start needs a
negative end, a range empty even in a 28-day month is refused), ``HH:MM`` times with
``24:00`` allowed as an end and ``start < end``, and a ``location`` that is an IANA zone
(default UTC; ``Local``, the Alertmanager host's zone, is kept: ``translate`` reports it).
Alertmanager 0.25 accepts month numbers outside 1-12; they never match.

Errors::

    IntervalError (ValueError)   the interval is not valid Alertmanager configuration;
                                 ``path`` names the field, the message is Alertmanager's
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass

from quietly.core.errors import QuietlyError
from quietly.core.timeutil import get_zone

__all__ = ["LOCAL", "IntervalError", "Range", "TimeInterval", "parse_interval",
           "parse_intervals"]

LOCAL = "Local"  # Go's name for the host's own zone

_WEEKDAYS = {"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4,
             "friday": 5, "saturday": 6}
_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}


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
    if raw == LOCAL:  # valid for Alertmanager; ``translate`` reports it as untranslatable
        return raw
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
