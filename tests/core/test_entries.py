"""Intervals and timelines, the decision index's precomputed answers, as named tables.

``intervals.merge`` keeps one window's occurrences disjoint and never touching;
``entries.timeline`` turns several windows' intervals into the decision for each stretch of
time, which the index hands out for one-target alerts without looking at the windows again.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.core.engine_cases import HOUR, NOW, window

from quietly.core.entries import DELIVER, Entry, timeline
from quietly.core.intervals import FOREVER, NEVER, instant, merge, micros
from quietly.core.model import Decision, Effect, OnceSchedule, Verdict

MERGE_CASES = [
    # (name, intervals, merged as flat bounds: start, end, start, end, ...)
    ("nothing", [], ()),
    ("one", [(1, 5)], (1, 5)),
    ("empty ones go", [(3, 3), (1, 2), (7, 6)], (1, 2)),
    ("overlapping join", [(4, 9), (1, 5)], (1, 9)),
    ("touching join", [(1, 5), (5, 8)], (1, 8)),
    ("inside another", [(1, 9), (3, 4)], (1, 9)),
    ("apart stay apart", [(6, 8), (1, 5)], (1, 5, 6, 8)),
]


@pytest.mark.parametrize(("name", "intervals", "merged"), MERGE_CASES,
                         ids=[c[0] for c in MERGE_CASES])
def test_merge(name: str, intervals: list[tuple[int, int]], merged: tuple[int, ...]) -> None:
    assert merge((), intervals) == merged


def test_micros_round_trip() -> None:
    assert (micros(NOW), instant(micros(NOW))) == (1_773_144_000_000_000, NOW)


def entry(wid: int, effect: Effect, start_h: int, end_h: int) -> Entry:
    """A one-time window from NOW + start_h hours to NOW + end_h hours."""
    schedule = OnceSchedule(NOW + start_h * HOUR, NOW + end_h * HOUR)
    return Entry.build(window(wid, effect, schedule=schedule), None, NOW, NOW)


M1 = Decision(Verdict.MUTE, (1,))
D2 = Decision(Verdict.DROP, (2,))
S3 = Decision(Verdict.SUPPRESS_INCIDENT, (3,))

TIMELINE_CASES = [
    # (name, windows as (id, effect, start h, end h), bounds in hours, decisions per stretch)
    ("no windows", [], [], [DELIVER]),
    ("one window", [(1, Effect.MUTE, 0, 2)], [0, 2], [DELIVER, M1, DELIVER]),
    (
        "two apart",
        [(2, Effect.DROP, 5, 6), (1, Effect.MUTE, 0, 2)],
        [0, 2, 5, 6],
        [DELIVER, M1, DELIVER, D2, DELIVER],
    ),
    (
        "one takes over where the other stops",
        [(1, Effect.MUTE, 0, 2), (2, Effect.DROP, 2, 3)],
        [0, 2, 3],
        [DELIVER, M1, D2, DELIVER],
    ),
    (
        "overlapping: both, then the one left",
        [(1, Effect.MUTE, 0, 2), (2, Effect.DROP, 1, 3)],
        [0, 1, 2, 3],
        [DELIVER, M1, Decision(Verdict.DROP, (1, 2)), D2, DELIVER],
    ),
    (
        "one inside another",
        [(1, Effect.MUTE, 0, 4), (3, Effect.SUPPRESS_INCIDENTS, 1, 2)],
        [0, 1, 2, 4],
        [DELIVER, M1, Decision(Verdict.MUTE, (1, 3)), M1, DELIVER],
    ),
    (
        "the same stretch: one bound each side",
        [(1, Effect.MUTE, 0, 2), (3, Effect.SUPPRESS_INCIDENTS, 0, 2)],
        [0, 2],
        [DELIVER, Decision(Verdict.MUTE, (1, 3)), DELIVER],
    ),
]


@pytest.mark.parametrize(("name", "windows", "bounds", "decisions"), TIMELINE_CASES,
                         ids=[c[0] for c in TIMELINE_CASES])
def test_timeline(name: str, windows: list[tuple[int, Effect, int, int]], bounds: list[int],
                  decisions: list[Decision]) -> None:
    made = timeline([entry(*w) for w in windows])
    hours = [(instant(b) - NOW) / HOUR for b in made[2]]
    # One-time windows are complete: the timeline holds at every instant.
    assert (made[0], made[1], hours, list(made[3])) == (NEVER, FOREVER, bounds, decisions)


def _fields(entry: Entry) -> tuple[object, ...]:
    return (type(entry), *(getattr(entry, name) for name in Entry.FIELDS), entry.alone)


@given(st.integers(1, 10**9), st.none() | st.integers(0, 2**62),
       st.sampled_from(list(Verdict)), st.lists(st.sampled_from(["a:1", "b:2", "c:3"]),
                                                 max_size=3, unique=True).map(tuple),
       st.integers(-(2**40), 2**40), st.integers(-(2**40), 2**40),
       st.none() | st.integers(-(2**40), 2**40))
def test_once_on_targets_is_once_with_a_targets_only_scope(
        wid: int, version: int | None, verdict: Verdict, targets: tuple[str, ...], start: int,
        end: int, cut: int | None) -> None:
    """The bulk load's shortcut builds the very entry ``once`` builds (empty and cut
    intervals included)."""
    scope = (targets, (), False, (), ())
    assert _fields(Entry.once_on_targets(wid, version, verdict, targets, start, end, cut)) \
        == _fields(Entry.once(wid, version, verdict, scope, start, end, cut))
