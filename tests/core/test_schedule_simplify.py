"""Plainer forms of the same recurring schedule (``core.schedule.simplify``), for vendor APIs.

Each case says what a rule reads as, or that it has no plainer form; the property checks that
a plainer form gives exactly the same occurrences, daylight-saving changes included.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.core import schedule
from quietly.core.model import CronRule, RecurringSchedule, RRuleRule, SimpleRule
from quietly.core.schedule.simplify import as_cron, as_simple

ZONE = "Europe/Berlin"


def _rec(rule: RRuleRule | SimpleRule | CronRule, **extra: object) -> RecurringSchedule:
    values: dict[str, object] = {"timezone": ZONE, "rule": rule, "start_time": time(2, 30),
                                 "end_time": time(4), "starts_on": date(2030, 1, 1), **extra}
    return RecurringSchedule(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("rrule", "simple"), [
    ("FREQ=DAILY", SimpleRule("daily")),
    ("FREQ=WEEKLY;BYDAY=SU", SimpleRule("weekly", days_of_week=("sun",))),
    ("FREQ=WEEKLY;BYDAY=MO,TH;WKST=MO", SimpleRule("weekly", days_of_week=("mon", "thu"))),
    ("FREQ=MONTHLY;BYMONTHDAY=31", SimpleRule("monthly", day_of_month=31,
                                              short_month="skip")),
    ("FREQ=DAILY;INTERVAL=1", SimpleRule("daily")),
    ("FREQ=DAILY;INTERVAL=2", None),
    ("FREQ=MONTHLY;BYDAY=2TU", None),
    ("FREQ=WEEKLY", None),
    ("FREQ=MONTHLY;BYMONTHDAY=1,15", None),
    ("FREQ=YEARLY;BYMONTH=1", None),
])
def test_as_simple(rrule: str, simple: SimpleRule | None) -> None:
    found = as_simple(_rec(RRuleRule(rrule)))
    assert (found.rule if found else None) == simple


AT_0430 = {"start_time": time(4, 30), "end_time": time(6)}


@pytest.mark.parametrize(("rule", "extra", "cron"), [
    (SimpleRule("daily"), AT_0430, "30 4 * * *"),
    (SimpleRule("weekly", days_of_week=("sun", "wed")), AT_0430, "30 4 * * 0,3"),
    (RRuleRule("FREQ=WEEKLY;BYDAY=SA"), AT_0430, "30 4 * * 6"),
    (SimpleRule("monthly", day_of_month=15), AT_0430, "30 4 15 * *"),
    (SimpleRule("monthly", day_of_month=31), AT_0430, None),  # last_day: not what cron does
    (SimpleRule("monthly", day_of_month=31, short_month="skip"), AT_0430, "30 4 31 * *"),
    # 02:30 Berlin does not exist one night a year: cron would start at 03:00 CEST, the
    # native rule at 03:30 CEST (02:30 read with the offset before the gap).
    (SimpleRule("daily"), {}, None),
    (SimpleRule("daily"), {"timezone": "UTC"}, "30 2 * * *"),
    (SimpleRule("monthly", day_of_month=-1), {}, None),
    (SimpleRule("monthly", weekday_of_month="2TU"), {}, None),
    (SimpleRule("daily"), {"until": date(2030, 6, 1)}, None),
    (RRuleRule("FREQ=DAILY;INTERVAL=3"), {}, None),
])
def test_as_cron(rule: RRuleRule | SimpleRule, extra: dict[str, object],
                 cron: str | None) -> None:
    assert as_cron(_rec(rule, **extra)) == cron


RULES = st.one_of(
    st.just("FREQ=DAILY"),
    st.lists(st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]), min_size=1,
             max_size=7, unique=True).map(lambda d: "FREQ=WEEKLY;BYDAY=" + ",".join(d)),
    st.integers(1, 31).map(lambda d: f"FREQ=MONTHLY;BYMONTHDAY={d}"),
)


@settings(max_examples=60, deadline=None)
@given(rrule=RULES, start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
       zone=st.sampled_from(["Europe/Berlin", "America/New_York", "UTC"]))
def test_the_plainer_form_gives_the_same_occurrences(rrule: str, start: time,
                                                     zone: str) -> None:
    original = _rec(RRuleRule(rrule), timezone=zone, start_time=start, end_time=None,
                    duration=timedelta(minutes=90))
    plain = as_simple(original)
    assert plain is not None
    span = (datetime(2030, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC))
    assert schedule.occurrences(plain, *span) == schedule.occurrences(original, *span)
    cron = as_cron(original)
    if cron is not None:  # the cron, where there is one, starts at the same instants
        as_cron_schedule = _rec(CronRule(cron), timezone=zone, start_time=None, end_time=None,
                                duration=timedelta(minutes=90))
        assert schedule.occurrences(as_cron_schedule, *span) == \
            schedule.occurrences(original, *span)
