"""A new window's derived columns (``first_start``, ``last_end``, ``state``) and the occurrence
running at ``now`` (the worker's job), as the creates compute them (``windows._new_window``),
are ``lifecycle``'s answers, which updates store (``windows._store_derived``):

- one-time schedules take a fast path that reads them off the two instants
  (``_once_derived``); it must agree with the generic path for any instants, in the forms
  callers hand them over (UTC as ``datetime.UTC`` or ``ZoneInfo("UTC")``, or a fixed
  offset), any zone the schedule names, and any ``now`` (before, inside, at either edge,
  after). (Instants carrying a zone with DST are left out: the generic path's
  ``max_length`` subtracts two such datetimes as wall-clock times, and the schedule cache
  compares them ignoring ``fold``; no converter gives them, all give UTC.)
- recurring schedules are compiled once per distinct schedule of a batch (the memo), and a
  window computed from the memo equals one computed alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.core import lifecycle, schedule
from quietly.core.model import (
    CronRule,
    OnceSchedule,
    RecurringSchedule,
    RRuleRule,
    Schedule,
    SimpleRule,
)
from quietly.core.records import Principal, Role, WindowFields, WindowRecord
from quietly.services.windows import (
    _derived,
    _earliest_possible_start,
    _new_window,
    _once_derived,
)

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
INSTANT_ZONES = (UTC, ZoneInfo("UTC"), timezone(timedelta(hours=5, minutes=30)),
                 timezone(timedelta(hours=-7)))
PRINCIPAL = Principal(1, "w", "UTC", Role.EDITOR, None, "tester")


def _lifecycle(sched: Schedule, now: datetime) -> tuple[object, ...]:
    """What ``_store_derived`` and ``lifecycle.state_at`` give a stored, uncancelled window."""
    window = WindowRecord(7, 1, WindowFields(name="w", schedule=sched, targets=("t:a",)),
                          "tester", now, now).to_window()
    first = lifecycle.next_occurrence(window, _earliest_possible_start(sched))
    return (first.start if first else None, schedule.last_occurrence_end(sched),
            lifecycle.state_at(window, now).value, lifecycle.current_occurrence(window, now))


BASE = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # hours before Berlin's spring-forward
moments = st.builds(lambda minutes, micros: BASE + timedelta(minutes=minutes,
                                                             microseconds=micros),
                    st.integers(-3 * 1440, 300 * 1440), st.sampled_from([0, 0, 1, 999_999]))


@settings(max_examples=500, deadline=None)
@given(start=moments, minutes=st.integers(1, 3 * 1440), zone=st.sampled_from(ZONES),
       named=st.booleans(), tz=st.sampled_from(INSTANT_ZONES),
       now=st.one_of(moments, st.sampled_from(["start", "end", "just before end"])))
def test_the_one_time_fast_path_is_the_generic_path(
        start: datetime, minutes: int, zone: str, named: bool, tz: tzinfo,
        now: datetime | str) -> None:
    end = start + timedelta(minutes=minutes)
    # Instants as callers hand them over, the schedule naming a zone or not.
    sched = OnceSchedule(start.astimezone(tz), end.astimezone(tz), zone if named else None)
    at = {"start": start, "end": end, "just before end": end - timedelta(microseconds=1)
          }.get(now, now) if isinstance(now, str) else now
    assert _once_derived(sched, at) == _derived(sched, at) == _lifecycle(sched, at)


RECURRING = {
    "weekly in Berlin across the spring-forward": RecurringSchedule(
        timezone="Europe/Berlin", rule=SimpleRule("weekly", ("sun",)), start_time=time(2, 30),
        end_time=time(4, 0), starts_on=date(2026, 3, 1)),
    "daily in New York across the fall-back, count-limited": RecurringSchedule(
        timezone="America/New_York", rule=RRuleRule("FREQ=DAILY"), start_time=time(1, 30),
        duration=timedelta(hours=1), starts_on=date(2026, 10, 30), count=5),
    "cron in Lord Howe (half-hour shift), until a day": RecurringSchedule(
        timezone="Australia/Lord_Howe", rule=CronRule("30 1 * * *"), start_time=None,
        duration=timedelta(minutes=45), starts_on=date(2026, 4, 1),
        until=date(2026, 4, 10)),
    "monthly overnight, ended long ago": RecurringSchedule(
        timezone="UTC", rule=SimpleRule("monthly", day_of_month=31), start_time=time(22),
        end_time=time(2), starts_on=date(2020, 1, 1), until=date(2020, 6, 30)),
}
NOWS = [datetime(2026, 3, 29, 0, 45, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 45, tzinfo=UTC), datetime(2026, 4, 5, 14, 50, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC)]


@pytest.mark.parametrize("now", NOWS, ids=[n.isoformat() for n in NOWS])
@pytest.mark.parametrize("sched", RECURRING.values(), ids=list(RECURRING))
def test_recurring_derived_columns_are_lifecycles_alone_and_from_the_memo(
        sched: RecurringSchedule, now: datetime) -> None:
    schedule.validate(sched)
    memo: dict[Schedule, object] = {}
    fields = WindowFields(name="w", schedule=sched, targets=("t:a",))
    first, second = (_new_window(i, PRINCIPAL, fields, now, memo)  # type: ignore[arg-type]
                     for i in (1, 2))
    alone = _new_window(3, PRINCIPAL, fields, now)
    derived = [(new.columns["first_start"], new.columns["last_end"], new.columns["state"],
                new.running) for new in (first, second, alone)]
    assert (derived, len(memo)) == ([_lifecycle(sched, now)] * 3, 1)
