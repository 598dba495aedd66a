"""The preview's daylight-saving notes (issue 16, point 8), zone by zone.

The transitions exercised (tzdata 2026):

- Europe/Berlin: forward 02:00 → 03:00 on Sun 2026-03-29, back 03:00 → 02:00 on Sun 2026-10-25.
- America/New_York: forward 02:00 → 03:00 on Sun 2026-03-08, back 02:00 → 01:00 on Sun 2026-11-01.
- Australia/Sydney: back 03:00 → 02:00 on Sun 2026-04-05, forward 02:00 → 03:00 on Sun 2026-10-04.
- Australia/Lord_Howe: half-hour changes, back 02:00 → 01:30 on Sun 2026-04-05 and forward
  02:00 → 02:30 on Sun 2026-10-04.

Each case lists, for the day of the change, the occurrence in local wall-clock time
(``None`` when it is dropped) and the notes shown beside it. Days around it carry no note.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.core.model import CronRule, RecurringSchedule, RRuleRule, SimpleRule
from quietly.core.schedule import occurrences
from quietly.core.schedule.dstnotes import annotated_occurrences
from quietly.core.timeutil import to_local

HOUR = timedelta(hours=1)
BERLIN, NEW_YORK, SYDNEY, LORD_HOWE = ("Europe/Berlin", "America/New_York",
                                       "Australia/Sydney", "Australia/Lord_Howe")


def daily(zone: str, start: time, end: time | None = None,
          duration: timedelta | None = None) -> RecurringSchedule:
    return RecurringSchedule(zone, SimpleRule("daily"), start, end_time=end, duration=duration,
                             starts_on=date(2026, 1, 1))


def cron(zone: str, expr: str) -> RecurringSchedule:
    return RecurringSchedule(zone, CronRule(expr), None, duration=HOUR)


def on_day(schedule: RecurringSchedule, day: date) -> list[tuple[str | None, tuple[str, ...]]]:
    """The preview items of the local day ``day``: 'HH:MM-HH:MM' (local) or None, and notes."""
    now = datetime.combine(day - timedelta(days=2), time(12), UTC)
    items = annotated_occurrences(schedule, now, limit=6, horizon=timedelta(days=10))
    out = []
    for item in items:
        if item.local_date != day:
            continue
        occ = item.occurrence
        span = None if occ is None else (
            f"{to_local(occ.start, schedule.timezone):%H:%M}-"
            f"{to_local(occ.end, schedule.timezone):%H:%M}")
        out.append((span, item.notes))
    return out


FWD_BERLIN = "clocks go forward 1 hour at 02:00"
BACK_BERLIN = "clocks go back 1 hour at 03:00"
CASES: dict[str, tuple[RecurringSchedule, date, list[tuple[str | None, tuple[str, ...]]]]] = {
    "Berlin: a start in the gap starts after it, and is shorter": (
        daily(BERLIN, time(2, 30), time(4)), date(2026, 3, 29),
        [("03:30-04:00", (f"02:30 does not exist that day in {BERLIN} ({FWD_BERLIN}): "
                          "starts at 03:30",
                          "lasts 30 minutes instead of 1 hour 30 minutes"))]),
    "Berlin: an occurrence wholly in the gap is dropped": (
        daily(BERLIN, time(2), time(3)), date(2026, 3, 29),
        [(None, (f"02:00 to 03:00 does not exist that day in {BERLIN} ({FWD_BERLIN}): "
                 "no occurrence",))]),
    "Berlin: across the spring change a wall-clock end shortens it": (
        daily(BERLIN, time(1), time(4)), date(2026, 3, 29),
        [("01:00-04:00", (f"lasts 2 hours instead of 3 hours: {FWD_BERLIN} during it",))]),
    "Berlin: across the autumn change a wall-clock end lengthens it": (
        daily(BERLIN, time(1), time(4)), date(2026, 10, 25),
        [("01:00-04:00", (f"lasts 4 hours instead of 3 hours: {BACK_BERLIN} during it",))]),
    "Berlin: a duration keeps its length and moves the end": (
        daily(BERLIN, time(1), duration=3 * HOUR), date(2026, 3, 29),
        [("01:00-05:00", (f"ends at 05:00, not 04:00: {FWD_BERLIN} during it "
                          "(it lasts 3 hours all the same)",))]),
    "Berlin: a start in the fold is its first instant": (
        daily(BERLIN, time(2, 30), time(4)), date(2026, 10, 25),
        [("02:30-04:00", (f"02:30 happens twice that day in {BERLIN} ({BACK_BERLIN}): "
                          "starts at the first 02:30",
                          f"lasts 2 hours 30 minutes instead of 1 hour 30 minutes: "
                          f"{BACK_BERLIN} during it"))]),
    "Berlin: an end in the gap is read after it": (
        daily(BERLIN, time(1), time(2, 30)), date(2026, 3, 29),
        [("01:00-03:30", (f"02:30 does not exist that day in {BERLIN}: ends at 03:30",))]),
    "Berlin: cron runs a start in the gap right after the jump": (
        cron(BERLIN, "30 2 * * *"), date(2026, 3, 29),
        [("03:00-04:00", (f"02:30 does not exist that day in {BERLIN} ({FWD_BERLIN}): "
                          "cron runs it at 03:00, right after the change",))]),
    "Berlin: cron runs a start in the fold once": (
        cron(BERLIN, "30 2 * * *"), date(2026, 10, 25),
        [("02:30-02:30", (f"02:30 happens twice that day in {BERLIN} ({BACK_BERLIN}): "
                          "cron runs it once, at the first",
                          f"ends at 02:30, not 03:30: {BACK_BERLIN} during it "
                          "(it lasts 1 hour all the same)"))]),
    "Berlin: cron at a time that exists says nothing": (
        cron(BERLIN, "0 3 * * *"), date(2026, 3, 29), [("03:00-04:00", ())]),
    "New York: a start in the gap": (
        daily(NEW_YORK, time(2, 15), time(5)), date(2026, 3, 8),
        [("03:15-05:00", (f"02:15 does not exist that day in {NEW_YORK} (clocks go forward "
                          "1 hour at 02:00): starts at 03:15",
                          "lasts 1 hour 45 minutes instead of 2 hours 45 minutes"))]),
    "New York: overnight window across the autumn change": (
        daily(NEW_YORK, time(22), time(6)), date(2026, 10, 31),
        [("22:00-06:00", ("lasts 9 hours instead of 8 hours: clocks go back 1 hour at 02:00 "
                          "during it",))]),
    "Sydney: the April change lengthens a night window": (
        daily(SYDNEY, time(1), time(5)), date(2026, 4, 5),
        [("01:00-05:00", ("lasts 5 hours instead of 4 hours: clocks go back 1 hour at 03:00 "
                          "during it",))]),
    "Sydney: the October gap drops an hour-long window in it": (
        daily(SYDNEY, time(2), time(3)), date(2026, 10, 4),
        [(None, (f"02:00 to 03:00 does not exist that day in {SYDNEY} (clocks go forward "
                 "1 hour at 02:00): no occurrence",))]),
    "Lord Howe: a half-hour gap": (
        daily(LORD_HOWE, time(2, 15), time(3)), date(2026, 10, 4),
        [("02:45-03:00", (f"02:15 does not exist that day in {LORD_HOWE} (clocks go forward "
                          "30 minutes at 02:00): starts at 02:45",
                          "lasts 15 minutes instead of 45 minutes"))]),
    "Lord Howe: a half-hour fold": (
        daily(LORD_HOWE, time(1), time(3)), date(2026, 4, 5),
        [("01:00-03:00", ("lasts 2 hours 30 minutes instead of 2 hours: clocks go back "
                          "30 minutes at 02:00 during it",))]),
    "RRULE: same rules as the simple forms": (
        RecurringSchedule(BERLIN, RRuleRule("FREQ=WEEKLY;BYDAY=SU"), time(2), end_time=time(3),
                          starts_on=date(2026, 1, 4)), date(2026, 3, 29),
        [(None, (f"02:00 to 03:00 does not exist that day in {BERLIN} ({FWD_BERLIN}): "
                 "no occurrence",))]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_notes_on_the_day_of_a_change(name: str) -> None:
    schedule, day, expected = CASES[name]
    assert on_day(schedule, day) == expected


@pytest.mark.parametrize("name", list(CASES))
def test_the_days_around_a_change_have_no_note(name: str) -> None:
    schedule, day, _ = CASES[name]
    around = on_day(schedule, day - timedelta(days=1)) + on_day(schedule, day + timedelta(days=2))
    assert [notes for _, notes in around if notes] == []


ZONES = st.sampled_from([BERLIN, NEW_YORK, SYDNEY, LORD_HOWE, "UTC", "Asia/Kolkata"])
TIMES = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@settings(max_examples=60, deadline=None)
@given(zone=ZONES, start=TIMES, end=TIMES,
       now=st.datetimes(datetime(2026, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC)))
def test_the_preview_shows_exactly_the_occurrences_of_the_schedule(
        zone: str, start: time, end: time, now: datetime) -> None:
    """Notes never add, drop or move an occurrence: the non-dropped items are the schedule's
    own next occurrences, and a zone without daylight saving has no note at all."""
    schedule = daily(zone, start, end)
    items = annotated_occurrences(schedule, now, limit=5, horizon=timedelta(days=60))
    shown = [item.occurrence for item in items if item.occurrence is not None]
    assert shown == occurrences(schedule, now, now + timedelta(days=60), limit=5)
    if zone in ("UTC", "Asia/Kolkata"):
        assert [item.notes for item in items if item.notes] == []
