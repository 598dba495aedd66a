"""The recurring forms, their limits, and the search functions (next, current, last)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from quietly.core.errors import ValidationError
from quietly.core.model import (
    CronRule,
    Occurrence,
    OnceSchedule,
    RecurringSchedule,
    RRuleRule,
    Schedule,
    SimpleRule,
)
from quietly.core.schedule import (
    compile_schedule,
    current_occurrence,
    last_occurrence_end,
    max_occurrence_length,
    next_occurrence,
    occurrences,
    rrule_body,
)
from quietly.core.timeutil import get_zone

HOUR = timedelta(hours=1)
BERLIN = "Europe/Berlin"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type,misc]


def monthly(day: int | None = None, short: str = "last_day", nth: str | None = None,
            zone: str = BERLIN) -> RecurringSchedule:
    rule = SimpleRule("monthly", day_of_month=day, weekday_of_month=nth,
                      short_month=short)  # type: ignore[arg-type]
    return RecurringSchedule(zone, rule, time(2), duration=HOUR, starts_on=date(2024, 1, 1))


def local_days(schedule: Schedule, year: int, zone: str = BERLIN) -> list[str]:
    """Local start dates of the occurrences starting in ``year`` (as MM-DD)."""
    found = occurrences(schedule, utc(year - 1, 12, 31), utc(year + 1, 1, 2))
    tz = get_zone(zone)
    return [f"{o.start.astimezone(tz):%m-%d}" for o in found
            if o.start.astimezone(tz).year == year]


MONTHLY_CASES = [
    # (what must happen, schedule, year, local start dates)
    ("day 31 with last_day runs on every month's last day", monthly(31), 2025,
     ["01-31", "02-28", "03-31", "04-30", "05-31", "06-30", "07-31", "08-31", "09-30", "10-31",
      "11-30", "12-31"]),
    ("day 31 with last_day runs on Feb 29 in leap 2028", monthly(31), 2028,
     ["01-31", "02-29", "03-31", "04-30", "05-31", "06-30", "07-31", "08-31", "09-30", "10-31",
      "11-30", "12-31"]),
    ("day 31 with skip never runs in Feb, Apr, Jun, Sep, Nov", monthly(31, "skip"), 2025,
     ["01-31", "03-31", "05-31", "07-31", "08-31", "10-31", "12-31"]),
    ("day 30 with last_day: Feb 28 in 2027", monthly(30), 2027,
     ["01-30", "02-28", "03-30", "04-30", "05-30", "06-30", "07-30", "08-30", "09-30", "10-30",
      "11-30", "12-30"]),
    ("day 29 with skip runs in Feb only in leap years (2028)", monthly(29, "skip"), 2028,
     ["01-29", "02-29", "03-29", "04-29", "05-29", "06-29", "07-29", "08-29", "09-29", "10-29",
      "11-29", "12-29"]),
    ("day -1 is the last day (Feb 28 in 2027)", monthly(-1), 2027,
     ["01-31", "02-28", "03-31", "04-30", "05-31", "06-30", "07-31", "08-31", "09-30", "10-31",
      "11-30", "12-31"]),
    ("day -1 is Feb 29 in 2028", monthly(-1), 2028,
     ["01-31", "02-29", "03-31", "04-30", "05-31", "06-30", "07-31", "08-31", "09-30", "10-31",
      "11-30", "12-31"]),
    ("day -31 with last_day clamps to the 1st", monthly(-31), 2025,
     ["01-01", "02-01", "03-01", "04-01", "05-01", "06-01", "07-01", "08-01", "09-01", "10-01",
      "11-01", "12-01"]),
    ("day -30 with skip runs only in months of 30+ days", monthly(-30, "skip"), 2025,
     ["01-02", "03-02", "04-01", "05-02", "06-01", "07-02", "08-02", "09-01", "10-02", "11-01",
      "12-02"]),
    ("2TU is the second Tuesday (Patch Tuesday)", monthly(nth="2TU"), 2026,
     ["01-13", "02-10", "03-10", "04-14", "05-12", "06-09", "07-14", "08-11", "09-08", "10-13",
      "11-10", "12-08"]),
    ("-1FR is the last Friday", monthly(nth="-1fr"), 2026,
     ["01-30", "02-27", "03-27", "04-24", "05-29", "06-26", "07-31", "08-28", "09-25", "10-30",
      "11-27", "12-25"]),
    ("5MO only in months with five Mondays", monthly(nth="5MO"), 2026,
     ["03-30", "06-29", "08-31", "11-30"]),
]


@pytest.mark.parametrize(("case", "schedule", "year", "expected"), MONTHLY_CASES,
                         ids=[c[0] for c in MONTHLY_CASES])
def test_monthly(case: str, schedule: Schedule, year: int, expected: list[str]) -> None:
    assert local_days(schedule, year) == expected


def weekly(days: tuple[str, ...] = ("tue",), **kw: object) -> RecurringSchedule:
    base: dict[str, object] = {"timezone": BERLIN, "rule": SimpleRule("weekly", days),
                               "start_time": time(2), "end_time": time(3),
                               "starts_on": date(2026, 1, 1)}
    return RecurringSchedule(**(base | kw))  # type: ignore[arg-type]


def starts(schedule: Schedule, lo: datetime, hi: datetime) -> list[str]:
    return [f"{o.start:%Y-%m-%d %H:%M}" for o in occurrences(schedule, lo, hi)]


LIMIT_CASES = [
    ("starts_on excludes earlier days", weekly(starts_on=date(2026, 1, 7)),
     utc(2026, 1, 1), utc(2026, 1, 21), ["2026-01-13 01:00", "2026-01-20 01:00"]),
    ("until includes its own day", weekly(until=date(2026, 1, 13)),
     utc(2026, 1, 1), utc(2026, 2, 1), ["2026-01-06 01:00", "2026-01-13 01:00"]),
    ("count counts rule instances from starts_on", weekly(count=2),
     utc(2025, 1, 1), utc(2027, 1, 1), ["2026-01-06 01:00", "2026-01-13 01:00"]),
    ("count includes starts_on itself (Thu Jan 1, Tue Jan 6, Thu Jan 8) and no more",
     weekly(("tue", "thu"), count=3), utc(2026, 1, 7), utc(2026, 3, 1), ["2026-01-08 01:00"]),
    ("INTERVAL=2 keeps its phase from starts_on, queried a year later",
     weekly(rule=RRuleRule("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO")),
     utc(2027, 1, 1), utc(2027, 1, 31), ["2027-01-11 01:00", "2027-01-25 01:00"]),
    ("INTERVAL=3 monthly keeps its phase", weekly(rule=RRuleRule("FREQ=MONTHLY;INTERVAL=3;"
                                                                 "BYMONTHDAY=1")),
     utc(2027, 1, 1), utc(2027, 12, 31), ["2027-01-01 01:00", "2027-04-01 00:00",
                                          "2027-07-01 00:00", "2027-10-01 00:00"]),
    ("a weekly rule without BYDAY takes starts_on's weekday (Thursday)",
     weekly(rule=RRuleRule("FREQ=WEEKLY")), utc(2030, 1, 1), utc(2030, 1, 15),
     ["2030-01-03 01:00", "2030-01-10 01:00"]),
    ("UNTIL in the body is inclusive local time", weekly(rule=RRuleRule(
        "FREQ=DAILY;UNTIL=20260103T020000")), utc(2026, 1, 1), utc(2026, 2, 1),
     ["2026-01-01 01:00", "2026-01-02 01:00", "2026-01-03 01:00"]),
    ("a running occurrence that began before the range is included",
     weekly(end_time=time(23)), utc(2026, 1, 6, 12), utc(2026, 1, 6, 13), ["2026-01-06 01:00"]),
    ("an occurrence ending exactly at the range start is excluded (half-open)",
     weekly(), utc(2026, 1, 6, 2), utc(2026, 1, 6, 3), []),
]


@pytest.mark.parametrize(("case", "schedule", "lo", "hi", "expected"), LIMIT_CASES,
                         ids=[c[0] for c in LIMIT_CASES])
def test_limits(case: str, schedule: Schedule, lo: datetime, hi: datetime,
                expected: list[str]) -> None:
    assert starts(schedule, lo, hi) == expected


def cron(expr: str, **kw: object) -> RecurringSchedule:
    base: dict[str, object] = {"timezone": BERLIN, "rule": CronRule(expr), "start_time": None,
                               "duration": timedelta(minutes=30)}
    return RecurringSchedule(**(base | kw))  # type: ignore[arg-type]


CRON_CASES = [
    ("starts_on bounds the first start at local midnight",
     cron("0 0 * * *", starts_on=date(2026, 1, 3)), utc(2026, 1, 1), utc(2026, 1, 4),
     ["2026-01-02 23:00", "2026-01-03 23:00"]),
    ("until bounds the last start's local date", cron("0 12 * * *", until=date(2026, 1, 2)),
     utc(2026, 1, 1), utc(2026, 1, 10), ["2026-01-01 11:00", "2026-01-02 11:00"]),
    ("count caps the number of starts", cron("*/15 * * * *", starts_on=date(2026, 1, 1),
                                             count=3),
     utc(2025, 12, 1), utc(2026, 2, 1), ["2025-12-31 23:00", "2025-12-31 23:15",
                                         "2025-12-31 23:30"]),
    ("@weekly is Sunday midnight", cron("@weekly"), utc(2026, 1, 1), utc(2026, 1, 12),
     ["2026-01-03 23:00", "2026-01-10 23:00"]),
    ("cron's OR of day-of-month and day-of-week is kept", cron("0 12 13 * 5"),
     utc(2026, 2, 9), utc(2026, 2, 16), ["2026-02-13 11:00"]),
]


@pytest.mark.parametrize(("case", "schedule", "lo", "hi", "expected"), CRON_CASES,
                         ids=[c[0] for c in CRON_CASES])
def test_cron(case: str, schedule: Schedule, lo: datetime, hi: datetime,
              expected: list[str]) -> None:
    assert starts(schedule, lo, hi) == expected


ONCE = OnceSchedule(utc(2026, 3, 15, 1), utc(2026, 3, 15, 3), BERLIN)
OCC = Occurrence(utc(2026, 1, 6, 1), utc(2026, 1, 6, 2))
SEARCH_CASES = [
    # (what must happen, function, schedule, instant, expected)
    ("next from before an occurrence is that occurrence", next_occurrence, weekly(),
     utc(2026, 1, 5), OCC),
    ("next at exactly a start is that occurrence", next_occurrence, weekly(), utc(2026, 1, 6, 1),
     OCC),
    ("next during an occurrence is the following one", next_occurrence, weekly(),
     utc(2026, 1, 6, 1, 30), Occurrence(utc(2026, 1, 13, 1), utc(2026, 1, 13, 2))),
    ("next after the last of a counted rule is None", next_occurrence, weekly(count=1),
     utc(2026, 1, 7), None),
    ("next of a once window before it", next_occurrence, ONCE, utc(2026, 1, 1),
     Occurrence(ONCE.start, ONCE.end)),
    ("next of a once window after its start is None", next_occurrence, ONCE,
     utc(2026, 3, 15, 2), None),
    ("current inside an occurrence", current_occurrence, weekly(), utc(2026, 1, 6, 1, 59), OCC),
    ("current at the end instant is None (half-open)", current_occurrence, weekly(),
     utc(2026, 1, 6, 2), None),
    ("current of overlapping occurrences is the latest-starting",
     current_occurrence, weekly(("mon", "tue"), end_time=None, duration=timedelta(hours=30)),
     utc(2026, 1, 6, 3), Occurrence(utc(2026, 1, 6, 1), utc(2026, 1, 7, 7))),
]


@pytest.mark.parametrize(("case", "function", "schedule", "instant", "expected"), SEARCH_CASES,
                         ids=[c[0] for c in SEARCH_CASES])
def test_search(case: str, function: object, schedule: Schedule, instant: datetime,
                expected: Occurrence | None) -> None:
    assert function(schedule, instant) == expected  # type: ignore[operator]


LAST_END_CASES = [
    ("once ends at its end", ONCE, utc(2026, 3, 15, 3)),
    ("an infinite rule has no last end", weekly(), None),
    ("count: the third Tuesday", weekly(count=3), utc(2026, 1, 20, 2)),
    ("until: the last Tuesday not after until", weekly(until=date(2026, 12, 31)),
     utc(2026, 12, 29, 2)),
    ("until on a non-matching day looks back", weekly(until=date(2026, 12, 31),
                                                     rule=SimpleRule("monthly", day_of_month=15)),
     utc(2026, 12, 15, 2)),
    ("cron with until", cron("0 12 * * 1", until=date(2026, 1, 31)), utc(2026, 1, 26, 11, 30)),
    ("cron with count", cron("0 12 * * *", starts_on=date(2026, 1, 1), count=2),
     utc(2026, 1, 2, 11, 30)),
    ("cron without end", cron("0 12 * * *"), None),
]


@pytest.mark.parametrize(("case", "schedule", "expected"), LAST_END_CASES,
                         ids=[c[0] for c in LAST_END_CASES])
def test_last_occurrence_end(case: str, schedule: Schedule, expected: datetime | None) -> None:
    assert last_occurrence_end(schedule) == expected


LENGTH_CASES = [
    ("duration is exact", weekly(end_time=None, duration=timedelta(hours=5)), timedelta(hours=5)),
    ("wall-clock end adds the zone's offset spread", weekly(), timedelta(hours=2)),
    ("overnight wall span", weekly(timezone="UTC", start_time=time(22), end_time=time(6)),
     timedelta(hours=8)),
    ("end equal to start is a full day", weekly(timezone="UTC", end_time=time(2)),
     timedelta(days=1)),
    ("once", ONCE, timedelta(hours=2)),
]


@pytest.mark.parametrize(("case", "schedule", "expected"), LENGTH_CASES,
                         ids=[c[0] for c in LENGTH_CASES])
def test_max_occurrence_length(case: str, schedule: Schedule, expected: timedelta) -> None:
    assert max_occurrence_length(schedule) == expected


BODY_CASES = [
    ("daily", weekly(rule=SimpleRule("daily")), "FREQ=DAILY"),
    ("weekly days in week order", weekly(("thu", "MON")), "FREQ=WEEKLY;BYDAY=MO,TH"),
    ("monthly 31 last_day", weekly(rule=SimpleRule("monthly", day_of_month=31)),
     "FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1"),
    ("monthly 29 last_day", weekly(rule=SimpleRule("monthly", day_of_month=29)),
     "FREQ=MONTHLY;BYMONTHDAY=28,29;BYSETPOS=-1"),
    ("monthly -30 last_day", weekly(rule=SimpleRule("monthly", day_of_month=-30)),
     "FREQ=MONTHLY;BYMONTHDAY=-28,-29,-30;BYSETPOS=1"),
    ("monthly 31 skip", weekly(rule=SimpleRule("monthly", day_of_month=31, short_month="skip")),
     "FREQ=MONTHLY;BYMONTHDAY=31"),
    ("monthly 15", weekly(rule=SimpleRule("monthly", day_of_month=15)),
     "FREQ=MONTHLY;BYMONTHDAY=15"),
    ("weekday of month normalised", weekly(rule=SimpleRule("monthly", weekday_of_month="+2tu")),
     "FREQ=MONTHLY;BYDAY=2TU"),
    ("count and until appended", weekly(count=5), "FREQ=WEEKLY;BYDAY=TU;COUNT=5"),
    ("until as the local end of that day", weekly(until=date(2026, 12, 31)),
     "FREQ=WEEKLY;BYDAY=TU;UNTIL=20261231T235959"),
    ("rrule kept as given", weekly(rule=RRuleRule("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU")),
     "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"),
    ("rrule count appended", weekly(rule=RRuleRule("FREQ=DAILY"), count=3),
     "FREQ=DAILY;COUNT=3"),
    ("rrule until appended", weekly(rule=RRuleRule("RRULE:FREQ=DAILY"), until=date(2027, 1, 2)),
     "FREQ=DAILY;UNTIL=20270102T235959"),
    # validate() refuses the next four; rrule_body still never writes a limit twice.
    ("rrule COUNT kept, count not added",
     weekly(rule=RRuleRule("FREQ=DAILY;COUNT=5"), count=3), "FREQ=DAILY;COUNT=5"),
    ("rrule UNTIL kept, until not added",
     weekly(rule=RRuleRule("FREQ=DAILY;UNTIL=20270301"), until=date(2027, 1, 1)),
     "FREQ=DAILY;UNTIL=20270301"),
    ("rrule COUNT kept, until not added",
     weekly(rule=RRuleRule("FREQ=DAILY; count=5"), until=date(2027, 1, 1)),
     "FREQ=DAILY;count=5"),
    ("rrule UNTIL kept, count not added",
     weekly(rule=RRuleRule("FREQ=DAILY;UNTIL=20270301T010000Z"), count=3),
     "FREQ=DAILY;UNTIL=20270301T010000Z"),
    ("cron has none", cron("0 2 * * *"), None),
]


@pytest.mark.parametrize(("case", "schedule", "expected"), BODY_CASES,
                         ids=[c[0] for c in BODY_CASES])
def test_rrule_body(case: str, schedule: RecurringSchedule, expected: str | None) -> None:
    assert rrule_body(schedule) == expected


def test_naive_query_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        occurrences(weekly(), datetime(2026, 1, 1), utc(2026, 2, 1))
    assert info.value.field == "start"


def test_inverted_range_is_empty() -> None:
    assert occurrences(weekly(), utc(2026, 2, 1), utc(2026, 1, 1)) == []


def test_limit_caps_the_result() -> None:
    assert len(occurrences(cron("* * * * *"), utc(2026, 1, 1), utc(2026, 2, 1), limit=7)) == 7


def test_compiled_schedule_is_cached() -> None:
    assert compile_schedule(weekly()) is compile_schedule(weekly())


def test_far_future_query_of_an_old_daily_rule() -> None:
    old = weekly(rule=SimpleRule("daily"), starts_on=date(2000, 1, 1), timezone="UTC")
    assert starts(old, utc(2090, 6, 1), utc(2090, 6, 2, 1)) == ["2090-06-01 02:00"]
