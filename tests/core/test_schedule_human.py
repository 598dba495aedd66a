"""human_schedule / human_schedule_short: one consistent wording per form."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from quietly.core.model import (
    CronRule,
    OnceSchedule,
    RecurringSchedule,
    RRuleRule,
    Schedule,
    SimpleRule,
)
from quietly.core.schedule import human_schedule, human_schedule_short

B = "Europe/Berlin"


def rec(rule: object, start: time | None = time(2), end: time | None = time(4),
        **kw: object) -> RecurringSchedule:
    return RecurringSchedule(B, rule, start, end_time=end, **kw)  # type: ignore[arg-type]


def rr(body: str) -> RecurringSchedule:
    return rec(RRuleRule(body))


def monthly(**kw: object) -> RecurringSchedule:
    return rec(SimpleRule("monthly", **kw))  # type: ignore[arg-type]


CASES = [
    (rec(SimpleRule("weekly", ("tue", "thu")), time(2), time(3)),
     "Every Tuesday and Thursday from 02:00 to 03:00 (Europe/Berlin)"),
    (RecurringSchedule("UTC", SimpleRule("daily"), time(22), time(6)),
     "Every day from 22:00 to 06:00 (next day) (UTC)"),
    (rec(SimpleRule("weekly", ("sun",)), end=None, duration=timedelta(hours=2)),
     "Every Sunday at 02:00 for 2 hours (Europe/Berlin)"),
    (rec(SimpleRule("weekly", ("fri", "mon", "wed"))),
     "Every Monday, Wednesday and Friday from 02:00 to 04:00 (Europe/Berlin)"),
    (monthly(day_of_month=31),
     "On the 31st of every month (or the month's last day) from 02:00 to 04:00 (Europe/Berlin)"),
    (monthly(day_of_month=31, short_month="skip"),
     "On the 31st of every month (skipped in shorter months) from 02:00 to 04:00 "
     "(Europe/Berlin)"),
    (monthly(day_of_month=15), "On the 15th of every month from 02:00 to 04:00 (Europe/Berlin)"),
    (monthly(day_of_month=-1), "On the last day of every month from 02:00 to 04:00 "
                               "(Europe/Berlin)"),
    (monthly(day_of_month=-2), "On the 2nd-to-last day of every month from 02:00 to 04:00 "
                               "(Europe/Berlin)"),
    (monthly(weekday_of_month="2TU"),
     "On the second Tuesday of every month from 02:00 to 04:00 (Europe/Berlin)"),
    (monthly(weekday_of_month="-1fr"),
     "On the last Friday of every month from 02:00 to 04:00 (Europe/Berlin)"),
    (rec(CronRule("0 2 * * 0"), None, None, duration=timedelta(minutes=30)),
     "Cron '0 2 * * 0' (At 02:00 on Sunday) for 30 minutes (Europe/Berlin)"),
    (rec(CronRule("@daily"), None, None, duration=timedelta(minutes=90)),
     "Cron '@daily' (At 00:00 every day) for 1 hour 30 minutes (Europe/Berlin)"),
    (rr("FREQ=WEEKLY;BYDAY=SU"), "Every Sunday from 02:00 to 04:00 (Europe/Berlin)"),
    (rr("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR"),
     "Every 2 weeks on Monday and Friday from 02:00 to 04:00 (Europe/Berlin)"),
    (rr("FREQ=DAILY;INTERVAL=3"), "Every 3 days from 02:00 to 04:00 (Europe/Berlin)"),
    (rr("FREQ=DAILY;BYMONTH=7,8"),
     "Every day in July and August from 02:00 to 04:00 (Europe/Berlin)"),
    (rr("FREQ=MONTHLY;BYDAY=2TU"),
     "On the second Tuesday of every month from 02:00 to 04:00 (Europe/Berlin)"),
    (rr("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1,15"),
     "On the 1st and the 15th of every 3 months from 02:00 to 04:00 (Europe/Berlin)"),
    (rr("FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1"),
     "On the 31st of every month (or the month's last day) from 02:00 to 04:00 (Europe/Berlin)"),
    (rr("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"),
     "Every year on the last Sunday of March from 02:00 to 04:00 (Europe/Berlin)"),
    (rr("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24"),
     "Every year on the 24th of December from 02:00 to 04:00 (Europe/Berlin)"),
    (rr("FREQ=WEEKLY;BYDAY=MO;COUNT=5"),
     "Every Monday from 02:00 to 04:00, 5 times (Europe/Berlin)"),
    (rr("FREQ=YEARLY;BYWEEKNO=1"), "RRULE FREQ=YEARLY;BYWEEKNO=1 from 02:00 to 04:00 "
                                   "(Europe/Berlin)"),
    (rr("FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1"),
     "RRULE FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1 from 02:00 to 04:00 (Europe/Berlin)"),
    (rec(SimpleRule("weekly", ("sun",)), starts_on=date(2026, 1, 4), until=date(2026, 12, 31)),
     "Every Sunday from 02:00 to 04:00, until 2026-12-31 (Europe/Berlin)"),
    (rec(SimpleRule("weekly", ("sun",)), starts_on=date(2026, 1, 4), count=10),
     "Every Sunday from 02:00 to 04:00, 10 times, starting 2026-01-04 (Europe/Berlin)"),
    (OnceSchedule(datetime(2026, 3, 15, 1, tzinfo=UTC), datetime(2026, 3, 15, 3, tzinfo=UTC), B),
     "Once from 2026-03-15 02:00 to 04:00 (Europe/Berlin)"),
    (OnceSchedule(datetime(2026, 3, 15, 22, tzinfo=UTC), datetime(2026, 3, 16, 3, tzinfo=UTC)),
     "Once from 2026-03-15 22:00 to 2026-03-16 03:00 (UTC)"),
]


@pytest.mark.parametrize(("schedule", "expected"), CASES, ids=[c[1] for c in CASES])
def test_human_schedule(schedule: Schedule, expected: str) -> None:
    assert human_schedule(schedule) == expected


SHORT_CASES = [
    (rec(SimpleRule("weekly", ("tue", "thu")), time(2), time(3), starts_on=date(2026, 1, 4)),
     "Every Tuesday and Thursday from 02:00 to 03:00"),
    (RecurringSchedule("UTC", SimpleRule("daily"), time(22), time(6)),
     "Every day from 22:00 to 06:00 (next day)"),
    (OnceSchedule(datetime(2026, 3, 15, 1, tzinfo=UTC), datetime(2026, 3, 15, 3, tzinfo=UTC), B),
     "Once from 2026-03-15 02:00 to 04:00"),
]


@pytest.mark.parametrize(("schedule", "expected"), SHORT_CASES,
                         ids=[c[1] for c in SHORT_CASES])
def test_human_schedule_short(schedule: Schedule, expected: str) -> None:
    assert human_schedule_short(schedule) == expected
