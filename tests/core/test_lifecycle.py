"""The window-level view of time: cut occurrences, state at an instant, update rules."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.core.test_engine_properties import instants, once_schedules, recurring

from quietly.core.errors import Conflict, QuietlyError, ValidationError
from quietly.core.lifecycle import (
    allowed_update,
    current_occurrence,
    next_occurrence,
    state_at,
    state_changes_at,
    verdict_for,
    window_changes,
    window_occurrences,
)
from quietly.core.model import (
    Effect,
    Occurrence,
    OnceSchedule,
    RecurringSchedule,
    Schedule,
    SimpleRule,
    State,
    Verdict,
    Window,
)


def utc(day: int, hour: int = 0, minute: int = 0, month: int = 3, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


START, END = utc(10, 2), utc(10, 4)  # a one-time window 02:00-04:00Z on 2026-03-10


def once(**fields: object) -> Window:
    window = Window(
        id=7,
        workspace_id=1,
        name="db patching",
        schedule=OnceSchedule(START, END),
        effects=frozenset({Effect.MUTE}),
        targets=frozenset({"service:db"}),
    )
    return replace(window, **fields)  # type: ignore[arg-type]


# Every day 22:00-02:00 UTC (overnight), from 2026-03-01 to 2026-03-05 inclusive.
NIGHTLY = RecurringSchedule(
    timezone="UTC",
    rule=SimpleRule("daily"),
    start_time=time(22, 0),
    end_time=time(2, 0),
    starts_on=utc(1).date(),
    until=utc(5).date(),
)


def nightly(**fields: object) -> Window:
    return once(schedule=NIGHTLY, **fields)


@dataclass(frozen=True)
class OccurrencesCase:
    name: str
    window: Window
    start: datetime
    end: datetime
    expected: list[Occurrence]


OCCURRENCE_CASES = [
    OccurrencesCase("whole range", once(), utc(9), utc(11), [Occurrence(START, END)]),
    OccurrencesCase("not clipped", once(), utc(10, 3), utc(10, 3, 1), [Occurrence(START, END)]),
    OccurrencesCase("range before", once(), utc(9), START, []),
    OccurrencesCase("half-open: range from end", once(), END, utc(11), []),
    OccurrencesCase(
        "cancelled mid-way ends there",
        once(cancelled_at=utc(10, 3)),
        utc(9),
        utc(11),
        [Occurrence(START, utc(10, 3))],
    ),
    OccurrencesCase("cancelled at start", once(cancelled_at=START), utc(9), utc(11), []),
    OccurrencesCase("cancelled before", once(cancelled_at=utc(9)), utc(9), utc(11), []),
    OccurrencesCase(
        "cancelled after end", once(cancelled_at=utc(12)), utc(9), utc(11), [Occurrence(START, END)]
    ),
    OccurrencesCase(
        "archived mid-way",
        once(archived_at=utc(10, 3, 30)),
        utc(9),
        utc(11),
        [Occurrence(START, utc(10, 3, 30))],
    ),
    OccurrencesCase(
        "earlier of cancel and archive",
        once(cancelled_at=utc(10, 3, 30), archived_at=utc(10, 3)),
        utc(9),
        utc(11),
        [Occurrence(START, utc(10, 3))],
    ),
    OccurrencesCase("range after the cut", once(cancelled_at=utc(10, 3)), utc(10, 3), utc(11), []),
    OccurrencesCase(
        "recurring overnight, running into range",
        nightly(),
        utc(3, 1),
        utc(3, 2),
        [Occurrence(utc(2, 22), utc(3, 2))],
    ),
    OccurrencesCase(
        "recurring cut: later occurrences gone",
        nightly(cancelled_at=utc(3, 23)),
        utc(1),
        utc(10),
        [
            Occurrence(utc(1, 22), utc(2, 2)),
            Occurrence(utc(2, 22), utc(3, 2)),
            Occurrence(utc(3, 22), utc(3, 23)),
        ],
    ),
]


@pytest.mark.parametrize("case", OCCURRENCE_CASES, ids=lambda c: c.name)
def test_window_occurrences(case: OccurrencesCase) -> None:
    assert window_occurrences(case.window, case.start, case.end) == case.expected


@dataclass(frozen=True)
class StateCase:
    name: str
    window: Window
    now: datetime
    state: State


STATE_CASES = [
    StateCase("before start", once(), utc(10, 1), State.SCHEDULED),
    StateCase("at start", once(), START, State.ACTIVE),
    StateCase("just before end", once(), END - timedelta(microseconds=1), State.ACTIVE),
    StateCase("at end (half-open)", once(), END, State.COMPLETED),
    StateCase("cancelled before start", once(cancelled_at=utc(9)), utc(9, 1), State.CANCELLED),
    StateCase("cancelled at now", once(cancelled_at=utc(10, 3)), utc(10, 3), State.CANCELLED),
    StateCase("cancel still to come", once(cancelled_at=utc(10, 3)), utc(10, 2), State.ACTIVE),
    StateCase("cancelled after end", once(cancelled_at=utc(11)), utc(11), State.CANCELLED),
    StateCase("archived, not cancelled", once(archived_at=utc(10, 3)), utc(10, 3), State.COMPLETED),
    StateCase("recurring, before first", nightly(), utc(1, 12), State.SCHEDULED),
    StateCase("recurring, in one", nightly(), utc(2, 23), State.ACTIVE),
    StateCase("recurring, between", nightly(), utc(3, 12), State.SCHEDULED),
    StateCase("recurring, after last", nightly(), utc(6, 2), State.COMPLETED),
]


@pytest.mark.parametrize("case", STATE_CASES, ids=lambda c: c.name)
def test_state_at(case: StateCase) -> None:
    assert state_at(case.window, case.now) == case.state


@dataclass(frozen=True)
class CurrentNextCase:
    name: str
    window: Window
    at: datetime
    current: Occurrence | None
    following: Occurrence | None


CURRENT_NEXT_CASES = [
    CurrentNextCase("before", once(), utc(9), None, Occurrence(START, END)),
    CurrentNextCase("during", once(), utc(10, 3), Occurrence(START, END), None),
    CurrentNextCase(
        "during, cancel pending",
        once(cancelled_at=utc(10, 3, 30)),
        utc(10, 3),
        Occurrence(START, utc(10, 3, 30)),
        None,
    ),
    CurrentNextCase("at the cut", once(cancelled_at=utc(10, 3)), utc(10, 3), None, None),
    CurrentNextCase("next is cut away", once(cancelled_at=utc(9, 12)), utc(9), None, None),
    CurrentNextCase(
        "recurring between",
        nightly(),
        utc(3, 12),
        None,
        Occurrence(utc(3, 22), utc(4, 2)),
    ),
    CurrentNextCase(
        "recurring next cut short",
        nightly(cancelled_at=utc(3, 23)),
        utc(3, 12),
        None,
        Occurrence(utc(3, 22), utc(3, 23)),
    ),
]


@pytest.mark.parametrize("case", CURRENT_NEXT_CASES, ids=lambda c: c.name)
def test_current_and_next_occurrence(case: CurrentNextCase) -> None:
    found = (current_occurrence(case.window, case.at), next_occurrence(case.window, case.at))
    assert found == (case.current, case.following)


@dataclass(frozen=True)
class UpdateCase:
    name: str
    window: Window
    now: datetime
    changed: frozenset[str]
    new_end: datetime | None
    error: tuple[type[QuietlyError], str | None] | None  # (type, field) or None if allowed


BEFORE, DURING, AFTER = utc(10, 1), utc(10, 3), utc(10, 5)
ALL = frozenset({"name", "schedule", "targets", "match", "effects"})

UPDATE_CASES = [
    UpdateCase("scheduled: anything", once(), BEFORE, ALL, None, None),
    UpdateCase("active: description", once(), DURING, frozenset({"description"}), None, None),
    UpdateCase("active: extend", once(), DURING, frozenset({"end"}), utc(10, 6), None),
    UpdateCase("active: shorten", once(), DURING, frozenset({"end"}), utc(10, 3, 30), None),
    UpdateCase("active: end now", once(), DURING, frozenset({"end"}), DURING, None),
    UpdateCase(
        "active: end in the past",
        once(),
        DURING,
        frozenset({"end"}),
        utc(10, 2, 30),
        (ValidationError, "schedule.end"),
    ),
    UpdateCase(
        "active: end without value",
        once(),
        DURING,
        frozenset({"end"}),
        None,
        (ValidationError, "schedule.end"),
    ),
    # Issue 16: an active window's words, publishing, scope and effects change from now on.
    UpdateCase("active: name and end", once(), DURING, frozenset({"name", "end"}), AFTER, None),
    UpdateCase(
        "active: scope and effects",
        once(),
        DURING,
        frozenset({"targets", "groups", "match", "all_targets", "effects"}),
        None,
        None,
    ),
    UpdateCase(
        "active: publishing", once(), DURING, frozenset({"publish_to_status_page"}), None, None
    ),
    UpdateCase("active: display zone", once(), DURING, frozenset({"timezone"}), None, None),
    UpdateCase(
        "active: the start moves",
        once(),
        DURING,
        frozenset({"schedule"}),
        None,
        (Conflict, "schedule"),
    ),
    UpdateCase(
        "active: planned notifications",
        once(),
        DURING,
        frozenset({"name", "notify_channels"}),
        None,
        (Conflict, "notify_channels"),
    ),
    UpdateCase("completed", once(), AFTER, frozenset({"description"}), None, (Conflict, None)),
    UpdateCase(
        "cancelled",
        once(cancelled_at=BEFORE),
        BEFORE,
        frozenset({"end"}),
        AFTER,
        (Conflict, None),
    ),
    UpdateCase("completed, no change", once(), AFTER, frozenset(), None, None),
]


@pytest.mark.parametrize("case", UPDATE_CASES, ids=lambda c: c.name)
def test_allowed_update(case: UpdateCase) -> None:
    outcome: tuple[type[QuietlyError], str | None] | None = None
    try:
        allowed_update(case.window, case.now, case.changed, case.new_end)
    except QuietlyError as exc:
        outcome = (type(exc), exc.field)
    assert outcome == case.error


def test_conflict_message_says_why() -> None:
    with pytest.raises(Conflict, match="completed windows cannot be changed"):
        allowed_update(once(), AFTER, {"description"}, None)


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (once(description="x"), (frozenset({"description"}), None)),
        (once(schedule=OnceSchedule(START, utc(10, 5))), (frozenset({"end"}), utc(10, 5))),
        (once(schedule=OnceSchedule(utc(10, 1), END)), (frozenset({"schedule"}), None)),
        (
            once(schedule=OnceSchedule(START, END, "Europe/Berlin")),
            (frozenset({"timezone"}), None),
        ),
        (once(schedule=NIGHTLY), (frozenset({"schedule"}), None)),
        (once(name="n", targets=frozenset()), (frozenset({"name", "targets"}), None)),
        (once(cancelled_at=utc(1)), (frozenset(), None)),
    ],
    ids=["description", "end only", "start", "zone only", "to recurring", "two fields",
         "audit only"],
)
def test_window_changes(new: Window, expected: tuple[frozenset[str], datetime | None]) -> None:
    assert window_changes(once(), new) == expected


M, S, D, R, A = (
    Effect.MUTE,
    Effect.SUPPRESS_INCIDENTS,
    Effect.DROP,
    Effect.REROUTE,
    Effect.ATTACH,
)


@pytest.mark.parametrize(
    ("effects", "verdict"),
    [
        ([], Verdict.DELIVER),
        ([{S}], Verdict.SUPPRESS_INCIDENT),
        ([{S}, {M}], Verdict.MUTE),
        ([{M, S}], Verdict.MUTE),
        ([{A}, {M}], Verdict.ATTACH),
        ([{A}, {R}], Verdict.REROUTE),
        ([{R, A}], Verdict.REROUTE),
        ([{M}, {R}, {D}], Verdict.DROP),
        ([{D, S}], Verdict.DROP),
        ([set()], Verdict.DELIVER),
    ],
    ids=[
        "none",
        "suppress",
        "mute beats suppress",
        "one window, strongest",
        "attach beats mute",
        "reroute before attach",
        "reroute+attach in one",
        "drop beats all",
        "drop in one window",
        "window without effects",
    ],
)
def test_verdict_precedence(effects: list[set[Effect]], verdict: Verdict) -> None:
    assert verdict_for(effects) == verdict


# ``state_changes_at`` lets the ticker skip windows whose state cannot have changed: the state
# must be constant from ``now`` up to (not including) the instant it names, and forever when
# it names none.
@settings(max_examples=300, deadline=None)
@given(schedule=st.one_of(once_schedules, recurring()), at=instants,
       cancel=st.one_of(st.none(), instants))
def test_state_is_constant_until_it_changes(schedule: Schedule, at: datetime,
                                            cancel: datetime | None) -> None:
    window = replace(once(), schedule=schedule, cancelled_at=cancel)
    state = state_at(window, at)
    changes = state_changes_at(window, at)
    if changes is None:
        probes = [at + timedelta(days=d) for d in (0, 1, 40, 400, 4000)]
    else:
        assert changes > at
        span = changes - at
        probes = [at, at + span / 3, at + span / 2, changes - timedelta(microseconds=1)]
    for probe in probes:
        assert state_at(window, probe) is state, (probe, changes)


# The ticker's state refresh skips evaluating a live window whose row says it is yet to
# start (``services.state_refresh``): before the first occurrence's start (the stored
# ``first_start``, computed as below) an uncancelled window is scheduled, and stays so until
# exactly that start.
@settings(max_examples=300, deadline=None)
@given(schedule=st.one_of(once_schedules, recurring()),
       before=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=800)))
def test_before_its_first_start_a_window_is_scheduled_until_then(
        schedule: Schedule, before: timedelta) -> None:
    from quietly.services.windows import _earliest_possible_start

    window = replace(once(), schedule=schedule)
    first = next_occurrence(window, _earliest_possible_start(schedule))
    if first is None:
        return
    at = first.start - before
    # (A recurring schedule without ``starts_on`` is expanded from 2000 on: no ``now`` of the
    # ticker comes before that.)
    if not isinstance(schedule, OnceSchedule) and at < _earliest_possible_start(schedule):
        return
    assert (state_at(window, at), state_changes_at(window, at)) == (State.SCHEDULED,
                                                                     first.start)


# The ticker's state refresh also skips a running one-time window whose row says active:
# inside ``[start, end)`` (the stored ``first_start`` and ``last_end``) an uncancelled
# one-time window is active, and stays so until exactly its end.
@settings(max_examples=300, deadline=None)
@given(schedule=once_schedules, fraction=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_inside_its_one_occurrence_a_one_time_window_is_active_until_its_end(
        schedule: OnceSchedule, fraction: float) -> None:
    window = replace(once(), schedule=schedule)
    at = min(schedule.start + (schedule.end - schedule.start) * fraction,
             schedule.end - timedelta(microseconds=1))
    assert (state_at(window, at), state_changes_at(window, at)) == (State.ACTIVE,
                                                                     schedule.end)
