"""RFC 5545 points the expansion once got wrong (issue #18), and a property that keeps them fixed.

1. BYSETPOS picks from the set of one whole interval of the rule (§3.3.10): for WEEKLY one
   week per WKST, whatever day DTSTART falls on and however the expansion is split into months.
2. A UTC ``UNTIL`` bounds the *instants* (inclusive), not the wall-clock times: a start in a
   DST gap or fold is compared after it is read with the one gap/fold policy.

The property compares the month-by-month expansion with an oracle that builds every set from
its definition (whole weeks, months, years in phase with INTERVAL, BYSETPOS on each set, then
the instances before DTSTART dropped), with no chunks and no re-anchoring.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from dateutil import rrule as du
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from quietly.core.errors import ScheduleError
from quietly.core.model import RecurringSchedule, RRuleRule
from quietly.core.schedule import occurrences, validate
from quietly.core.timeutil import get_zone

BERLIN = "Europe/Berlin"
HOUR = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type,misc]


def rule(body: str, starts_on: date, start: time = time(2), zone: str = BERLIN,
         **kw: object) -> RecurringSchedule:
    return RecurringSchedule(zone, RRuleRule(body), start, duration=HOUR,  # type: ignore[arg-type]
                             starts_on=starts_on, **kw)


def local_starts(schedule: RecurringSchedule, lo: datetime, hi: datetime) -> list[str]:
    tz = get_zone(schedule.timezone)
    return [f"{o.start.astimezone(tz):%a %Y-%m-%d %H:%M}" for o in occurrences(schedule, lo, hi)]


def utc_starts(schedule: RecurringSchedule, lo: datetime, hi: datetime) -> list[str]:
    return [f"{o.start:%Y-%m-%dT%H:%MZ}" for o in occurrences(schedule, lo, hi)]


WEEKLY_SETPOS = "FREQ=WEEKLY;BYDAY=WE,SU;BYSETPOS=1"
SETPOS_CASES = [
    # (what must happen, schedule, from, to, local starts)
    ("issue #18: the week of Mon 2027-07-26 is {Wed 07-28, Sun 08-01}: only 07-28, queried "
     "across the month boundary", rule(WEEKLY_SETPOS, date(2027, 7, 1)),
     utc(2027, 7, 20), utc(2027, 8, 10),
     ["Wed 2027-07-21 02:00", "Wed 2027-07-28 02:00", "Wed 2027-08-04 02:00"]),
    ("issue #18: the same, asked only about August (the expansion starts in that month)",
     rule(WEEKLY_SETPOS, date(2027, 7, 1)), utc(2027, 7, 31), utc(2027, 8, 3), []),
    ("a DTSTART mid-week does not cut its first week: Wed 06-30 is that week's first, before "
     "DTSTART, so Sun 07-04 does not occur (with COUNT)",
     rule(WEEKLY_SETPOS, date(2027, 7, 1), count=2), utc(2027, 6, 1), utc(2027, 9, 1),
     ["Wed 2027-07-07 02:00", "Wed 2027-07-14 02:00"]),
    ("BYSETPOS=-1 takes Sunday of each Monday-based week, August 1st included",
     rule("FREQ=WEEKLY;BYDAY=WE,SU;BYSETPOS=-1", date(2027, 7, 1)),
     utc(2027, 7, 26), utc(2027, 8, 3), ["Sun 2027-08-01 02:00"]),
    ("WKST=SU: weeks {Sun 07-25, Wed 07-28} and {Sun 08-01, Wed 08-04} each start on Sunday",
     rule("FREQ=WEEKLY;BYDAY=WE,SU;BYSETPOS=1;WKST=SU", date(2027, 7, 1)),
     utc(2027, 7, 24), utc(2027, 8, 5), ["Sun 2027-07-25 02:00", "Sun 2027-08-01 02:00"]),
    ("INTERVAL=2 keeps whole weeks in phase with DTSTART's week across months",
     rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE,SU;BYSETPOS=-1", date(2027, 7, 1)),
     utc(2027, 7, 20), utc(2027, 8, 20), ["Sun 2027-08-01 02:00", "Sun 2027-08-15 02:00"]),
    ("MONTHLY BYSETPOS across the year boundary: last weekday of Dec 2027 and Feb 2028",
     rule("FREQ=MONTHLY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", date(2027, 6, 1)),
     utc(2027, 12, 1), utc(2028, 3, 1), ["Fri 2027-12-31 02:00", "Tue 2028-02-29 02:00"]),
    ("YEARLY BYSETPOS picks from the whole year, asked only about December",
     rule("FREQ=YEARLY;BYDAY=MO;BYSETPOS=-1", date(2026, 6, 1)),
     utc(2027, 12, 1), utc(2028, 1, 1), ["Mon 2027-12-27 02:00"]),
    ("YEARLY BYSETPOS=1 is January's first Monday, not the first Monday of a later month",
     rule("FREQ=YEARLY;BYDAY=MO;BYSETPOS=1", date(2026, 6, 1)),
     utc(2027, 1, 1), utc(2028, 12, 31), ["Mon 2027-01-04 02:00", "Mon 2028-01-03 02:00"]),
]


@pytest.mark.parametrize(("case", "schedule", "lo", "hi", "expected"), SETPOS_CASES,
                         ids=[c[0][:60] for c in SETPOS_CASES])
def test_bysetpos_picks_from_whole_intervals(case: str, schedule: RecurringSchedule,
                                             lo: datetime, hi: datetime,
                                             expected: list[str]) -> None:
    assert local_starts(schedule, lo, hi) == expected


UNTIL_CASES = [
    ("issue #18: 02:30 on 2027-03-28 does not exist, is 01:30Z, after UNTIL 01:15Z",
     rule("FREQ=DAILY;UNTIL=20270328T011500Z", date(2027, 3, 20), time(2, 30)),
     utc(2027, 3, 26), utc(2027, 4, 10), ["2027-03-26T01:30Z", "2027-03-27T01:30Z"]),
    ("issue #18: 02:30 on 2027-10-31 (the fold) is first 00:30Z, before UNTIL 01:15Z",
     rule("FREQ=DAILY;UNTIL=20271031T011500Z", date(2027, 10, 20), time(2, 30)),
     utc(2027, 10, 29), utc(2027, 11, 10),
     ["2027-10-29T00:30Z", "2027-10-30T00:30Z", "2027-10-31T00:30Z"]),
    ("UNTIL equal to the last start's instant includes it",
     rule("FREQ=DAILY;UNTIL=20270328T013000Z", date(2027, 3, 20), time(2, 30)),
     utc(2027, 3, 27), utc(2027, 4, 10), ["2027-03-27T01:30Z", "2027-03-28T01:30Z"]),
    ("a floating UNTIL stays a wall-clock bound",
     rule("FREQ=DAILY;UNTIL=20270328T023000", date(2027, 3, 20), time(2, 30)),
     utc(2027, 3, 27), utc(2027, 4, 10), ["2027-03-27T01:30Z", "2027-03-28T01:30Z"]),
    ("a UTC UNTIL in Lord Howe's half-hour fold: 01:45 on 2027-04-04 is first 14:45Z",
     rule("FREQ=DAILY;UNTIL=20270403T150000Z", date(2027, 3, 30), time(1, 45),
          zone="Australia/Lord_Howe"),
     utc(2027, 4, 2), utc(2027, 4, 10), ["2027-04-02T14:45Z", "2027-04-03T14:45Z"]),
]


@pytest.mark.parametrize(("case", "schedule", "lo", "hi", "expected"), UNTIL_CASES,
                         ids=[c[0][:60] for c in UNTIL_CASES])
def test_utc_until_bounds_instants(case: str, schedule: RecurringSchedule, lo: datetime,
                                   hi: datetime, expected: list[str]) -> None:
    assert utc_starts(schedule, lo, hi) == expected


# The oracle: sets built from RFC 5545's definition, without dateutil's DTSTART handling.

def _week_sets(parts: dict[str, str], first: date, stop: date) -> list[list[date]]:
    wkst = du.weekdays[["MO", "TU", "WE", "TH", "FR", "SA", "SU"].index(parts.get("WKST", "MO"))]
    days = set(parts["BYDAY"].split(","))
    week = first - timedelta(days=(first.weekday() - wkst.weekday) % 7)
    interval = int(parts.get("INTERVAL", "1"))
    sets = []
    while week <= stop:
        members = [week + timedelta(days=i) for i in range(7)]
        sets.append([d for d in members if f"{d:%a}".upper()[:2] in days])
        week += timedelta(weeks=interval)
    return sets


def _month_sets(parts: dict[str, str], first: date, stop: date) -> list[list[date]]:
    interval = int(parts.get("INTERVAL", "1"))
    nth_days = parts["BYDAY"].split(",")
    year, month = first.year, first.month
    sets = []
    while date(year, month, 1) <= stop:
        days = [date(year, month, 1) + timedelta(days=i) for i in range(31)]
        days = [d for d in days if d.month == month]
        sets.append([d for d in days if f"{d:%a}".upper()[:2] in nth_days])
        month += interval
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return sets


def oracle(schedule: RecurringSchedule, stop: date) -> list[date]:
    """Local start dates up to ``stop`` of a WEEKLY or MONTHLY BYDAY+BYSETPOS rule."""
    assert isinstance(schedule.rule, RRuleRule)
    assert schedule.starts_on is not None
    parts = dict(p.split("=") for p in schedule.rule.rrule.split(";"))
    first = schedule.starts_on
    sets = (_week_sets(parts, first, stop) if parts["FREQ"] == "WEEKLY"
            else _month_sets(parts, first, stop))
    positions = [int(p) for p in parts["BYSETPOS"].split(",")]
    found: set[date] = set()
    for members in sets:
        for pos in positions:
            if -len(members) <= pos <= len(members) and pos != 0:
                found.add(members[pos - 1 if pos > 0 else pos])
    return sorted(d for d in found if first <= d <= stop)


DAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
setpos_rules = st.builds(
    lambda freq, interval, days, positions, wkst: (
        f"FREQ={freq};INTERVAL={interval};BYDAY={','.join(sorted(days))};"
        f"BYSETPOS={','.join(map(str, sorted(positions)))};WKST={wkst}"),
    st.sampled_from(["WEEKLY", "MONTHLY"]), st.integers(1, 3),
    st.sets(st.sampled_from(DAY_CODES), min_size=1, max_size=4),
    st.sets(st.sampled_from([1, 2, 3, -1, -2]), min_size=1, max_size=2),
    st.sampled_from(DAY_CODES))


@settings(max_examples=120, deadline=None,
          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(setpos_rules, st.dates(date(2026, 1, 1), date(2028, 12, 31)), st.integers(0, 500),
       st.integers(1, 120))
def test_chunked_expansion_equals_whole_interval_sets(body: str, starts_on: date, skip: int,
                                                      days: int) -> None:
    """Asked about any range, the expansion gives the oracle's starts in that range."""
    schedule = rule(body, starts_on, time(12), zone="UTC")
    try:
        validate(schedule)
    except ScheduleError:
        assume(False)
    lo = datetime.combine(starts_on + timedelta(days=skip), time(), tzinfo=UTC)
    hi = lo + timedelta(days=days)
    expected = [d for d in oracle(schedule, hi.date()) if lo.date() <= d < hi.date()]
    assert [o.start.date() for o in occurrences(schedule, lo, hi)] == expected
