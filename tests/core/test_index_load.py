"""A bulk load with lazy expansion decides exactly as window-by-window upserts (issue 19).

``DecisionIndex.load`` files compact entries in one write and leaves two things to
``expand``: recurring windows are *pending* (decided from their rules) and new targets have no
timeline yet (decided by the general path). Neither may change a decision: before, during
and after expansion, and with writes between expansion steps, the index must agree with
``brute_force_decide`` — around daylight-saving edges, at occurrence bounds ±1 µs, inside and
outside the horizon. And the compact entry must keep everything of the window that decisions
read (round trips below).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from tests.core.test_engine_properties import (
    _SLOW_PROPERTY,
    GROUP_NAMES,
    TARGETS,
    Boundary,
    Model,
    alerts,
    instants,
    operations,
    versioned_windows,
    when,
    windows,
)

from quietly.core.engine import DecisionIndex, brute_force_decide
from quietly.core.entries import Entry, names
from quietly.core.intervals import instant
from quietly.core.model import Alert, OnceSchedule, Window

HOUR = timedelta(hours=1)


def _disagreements(model: Model, index: DecisionIndex,
                   queries: list[tuple[Alert, datetime | timedelta | Boundary]]) -> list[object]:
    out: list[object] = []
    for alert, moment in queries:
        at = model.resolve(moment)
        expected = brute_force_decide(model.windows.values(), model.groups, alert, at)
        found = (index.decide(alert, at), index.decide_many([alert], at)[0])
        if found != (expected, expected):
            out.append((alert, at, found, expected, index.pending()))
    return out


@pytest.mark.timeout(600)
@_SLOW_PROPERTY
@given(
    now=instants,
    loaded=st.lists(windows(), max_size=8),
    groups=st.dictionaries(st.sampled_from(GROUP_NAMES),
                           st.frozensets(st.sampled_from(TARGETS), max_size=3)),
    later=st.lists(st.one_of(operations, st.just(("expand",))), max_size=8),
    queries=st.lists(st.tuples(alerts, when), min_size=1, max_size=6),
)
def test_lazy_load_agrees_with_brute_force_before_during_and_after_expansion(
    now: datetime,
    loaded: list[Window],
    groups: dict[str, frozenset[str]],
    later: list[tuple[object, ...]],
    queries: list[tuple[Alert, datetime | timedelta | Boundary]],
) -> None:
    index = DecisionIndex(now, lookback=6 * HOUR, lookahead=24 * HOUR)
    model = Model(now)
    for name, members in groups.items():
        model.groups[name] = members
        index.set_group(name, members)
    for w in loaded:  # the last copy of an id wins, as in the store
        model.windows[w.id] = w
    index.load(Entry.of(w) for w in loaded)
    problems = _disagreements(model, index, queries)  # everything pending
    event("something pending" if index.pending() else "nothing pending")
    for op in later:
        if op[0] == "expand":
            index.expand(1)  # one window, then eight timelines, at a time
        else:
            model.apply(index, op)
        problems += _disagreements(model, index, queries)
    index.expand()
    assert (index.pending(), problems + _disagreements(model, index, queries)) == (0, [])


@pytest.mark.timeout(600)
@_SLOW_PROPERTY
@given(window=versioned_windows, now=instants)
def test_compact_entry_keeps_what_decisions_read(window: Window, now: datetime) -> None:
    """``Entry.of`` then ``expanded`` is ``Entry.build``, and the entry gives back the
    window's scope, verdict and version."""
    lo, hi = now - 6 * HOUR, now + 24 * HOUR
    lazy = Entry.of(window).expanded(lo, hi)
    eager = Entry.build(window, None, lo, hi)
    slots = [s for s in Entry.FIELDS if s != "compiled"]
    kept = (set(lazy.targets), set(lazy.groups), len(lazy.compiled), lazy.all_targets,
            None if lazy.version is None else instant(lazy.version), lazy.alone.windows,
            lazy.schedule is None)
    assert ([getattr(lazy, s) for s in slots], kept) == (
        [getattr(eager, s) for s in slots],
        (set(window.targets), set(window.groups), len(window.match), window.all_targets,
         window.updated_at, (window.id,), isinstance(window.schedule, OnceSchedule)))


NAMES_CASES = [
    # (name, given, kept as)
    ("none", [], ()),
    ("a few, in order, duplicates once", ["b:1", "a:1", "b:1"], ("b:1", "a:1")),
    ("eight stay a tuple", [f"t:{i}" for i in range(8)], tuple(f"t:{i}" for i in range(8))),
    ("nine become a set", [f"t:{i}" for i in range(9)], frozenset(f"t:{i}" for i in range(9))),
]


@pytest.mark.parametrize(("name", "given_names", "kept"), NAMES_CASES,
                         ids=[c[0] for c in NAMES_CASES])
def test_names_are_interned_and_compact(name: str, given_names: list[str],
                                        kept: tuple[str, ...] | frozenset[str]) -> None:
    made = names("".join(list(n)) for n in given_names)  # fresh, equal strings
    again = names("".join(list(n)) for n in given_names)
    assert (made, all(a is b for a, b in zip(sorted(made), sorted(again), strict=True))) == (
        kept, True)
