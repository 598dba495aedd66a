"""Daylight-saving transitions, zone by zone (DESIGN §3).

Each case names what must happen and lists the expected occurrences in UTC as
``start → end``; an occurrence that must *not* happen is simply absent from the list.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from quietly.core.model import CronRule, OnceSchedule, RecurringSchedule, SimpleRule
from quietly.core.schedule import max_occurrence_length, occurrences

HOUR = timedelta(hours=1)


def daily(zone: str, start: time, end: time | None = None,
          duration: timedelta | None = None) -> RecurringSchedule:
    return RecurringSchedule(zone, SimpleRule("daily"), start, end_time=end, duration=duration,
                             starts_on=date(2025, 1, 1))


def cron(zone: str, expr: str, duration: timedelta = 30 * timedelta(minutes=1)
         ) -> RecurringSchedule:
    return RecurringSchedule(zone, CronRule(expr), None, duration=duration)


def spans(schedule: RecurringSchedule, first: date, last: date) -> list[str]:
    """Occurrences overlapping the UTC days first..last, as 'MM-DD HH:MM → MM-DD HH:MM'."""
    lo = datetime.combine(first, time(), UTC)
    hi = datetime.combine(last + timedelta(days=1), time(), UTC)
    return [f"{o.start:%m-%d %H:%M} → {o.end:%m-%d %H:%M}"
            for o in occurrences(schedule, lo, hi)]


Case = tuple[str, RecurringSchedule, date, date, list[str]]


def run(case: Case) -> None:
    _, schedule, first, last, expected = case
    assert spans(schedule, first, last) == expected


class TestBerlin:
    """Europe/Berlin: 2025-03-30 02:00 CET → 03:00 CEST (gap), 2025-10-26 03:00 CEST → 02:00 CET
    (fold 02:00-03:00)."""

    Z = "Europe/Berlin"
    SPRING, FALL = date(2025, 3, 30), date(2025, 10, 26)
    CASES: list[Case] = [
        ("01:00-04:00 lasts 2 h on the spring day", daily(Z, time(1), time(4)),
         SPRING, SPRING, ["03-30 00:00 → 03-30 02:00", "03-30 23:00 → 03-31 02:00"]),
        ("01:00-04:00 lasts 4 h on the fall day", daily(Z, time(1), time(4)),
         FALL, FALL, ["10-25 23:00 → 10-26 03:00"]),
        ("01:00 for 3 h ends 05:00 CEST on the spring day", daily(Z, time(1), duration=3 * HOUR),
         SPRING, SPRING, ["03-30 00:00 → 03-30 03:00", "03-30 23:00 → 03-31 02:00"]),
        ("a start in the gap is read before it (02:30 → 01:30Z, shown 03:30 CEST)",
         daily(Z, time(2, 30), time(4)), SPRING, SPRING, ["03-30 01:30 → 03-30 02:00"]),
        ("02:00-03:00 collapses on the spring day and is not produced",
         daily(Z, time(2), time(3)), date(2025, 3, 29), date(2025, 3, 31),
         ["03-29 01:00 → 03-29 02:00", "03-31 00:00 → 03-31 01:00"]),
        ("a start in the fold is its first instant; 02:30-03:30 lasts 2 h",
         daily(Z, time(2, 30), time(3, 30)), FALL, FALL, ["10-26 00:30 → 10-26 02:30"]),
        ("overnight 22:00-06:00 across the gap lasts 7 h", daily(Z, time(22), time(6)),
         date(2025, 3, 29), date(2025, 3, 29),
         ["03-28 21:00 → 03-29 05:00", "03-29 21:00 → 03-30 04:00"]),
        ("overnight 22:00-06:00 across the fold lasts 9 h", daily(Z, time(22), time(6)),
         date(2025, 10, 25), date(2025, 10, 25),
         ["10-24 20:00 → 10-25 04:00", "10-25 20:00 → 10-26 05:00"]),
        ("cron in the gap runs right after the jump (03:00 CEST)", cron(Z, "30 2 * * *"),
         SPRING, SPRING, ["03-30 01:00 → 03-30 01:30"]),
        ("cron in the fold runs once, at the first instant", cron(Z, "30 2 * * *"),
         FALL, FALL, ["10-26 00:30 → 10-26 01:00"]),
        ("cron duration is elapsed time across the gap", cron(Z, "0 1 * * *", 3 * HOUR),
         SPRING, SPRING, ["03-30 00:00 → 03-30 03:00", "03-30 23:00 → 03-31 02:00"]),
    ]

    @pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
    def test_transition(self, case: Case) -> None:
        run(case)


class TestNewYork:
    """America/New_York: 2025-03-09 02:00 EST → 03:00 EDT (gap), 2025-11-02 02:00 EDT → 01:00
    EST (fold 01:00-02:00)."""

    Z = "America/New_York"
    SPRING, FALL = date(2025, 3, 9), date(2025, 11, 2)
    CASES: list[Case] = [
        ("02:30-03:30 collapses to zero in the gap and is not produced",
         daily(Z, time(2, 30), time(3, 30)), SPRING, SPRING, []),
        ("02:00 for 1 h keeps its hour, starting at the gap's start", daily(Z, time(2), None, HOUR),
         SPRING, SPRING, ["03-09 07:00 → 03-09 08:00"]),
        ("01:30-02:30 in the fold starts at the first 01:30 and lasts 2 h",
         daily(Z, time(1, 30), time(2, 30)), FALL, FALL, ["11-02 05:30 → 11-02 07:30"]),
        ("00:00-03:00 lasts 2 h on the spring day", daily(Z, time(0), time(3)),
         SPRING, SPRING, ["03-09 05:00 → 03-09 07:00"]),
        ("00:00-03:00 lasts 4 h on the fall day", daily(Z, time(0), time(3)),
         FALL, FALL, ["11-02 04:00 → 11-02 08:00"]),
        ("cron in the fold runs once", cron(Z, "30 1 * * *"), FALL, FALL,
         ["11-02 05:30 → 11-02 06:00"]),
        ("cron in the gap runs at 03:00 EDT", cron(Z, "30 2 * * *"), SPRING, SPRING,
         ["03-09 07:00 → 03-09 07:30"]),
    ]

    @pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
    def test_transition(self, case: Case) -> None:
        run(case)


class TestSydney:
    """Australia/Sydney: 2025-04-06 03:00 AEDT → 02:00 AEST (fall back, fold 02:00-03:00),
    2025-10-05 02:00 AEST → 03:00 AEDT (spring forward, gap)."""

    Z = "Australia/Sydney"
    FALL, SPRING = date(2025, 4, 5), date(2025, 10, 4)  # UTC dates of the local transitions
    CASES: list[Case] = [
        ("02:30-03:30 in the fold starts at the first 02:30 and lasts 2 h",
         daily(Z, time(2, 30), time(3, 30)), FALL, FALL, ["04-05 15:30 → 04-05 17:30"]),
        ("02:30-03:30 collapses in the gap and is not produced",
         daily(Z, time(2, 30), time(3, 30)), SPRING, SPRING, []),
        ("02:00 for 1 h starts at the gap's start", daily(Z, time(2), None, HOUR),
         SPRING, SPRING, ["10-04 16:00 → 10-04 17:00"]),
        ("overnight 23:00-07:00 across the fold lasts 9 h", daily(Z, time(23), time(7)),
         FALL, FALL, ["04-05 12:00 → 04-05 21:00"]),
        ("cron in the gap runs at 03:00 AEDT", cron(Z, "30 2 * * *"), SPRING, SPRING,
         ["10-04 16:00 → 10-04 16:30"]),
        ("cron in the fold runs once", cron(Z, "30 2 * * *"), FALL, FALL,
         ["04-05 15:30 → 04-05 16:00"]),
    ]

    @pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
    def test_transition(self, case: Case) -> None:
        run(case)


class TestLordHowe:
    """Australia/Lord_Howe, a 30-minute DST: 2025-04-06 02:00 (+11) → 01:30 (+10:30), fold
    01:30-02:00; 2025-10-05 02:00 (+10:30) → 02:30 (+11), gap 02:00-02:30."""

    Z = "Australia/Lord_Howe"
    FALL, SPRING = date(2025, 4, 5), date(2025, 10, 4)  # UTC dates of the local transitions
    CASES: list[Case] = [
        ("01:45-02:15 in the fold starts at the first 01:45 and lasts 1 h",
         daily(Z, time(1, 45), time(2, 15)), FALL, FALL, ["04-05 14:45 → 04-05 15:45"]),
        ("02:15-03:00 starts in the gap, read at +10:30, lasts 15 min",
         daily(Z, time(2, 15), time(3)), SPRING, SPRING, ["10-04 15:45 → 10-04 16:00"]),
        ("02:00-02:30 collapses in the gap and is not produced",
         daily(Z, time(2), time(2, 30)), SPRING, SPRING, []),
        ("01:00 for 2 h is elapsed time across the fold", daily(Z, time(1), None, 2 * HOUR),
         FALL, FALL, ["04-05 14:00 → 04-05 16:00"]),
        ("cron in the gap runs right after the jump (02:30)", cron(Z, "15 2 * * *"),
         SPRING, SPRING, ["10-04 15:30 → 10-04 16:00"]),
        ("cron in the fold runs once, at the first instant", cron(Z, "45 1 * * *"),
         FALL, FALL, ["04-05 14:45 → 04-05 15:15"]),
        # A cron with a * in its hour runs on real time; the first run after a half-hour
        # change was lost (cronsim's own iteration kept the minute it had before).
        ("every 6 h: 06:00 right after the clock went back is kept", cron(Z, "0 */6 * * *"),
         FALL, FALL, ["04-05 01:00 → 04-05 01:30", "04-05 07:00 → 04-05 07:30",
                      "04-05 13:00 → 04-05 13:30", "04-05 19:30 → 04-05 20:00"]),
        ("every 6 h: 06:00 right after the clock went forward is kept", cron(Z, "0 */6 * * *"),
         SPRING, SPRING, ["10-04 01:30 → 10-04 02:00", "10-04 07:30 → 10-04 08:00",
                          "10-04 13:30 → 10-04 14:00", "10-04 19:00 → 10-04 19:30"]),
        ("every 30 min in hour 1 runs in both passes of the fold", cron(Z, "*/30 1 * * *"),
         FALL, FALL, ["04-05 14:00 → 04-05 14:30", "04-05 14:30 → 04-05 15:00",
                      "04-05 15:00 → 04-05 15:30"]),
        ("every 15 min in hour 2 skips the gap", cron(Z, "*/15 2 * * *"),
         SPRING, SPRING, ["10-04 15:30 → 10-04 16:00", "10-04 15:45 → 10-04 16:15"]),
    ]

    @pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
    def test_transition(self, case: Case) -> None:
        run(case)


class TestOnceInAZone:
    """A one-time window whose instants carry a zone (not UTC): its length is elapsed time and
    the two readings of a fold's wall time are two different windows, compiled apart."""

    Z = ZoneInfo("Europe/Berlin")
    FIRST = datetime(2025, 10, 26, 2, 30, tzinfo=Z)            # 00:30Z, CEST
    SECOND = datetime(2025, 10, 26, 2, 30, fold=1, tzinfo=Z)   # 01:30Z, CET
    END = datetime(2025, 10, 26, 3, 30, tzinfo=Z)              # 02:30Z

    CASES: list[tuple[str, OnceSchedule, list[str], timedelta]] = [
        ("the first 02:30 to 03:30 lasts 2 h", OnceSchedule(FIRST, END),
         ["10-26 00:30 → 10-26 02:30"], 2 * HOUR),
        ("the second 02:30 to 03:30 lasts 1 h", OnceSchedule(SECOND, END),
         ["10-26 01:30 → 10-26 02:30"], HOUR),
        ("spring 01:30 to 03:30 lasts 1 h",
         OnceSchedule(datetime(2025, 3, 30, 1, 30, tzinfo=Z),
                      datetime(2025, 3, 30, 3, 30, tzinfo=Z)),
         ["03-30 00:30 → 03-30 01:30"], HOUR),
    ]

    @pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
    def test_once(self, case: tuple[str, OnceSchedule, list[str], timedelta]) -> None:
        _, schedule, expected, length = case
        lo, hi = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
        got = [f"{o.start:%m-%d %H:%M} → {o.end:%m-%d %H:%M}"
               for o in occurrences(schedule, lo, hi)]
        assert (got, max_occurrence_length(schedule)) == (expected, length)

    def test_fold_readings_compile_apart_whichever_comes_first(self) -> None:
        lo, hi = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
        starts = [occurrences(OnceSchedule(start, self.END), lo, hi)[0].start
                  for start in (self.SECOND, self.FIRST, self.SECOND)]
        assert [f"{s:%H:%M}" for s in starts] == ["01:30", "00:30", "01:30"]
