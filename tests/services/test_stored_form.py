"""A new window's record as the bulk create builds it (``windows._as_stored``) equals the
record its row reads back (``mappers.window_record_from_columns``), field for field and in
the API's JSON: the create skips the JSON round trip where it changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietly.core.codec import schedule_to_json
from quietly.core.model import (
    ConditionGroup,
    Effect,
    Matcher,
    MatcherOp,
    OnceSchedule,
    RecurringSchedule,
    RRuleRule,
    SimpleRule,
)
from quietly.core.records import WindowFields, WindowRecord
from quietly.services.serialize import window_to_json
from quietly.services.windows import _as_stored
from quietly.storage.mappers import (
    fields_to_columns,
    schedule_columns,
    window_record_from_columns,
)

NOW = datetime(2031, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
START = datetime(2031, 6, 1, 22, 0, 0, 123456, tzinfo=ZoneInfo("UTC"))


def _fields(**extra: object) -> WindowFields:
    base: dict[str, object] = {
        "name": "w", "schedule": OnceSchedule(START, START + timedelta(hours=2), None),
        "targets": ("service:b", "service:a", "service:b")}
    return WindowFields(**{**base, **extra})  # type: ignore[arg-type]


CASES = {
    "one-time, one target, nothing else": _fields(targets=("service:a",)),
    "one-time, UTC, unsorted targets with a repeat": _fields(),
    "one-time given with an offset and a zone": _fields(schedule=OnceSchedule(
        START.astimezone(timezone(timedelta(hours=2))),
        START.astimezone(ZoneInfo("Europe/Berlin")) + timedelta(hours=1), "Europe/Berlin")),
    "one-time in datetime.UTC, as the native converter gives it (msgspec writes it)":
        _fields(schedule=OnceSchedule(START.astimezone(UTC), START.astimezone(UTC)
                                      + timedelta(minutes=90, microseconds=-123456), None)),
    "one-time in datetime.UTC on whole seconds, across Berlin's fall-back": _fields(
        schedule=OnceSchedule(datetime(2031, 10, 26, 0, 30, tzinfo=UTC),
                              datetime(2031, 10, 26, 1, 30, tzinfo=UTC), "Europe/Berlin")),
    "recurring, simple weekly form with extras the form ignores": _fields(
        schedule=RecurringSchedule(
            timezone="Europe/Berlin", rule=SimpleRule(every="weekly", days_of_week=("tue",),
                                                      day_of_month=3),
            start_time=time(22, 0), end_time=time(2, 0), starts_on=date(2031, 1, 1))),
    "recurring in New York, daily across the fall-back": _fields(schedule=RecurringSchedule(
        timezone="America/New_York", rule=RRuleRule("FREQ=DAILY"), start_time=time(1, 30),
        end_time=time(2, 15), starts_on=date(2031, 11, 1))),
    "recurring rrule with a duration": _fields(schedule=RecurringSchedule(
        timezone="UTC", rule=RRuleRule("FREQ=DAILY"), start_time=time(1, 30),
        duration=timedelta(hours=1), starts_on=date(2031, 1, 1), count=5)),
    "conditions, groups, effects, channels, vendor": _fields(
        targets=(), groups=("web", "db", "web"),
        match=(ConditionGroup((Matcher("env", MatcherOp.ONE_OF, values=("a", "b")),
                               Matcher("team", MatcherOp.EQ, value="x"))),),
        effects=(Effect.MUTE, Effect.SUPPRESS_INCIDENTS), notify_channels=("ops", 3),
        vendor={"pagertree": {"id": "x"}}, lead={"email": "a@b.c"}, key="k",
        managed_source="repo", description="d", incident_id=None),
}


@pytest.mark.parametrize("fields", CASES.values(), ids=list(CASES))
def test_the_bulk_create_record_is_the_record_its_row_reads_back(fields: WindowFields) -> None:
    columns = fields_to_columns(fields)
    columns.update(id=9, workspace_id=2, created_by="key:k", created_at=NOW, updated_at=NOW,
                   cancelled_at=None, archived_at=None)
    read_back = window_record_from_columns(9, columns)
    built = WindowRecord(9, 2, _as_stored(fields, columns), "key:k", NOW, NOW)
    assert (built, window_to_json(built, NOW)) == (read_back, window_to_json(read_back, NOW))


@given(at=st.datetimes(timezones=st.just(UTC)))
def test_schedule_columns_writes_one_time_instants_as_format_instant_does(
        at: datetime) -> None:
    """``schedule_columns``' fast path (msgspec) for instants in ``datetime.UTC``; the
    generic ``schedule_to_json`` uses ``format_instant``."""
    sched = OnceSchedule(at, at, None)
    assert schedule_columns(sched) == schedule_to_json(sched)
