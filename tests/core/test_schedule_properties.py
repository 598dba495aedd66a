"""Invariants of the expansion, checked on random schedules in random zones.

Query ranges are drawn near the real DST transitions of 2024-2030 in each zone half the time.
The strongest property compares the expansion (re-anchored near each query, cached per
month) with a plain oracle: dateutil's own ``rrulestr`` over the schedule's ``rrule_body``
iterated from the first date, each start read with ``to_utc``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise

from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from quietly.core.errors import ScheduleError
from quietly.core.model import CronRule, Occurrence, RecurringSchedule, RRuleRule, SimpleRule
from quietly.core.schedule import (
    current_occurrence,
    next_occurrence,
    occurrences,
    rrule_body,
    validate,
)
from quietly.core.timeutil import get_zone, to_utc

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "UTC",
         "Asia/Kolkata", "America/St_Johns"]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# No explain phase: its line tracer makes dateutil's loops a hundred times slower.
SETTINGS = settings(max_examples=150, deadline=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """UTC days in 2024-2030 on which ``zone`` changes its offset."""
    tz, found = get_zone(zone), []
    day = datetime(2024, 1, 1, tzinfo=UTC)
    while day.year < 2031:
        if (day + timedelta(days=1)).astimezone(tz).utcoffset() != day.astimezone(tz).utcoffset():
            found.append(day)
        day += timedelta(days=1)
    return tuple(found) or (datetime(2025, 6, 1, tzinfo=UTC),)


clock = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
rrule_bodies = st.one_of(
    st.integers(1, 4).map(lambda n: f"FREQ=DAILY;INTERVAL={n}"),
    st.tuples(st.integers(1, 3), st.sets(st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA",
                                                          "SU"]), min_size=1)).map(
        lambda t: f"FREQ=WEEKLY;INTERVAL={t[0]};BYDAY={','.join(sorted(t[1]))}"),
    st.tuples(st.integers(1, 4), st.integers(1, 31)).map(
        lambda t: f"FREQ=MONTHLY;INTERVAL={t[0]};BYMONTHDAY={t[1]}"),
    st.integers(1, 3).map(lambda n: f"FREQ=MONTHLY;INTERVAL={n};BYDAY=1SA,-1SU"),
    st.just("FREQ=YEARLY;BYMONTH=3,4,10,11;BYDAY=1SU,-1SU"),
    st.just("FREQ=WEEKLY"),
    st.just("FREQ=MONTHLY"),
)
simple_rules = st.one_of(
    st.just(SimpleRule("daily")),
    st.sets(st.sampled_from(DAYS), min_size=1).map(lambda d: SimpleRule("weekly", tuple(d))),
    st.tuples(st.integers(1, 31) | st.integers(-31, -1), st.sampled_from(["last_day", "skip"]))
    .map(lambda t: SimpleRule("monthly", day_of_month=t[0], short_month=t[1])),  # type: ignore[arg-type]
    st.tuples(st.sampled_from(["1", "2", "3", "4", "-1", "-2"]),
              st.sampled_from(["MO", "TU", "FR", "SU"]))
    .map(lambda t: SimpleRule("monthly", weekday_of_month=t[0] + t[1])),
)
durations = st.integers(15, 3 * 24 * 60).map(lambda m: timedelta(minutes=m))


@st.composite
def calendar_schedules(draw: st.DrawFn) -> RecurringSchedule:
    rule = draw(st.one_of(simple_rules, rrule_bodies.map(RRuleRule)))
    start = draw(clock)
    end_time, duration = draw(st.one_of(st.tuples(clock, st.none()),
                                        st.tuples(st.none(), durations)))
    starts_on = draw(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
    until = draw(st.none() | st.dates(starts_on, date(2031, 12, 31)))
    count = draw(st.none() | st.integers(1, 60))
    schedule = RecurringSchedule(draw(st.sampled_from(ZONES)), rule, start, end_time, duration,
                                 starts_on, until, count)
    try:
        validate(schedule)
    except ScheduleError:
        assume(False)
    return schedule


@st.composite
def cron_schedules(draw: st.DrawFn) -> RecurringSchedule:
    expr = draw(st.sampled_from(["30 2 * * *", "0 1,2,3 * * *", "*/20 * * * 0", "15 2 L * *",
                                 "45 1 * * 1-5", "0 0 1 * *"]))
    return RecurringSchedule(draw(st.sampled_from(ZONES)), CronRule(expr), None,
                             duration=draw(durations),
                             starts_on=draw(st.none() | st.dates(date(2024, 1, 1),
                                                                 date(2030, 1, 1))))


@st.composite
def instants(draw: st.DrawFn, zone: str) -> datetime:
    """An instant in 2024-2030, half the time within two days of a DST transition."""
    if draw(st.booleans()):
        edge = draw(st.sampled_from(transitions(zone)))
        return edge + timedelta(minutes=draw(st.integers(-2 * 1440, 2 * 1440)))
    moment = draw(st.datetimes(datetime(2024, 1, 1), datetime(2030, 12, 31)))
    return moment.replace(tzinfo=UTC)


schedules = st.one_of(calendar_schedules(), cron_schedules())


def oracle(schedule: RecurringSchedule, lo: datetime, hi: datetime) -> list[Occurrence]:
    """Expand with dateutil's own parser from the first date, no re-anchoring, no caches."""
    assert schedule.start_time is not None
    zone = schedule.timezone
    dtstart = datetime.combine(schedule.starts_on or date(2000, 1, 1), schedule.start_time)
    body = rrule_body(schedule)
    assert body is not None
    found: list[Occurrence] = []
    for local in rrulestr(body, dtstart=dtstart):
        start = to_utc(local, zone)
        if start >= hi:
            break
        if schedule.duration is not None:
            end = start + schedule.duration
        else:
            assert schedule.end_time is not None
            next_day = schedule.end_time <= schedule.start_time
            end = to_utc(datetime.combine(local.date() + timedelta(days=next_day),
                                          schedule.end_time), zone)
        if end > start and end > lo and (not found or start > found[-1].start):
            found.append(Occurrence(start, end))
    return found


@SETTINGS
@given(st.data(), calendar_schedules(), st.integers(1, 14 * 24))
def test_expansion_matches_the_oracle(data: st.DataObject, schedule: RecurringSchedule,
                                      hours: int) -> None:
    lo = data.draw(instants(schedule.timezone))
    hi = lo + timedelta(hours=hours)
    assert occurrences(schedule, lo, hi) == oracle(schedule, lo, hi)


@SETTINGS
@given(st.data(), schedules, st.integers(1, 30 * 24))
def test_occurrences_are_sorted_non_empty_and_overlap_the_range(
        data: st.DataObject, schedule: RecurringSchedule, hours: int) -> None:
    lo = data.draw(instants(schedule.timezone))
    hi = lo + timedelta(hours=hours)
    found = occurrences(schedule, lo, hi)
    starts = [o.start for o in found]
    assert (starts == sorted(set(starts)), all(o.start < o.end for o in found),
            all(o.end > lo and o.start < hi for o in found)) == (True, True, True)


@SETTINGS
@given(st.data(), st.sampled_from(ZONES), clock, st.integers(1, 60))
def test_daily_short_windows_never_overlap(data: st.DataObject, zone: str, start: time,
                                           minutes: int) -> None:
    schedule = RecurringSchedule(zone, SimpleRule("daily"), start,
                                 duration=timedelta(minutes=minutes), starts_on=date(2024, 1, 1))
    lo = data.draw(instants(zone))
    found = occurrences(schedule, lo, lo + timedelta(days=10))
    assert all(a.end <= b.start for a, b in pairwise(found))


@SETTINGS
@given(st.data(), schedules)
def test_next_occurrence_is_the_first_start_at_or_after(data: st.DataObject,
                                                        schedule: RecurringSchedule) -> None:
    after = data.draw(instants(schedule.timezone))
    horizon = after + timedelta(days=400)
    ahead = [o for o in occurrences(schedule, after, horizon) if o.start >= after]
    found = next_occurrence(schedule, after)
    if ahead:
        assert found == ahead[0]
    else:
        assert found is None or found.start >= horizon


@SETTINGS
@given(st.data(), schedules)
def test_current_occurrence_agrees_with_the_expansion(data: st.DataObject,
                                                      schedule: RecurringSchedule) -> None:
    at = data.draw(instants(schedule.timezone))
    containing = [o for o in occurrences(schedule, at, at + timedelta(microseconds=1))
                  if o.contains(at)]
    assert current_occurrence(schedule, at) == (containing[-1] if containing else None)
