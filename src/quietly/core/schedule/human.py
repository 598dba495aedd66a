"""The schedule in words, for lists, previews and the status page.

One wording everywhere: ``<when> <time part>[, until …][, N times[, starting …]] (<zone>)``.
The first date is named only where it changes the meaning (with a count); otherwise it is
the window's own field, and every recurring window has one (DESIGN §4a's example omits it).
The time part is ``from 02:00 to 04:00``, ``from 22:00 to 06:00 (next day)`` for overnight
windows, or ``at 02:00 for 2 hours`` with a duration. Anything we cannot phrase well falls
back to the RRULE itself (``RRULE FREQ=YEARLY;BYWEEKNO=1``), never to something wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from cronsim import CronSim, CronSimError
from dateutil import rrule as du

from quietly.core.errors import ScheduleError
from quietly.core.model import (
    CronRule,
    OnceSchedule,
    RecurringSchedule,
    RRuleRule,
    Schedule,
    SimpleRule,
)
from quietly.core.schedule.rules import (
    DAY_CODES,
    DAY_NAMES,
    ParsedRule,
    normalize_cron,
    parse_rrule,
    weekday_of_month_code,
)
from quietly.core.timeutil import get_zone

__all__ = ["format_duration", "human_schedule", "human_schedule_short"]

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_NTH = ("first", "second", "third", "fourth", "fifth")


def human_schedule(schedule: Schedule) -> str:
    """Describe ``schedule`` in words, ending with its zone in parentheses.

    ``Every Tuesday and Thursday from 02:00 to 03:00 (Europe/Berlin)``.
    A one-time window is shown in its zone, or in UTC when it has none.
    """
    if isinstance(schedule, OnceSchedule):
        return f"{_once(schedule)} ({schedule.timezone or 'UTC'})"
    return f"{_recurring(schedule)}{_limits(schedule)} ({schedule.timezone})"


def human_schedule_short(schedule: Schedule) -> str:
    """Describe the rule and its times only: no first/last date, count or zone.

    Oh Dear's style, exactly ``Every Tuesday and Thursday from 02:00 to 03:00``.
    """
    if isinstance(schedule, OnceSchedule):
        return _once(schedule)
    return _recurring(schedule)


def _recurring(schedule: RecurringSchedule) -> str:
    rule = schedule.rule
    if isinstance(rule, CronRule):
        return _cron(rule.cron, schedule.duration)
    if isinstance(rule, SimpleRule):
        return f"{_simple(rule)} {_time_part(schedule)}"
    when, limits = _rrule(rule, schedule.timezone)
    return f"{when} {_time_part(schedule)}{limits}"


def _limits(schedule: RecurringSchedule) -> str:
    text = ""
    if schedule.until is not None:
        text += f", until {schedule.until.isoformat()}"
    if schedule.count is not None:
        text += f", {schedule.count} time{'s' if schedule.count != 1 else ''}"
        if schedule.starts_on is not None:
            text += f", starting {schedule.starts_on.isoformat()}"
    return text


def _clock(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def format_duration(value: timedelta) -> str:
    """Return ``2 hours``, ``1 hour 30 minutes``, ``1 day 2 hours``, ``45 seconds``."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount} {unit}{'s' if amount != 1 else ''}")
    return " ".join(parts) or "0 seconds"


def _time_part(schedule: RecurringSchedule) -> str:
    start = schedule.start_time
    if start is None:
        return ""
    if schedule.duration is not None:
        return f"at {_clock(start)} for {format_duration(schedule.duration)}"
    end = schedule.end_time
    if end is None:
        return f"at {_clock(start)}"
    overnight = " (next day)" if end <= start else ""
    return f"from {_clock(start)} to {_clock(end)}{overnight}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def ordinal(n: int) -> str:
    """Return ``1st``, ``2nd``, ``3rd``, ``11th``, ``22nd``, ``31st``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _nth_word(n: int) -> str:
    """Return ``second`` for 2, ``last`` for -1, ``second-to-last`` for -2."""
    if n > 0:
        return _NTH[n - 1] if n <= len(_NTH) else ordinal(n)
    return "last" if n == -1 else f"{_nth_word(-n)}-to-last"


def _month_day(day: int) -> str:
    """Return ``the 15th`` or ``the last day`` / ``the 2nd-to-last day``."""
    if day > 0:
        return f"the {ordinal(day)}"
    return "the last day" if day == -1 else f"the {ordinal(-day)}-to-last day"


def _simple(rule: SimpleRule) -> str:
    if rule.every == "daily":
        return "Every day"
    if rule.every == "weekly":
        days = sorted({DAY_NAMES.index(d.lower()) for d in rule.days_of_week})
        return "Every " + _join([_WEEKDAYS[d] for d in days])
    if rule.weekday_of_month is not None:
        code = weekday_of_month_code(rule.weekday_of_month)
        nth, day = int(code[:-2]), DAY_CODES.index(code[-2:])
        return f"On the {_nth_word(nth)} {_WEEKDAYS[day]} of every month"
    day = rule.day_of_month or 1
    text = f"On {_month_day(day)} of every month"
    if abs(day) <= 28:
        return text
    if rule.short_month == "skip":
        return text + " (skipped in shorter months)"
    return text + (" (or the month's last day)" if day > 0 else " (or the month's first day)")


def _cron(expr: str, duration: timedelta | None) -> str:
    text = f"Cron '{' '.join(expr.split())}'"
    try:
        explained = CronSim(normalize_cron(expr), datetime(2000, 1, 1, tzinfo=UTC)).explain()
        text += f" ({explained})"
    except (CronSimError, ValueError, KeyError, IndexError):
        pass  # the expression itself is still shown; explain() is a nicety
    return text + (f" for {format_duration(duration)}" if duration is not None else "")


def _rrule(rule: RRuleRule, zone: str) -> tuple[str, str]:
    """Return the rule in words and its own UNTIL/COUNT as a suffix (``, 5 times``)."""
    body = ";".join(p.strip() for p in rule.rrule.strip().split(";") if p.strip())
    fallback = (f"RRULE {body}", "")
    try:
        parsed = parse_rrule(rule.rrule, zone)
    except ScheduleError:
        return fallback
    text = _describe(parsed)
    if text is None:
        return fallback
    limits = ""
    if parsed.until is not None:  # UNTIL=…Z is an instant: name its local date
        until = parsed.until
        if until.tzinfo is not None:
            until = until.astimezone(get_zone(zone))
        limits += f", until {until:%Y-%m-%d}"
    if parsed.count is not None:
        limits += f", {parsed.count} time{'s' if parsed.count != 1 else ''}"
    return text, limits


def _every(unit: str, interval: int) -> str:
    return f"every {unit}" if interval == 1 else f"every {interval} {unit}s"


def _weekdays(days: tuple[du.weekday, ...]) -> str | None:
    """Return ``Monday and Friday`` for plain days, ``None`` if any has a number."""
    if any(d.n for d in days):
        return None
    return _join([_WEEKDAYS[d.weekday] for d in sorted(days, key=lambda d: d.weekday)])


def _describe(rule: ParsedRule) -> str | None:
    """Phrase the common RRULE shapes; None sends the caller to the generic fallback."""
    opts = rule.kwargs()
    opts.pop("wkst", None)
    months = opts.pop("bymonth", None)
    if rule.freq == du.DAILY:
        text = _daily(opts, rule.interval)
    elif rule.freq == du.WEEKLY:
        text = _weekly(opts, rule.interval)
    elif rule.freq == du.MONTHLY:
        text = _monthly(opts, rule.interval)
    else:
        return _yearly(opts, months, rule.interval)
    if text is not None and months:
        text += " in " + _join([_MONTHS[m - 1] for m in months])
    return text


def _daily(opts: dict[str, object], interval: int) -> str | None:
    days = opts.pop("byweekday", None)
    if opts:
        return None
    if days is None:
        return _every("day", interval).capitalize()
    names = _weekdays(days)  # type: ignore[arg-type]
    return None if names is None or interval != 1 else f"Every {names}"


def _weekly(opts: dict[str, object], interval: int) -> str | None:
    days = opts.pop("byweekday", None)
    if opts or days is None:
        return None
    names = _weekdays(days)  # type: ignore[arg-type]
    if names is None:
        return None
    return f"Every {names}" if interval == 1 else f"Every {interval} weeks on {names}"


def _monthly(opts: dict[str, object], interval: int) -> str | None:
    period = _every("month", interval)
    days, positions = opts.pop("bymonthday", None), opts.pop("bysetpos", None)
    weekdays = opts.pop("byweekday", None)
    if opts:
        return None
    if days and weekdays is None:
        return _month_days(days, positions, period)  # type: ignore[arg-type]
    if weekdays and days is None and positions is None:
        numbered = [d for d in weekdays if d.n]  # type: ignore[attr-defined]
        if len(numbered) == len(weekdays):  # type: ignore[arg-type]
            names = [f"{_nth_word(d.n)} {_WEEKDAYS[d.weekday]}" for d in numbered]
            return f"On the {_join(names)} of {period}"
    return None


def _month_days(days: tuple[int, ...], positions: tuple[int, ...] | None,
                period: str) -> str | None:
    """Phrase BYMONTHDAY lists, including our clamped ``28,…,d;BYSETPOS=-1`` shape."""
    if positions is None:
        return "On " + _join([_month_day(d) for d in days]) + f" of {period}"
    if positions == (-1,) and days == tuple(range(28, max(days) + 1)) and len(days) > 1:
        return f"On {_month_day(max(days))} of {period} (or the month's last day)"
    if positions == (1,) and days == tuple(range(min(days), -27)) and len(days) > 1:
        return f"On {_month_day(min(days))} of {period} (or the month's first day)"
    return None


def _yearly(opts: dict[str, object], months: object, interval: int) -> str | None:
    period = _every("year", interval)
    if not isinstance(months, tuple) or len(months) != 1:
        return None
    month = _MONTHS[months[0] - 1]
    days, weekdays = opts.pop("bymonthday", None), opts.pop("byweekday", None)
    if opts:
        return None
    if isinstance(days, tuple) and weekdays is None:
        return f"{period.capitalize()} on {_join([_month_day(d) for d in days])} of {month}"
    if isinstance(weekdays, tuple) and days is None and all(d.n for d in weekdays):
        names = [f"{_nth_word(d.n)} {_WEEKDAYS[d.weekday]}" for d in weekdays]
        return f"{period.capitalize()} on the {_join(names)} of {month}"
    return None


def _once(schedule: OnceSchedule) -> str:
    zone = get_zone(schedule.timezone or "UTC")
    # A naive bound is read in the window's zone (DESIGN §3), never the server's. A UTC
    # bound of a window without a zone is already what it reads in UTC.
    start, end = (v if v.tzinfo is UTC and schedule.timezone is None
                  else v.astimezone(zone) if v.tzinfo else v.replace(tzinfo=zone)
                  for v in (schedule.start, schedule.end))
    start_text = f"{_day(start)} {_wall_clock(start)}"
    same_day = start.date() == end.date()
    end_text = _wall_clock(end) if same_day else f"{_day(end)} {_wall_clock(end)}"
    return f"Once from {start_text} to {end_text}"


def _day(value: datetime) -> str:
    """``f"{value:%Y-%m-%d}"`` without strftime (which leaves a year below 1000 unpadded)."""
    if value.year < 1000:
        return f"{value:%Y-%m-%d}"
    return f"{value.year}-{value.month:02d}-{value.day:02d}"


def _wall_clock(value: datetime) -> str:
    """``_clock(value.time())`` without strftime."""
    if value.second:
        return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    return f"{value.hour:02d}:{value.minute:02d}"
