"""validate(): every bad schedule is rejected naming the field; impossible rules fail fast."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from quietly.core.errors import ScheduleError
from quietly.core.model import (
    CronRule,
    OnceSchedule,
    RecurringSchedule,
    RRuleRule,
    Schedule,
    SimpleRule,
)
from quietly.core.schedule import compile_schedule, validate

HOUR = timedelta(hours=1)


def rec(rule: object = None, **kw: object) -> RecurringSchedule:
    base: dict[str, object] = {"timezone": "Europe/Berlin",
                               "rule": rule or SimpleRule("weekly", ("sun",)),
                               "start_time": time(2), "end_time": time(4),
                               "starts_on": date(2026, 1, 4)}
    return RecurringSchedule(**(base | kw))  # type: ignore[arg-type]


def rr(body: str, **kw: object) -> RecurringSchedule:
    return rec(RRuleRule(body), **kw)


def cron(expr: str, **kw: object) -> RecurringSchedule:
    base: dict[str, object] = {"start_time": None, "end_time": None, "duration": HOUR}
    return rec(CronRule(expr), **(base | kw))


def monthly(**kw: object) -> SimpleRule:
    return SimpleRule("monthly", **kw)  # type: ignore[arg-type]


T0 = datetime(2026, 3, 15, 1, tzinfo=UTC)
BAD = [
    # (what must be rejected, schedule, field named)
    ("unknown zone", rec(timezone="Europe/Atlantis"), "schedule.timezone"),
    ("localtime zone", rec(timezone="localtime"), "schedule.timezone"),
    ("once ending at its start", OnceSchedule(T0, T0), "schedule.end"),
    ("once ending before its start", OnceSchedule(T0, T0 - HOUR), "schedule.end"),
    ("once with a naive start", OnceSchedule(datetime(2026, 1, 1), T0), "schedule.start"),
    ("once with a bad zone", OnceSchedule(T0, T0 + HOUR, "Nowhere/Land"), "schedule.timezone"),
    ("rrule that does not parse", rr("FREQ=WEEKLY;BYDAY=XX"), "schedule.rrule"),
    ("rrule without FREQ", rr("BYDAY=MO"), "schedule.rrule"),
    ("rrule with garbage", rr("this is not a rule"), "schedule.rrule"),
    ("rrule empty", rr("   "), "schedule.rrule"),
    ("rrule with an unknown part", rr("FREQ=DAILY;FOO=1"), "schedule.rrule"),
    ("rrule given a part twice", rr("FREQ=DAILY;FREQ=WEEKLY"), "schedule.rrule"),
    ("HOURLY: use cron", rr("FREQ=HOURLY"), "schedule.rrule"),
    ("MINUTELY: use cron", rr("FREQ=MINUTELY"), "schedule.rrule"),
    ("SECONDLY: use cron", rr("FREQ=SECONDLY"), "schedule.rrule"),
    ("BYHOUR: use start_time", rr("FREQ=DAILY;BYHOUR=3"), "schedule.rrule"),
    ("BYMINUTE: use start_time", rr("FREQ=DAILY;BYMINUTE=3"), "schedule.rrule"),
    ("BYSECOND: use start_time", rr("FREQ=DAILY;BYSECOND=3"), "schedule.rrule"),
    ("DTSTART in the body", rr("DTSTART:20260101T000000\nRRULE:FREQ=DAILY"), "schedule.rrule"),
    ("BYMONTHDAY=0", rr("FREQ=MONTHLY;BYMONTHDAY=0"), "schedule.rrule"),
    ("BYMONTH=13", rr("FREQ=YEARLY;BYMONTH=13"), "schedule.rrule"),
    ("INTERVAL=0", rr("FREQ=DAILY;INTERVAL=0"), "schedule.rrule"),
    ("numbered BYDAY with WEEKLY", rr("FREQ=WEEKLY;BYDAY=2TU"), "schedule.rrule"),
    ("COUNT and UNTIL together", rr("FREQ=DAILY;COUNT=2;UNTIL=20270101"), "schedule.rrule"),
    ("COUNT in the body and count", rr("FREQ=DAILY;COUNT=2", count=3), "schedule.count"),
    ("UNTIL in the body and until", rr("FREQ=DAILY;UNTIL=20270101", until=date(2027, 1, 1)),
     "schedule.until"),
    ("COUNT in the body and until", rr("FREQ=DAILY;COUNT=2", until=date(2027, 1, 1)),
     "schedule.until"),
    ("UNTIL in the body and count", rr("FREQ=DAILY;UNTIL=20270101", count=3), "schedule.count"),
    ("lower-case count in the body and count", rr("freq=daily;count=2", count=2),
     "schedule.count"),
    ("Feb 31 can never fire", rr("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31"), "schedule.rrule"),
    ("Apr 31 can never fire", rr("FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31"), "schedule.rrule"),
    ("daily Feb 30 can never fire", rr("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"), "schedule.rrule"),
    ("week 1 in June can never fire", rr("FREQ=YEARLY;BYWEEKNO=1;BYMONTH=6;BYDAY=MO"),
     "schedule.rrule"),
    ("BYSETPOS beyond the set never fires", rr("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6"),
     "schedule.rrule"),
    ("every occurrence collapses (last Sunday of March 02:00-03:00 in Berlin)",
     rr("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", start_time=time(2), end_time=time(3)),
     "schedule.end_time"),
    ("until before the first occurrence", rr("FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=1",
                                             until=date(2026, 3, 1)), "schedule.until"),
    ("until before starts_on", rec(until=date(2025, 1, 1)), "schedule.until"),
    ("count zero", rec(count=0), "schedule.count"),
    ("count and until together (RFC 5545)", rec(count=3, until=date(2027, 1, 1)),
     "schedule.count"),
    ("count negative", rec(count=-5), "schedule.count"),
    ("count unbounded", rec(count=10**9), "schedule.count"),
    ("cron that cronsim rejects", cron("61 * * * *"), "schedule.cron"),
    ("cron with six fields", cron("0 0 2 * * *"), "schedule.cron"),
    ("cron @reboot", cron("@reboot"), "schedule.cron"),
    ("cron Feb 30", cron("0 0 30 2 *"), "schedule.cron"),
    ("cron without duration", cron("0 2 * * *", duration=None), "schedule.duration"),
    ("cron with start_time", cron("0 2 * * *", start_time=time(2)), "schedule.start_time"),
    ("cron with end_time", cron("0 2 * * *", end_time=time(3)), "schedule.end_time"),
    ("cron count without starts_on", cron("0 2 * * *", starts_on=None, count=3),
     "schedule.starts_on"),
    ("cron until before its first start", cron("0 2 1 6 *", until=date(2026, 2, 1)),
     "schedule.until"),
    ("no start_time", rec(start_time=None), "schedule.start_time"),
    ("both end_time and duration", rec(duration=HOUR), "schedule.duration"),
    ("neither end_time nor duration", rec(end_time=None), "schedule.end_time"),
    ("zero duration", rec(end_time=None, duration=timedelta(0)), "schedule.duration"),
    ("negative duration", rec(end_time=None, duration=-HOUR), "schedule.duration"),
    ("duration over 366 days", rec(end_time=None, duration=timedelta(days=367)),
     "schedule.duration"),
    ("weekly without days", rec(SimpleRule("weekly")), "schedule.days_of_week"),
    ("weekly with a bad day", rec(SimpleRule("weekly", ("mon", "funday"))),
     "schedule.days_of_week"),
    ("daily with days", rec(SimpleRule("daily", ("mon",))), "schedule.days_of_week"),
    ("monthly with days", rec(SimpleRule("monthly", ("mon",), day_of_month=1)),
     "schedule.days_of_week"),
    ("weekly with day_of_month", rec(SimpleRule("weekly", ("mon",), day_of_month=1)),
     "schedule.day_of_month"),
    ("daily with weekday_of_month", rec(SimpleRule("daily", weekday_of_month="2TU")),
     "schedule.weekday_of_month"),
    ("monthly with neither", rec(monthly()), "schedule.day_of_month"),
    ("monthly with both", rec(monthly(day_of_month=1, weekday_of_month="2TU")),
     "schedule.day_of_month"),
    ("day_of_month 0", rec(monthly(day_of_month=0)), "schedule.day_of_month"),
    ("day_of_month 32", rec(monthly(day_of_month=32)), "schedule.day_of_month"),
    ("day_of_month -32", rec(monthly(day_of_month=-32)), "schedule.day_of_month"),
    ("weekday_of_month 6TU", rec(monthly(weekday_of_month="6TU")), "schedule.weekday_of_month"),
    ("weekday_of_month 0TU", rec(monthly(weekday_of_month="0TU")), "schedule.weekday_of_month"),
    ("weekday_of_month without a number", rec(monthly(weekday_of_month="TU")),
     "schedule.weekday_of_month"),
    ("short_month unknown", rec(monthly(day_of_month=31, short_month="clamp")),
     "schedule.short_month"),
    ("every unknown", rec(SimpleRule("hourly")), "schedule.every"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("case", "schedule", "field"), BAD, ids=[c[0] for c in BAD])
def test_rejected(case: str, schedule: Schedule, field: str) -> None:
    with pytest.raises(ScheduleError) as info:
        validate(schedule)
    assert info.value.field == field


GOOD = [
    ("weekly", rec()),
    ("overnight", rec(start_time=time(22), end_time=time(6))),
    ("end equal to start is 24 h", rec(end_time=time(2))),
    ("monthly 31 last_day", rec(monthly(day_of_month=31))),
    ("monthly -1", rec(monthly(day_of_month=-1))),
    ("lower-case weekday_of_month", rec(monthly(weekday_of_month="-1fr"))),
    ("upper-case day names", rec(SimpleRule("weekly", ("MON", "Fri")))),
    ("Feb 29 fires in leap years", rr("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29")),
    ("Friday the 13th", rr("FREQ=MONTHLY;BYMONTHDAY=13;BYDAY=FR")),
    ("rrule with RRULE: prefix", rr("RRULE:FREQ=WEEKLY;BYDAY=SU")),
    ("lower-case rrule", rr("freq=weekly;byday=su")),
    ("UNTIL in UTC", rr("FREQ=DAILY;UNTIL=20270101T000000Z")),
    ("a recurring rule whose first occurrence is in the past", rec(starts_on=date(2001, 1, 1))),
    ("a starts_on before a non-leap century", rec(starts_on=date(2095, 1, 1))),
    ("cron macro", cron("@daily")),
    ("cron with L", cron("0 2 L * *")),
    ("cron without starts_on", cron("0 2 * * 0", starts_on=None)),
    ("duration of 366 days", rec(end_time=None, duration=timedelta(days=366))),
    ("once", OnceSchedule(T0, T0 + HOUR, "Europe/Berlin")),
    ("no starts_on: anchored at 2000-01-01", rec(starts_on=None)),
]


@pytest.mark.parametrize(("case", "schedule"), GOOD, ids=[c[0] for c in GOOD])
def test_accepted(case: str, schedule: Schedule) -> None:
    assert validate(schedule) is None  # type: ignore[func-returns-value]


def test_messages_name_the_rule() -> None:
    with pytest.raises(ScheduleError, match="use cron for sub-daily starts"):
        validate(rr("FREQ=HOURLY"))


def test_byhour_message_points_to_start_time() -> None:
    with pytest.raises(ScheduleError, match="start_time"):
        validate(rr("FREQ=DAILY;BYHOUR=2"))


def test_impossible_daily_rule_is_rejected_by_compile() -> None:
    # A daily impossible rule is the slowest case for dateutil (it scans to year 9999).
    with pytest.raises(ScheduleError, match="no occurrence within 10 years"):
        compile_schedule(rr("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31"))


RULE_LIMIT_CLASHES = [
    # (the rule's own limit, the schedule-level field, its value)
    ("COUNT=5", "count", 3),
    ("COUNT=5", "until", date(2027, 1, 1)),
    ("UNTIL=20270301", "count", 3),
    ("UNTIL=20270301", "until", date(2027, 1, 1)),
    ("UNTIL=20270301T020000Z", "until", date(2027, 6, 1)),
]


@pytest.mark.parametrize(("limit", "name", "value"), RULE_LIMIT_CLASHES,
                         ids=[f"{c[0]} with {c[1]}" for c in RULE_LIMIT_CLASHES])
def test_rule_limit_next_to_a_schedule_limit_says_to_pick_one(
        limit: str, name: str, value: object) -> None:
    with pytest.raises(ScheduleError) as info:
        validate(rr(f"FREQ=DAILY;{limit}", **{name: value}))
    own = limit.partition("=")[0]
    assert info.value.field == f"schedule.{name}"
    assert f"either the rrule's {own} or schedule.{name}, not both" in info.value.message
