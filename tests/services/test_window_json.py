"""``window_to_json`` of a one-time window in UTC, neither cancelled nor archived (every
create's answer), is read straight off its two instants; it must give exactly what the
general reading (``lifecycle`` over the domain window) gives, at every instant, boundaries
included. The schedule in words of a one-time window is written without ``strftime``; it
must read as the ``strftime`` wording did, in any zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.core.model import Effect, OnceSchedule
from quietly.core.records import WindowFields, WindowRecord
from quietly.core.schedule import human_schedule
from quietly.services.serialize import _any_to_json, _once_to_json, window_to_json

_EPOCH = datetime(2026, 3, 29, tzinfo=UTC)
_ZONES = [None, "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
          "Pacific/Chatham"]

instants = st.builds(lambda minutes, seconds, micros: _EPOCH + timedelta(
    minutes=minutes, seconds=seconds, microseconds=micros),
    st.integers(-3 * 1440, 3 * 1440), st.sampled_from([0, 0, 1, 59]),
    st.sampled_from([0, 0, 0, 1, 500_000]))


@st.composite
def once_records(draw: st.DrawFn) -> WindowRecord:
    start = draw(instants)
    end = start + timedelta(minutes=draw(st.integers(1, 3 * 1440)),
                            seconds=draw(st.sampled_from([0, 30])))
    created = draw(instants)
    updated = created if draw(st.booleans()) else draw(instants)
    fields = WindowFields(
        name=draw(st.sampled_from(["w", "Nightly ✓"])),
        schedule=OnceSchedule(start, end, timezone=draw(st.sampled_from(_ZONES))),
        description=draw(st.sampled_from([None, "", "patching"])),
        targets=tuple(draw(st.lists(st.sampled_from(["service:b", "service:a", "monitor:1"]),
                                    unique=True, max_size=3))),
        effects=tuple(draw(st.lists(st.sampled_from(list(Effect)), min_size=1, max_size=2,
                                    unique=True))),
        key=draw(st.sampled_from([None, "k1"])),
        managed_source=draw(st.sampled_from([None, "files"])))
    return WindowRecord(draw(st.integers(1, 10**9)), 1, fields,
                        draw(st.sampled_from([None, "key:k"])), created, updated)


@st.composite
def moments(draw: st.DrawFn, record: WindowRecord) -> datetime:
    """Any instant, or one at (or a microsecond around) one of the window's two instants."""
    sched = record.fields.schedule
    assert isinstance(sched, OnceSchedule)
    if draw(st.booleans()):
        return draw(instants)
    return draw(st.sampled_from([sched.start, sched.end])) + timedelta(
        microseconds=draw(st.sampled_from([-1, 0, 1])))


@settings(max_examples=500, deadline=None)
@given(data=st.data(), record=once_records())
def test_a_one_time_window_reads_as_the_general_reading(data: st.DataObject,
                                                        record: WindowRecord) -> None:
    now = data.draw(moments(record))
    sched = record.fields.schedule
    assert isinstance(sched, OnceSchedule)
    assert _once_to_json(record, sched, now) == _any_to_json(record, now)
    assert window_to_json(record, now) == _any_to_json(record, now)


_START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
_END = _START + timedelta(hours=2)


@pytest.mark.parametrize(("now", "state", "current", "following"), [
    # before it starts: scheduled, its occurrence next
    (_START - timedelta(microseconds=1), "scheduled", None, True),
    # at its start: active, and that occurrence is also the next (it starts at now)
    (_START, "active", True, True),
    (_START + timedelta(microseconds=1), "active", True, None),
    (_END - timedelta(microseconds=1), "active", True, None),
    # at its end it has ended: [start, end)
    (_END, "completed", None, None),
])
def test_state_and_occurrences_of_a_one_time_window(now: datetime, state: str,
                                                    current: bool | None,
                                                    following: bool | None) -> None:
    record = WindowRecord(7, 1, WindowFields(name="w", schedule=OnceSchedule(_START, _END),
                                             targets=("service:a",)), "key:k", now, now)
    occurrence = {"start": "2026-12-07T09:00:00Z", "end": "2026-12-07T11:00:00Z"}
    doc = window_to_json(record, now)
    assert (doc["state"], doc["current_occurrence"], doc["next_occurrence"]) == (
        state, occurrence if current else None, occurrence if following else None)
    assert doc == _any_to_json(record, now)


@pytest.mark.parametrize("record", [
    # each of these leaves the straight reading: cancelled, archived, an instant not in
    # datetime.UTC (a fixed offset, a zone)
    WindowRecord(1, 1, WindowFields(name="w", schedule=OnceSchedule(_START, _END)),
                 None, _EPOCH, _EPOCH, cancelled_at=_START + timedelta(minutes=5)),
    WindowRecord(1, 1, WindowFields(name="w", schedule=OnceSchedule(_START, _END)),
                 None, _EPOCH, _EPOCH, archived_at=_START),
    WindowRecord(1, 1, WindowFields(name="w", schedule=OnceSchedule(
        _START.astimezone(timezone(timedelta(hours=2))), _END)), None, _EPOCH, _EPOCH),
    WindowRecord(1, 1, WindowFields(name="w", schedule=OnceSchedule(
        _START, _END.astimezone(ZoneInfo("UTC")))), None, _EPOCH, _EPOCH),
])
def test_other_windows_take_the_general_reading(record: WindowRecord) -> None:
    now = _START + timedelta(minutes=10)
    assert window_to_json(record, now) == _any_to_json(record, now)


def _strftime_once(schedule: OnceSchedule) -> str:
    """The wording as it was written with ``strftime`` (the reference)."""
    zone = ZoneInfo(schedule.timezone or "UTC")
    start, end = (v.astimezone(zone) if v.tzinfo else v.replace(tzinfo=zone)
                  for v in (schedule.start, schedule.end))

    def clock(value: datetime) -> str:
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")

    start_text = f"{start:%Y-%m-%d} {clock(start)}"
    end_text = clock(end) if start.date() == end.date() else f"{end:%Y-%m-%d} {clock(end)}"
    return f"Once from {start_text} to {end_text} ({schedule.timezone or 'UTC'})"


@settings(max_examples=300, deadline=None)
@given(start=st.one_of(instants, instants.map(lambda t: t.replace(tzinfo=None)),
                       st.datetimes(min_value=datetime(1970, 1, 2),
                                    max_value=datetime(2999, 12, 30)).map(
                           lambda t: t.replace(tzinfo=UTC))),
       minutes=st.integers(1, 3 * 1440), zone=st.sampled_from(_ZONES))
def test_the_words_of_a_one_time_window_read_as_strftime_wrote_them(
        start: datetime, minutes: int, zone: str | None) -> None:
    schedule = OnceSchedule(start, start + timedelta(minutes=minutes), timezone=zone)
    assert human_schedule(schedule) == _strftime_once(schedule)


def test_the_words_of_a_one_time_window_table() -> None:
    cases = [
        (OnceSchedule(_START, _END), "Once from 2026-12-07 09:00 to 11:00 (UTC)"),
        (OnceSchedule(_START + timedelta(seconds=5), _END + timedelta(days=1)),
         "Once from 2026-12-07 09:00:05 to 2026-12-08 11:00 (UTC)"),
        (OnceSchedule(_START, _END, timezone="Europe/Berlin"),
         "Once from 2026-12-07 10:00 to 12:00 (Europe/Berlin)"),
        (OnceSchedule(datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
                      datetime(2027, 1, 1, 1, 0, tzinfo=UTC), timezone="Asia/Kolkata"),
         "Once from 2027-01-01 04:30 to 06:30 (Asia/Kolkata)"),
    ]
    assert [human_schedule(s) for s, _ in cases] == [text for _, text in cases]
