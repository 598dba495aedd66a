"""Alertmanager's calendar arithmetic, and BYMONTHDAY lists that reproduce it.

Alertmanager counts a month's days as whole 24-hour spans between the local midnights of the
1st of the month and of the next month, so a month with a spring-forward change has one day
less (Berlin's March has 30). Negative days count from that end, a begin past it skips the
range, both ends are clamped (``ContainsTime``). ``month_shapes`` computes, for one month,
each (real length, days Alertmanager selects) that month takes over some years;
``bymonthday`` finds one RRULE BYMONTHDAY list that selects exactly those days in every shape.
``zone_changes`` lists the wall-clock stretches a zone skips or repeats.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from quietly.core.timeutil import get_zone
from quietly.integrations.alertmanager.interval_parse import Range

__all__ = ["MonthShape", "ZoneChange", "alertmanager_days_in_month", "bymonthday",
           "month_shapes", "zone_changes"]


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
class MonthShape:
    """One shape a month takes: its real length and the days Alertmanager selects in it."""

    length: int
    selected: frozenset[int]


def month_shapes(month: int, years: Iterable[int], zone: str,
               ranges: Sequence[Range], invert: bool = False) -> set[MonthShape]:
    found = set()
    for year in years:
        length = calendar.monthrange(year, month)[1]
        am_days = alertmanager_days_in_month(year, month, zone)
        days = frozenset(d for d in range(1, length + 1)
                         if any(_am_day_selected(d, r, am_days) for r in ranges) != invert)
        found.add(MonthShape(length, days))
    return found


def _picks(value: int, length: int) -> int:
    """The day BYMONTHDAY ``value`` selects in a month of ``length`` days (0: none)."""
    day = value if value > 0 else length + value + 1
    return day if 1 <= day <= length else 0


def _selection(values: Iterable[int], length: int) -> frozenset[int]:
    return frozenset(d for d in (_picks(v, length) for v in values) if d)


def bymonthday(shapes: set[MonthShape], negative_first: bool) -> tuple[int, ...] | None:
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


@dataclass(frozen=True, slots=True)
class ZoneChange:
    """A wall-clock stretch on one day that a zone skips (gap) or repeats (fold)."""

    first: datetime  # naive local wall clock, exclusive bounds for "strictly inside"
    last: datetime
    gap: bool


@lru_cache(maxsize=64)
def zone_changes(zone: str, first_year: int, last_year: int) -> tuple[ZoneChange, ...]:
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
            found.append(ZoneChange(min(before, after), max(before, after), gap=new > offset))
            offset = new
        day = nxt
    return tuple(found)
