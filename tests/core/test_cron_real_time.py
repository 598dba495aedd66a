"""A cron expression with a ``*`` in its minute or hour field runs on real time (Debian cron,
DESIGN §3): at every instant whose wall-clock time matches it, in both passes of a fold and
never in a gap. The oracle reads the wall clock minute by minute in UTC, so it knows nothing
of how the source steps from one run to the next; it caught the run lost after Lord Howe's
half-hour changes (cronsim's aware iteration kept the minute it had before the change).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import islice, takewhile
from zoneinfo import ZoneInfo

from cronsim import CronSim
from hypothesis import example, given, settings
from hypothesis import strategies as st

from quietly.core.schedule.sources import CronSource, Start

MINUTE = timedelta(minutes=1)
EXPRESSIONS = ("0 */6 * * *", "*/30 1 * * *", "*/15 2 * * *", "15,45 * * * *", "0 * * * *",
               "*/20 */3 * * 0", "5,35 * * * *", "*/7 * 5 * *")
# (A fixed minute and hour, "5 1-3 * * *", follows cron's gap and fold rules instead.)
# Zones and the instants of their changes: half-hour changes (Lord Howe), 45-minute offsets
# (Chatham), an hour's change both ways, none (Kolkata), and a day skipped (Apia).
CHANGES = (
    ("Australia/Lord_Howe", datetime(2025, 4, 5, 15, tzinfo=UTC)),
    ("Australia/Lord_Howe", datetime(2025, 10, 4, 15, 30, tzinfo=UTC)),
    ("Australia/Lord_Howe", datetime(2026, 4, 4, 15, tzinfo=UTC)),
    ("Pacific/Chatham", datetime(2026, 4, 4, 14, tzinfo=UTC)),
    ("Pacific/Chatham", datetime(2026, 9, 26, 14, tzinfo=UTC)),
    ("Europe/Berlin", datetime(2026, 3, 29, 1, tzinfo=UTC)),
    ("Europe/Berlin", datetime(2026, 10, 25, 1, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 3, 8, 7, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 11, 1, 6, tzinfo=UTC)),
    ("Asia/Kolkata", datetime(2026, 3, 29, 1, tzinfo=UTC)),
    ("Pacific/Apia", datetime(2011, 12, 30, 10, tzinfo=UTC)),
)
BERLIN_BACK = CHANGES[6]


def matches(expr: str, wall: datetime) -> bool:
    """Whether the naive ``wall`` (a whole minute) is one of ``expr``'s wall-clock times."""
    return next(CronSim(expr, wall - timedelta(seconds=1))) == wall


def oracle(expr: str, zone: ZoneInfo, lower: datetime, upper: datetime) -> list[Start]:
    """Every whole minute in [lower, upper) whose wall-clock time matches, read one by one."""
    found: list[Start] = []
    moment = lower
    while moment < upper:
        wall = moment.astimezone(zone).replace(tzinfo=None)
        if matches(expr, wall):
            found.append((moment, wall))
        moment += MINUTE
    return found


@settings(max_examples=60)
@given(change=st.sampled_from(CHANGES), expr=st.sampled_from(EXPRESSIONS),
       shift=st.integers(-36 * 60, 12 * 60))
# Two wall times in one fold: the second pass of the first comes after the first pass of
# the second (02:15 CET is after 02:45 CEST).
@example(change=BERLIN_BACK, expr="15,45 * * * *", shift=-60)
# A search from inside a fold's first pass: 02:15 CET (01:15Z) shows an earlier wall time.
@example(change=BERLIN_BACK, expr="15,45 * * * *", shift=-10)
def test_starts_are_the_matching_instants(change: tuple[str, datetime], expr: str,
                                          shift: int) -> None:
    zone, near = change
    tz = ZoneInfo(zone)
    lower = near + shift * MINUTE
    upper = lower + timedelta(hours=48)
    source = CronSource(expr, tz, None, None, None)
    got = list(takewhile(lambda start: start[0] < upper, source.starts_from(lower)))
    assert got == oracle(expr, tz, lower, upper)


@settings(max_examples=40)
@given(change=st.sampled_from(CHANGES), expr=st.sampled_from(EXPRESSIONS),
       shift=st.integers(-24 * 60, 24 * 60), later=st.integers(1, 24 * 60))
def test_where_the_search_begins_changes_nothing(change: tuple[str, datetime], expr: str,
                                                 shift: int, later: int) -> None:
    """The index asks from its horizon, the brute force from further back: both must see the
    same runs (the lost run came and went with where the search began)."""
    zone, near = change
    source = CronSource(expr, ZoneInfo(zone), None, None, None)
    early = near + shift * MINUTE
    late = early + later * MINUTE
    from_early = list(islice(source.starts_from(early), 400))
    from_late = list(islice(source.starts_from(late), 40))
    assert from_late == [start for start in from_early if start[0] >= late][:len(from_late)]


@settings(max_examples=30)
@given(change=st.sampled_from(CHANGES), expr=st.sampled_from(EXPRESSIONS),
       days=st.integers(0, 2))
@example(change=BERLIN_BACK, expr="15,45 * * * *", days=1)
def test_backwards_is_forwards_reversed(change: tuple[str, datetime], expr: str,
                                        days: int) -> None:
    """A finite schedule's last runs (searched backwards from its last day) are its runs."""
    zone, near = change
    tz = ZoneInfo(zone)
    first: date = near.astimezone(tz).date() - timedelta(days=1)
    last = first + timedelta(days=days)
    source = CronSource(expr, tz, first, last, None)
    forwards = list(takewhile(lambda start: start[1].date() <= last,
                              source.starts_from(datetime.combine(first, datetime.min.time(),
                                                                  UTC) - timedelta(days=1))))
    assert list(source.starts_backward()) == forwards[::-1]
    lower = near - timedelta(days=3)
    assert forwards == [start for start in oracle(expr, tz, lower, lower + timedelta(days=7))
                        if first <= start[1].date() <= last]
