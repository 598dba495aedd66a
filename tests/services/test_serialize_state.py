"""``window_to_json`` asks the schedule for the running and the next occurrence once and
reads the state from them: state and occurrences are ``lifecycle``'s for any window
(cancelled, archived, one-time or recurring) at any instant, boundaries included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.core import lifecycle
from quietly.core.model import OnceSchedule, Window
from quietly.core.records import WindowFields, WindowRecord
from quietly.services.serialize import occurrence_to_json, window_to_json
from tests.core.test_engine_properties import instants, windows

_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def _record(window: Window, archived: datetime | None) -> WindowRecord:
    fields = WindowFields(name=window.name, schedule=window.schedule,
                          targets=tuple(sorted(window.targets)),
                          groups=tuple(sorted(window.groups)), match=window.match,
                          all_targets=window.all_targets, effects=tuple(window.effects))
    return WindowRecord(window.id, window.workspace_id, fields, "key:k", _EPOCH, _EPOCH,
                        cancelled_at=window.cancelled_at, archived_at=archived)


@st.composite
def moments(draw: st.DrawFn, window: Window) -> datetime:
    """Any instant, or one at (or a microsecond around) a boundary of ``window``."""
    edges = [window.cancelled_at] if window.cancelled_at is not None else []
    if isinstance(window.schedule, OnceSchedule):
        edges += [window.schedule.start, window.schedule.end]
    if not edges or draw(st.booleans()):
        return draw(instants)
    return draw(st.sampled_from(edges)) + timedelta(microseconds=draw(st.sampled_from(
        [-1, 0, 1])))


@settings(max_examples=400, deadline=None)
@given(data=st.data(), window=windows(), archived=st.one_of(st.none(), instants))
def test_the_state_and_occurrences_are_lifecycles(data: st.DataObject, window: Window,
                                                  archived: datetime | None) -> None:
    now = data.draw(moments(window))
    record = _record(window, archived)
    doc = window_to_json(record, now)
    stored = record.to_window()
    assert (doc["state"], doc["current_occurrence"], doc["next_occurrence"]) == (
        lifecycle.state_at(stored, now).value,
        occurrence_to_json(lifecycle.current_occurrence(stored, now)),
        occurrence_to_json(lifecycle.next_occurrence(stored, now)))


def test_a_window_cancelled_at_now_reads_cancelled() -> None:
    start = _EPOCH + timedelta(days=1)
    cancelled = start + timedelta(minutes=30)
    record = WindowRecord(1, 1, WindowFields(name="w", schedule=OnceSchedule(
        start, start + timedelta(hours=1))), "key:k", _EPOCH, _EPOCH, cancelled_at=cancelled)
    assert [window_to_json(record, at)["state"] for at in (
        start - timedelta(microseconds=1), cancelled - timedelta(microseconds=1),
        cancelled)] == ["scheduled", "active", "cancelled"]
