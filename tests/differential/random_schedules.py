"""Random recurring windows for the differential tests, from one seeded ``random.Random``.

Start times are drawn in and around the zone's offset changes (gaps and folds, including
Lord Howe's half hour and Casablanca's Ramadan changes) half the time; rules use every BYxxx
part quietly accepts (BYDAY with and without ordinals, BYMONTHDAY, BYMONTH, BYYEARDAY,
BYWEEKNO, BYSETPOS) in the combinations RFC 5545 allows per FREQ, with INTERVAL, WKST, COUNT
and UNTIL (a date, a floating time and a UTC instant); ends are wall-clock times (overnight
when not after the start) or elapsed durations.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from quietly.core.codec import schedule_from_json
from quietly.core.errors import ScheduleError
from quietly.core.model import RecurringSchedule
from quietly.core.schedule import validate

# The zones the issue lists, and a few ordinary ones.
ZONES = ["Australia/Lord_Howe", "Pacific/Chatham", "Asia/Tehran", "Africa/Casablanca",
         "America/Santiago", "America/Sao_Paulo", "Asia/Gaza", "Europe/Berlin",
         "America/New_York", "Australia/Sydney", "America/St_Johns", "Asia/Kolkata", "UTC"]
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
SIMPLE_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@cache
def transitions(zone: str, first: int, last: int) -> tuple[tuple[datetime, int, int], ...]:
    """(UTC instant, offset before, offset after) in seconds, of the zone's changes."""
    tz, found = ZoneInfo(zone), []
    probe = datetime(first, 1, 1, tzinfo=UTC)
    before = probe.astimezone(tz).utcoffset()
    while probe.year <= last:
        nxt = probe + timedelta(hours=12)
        after = nxt.astimezone(tz).utcoffset()
        if after != before:
            lo, hi = probe, nxt
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == before:
                    lo = mid
                else:
                    hi = mid
            assert before is not None
            assert after is not None
            found.append((hi.replace(second=0, microsecond=0), int(before.total_seconds()),
                          int(after.total_seconds())))
        probe, before = nxt, after
    return tuple(found)


def _pick(rng: random.Random, items: tuple[str, ...] | list[str], low: int, high: int) -> str:
    return ",".join(rng.sample(list(items), rng.randint(low, high)))


def _days(rng: random.Random, ordinals: int) -> str:
    """A BYDAY list; entries carry an ordinal (±1…``ordinals``) half the time if allowed."""
    out = []
    for day in rng.sample(DAYS, rng.randint(1, 3)):
        if ordinals and rng.random() < 0.5:
            out.append(f"{rng.choice([1, -1]) * rng.randint(1, ordinals)}{day}")
        else:
            out.append(day)
    return ",".join(out)


def _monthdays(rng: random.Random) -> str:
    return ",".join(str(rng.choice([1, -1]) * rng.randint(1, 31))
                    for _ in range(rng.randint(1, 3)))


def _by_parts(rng: random.Random, freq: str) -> list[str]:
    parts: list[str] = []
    if freq == "DAILY":
        if rng.random() < 0.3:
            parts.append(f"BYDAY={_pick(rng, DAYS, 1, 4)}")
        if rng.random() < 0.2:
            parts.append(f"BYMONTHDAY={_monthdays(rng)}")
    elif freq == "WEEKLY":
        if rng.random() < 0.85:
            parts.append(f"BYDAY={_pick(rng, DAYS, 1, 4)}")
    elif freq == "MONTHLY":
        shape = rng.choice(["day", "monthday", "both", "none"])
        if shape in ("day", "both"):
            parts.append(f"BYDAY={_days(rng, 5 if shape == 'day' else 0)}")
        if shape in ("monthday", "both"):
            parts.append(f"BYMONTHDAY={_monthdays(rng)}")
    else:
        shape = rng.choice(["monthday", "day", "yearday", "weekno", "none"])
        if shape == "monthday":
            parts.append(f"BYMONTHDAY={_monthdays(rng)}")
        elif shape == "day":
            parts.append(f"BYDAY={_days(rng, 5 if rng.random() < 0.7 else 0)}")
        elif shape == "yearday":
            parts.append("BYYEARDAY=" + ",".join(str(rng.choice([1, -1]) * rng.randint(1, 366))
                                                 for _ in range(rng.randint(1, 3))))
        elif shape == "weekno":
            # Weeks 2-50 lie inside their year: libical 3.0 gets the weeks that straddle a
            # year boundary wrong (deviation 8 in libical_expand.py; not worked around).
            parts.append("BYWEEKNO=" + ",".join(str(rng.choice([1, 1, -1]) * rng.randint(2, 50))
                                                for _ in range(rng.randint(1, 2))))
            parts.append(f"BYDAY={_pick(rng, DAYS, 1, 3)}")
        if shape in ("monthday", "day", "none") and rng.random() < 0.6:
            parts.append(f"BYMONTH={','.join(str(m) for m in rng.sample(range(1, 13), 3))}")
    if freq in ("DAILY", "WEEKLY", "MONTHLY") and rng.random() < 0.2:
        parts.append(f"BYMONTH={','.join(str(m) for m in rng.sample(range(1, 13), 6))}")
    if rng.random() < 0.35:
        positions = rng.sample([1, 2, 3, -1, -2], rng.randint(1, 2))
        parts.append(f"BYSETPOS={','.join(map(str, positions))}")
    return parts


def _until(rng: random.Random, first: date, zone: str, start: time) -> str:
    day = first + timedelta(days=rng.randint(10, 400))
    kind = rng.choice(["date", "floating", "utc", "utc"])
    if kind == "date":
        return f"UNTIL={day:%Y%m%d}"
    local = datetime.combine(day, start) + timedelta(minutes=rng.choice([-30, 0, 0, 15, 60]))
    if kind == "floating":
        return f"UNTIL={local:%Y%m%dT%H%M%S}"
    instant = local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    instant += timedelta(minutes=rng.choice([-60, -30, 0, 30, 60]))
    return f"UNTIL={instant:%Y%m%dT%H%M%SZ}"


def rrule(rng: random.Random, first: date, zone: str, start: time) -> str:
    freq = rng.choice(["DAILY", "WEEKLY", "WEEKLY", "MONTHLY", "MONTHLY", "YEARLY"])
    parts = [f"FREQ={freq}", *_by_parts(rng, freq)]
    if rng.random() < 0.4:
        parts.append(f"INTERVAL={rng.randint(2, 4)}")
    if rng.random() < 0.4 and not any(p.startswith("BYWEEKNO") for p in parts):
        parts.append(f"WKST={rng.choice(DAYS)}")  # libical numbers weeks from Monday only
    limit = rng.random()
    if limit < 0.3:
        parts.append(f"COUNT={rng.randint(1, 40)}")
    elif limit < 0.6:
        parts.append(_until(rng, first, zone, start))
    rng.shuffle(parts)
    return ";".join(parts)


def _simple(rng: random.Random) -> dict[str, Any]:
    every = rng.choice(["daily", "weekly", "monthly"])
    if every == "weekly":
        return {"every": "weekly", "days_of_week": rng.sample(SIMPLE_DAYS, rng.randint(1, 3))}
    if every == "monthly" and rng.random() < 0.5:
        return {"every": "monthly", "weekday_of_month": f"{rng.choice([1, 2, -1])}FR"}
    if every == "monthly":
        return {"every": "monthly", "day_of_month": rng.choice([1, 15, 29, 30, 31, -1, -30]),
                "short_month": rng.choice(["last_day", "skip"])}
    return {"every": "daily"}


def _start(rng: random.Random, zone: str, first_year: int,
           last_year: int) -> tuple[date, time]:
    """A first date and start time, in and around an offset change half the time."""
    changes = transitions(zone, first_year, last_year)
    if changes and rng.random() < 0.6:
        instant, before, after = rng.choice(changes)
        edge = instant + timedelta(seconds=rng.choice([before, after]))
        local = edge.replace(tzinfo=None) + timedelta(minutes=rng.choice(
            [-60, -30, -15, 0, 0, 15, 30, 45, 60]))
        first = local.date() - timedelta(days=rng.randint(0, 60))
        return first, local.time()
    first = date(first_year, 1, 1) + timedelta(days=rng.randint(0, 365 * (last_year -
                                                                            first_year)))
    return first, time(rng.randint(0, 23), rng.choice([0, 15, 30, 45]))


def schedule_json(rng: random.Random, zone: str, first_year: int = 2026,
                  last_year: int = 2033) -> dict[str, Any]:
    """One recurring schedule in the native API's shape (may be invalid: validate it)."""
    first, start = _start(rng, zone, first_year, last_year)
    out: dict[str, Any] = {"kind": "recurring", "timezone": zone,
                           "start_time": start.strftime("%H:%M"),
                           "starts_on": first.isoformat()}
    if rng.random() < 0.8:
        out["rrule"] = rrule(rng, first, zone, start)
    else:
        out.update(_simple(rng))
        if rng.random() < 0.3:
            out["count"] = rng.randint(1, 30)
        elif rng.random() < 0.3:
            out["until"] = (first + timedelta(days=rng.randint(10, 300))).isoformat()
    if rng.random() < 0.5:
        end = datetime.combine(first, start) + timedelta(minutes=rng.choice(
            [15, 30, 60, 90, 120, 180, -30, -120, 23 * 60]))
        out["end_time"] = end.strftime("%H:%M")
        if out["end_time"] == out["start_time"]:
            out["end_time"] = (end + timedelta(minutes=1)).strftime("%H:%M")
    else:
        minutes = rng.choice([15, 60, 90, 180, 24 * 60, 25 * 60, 49 * 60])
        out["duration"] = f"PT{minutes}M"
    return out


def valid_schedule(rng: random.Random, zone: str) -> tuple[dict[str, Any], RecurringSchedule]:
    """Draw until quietly accepts one (it rejects rules that never fire, bad combinations)."""
    for _ in range(1000):
        data = schedule_json(rng, zone)
        schedule = schedule_from_json(data)
        assert isinstance(schedule, RecurringSchedule)
        try:
            validate(schedule)
        except ScheduleError:
            continue
        return data, schedule
    raise AssertionError("no valid schedule in 1000 draws")
