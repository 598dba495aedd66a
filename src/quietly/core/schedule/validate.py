"""Reject schedules that cannot be evaluated, naming the field and the rule broken."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from cronsim import CronSim, CronSimError
from dateutil import rrule as du

from quietly.core.errors import ScheduleError, ValidationError
from quietly.core.model import (
    CronRule,
    OnceSchedule,
    RecurringSchedule,
    RRuleRule,
    Schedule,
    SimpleRule,
)
from quietly.core.schedule.compiled import (
    dtstart_of,
    end_rule,
    parsed_rule,
    rrule_limits,
)
from quietly.core.schedule.rules import (
    DAY_NAMES,
    MAX_COUNT,
    ParsedRule,
    normalize_cron,
    weekday_of_month_code,
)
from quietly.core.schedule.sources import explicit_defaults, period_start, within
from quietly.core.timeutil import ensure_utc, get_zone, to_utc

__all__ = ["HORIZON_YEARS", "MAX_DURATION", "validate"]

MAX_DURATION = timedelta(days=366)
HORIZON_YEARS = 10  # a rule must fire within this many years of its first date
_INSTANCE_CAP = 5_000  # rule instances looked at while searching the horizon


def _err(field: str, message: str) -> ScheduleError:
    return ScheduleError(message, field=f"schedule.{field}")


def validate(schedule: Schedule) -> None:
    """Raise ``ScheduleError`` naming the field if ``schedule`` cannot be evaluated.

    Checks the zone, the rule's syntax and form, the end (end_time or duration), the limits
    (starts_on, until, count), and that the rule yields at least one occurrence of positive
    length — searched over a bounded horizon, so impossible rules fail fast.
    """
    if isinstance(schedule, OnceSchedule):
        _validate_once(schedule)
        return
    get_zone(schedule.timezone)
    if isinstance(schedule.rule, CronRule):
        _validate_cron_form(schedule)
    else:
        _validate_time_form(schedule)
        if isinstance(schedule.rule, SimpleRule):
            _validate_simple(schedule.rule)
    _validate_limits(schedule)
    if isinstance(schedule.rule, CronRule):
        _check_cron_fires(schedule)
    else:
        _check_rrule_fires(schedule)


def _validate_once(schedule: OnceSchedule) -> None:
    if schedule.timezone is not None:
        get_zone(schedule.timezone)
    try:
        start = ensure_utc(schedule.start, "schedule.start")
        end = ensure_utc(schedule.end, "schedule.end")
    except ValidationError as exc:
        raise ScheduleError(exc.message, field=exc.field) from exc
    if end <= start:
        raise _err("end", "must be after start")


def _validate_cron_form(schedule: RecurringSchedule) -> None:
    assert isinstance(schedule.rule, CronRule)
    text = schedule.rule.cron.strip()
    if text.lower() == "@reboot":
        raise _err("cron", "@reboot has no start times; give a schedule such as '0 2 * * 0'")
    expr = normalize_cron(text)
    if len(expr.split()) != 5:
        raise _err("cron", f"{text!r} must have five fields: minute hour day-of-month month "
                           "day-of-week (or a macro such as @daily)")
    try:
        CronSim(expr, datetime(2000, 1, 1, tzinfo=get_zone(schedule.timezone)))
    except CronSimError as exc:
        raise _err("cron", f"invalid cron expression {text!r}: {exc}. For anything beyond "
                           "cron's simple cases prefer an RRULE") from exc
    if schedule.start_time is not None:
        raise _err("start_time", "must be empty for cron: the cron expression gives the starts")
    if schedule.end_time is not None:
        raise _err("end_time", "cannot be used with cron: give a duration instead")
    if schedule.duration is None:
        raise _err("duration", "is required with cron (the cron gives only start instants)")
    _validate_duration(schedule.duration)


def _validate_time_form(schedule: RecurringSchedule) -> None:
    if schedule.start_time is None:
        raise _err("start_time", "is required (the local time occurrences start)")
    if schedule.end_time is not None and schedule.duration is not None:
        raise _err("duration", "give either end_time or duration, not both")
    if schedule.end_time is None and schedule.duration is None:
        raise _err("end_time", "give either end_time or duration")
    if schedule.duration is not None:
        _validate_duration(schedule.duration)


def _validate_duration(duration: timedelta) -> None:
    if duration <= timedelta(0):
        raise _err("duration", "must be positive")
    if duration > MAX_DURATION:
        raise _err("duration", f"must be at most {MAX_DURATION.days} days")


def _validate_simple(rule: SimpleRule) -> None:
    if rule.every not in ("daily", "weekly", "monthly"):
        raise _err("every", "must be daily, weekly or monthly")
    if rule.every == "weekly":
        if not rule.days_of_week:
            raise _err("days_of_week", "weekly needs at least one day (mon…sun)")
        bad = [d for d in rule.days_of_week if not isinstance(d, str) or d.lower() not in DAY_NAMES]
        if bad:
            raise _err("days_of_week", f"{bad[0]!r} is not one of mon, tue, wed, thu, fri, "
                                       "sat, sun")
    elif rule.days_of_week:
        raise _err("days_of_week", "is only for every=weekly")
    if rule.every != "monthly":
        if rule.day_of_month is not None:
            raise _err("day_of_month", "is only for every=monthly")
        if rule.weekday_of_month is not None:
            raise _err("weekday_of_month", "is only for every=monthly")
        return
    _validate_monthly(rule)


def _validate_monthly(rule: SimpleRule) -> None:
    if (rule.day_of_month is None) == (rule.weekday_of_month is None):
        raise _err("day_of_month", "monthly needs exactly one of day_of_month and "
                                   "weekday_of_month")
    if rule.short_month not in ("last_day", "skip"):
        raise _err("short_month", "must be last_day or skip")
    if rule.weekday_of_month is not None:
        weekday_of_month_code(rule.weekday_of_month)
        return
    day = rule.day_of_month
    if isinstance(day, bool) or not isinstance(day, int) or day == 0 or not -31 <= day <= 31:
        raise _err("day_of_month", "must be 1…31, or -31…-1 to count from the month's end")


def _validate_limits(schedule: RecurringSchedule) -> None:
    count = schedule.count
    if count is not None and (isinstance(count, bool) or not 1 <= count <= MAX_COUNT):
        raise _err("count", f"must be between 1 and {MAX_COUNT}")
    if (schedule.until is not None and schedule.starts_on is not None
            and schedule.until < schedule.starts_on):
        raise _err("until", "must not be before starts_on")
    if not isinstance(schedule.rule, CronRule) and count is not None and schedule.until:
        # RFC 5545 forbids COUNT with UNTIL, and rrule_body() must stay a valid RRULE.
        raise _err("count", "count and until cannot both be set (RFC 5545): give one")
    if isinstance(schedule.rule, CronRule):
        if count is not None and schedule.starts_on is None:
            raise _err("starts_on", "is required with count (the count starts there)")
        return
    if isinstance(schedule.rule, RRuleRule):
        _validate_rule_limits(schedule, parsed_rule(schedule))


def _validate_rule_limits(schedule: RecurringSchedule, parsed: ParsedRule) -> None:
    """Refuse a schedule-level ``count``/``until`` next to the RRULE's own COUNT/UNTIL.

    Expansion would silently go by the rule's COUNT (and the earlier UNTIL), and the RRULE
    exported (``rrule_body``) can carry only one limit (RFC 5545), so the caller must choose.
    """
    own = "COUNT" if parsed.count is not None else "UNTIL" if parsed.until is not None else None
    if own is None:
        return
    for name in ("count", "until"):
        if getattr(schedule, name) is not None:
            raise _err(name, f"the rrule already has {own}; use either the rrule's {own} or "
                             f"schedule.{name}, not both")


def _check_cron_fires(schedule: RecurringSchedule) -> None:
    assert isinstance(schedule.rule, CronRule)
    zone = get_zone(schedule.timezone)
    first_day = schedule.starts_on or date(2000, 1, 1)
    begin = to_utc(datetime.combine(first_day, time()), zone) - timedelta(seconds=1)
    # cronsim gives up after 50 years without a match: bounded.
    first = next(CronSim(normalize_cron(schedule.rule.cron), begin.astimezone(zone)), None)
    if first is None:
        raise _err("cron", "the cron expression never fires")
    if schedule.until is not None and first.date() > schedule.until:
        raise _err("until", f"no start between starts_on and until (the first is "
                            f"{first:%Y-%m-%d %H:%M})")


def _late_twin_year(year: int, span: int) -> int:
    """Return a year near 9999 whose next ``span`` calendars equal those from ``year`` on.

    dateutil scans to year 9999 when a rule has no further instance, even with UNTIL. Moving
    the search next to 9999 bounds that scan. Outside non-leap century years, calendars repeat
    every 28 years, so a twin in 9962…9989 exists; otherwise the 400-year cycle is used.
    """
    last = 9999 - span
    years = range(year, year + span + 1)
    if year >= last - 27:
        return year
    if any(y % 100 == 0 and y % 400 != 0 for y in years):
        return year + (last - year) // 400 * 400
    weekday = calendar.weekday(year, 1, 1)
    return next(y for y in range(last - 27, last + 1)
                if y % 4 == year % 4 and calendar.weekday(y, 1, 1) == weekday)


def _first_instances(parsed: ParsedRule, dtstart: datetime) -> Iterator[datetime]:
    """Yield the rule's instances within HORIZON_YEARS of ``dtstart`` (capped), ignoring limits."""
    twin = _late_twin_year(dtstart.year, HORIZON_YEARS)
    shift = twin - dtstart.year
    twin_start = dtstart.replace(year=twin)
    # From the start of DTSTART's interval, as the expansion does (sources.period_start).
    anchor = twin_start - (dtstart - period_start(parsed, dtstart))
    rule = du.rrule(parsed.freq, dtstart=anchor, interval=parsed.interval,
                    cache=False, **explicit_defaults(parsed, dtstart))
    seen = 0
    for instance in rule:
        if instance.year - shift > dtstart.year + HORIZON_YEARS or seen >= _INSTANCE_CAP:
            return
        if instance >= twin_start:
            seen += 1
            yield instance.replace(year=instance.year - shift)


def _first_occurrence(schedule: RecurringSchedule, dtstart: datetime,
                      parsed: ParsedRule) -> tuple[int, datetime] | None:
    """Return (instance index, local start) of the first non-collapsed occurrence, or None.

    Raises when the rule has no instance at all within the horizon.
    """
    field = "rrule" if isinstance(schedule.rule, RRuleRule) else "every"
    zone = get_zone(schedule.timezone)
    make = end_rule(schedule, zone)
    seen = -1
    try:
        for seen, local in enumerate(_first_instances(parsed, dtstart)):
            if make((to_utc(local, zone), local)) is not None:
                return seen, local
    except ValueError as exc:  # dateutil refuses the combination (e.g. BYSETPOS range)
        raise _err(field, f"the rule cannot be used: {exc}") from exc
    if seen < 0:
        raise _err(field, f"the rule has no occurrence within {HORIZON_YEARS} years of its "
                          f"first date {dtstart:%Y-%m-%d}")
    return None


def _check_rrule_fires(schedule: RecurringSchedule) -> None:
    parsed = parsed_rule(schedule)
    first = _first_occurrence(schedule, dtstart_of(schedule), parsed)
    if first is None:
        raise _err("end_time", "every occurrence collapses to zero length (the end falls "
                               "at or before the start on the wall clock of the zone)")
    index, local = first
    until, count = rrule_limits(schedule, parsed)
    by_count = count is not None and index >= count
    zone = get_zone(schedule.timezone)
    if by_count or not within((to_utc(local, zone), local), until):
        limit = "count" if by_count else "until"
        if getattr(schedule, limit) is None:
            limit = "rrule"  # the limit is the body's own COUNT/UNTIL
        raise _err(limit, f"the rule ends before its first occurrence ({local:%Y-%m-%d %H:%M})")
