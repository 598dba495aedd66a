"""A window added to a target that many windows name: its intervals are put into the target's
timeline (``entries.timeline_plus``) instead of the timeline being rebuilt from every window's
(issue 19: a create on such a target cost time in proportion to its windows). The result is
the timeline a rebuild makes, tuple for tuple, and decisions stay the domain rules'."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.core.engine_cases import NOW, window

import quietly.core.postings as postings
from quietly.core.engine import DecisionIndex, brute_force_decide
from quietly.core.entries import Entry, timeline, timeline_plus
from quietly.core.model import Alert, Effect, OnceSchedule, Window
from quietly.core.postings import MANY, TargetSlot

MINUTE = timedelta(minutes=1)
TARGET = "service:a"
LO, HI = NOW - timedelta(days=1), NOW + timedelta(days=2)


def _once(wid: int, start: int, length: int, *, target: str = TARGET,
          effect: Effect = Effect.MUTE) -> Window:
    """A one-time window from ``start`` minutes after NOW, ``length`` minutes long."""
    begin = NOW + start * MINUTE
    return window(wid, effect, targets=frozenset({target}),
                  schedule=OnceSchedule(begin, begin + length * MINUTE))


def _entry(w: Window) -> Entry:
    return Entry.build(w, None, LO, HI)


# (name, the windows there, the one added, whether its intervals can be put in)
CASES = [
    ("into a gap", [(0, 10), (30, 10)], (15, 5), True),
    ("before all", [(0, 10), (30, 10)], (-20, 5), True),
    ("after all", [(0, 10), (30, 10)], (60, 5), True),
    ("between windows that overlap", [(0, 10), (5, 10), (40, 10)], (20, 5), True),
    ("starting where one ends", [(0, 10), (30, 10)], (10, 5), False),
    ("ending where one starts", [(0, 10), (30, 10)], (25, 5), False),
    ("overlapping one", [(0, 10), (30, 10)], (8, 5), False),
    ("covering one", [(0, 10), (30, 10)], (-5, 30), False),
    ("the same interval as one", [(0, 10), (30, 10)], (0, 10), False),
]


@pytest.mark.parametrize(("name", "there", "added", "fits"), CASES, ids=[c[0] for c in CASES])
def test_an_added_window_put_into_the_timeline_or_refused(
        name: str, there: list[tuple[int, int]], added: tuple[int, int], fits: bool) -> None:
    entries = [_entry(_once(i + 1, start, length)) for i, (start, length) in enumerate(there)]
    new = _entry(_once(99, *added))
    made = timeline_plus(timeline(entries), new)
    assert (made is not None) == fits
    if made is not None:
        assert made == timeline([*entries, new])


def test_an_entry_without_intervals_changes_nothing() -> None:
    entries = [_entry(_once(1, 0, 10)), _entry(_once(2, 30, 10))]
    made = timeline(entries)
    gone = _entry(replace(_once(3, 50, 10), cancelled_at=NOW))  # cancelled before it began
    assert gone.spans == ()
    assert timeline_plus(made, gone) == made == timeline([*entries, gone])


def test_a_pending_range_is_rebuilt() -> None:
    made = (5, 5, (), timeline([])[3])  # lo == hi: decided from the rules
    assert timeline_plus(made, _entry(_once(1, 0, 10))) is None


spans = st.tuples(st.integers(-600, 600), st.integers(1, 90))


@settings(max_examples=200, deadline=None)
@given(st.lists(spans, min_size=1, max_size=30), spans,
       st.sampled_from([Effect.MUTE, Effect.DROP, Effect.ATTACH]))
def test_whenever_it_puts_intervals_in_it_makes_what_a_rebuild_makes(
        there: list[tuple[int, int]], added: tuple[int, int], effect: Effect) -> None:
    entries = [_entry(_once(i + 1, start, length)) for i, (start, length) in enumerate(there)]
    new = _entry(_once(999, *added, effect=effect))
    made = timeline_plus(timeline(entries), new)
    event("put in" if made is not None else "rebuilt")
    if made is not None:
        assert made == timeline([*entries, new])


def _slot(index: DecisionIndex, target: str) -> TargetSlot:
    value = index._postings.targets[target]
    assert type(value) is TargetSlot
    return value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spans, min_size=MANY + 1, max_size=MANY + 12),
       st.lists(st.tuples(spans, st.booleans()), min_size=1, max_size=12),
       st.lists(st.integers(-700, 800), min_size=5, max_size=5))
def test_creates_one_by_one_keep_every_timeline_and_decision_exact(
        there: list[tuple[int, int]], added: list[tuple[tuple[int, int], bool]],
        probes: list[int]) -> None:
    """Windows created one at a time on a target many windows name (some also on a second
    target, some edits of a window there): each slot's timeline is the one a rebuild makes,
    and every decision the domain rules'."""
    index = DecisionIndex(NOW)
    windows = {i + 1: _once(i + 1, start, length) for i, (start, length) in enumerate(there)}
    index.upsert_many(windows.values())
    next_id = len(windows) + 1
    for (start, length), edit in added:
        if edit:  # a window already there moves: a change that is not an append
            wid = next_id - 1
            windows[wid] = _once(wid, start, length)
        else:
            wid, next_id = next_id, next_id + 1
            windows[wid] = _once(wid, start, length, target=TARGET)
        index.upsert(windows[wid])
        slot = _slot(index, TARGET)
        assert (slot.lo, slot.hi, slot.bounds, slot.decisions) == timeline(slot.windows)
        assert sorted(e.id for e in slot.windows) == sorted(windows)
        for minutes in probes:
            at = NOW + minutes * MINUTE
            alert = Alert(targets=(TARGET,))
            assert index.decide(alert, at) == brute_force_decide(
                windows.values(), {}, alert, at)


def test_a_create_on_a_crowded_target_takes_the_short_way() -> None:
    """The append is what makes the timeline here (not a rebuild): the slot's timeline after
    it shares no work with ``timeline``, so count calls of the latter."""
    index = DecisionIndex(NOW)
    index.upsert_many([_once(i, 10 * i, 5) for i in range(1, 3 * MANY)])
    calls: list[int] = []
    real = postings.timeline

    def counted(entries: object) -> object:
        calls.append(1)
        return real(entries)  # type: ignore[arg-type]

    postings.timeline = counted  # type: ignore[assignment]
    try:
        index.upsert(_once(500, 10 * 3 * MANY + 100, 5))  # after all the others
    finally:
        postings.timeline = real
    slot = _slot(index, TARGET)
    assert calls == []
    assert (slot.lo, slot.hi, slot.bounds, slot.decisions) == timeline(slot.windows)
    at: datetime = NOW + (10 * 3 * MANY + 102) * MINUTE
    assert index.decide(Alert(targets=(TARGET,)), at).windows == (500,)


@pytest.mark.parametrize("moved_first", [True, False])
def test_a_window_added_to_a_target_in_a_write_that_also_moves_one_there_rebuilds(
        moved_first: bool) -> None:
    """One write (``upsert_many``) adds window 50 to the crowded target (it named another
    one before) and moves window 3, which the target already had: the target's change is not
    one window added, so its timeline is rebuilt, with window 3's new interval, not its old."""
    index = DecisionIndex(NOW)
    crowded = {i: _once(i, 10 * i, 5) for i in range(1, 2 * MANY)}
    elsewhere = _once(50, 1000, 5, target="service:b")
    index.upsert_many([*crowded.values(), elsewhere])
    added = replace(elsewhere, targets=frozenset({TARGET, "service:b"}))
    moved = replace(crowded[3], schedule=OnceSchedule(NOW + 2000 * MINUTE,
                                                      NOW + 2005 * MINUTE))
    index.upsert_many([added, moved] if moved_first is False else [moved, added])
    slot = _slot(index, TARGET)
    assert (slot.lo, slot.hi, slot.bounds, slot.decisions) == timeline(slot.windows)
    everything = [*crowded.values(), added, moved]
    current = {w.id: w for w in everything}  # the last of each id
    for minutes in (31, 1001, 2001):
        at = NOW + minutes * MINUTE
        alert = Alert(targets=(TARGET,))
        assert index.decide(alert, at) == brute_force_decide(current.values(), {}, alert, at)
