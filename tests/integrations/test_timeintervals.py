"""Alertmanager time intervals → quietly schedules, checked against Alertmanager itself.

Every case states instants an interval must and must not contain (after the cases of
Alertmanager's ``timeinterval_test.go``, plus its calendar quirks). Each is checked three ways
with one equality each: quietly's occurrence expansion of the translated schedules, the same
expectation, and — when Go and Debian's Alertmanager source are installed — Alertmanager's own
``ContainsTime`` (``amoracle``). A Hypothesis property then compares quietly with that oracle
over random intervals and random instants.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from quietly.core.codec import schedule_from_json
from quietly.core.schedule import current_occurrence
from quietly.core.timeutil import get_zone
from quietly.integrations.alertmanager.timeintervals import (
    IntervalError,
    Translation,
    alertmanager_days_in_month,
    complement,
    parse_interval,
    translate,
)
from tests.integrations.amoracle import Oracle, build_oracle, missing_reason

NOW = datetime(2026, 12, 1, tzinfo=UTC)  # only picks the years whose calendars are examined


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Oracle:
    reason = missing_reason()
    if reason:
        pytest.skip(f"no Alertmanager oracle: {reason}")
    return build_oracle(tmp_path_factory.mktemp("amoracle"))


def quietly_contains(translation: Translation, at: datetime) -> bool:
    """Whether one of the translated windows runs at ``at``, by quietly's own expansion."""
    return any(current_occurrence(schedule_from_json(s), at) is not None
               for s in translation.schedules)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass(frozen=True)
class Case:
    name: str
    interval: dict[str, Any]
    contains: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()


CASES = [
    Case("no fields: always", {},
         contains=("2006-01-02T15:04:00+00:00", "2007-01-03T10:04:00+00:00")),
    Case("office hours, weekdays", {"times": [{"start_time": "09:00", "end_time": "17:00"}],
                                    "weekdays": ["monday:friday"]},
         contains=("2020-05-04T15:04:00+00:00", "2020-06-09T09:04:00+00:00",
                   "2020-06-09T16:59:59+00:00"),
         excludes=("2020-05-03T15:04:00+00:00", "2020-05-04T08:59:00+00:00",
                   "2020-05-05T17:00:00+00:00")),
    Case("a few days of one month of one year", {
        "days_of_month": ["4:6"], "months": ["april"], "years": ["2020"]},
         contains=("2020-04-04T15:04:00+00:00", "2020-04-05T00:00:00+00:00",
                   "2020-04-06T23:05:00+00:00"),
         excludes=("2018-05-03T15:04:00+00:00", "2020-04-03T23:59:00+00:00",
                   "2019-04-06T23:59:00+00:00", "2020-04-07T00:00:00+00:00")),
    Case("last three days of every month", {"days_of_month": ["-3:-1"]},
         contains=("2020-01-29T15:04:00+00:00", "2020-01-31T15:04:00+00:00",
                   "2020-06-30T00:00:00+00:00", "2020-02-29T23:05:00+00:00",
                   "2021-02-26T12:00:00+00:00"),
         excludes=("2020-01-27T15:04:00+00:00", "2020-03-01T00:00:00+00:00",
                   "2020-02-26T12:00:00+00:00", "2021-02-25T12:00:00+00:00")),
    Case("days out of the month's range are clamped", {
        "months": ["6"], "days_of_month": ["-31:-1", "1:31"]},
         contains=("2020-06-30T00:00:00+00:00", "2020-06-01T00:00:00+00:00"),
         excludes=("2020-05-31T00:00:00+00:00", "2020-07-01T00:00:00+00:00")),
    Case("a begin past the month's end matches nothing", {
        "days_of_month": ["30:31"], "months": ["february"], "years": ["2020:2023"]},
         excludes=("2021-02-28T13:00:00+00:00", "2020-02-29T13:00:00+00:00")),
    Case("office hours in Sydney", {
        "times": [{"start_time": "09:00", "end_time": "17:00"}],
        "weekdays": ["monday:friday"], "location": "Australia/Sydney"},
         contains=("2021-04-06T13:00:00+10:00",), excludes=("2021-04-06T13:00:00+00:00",)),
    Case("Sydney in summer time", {
        "times": [{"start_time": "09:00", "end_time": "17:00"}],
        "weekdays": ["monday:friday"], "months": ["11"], "location": "Australia/Sydney"},
         contains=("2021-11-01T09:00:00+11:00", "2021-10-31T22:00:00+00:00"),
         excludes=("2021-10-31T21:00:00+00:00",)),
    Case("negative days and several ranges", {
        "weekdays": ["monday:friday", "sunday"], "months": ["january:march"],
        "days_of_month": ["-7:-1"], "years": ["2020:2025", "2030:2035"],
        "times": [{"start_time": "09:00", "end_time": "17:00"}]},
         contains=("2021-01-27T09:00:00+00:00", "2021-01-28T16:59:00+00:00",
                   "2025-03-31T13:00:00+00:00", "2035-01-31T13:00:00+00:00"),
         excludes=("2021-01-30T13:00:00+00:00", "2021-04-01T13:00:00+00:00",
                   "2026-01-30T13:00:00+00:00", "2035-01-31T17:01:00+00:00")),
    Case("mixed positive and negative days", {
        "weekdays": ["monday:wednesday", "saturday", "sunday"],
        "times": [{"start_time": "13:00", "end_time": "15:00"}],
        "days_of_month": ["1", "10", "20:-1"], "years": ["2020:2023"],
        "months": ["january:march"]},
         contains=("2021-01-10T13:00:00+00:00", "2021-01-30T14:24:00+00:00",
                   "2021-02-28T14:00:00+00:00", "2020-02-29T14:00:00+00:00"),
         excludes=("2021-01-09T13:00:00+00:00", "2021-01-20T12:59:00+00:00",
                   "2021-02-02T13:00:00+00:00")),
    Case("until midnight: 24:00", {"times": [{"start_time": "22:00", "end_time": "24:00"}]},
         contains=("2026-03-01T23:59:59+00:00", "2026-03-01T22:00:00+00:00"),
         excludes=("2026-03-02T00:00:00+00:00", "2026-03-01T21:59:59+00:00")),
    Case("two time ranges in one day", {
        "times": [{"start_time": "00:00", "end_time": "06:00"},
                  {"start_time": "18:00", "end_time": "24:00"}],
        "weekdays": ["saturday", "sunday"]},
         contains=("2026-03-07T05:59:00+00:00", "2026-03-08T18:00:00+00:00"),
         excludes=("2026-03-07T06:00:00+00:00", "2026-03-09T01:00:00+00:00")),
    # Alertmanager counts Berlin's March (clocks spring forward) as 30 days: its "last day"
    # is March 30, and day 31 never matches. quietly follows.
    Case("Berlin's March is 30 days long for Alertmanager", {
        "days_of_month": ["-1"], "location": "Europe/Berlin"},
         contains=("2026-03-30T12:00:00+02:00", "2026-04-30T12:00:00+02:00",
                   "2026-10-31T12:00:00+01:00"),
         excludes=("2026-03-31T12:00:00+02:00", "2026-03-29T12:00:00+02:00")),
    Case("day 31 never in Berlin's March", {
        "days_of_month": ["25:31"], "months": ["march"], "location": "Europe/Berlin"},
         contains=("2027-03-30T23:59:00+02:00", "2027-03-25T00:00:00+01:00"),
         excludes=("2027-03-31T00:00:00+02:00", "2027-03-24T23:59:00+01:00")),
    Case("Berlin night across the spring-forward change", {
        "times": [{"start_time": "01:00", "end_time": "04:00"}], "location": "Europe/Berlin"},
         contains=("2026-03-29T00:00:00+00:00", "2026-03-29T01:59:00+00:00"),
         excludes=("2026-03-29T02:00:00+00:00", "2026-03-28T23:59:00+00:00")),
    Case("Berlin night across the fall-back change", {
        "times": [{"start_time": "01:00", "end_time": "04:00"}], "location": "Europe/Berlin"},
         contains=("2026-10-24T23:00:00+00:00", "2026-10-25T02:59:00+00:00"),
         excludes=("2026-10-25T03:00:00+00:00",)),
    Case("a present but empty list matches nothing", {"times": []},
         excludes=("2026-03-04T12:00:00+00:00",)),
    Case("month numbers outside 1-12 are accepted and never match", {"months": ["0:2", "13"]},
         contains=("2026-01-04T12:00:00+00:00", "2026-02-28T23:59:00+00:00"),
         excludes=("2026-03-01T00:00:00+00:00",)),
    Case("years before 1970 in a range", {"years": ["1900:2026"]},
         contains=("2026-12-31T23:59:59+00:00",), excludes=("2027-01-01T00:00:00+00:00",)),
    Case("leap day only", {"days_of_month": ["29"], "months": ["february"]},
         contains=("2028-02-29T00:00:00+00:00",), excludes=("2027-03-01T00:00:00+00:00",)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_quietly_windows_contain_what_alertmanager_contains(case: Case) -> None:
    translation = translate(parse_interval(case.interval), now=NOW)
    instants = [*case.contains, *case.excludes]
    expected = [True] * len(case.contains) + [False] * len(case.excludes)
    assert [quietly_contains(translation, _at(t)) for t in instants] == expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_table_agrees_with_alertmanager(case: Case, oracle: Oracle) -> None:
    instants = [_at(t) for t in (*case.contains, *case.excludes)]
    expected = [True] * len(case.contains) + [False] * len(case.excludes)
    assert oracle.ask([(case.interval, instants)]) == [(None, expected)]


TRANSLATIONS = [
    ("office hours", {"times": [{"start_time": "09:00", "end_time": "17:00"}],
                      "weekdays": ["monday:friday"]},
     [{"kind": "recurring", "timezone": "UTC", "rrule": "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
       "start_time": "09:00", "end_time": "17:00"}]),
    ("whole days, two year ranges", {"months": ["december"],
                                     "days_of_month": ["24:26"],
                                     "years": ["2026", "2030:2031"]},
     [{"kind": "recurring", "timezone": "UTC", "rrule": "FREQ=DAILY;BYMONTH=12;BYMONTHDAY=24,25,26",
       "start_time": "00:00", "end_time": "00:00", "starts_on": "2026-01-01",
       "until": "2026-12-31"},
      {"kind": "recurring", "timezone": "UTC", "rrule": "FREQ=DAILY;BYMONTH=12;BYMONTHDAY=24,25,26",
       "start_time": "00:00", "end_time": "00:00", "starts_on": "2030-01-01",
       "until": "2031-12-31"}]),
    ("last day, by negative day", {"days_of_month": ["-1"], "location": "America/New_York"},
     # New York's March springs forward: Alertmanager's last day of March is the 30th.
     [{"kind": "recurring", "timezone": "America/New_York",
       "rrule": "FREQ=DAILY;BYMONTH=1,2,4,5,6,7,8,9,10,11,12;BYMONTHDAY=-1",
       "start_time": "00:00", "end_time": "00:00"},
      {"kind": "recurring", "timezone": "America/New_York",
       "rrule": "FREQ=DAILY;BYMONTH=3;BYMONTHDAY=-2", "start_time": "00:00",
       "end_time": "00:00"}]),
]


@pytest.mark.parametrize(("name", "interval", "schedules"), TRANSLATIONS,
                         ids=[t[0] for t in TRANSLATIONS])
def test_translation_shape(name: str, interval: dict[str, Any],
                           schedules: list[dict[str, Any]]) -> None:
    assert list(translate(parse_interval(interval), now=NOW).schedules) == schedules


def test_days_that_differ_by_year_are_reported_not_dropped() -> None:
    # Germany's first spring-forward in March was in 1981: before it, Alertmanager's last
    # day of March is the 31st, from then on the 30th. One BYMONTHDAY list cannot say both.
    translation = translate(parse_interval({
        "days_of_month": ["-1"], "months": ["march", "april"], "years": ["1979:1982"],
        "location": "Europe/Berlin"}), now=NOW)
    assert [u.split(":")[0] for u in translation.untranslatable] == ["March", "April"]
    assert translation.schedules == ()


def test_times_inside_a_daylight_saving_change_are_listed_as_approximations() -> None:
    interval = parse_interval({"times": [{"start_time": "02:30", "end_time": "05:00"}],
                               "location": "Europe/Berlin"})
    notes = translate(interval, now=NOW).approximations
    assert [n.split(" falls")[0] for n in notes] == ["start_time 02:30"]
    assert translate(parse_interval({"times": [{"start_time": "02:00", "end_time": "03:00"}],
                                     "location": "Europe/Berlin"}),
                     now=NOW).approximations == ()


def test_the_alertmanager_hosts_own_zone_is_reported_not_guessed() -> None:
    interval = parse_interval({"weekdays": ["saturday"], "location": "Local"})
    assert ([t.schedules for t in (translate(interval, now=NOW),
                                   *(translate(p, now=NOW) for p in complement(interval)))],
            translate(interval, now=NOW).untranslatable[0].split(":")[0]) == (
        [(), ()], "location 'Local' is the Alertmanager host's own zone, which quietly "
        "cannot know")


def test_alertmanager_month_lengths() -> None:
    assert [alertmanager_days_in_month(2026, m, "Europe/Berlin") for m in (2, 3, 10)] \
        == [28, 30, 31]
    assert alertmanager_days_in_month(2026, 3, "UTC") == 31


INVALID = [
    ({"times": [{"start_time": "01:99", "end_time": "23:59"}]},
     "couldn't parse timestamp 01:99, invalid format"),
    ({"times": [{"start_time": "00:00", "end_time": "99:99"}]},
     "couldn't parse timestamp 99:99, invalid format"),
    ({"times": [{"start_time": "17:31", "end_time": "17:31"}]},
     "start time cannot be equal or greater than end time"),
    ({"times": [{"start_time": "14:03"}]}, "both start and end times must be provided"),
    ({"weekdays": ["friday:monday"]}, "start day cannot be before end day"),
    ({"weekdays": ["blurgsday:flurgsday"]}, "blurgsday is not a valid weekday"),
    ({"weekdays": ["1:3"]}, "1 is not a valid weekday"),
    ({"days_of_month": ["0"]}, "0 is not a valid day of the month: out of range"),
    ({"days_of_month": ["-50:-20"]}, "-50 is not a valid day of the month: out of range"),
    ({"days_of_month": ["1:50"]}, "50 is not a valid day of the month: out of range"),
    ({"days_of_month": ["-15:5"]}, "end day must be negative if start day is negative"),
    ({"days_of_month": ["10:-25"]}, "end day -25 is always before start day 10"),
    ({"months": ["martius:june"]}, "martius is not a valid month"),
    ({"months": ["december:january"]}, "end month january is before start month december"),
    ({"years": ["2022:2020"]}, "end year 2020 is before start year 2022"),
]


@pytest.mark.parametrize(("interval", "message"), INVALID, ids=[m for _, m in INVALID])
def test_invalid_intervals_are_refused_with_alertmanagers_message(
        interval: dict[str, Any], message: str) -> None:
    with pytest.raises(IntervalError) as caught:
        parse_interval(interval)
    assert caught.value.message == message


def test_invalid_intervals_are_invalid_for_alertmanager_too(oracle: Oracle) -> None:
    answers = oracle.ask([(interval, []) for interval, _ in INVALID])
    assert [error is not None for error, _ in answers] == [True] * len(INVALID)


# The property: random intervals, random instants, quietly == Alertmanager. -------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe",
         "America/Santiago", "Asia/Kolkata", "Pacific/Chatham", "Europe/London"]
WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
FIRST, LAST = date(2025, 1, 1), date(2031, 12, 31)


def _named_range(names: list[str]) -> st.SearchStrategy[str]:
    return st.tuples(st.integers(0, len(names) - 1), st.integers(0, len(names) - 1)).map(
        lambda p: names[min(p)] if p[0] == p[1] else f"{names[min(p)]}:{names[max(p)]}")


def _valid_days(pair: tuple[int, int]) -> bool:
    begin, end = pair
    b, e = (28 + begin if begin < 0 else begin), (28 + end if end < 0 else end)
    return not (begin < 0 < end) and b <= e


day_range = st.tuples(st.integers(-31, 31).filter(bool), st.integers(-31, 31).filter(bool)) \
    .filter(_valid_days).map(lambda p: str(p[0]) if p[0] == p[1] else f"{p[0]}:{p[1]}")
minute = st.integers(0, 24 * 60)


def _clock(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


time_range = st.tuples(minute, minute).filter(lambda p: p[0] < p[1]).map(
    lambda p: {"start_time": _clock(p[0]), "end_time": _clock(p[1])})
year_range = st.tuples(st.integers(2025, 2031), st.integers(2025, 2031)).map(
    lambda p: f"{min(p)}:{max(p)}")


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any] | None]:
    return st.none() | st.lists(strategy, min_size=1, max_size=3)


intervals = st.fixed_dictionaries({}, optional={
    "times": st.lists(time_range, min_size=1, max_size=2),
    "weekdays": st.lists(_named_range(WEEKDAYS), min_size=1, max_size=2),
    "days_of_month": st.lists(day_range, min_size=1, max_size=2),
    "months": st.lists(_named_range(MONTHS), min_size=1, max_size=2),
    "years": st.lists(year_range, min_size=1, max_size=2),
    "location": st.sampled_from(ZONES),
})
# Instants: whole seconds, often near a day's edges and in the last days of the interval's
# months (where Alertmanager's day arithmetic has its quirks), in the years it uses.


def _instants(months: list[int]) -> st.SearchStrategy[datetime]:
    month_ends = st.builds(
        lambda year, month, back: date(year, month, calendar.monthrange(year, month)[1])
        - timedelta(days=back),
        st.integers(FIRST.year, LAST.year), st.sampled_from(months), st.integers(-1, 3))
    return st.builds(
        lambda day, second: datetime.combine(day, datetime.min.time(), UTC)
        + timedelta(seconds=second),
        st.dates(FIRST, LAST) | month_ends,
        st.integers(0, 86_399) | st.sampled_from([0, 59, 3600, 7200, 79_200, 86_399]))


def _near_a_change(at: datetime, zone: str, translation: Translation) -> bool:
    """True on the local days around an offset change when the translation said it is
    approximate there (the one documented difference)."""
    if not translation.approximations:
        return False
    tz = get_zone(zone)
    day = at.astimezone(tz)
    return any((day + timedelta(days=d)).utcoffset() != day.utcoffset() for d in (-1, 1))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interval=intervals, data=st.data())
def test_quietly_agrees_with_alertmanager_on_random_intervals(
        interval: dict[str, Any], data: st.DataObject, oracle: Oracle) -> None:
    parsed = parse_interval(interval)
    months = [m for m in range(1, 13)
              if parsed.months is None or any(r.begin <= m <= r.end for r in parsed.months)]
    at = data.draw(st.lists(_instants(months or [1]), min_size=1, max_size=12))
    translation = translate(parsed, now=NOW)
    outside = [translate(part, now=NOW) for part in complement(parsed)]
    zone = interval.get("location", "UTC")
    kept = [t for t in at if not any(_near_a_change(t, zone, x)
                                     for x in (translation, *outside))]
    [(error, expected)] = oracle.ask([(interval, kept)])
    assert error is None
    assert translation.untranslatable == ()
    assert [quietly_contains(translation, t) for t in kept] == expected
    # The complement of a day set can differ between years where the set does not: such
    # parts are reported (test_active_intervals_…); compare only complete complements here.
    assume(all(x.untranslatable == () for x in outside))
    # active_time_intervals: the complement's windows run exactly when Alertmanager says no.
    assert [any(quietly_contains(x, t) for x in outside) for t in kept] \
        == [not e for e in expected]
