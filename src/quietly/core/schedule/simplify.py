"""The same recurring schedule in a plainer form, for APIs that only speak plain forms.

``as_simple`` reads an RRULE that says no more than a simple form (``FREQ=DAILY``,
``FREQ=WEEKLY;BYDAY=SU,WE``, ``FREQ=MONTHLY;BYMONTHDAY=15``) as that simple form, so vendor
APIs that know "daily / weekly / monthly at HH:MM" can list a native RRULE window. ``as_cron``
writes a simple form as a 5-field cron when cron means exactly the same starts. Both answer
None rather than approximate: an interval, ordinals, ``BYSETPOS``, limits they cannot carry.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from quietly.core.model import RecurringSchedule, RRuleRule, SimpleRule
from quietly.core.timeutil import get_zone

__all__ = ["as_cron", "as_simple"]

_DAYS = {"MO": "mon", "TU": "tue", "WE": "wed", "TH": "thu", "FR": "fri", "SA": "sat",
         "SU": "sun"}
_CRON_DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


def _parts(body: str) -> dict[str, str] | None:
    parts: dict[str, str] = {}
    for item in body.strip().upper().split(";"):
        key, sep, value = item.partition("=")
        if not sep or key in parts:
            return None
        parts[key] = value
    parts.pop("WKST", None)  # the week start changes nothing without an interval
    if parts.pop("INTERVAL", "1") != "1":
        return None
    return parts


def _simple_rule(body: str) -> SimpleRule | None:
    parts = _parts(body)
    if parts is None:
        return None
    freq = parts.pop("FREQ", "")
    if freq == "DAILY" and not parts:
        return SimpleRule("daily")
    if freq == "WEEKLY" and set(parts) <= {"BYDAY"}:
        days = parts.get("BYDAY", "").split(",")
        if not all(d in _DAYS for d in days):
            return None  # ordinals such as 2TU belong to MONTHLY; none here means DTSTART's
        return SimpleRule("weekly", days_of_week=tuple(_DAYS[d] for d in days))
    if freq == "MONTHLY" and set(parts) == {"BYMONTHDAY"}:
        try:
            day = int(parts["BYMONTHDAY"])
        except ValueError:
            return None
        # RFC 5545 skips months without that day: the simple form's "skip".
        return SimpleRule("monthly", day_of_month=day, short_month="skip")
    return None


def as_simple(sched: RecurringSchedule) -> RecurringSchedule | None:
    """``sched`` with a ``SimpleRule`` when its rule says no more than one; else None."""
    if isinstance(sched.rule, SimpleRule):
        return sched
    if not isinstance(sched.rule, RRuleRule) or sched.start_time is None:
        return None
    rule = _simple_rule(sched.rule.rrule)
    return None if rule is None else replace(sched, rule=rule)


@lru_cache(maxsize=1024)
def _ever_skipped(zone: str, clock: time) -> bool:
    """Whether a daylight-saving change of ``zone`` (2000-2059) skips the wall time ``clock``.

    There cron and the native rule part: cron starts at the first instant after the gap, the
    native rule at ``clock`` read with the offset before it (DESIGN §3).
    """
    tz = get_zone(zone)
    day = date(2000, 1, 1)
    while day.year < 2060:
        first = datetime.combine(day, time(0), tz)
        if first.utcoffset() != datetime.combine(day, time(23, 59), tz).utcoffset():
            wall = datetime.combine(day, clock, tz)
            if wall.astimezone(UTC).astimezone(tz).time() != clock:
                return True
        day += timedelta(days=1)
    return False


def as_cron(sched: RecurringSchedule) -> str | None:
    """A cron giving exactly the starts of ``sched`` (a simple form), or None — also when a
    daylight-saving change skips its start time, where cron would start elsewhere."""
    simple = as_simple(sched)
    if simple is None or simple.start_time is None or simple.count or simple.until:
        return None
    if _ever_skipped(simple.timezone, simple.start_time):
        return None
    rule = simple.rule
    assert isinstance(rule, SimpleRule)
    clock = f"{simple.start_time.minute} {simple.start_time.hour}"
    if rule.every == "daily":
        return f"{clock} * * *"
    if rule.every == "weekly" and rule.days_of_week:
        days = ",".join(str(d) for d in sorted(_CRON_DAYS[x] for x in rule.days_of_week))
        return f"{clock} * * {days}"
    day = rule.day_of_month
    if rule.every != "monthly" or day is None or rule.weekday_of_month:
        return None
    # Cron skips the months without that day: the same as "skip", and as "last_day" for days
    # every month has.
    if 1 <= day <= 28 or (day <= 31 and rule.short_month == "skip"):
        return f"{clock} {day} * *"
    return None

