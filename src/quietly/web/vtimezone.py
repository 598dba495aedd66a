"""VTIMEZONE components from the zone data quietly reads (``zoneinfo`` with ``tzdata``).

RFC 5545 §3.6.5: each STANDARD/DAYLIGHT observance starts at its onset, given as the *local
time before the change* (``TZOFFSETFROM``): New York's 2027 spring change is
``DTSTART:20270314T020000`` with ``TZOFFSETFROM:-0500``. (icalendar 7.3's
``add_missing_timezones`` writes the local time after a spring change, 03:00, which a client
that reads the VTIMEZONE, such as libical, takes as one hour late: 03:00-04:00 on that day
would be read as a gap.) Every offset change from 1970 to 2038 is written; changes with the
same offsets, name and kind share one observance (its first onset as DTSTART, the others as
RDATE), as icalendar does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import icalendar

__all__ = ["vtimezone"]

_FIRST = datetime(1970, 1, 1, tzinfo=UTC)
_LAST = datetime(2038, 1, 1, tzinfo=UTC)
_STEP = timedelta(hours=12)  # zones keep an offset for longer than this
Change = tuple[datetime, timedelta, timedelta, str, bool]  # instant, from, to, name, is DST


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def _change_at(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first whole second in ``(low, high]`` with the offset ``high`` has."""
    target = _offset(zone, high)
    while high - low > timedelta(seconds=1):
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if _offset(zone, middle) == target:
            high = middle
        else:
            low = middle
    return high


def _changes(zone: ZoneInfo) -> list[Change]:
    found: list[Change] = []
    probe, before = _FIRST, _offset(zone, _FIRST)
    while probe < _LAST:
        following = probe + _STEP
        after = _offset(zone, following)
        if after != before:
            instant = _change_at(zone, probe, following)
            local = instant.astimezone(zone)
            found.append((instant, before, after, local.tzname() or str(after),
                          bool(local.dst())))
        probe, before = following, after
    return found


@lru_cache(maxsize=64)
def vtimezone(name: str) -> icalendar.Timezone:
    """The VTIMEZONE of the IANA zone ``name`` (cached: the zone data is fixed per process)."""
    zone = ZoneInfo(name)
    first, initial = _FIRST.astimezone(zone), _offset(zone, _FIRST)
    groups: dict[tuple[timedelta, timedelta, str, bool], list[datetime]] = {
        (initial, initial, first.tzname() or name, bool(first.dst())):
            [_FIRST.replace(tzinfo=None)]}
    for instant, before, after, tzname, dst in _changes(zone):
        onset = (instant + before).replace(tzinfo=None)  # local time before the change
        groups.setdefault((before, after, tzname, dst), []).append(onset)
    component = icalendar.Timezone()
    component.add("TZID", name)
    for (before, after, tzname, dst), onsets in groups.items():
        part = icalendar.TimezoneDaylight() if dst else icalendar.TimezoneStandard()
        part.add("DTSTART", onsets[0])
        if onsets[1:]:
            part.add("RDATE", onsets[1:])
        part.add("TZOFFSETFROM", before)
        part.add("TZOFFSETTO", after)
        part.add("TZNAME", tzname)
        component.add_component(part)
    return component
