"""``DecisionIndex.upsert_many`` files a batch as one ``upsert`` after the other would.

A batch create (``POST /api/v1/windows/batch``) hands the index up to 10,000 windows after its
commit; ``upsert_many`` files them in one write. Whatever the index held before (windows,
groups, a load still pending expansion), whatever the batch holds (new windows, changed ones,
the same id twice, older copies), the index must then decide exactly as one that took the
windows one ``upsert`` at a time, and as ``brute_force_decide``.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime, time, timedelta

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st
from tests.core.engine_cases import EQ_PROD, NOW, A, B, group, window
from tests.core.test_engine_properties import (
    _SLOW_PROPERTY,
    Boundary,
    Model,
    alerts,
    instants,
    once_schedules,
    operations,
    recurring,
    versioned_windows,
    when,
    windows,
)

from quietly.core.engine import DecisionIndex, brute_force_decide
from quietly.core.entries import Entry
from quietly.core.errors import ValidationError
from quietly.core.model import (
    Alert,
    Decision,
    Effect,
    Matcher,
    MatcherOp,
    RecurringSchedule,
    Schedule,
    SimpleRule,
    Verdict,
    Window,
)
from quietly.core.schedule import validate

HOUR = timedelta(hours=1)


@pytest.mark.timeout(600)
@_SLOW_PROPERTY
@given(
    now=instants,
    loaded=st.lists(windows(), max_size=4),
    before=st.lists(operations, max_size=6),
    batch=st.lists(versioned_windows, max_size=10),
    queries=st.lists(st.tuples(alerts, when), min_size=1, max_size=8),
)
def test_upsert_many_is_upsert_one_after_the_other(
    now: datetime,
    loaded: list[Window],
    before: list[tuple[object, ...]],
    batch: list[Window],
    queries: list[tuple[Alert, datetime | timedelta | Boundary]],
) -> None:
    one_by_one = DecisionIndex(now, lookback=6 * HOUR, lookahead=24 * HOUR)
    at_once = DecisionIndex(now, lookback=6 * HOUR, lookahead=24 * HOUR)
    model, twin = Model(now), Model(now)  # twin: the same writes on the other index
    for index, m in ((one_by_one, model), (at_once, twin)):
        index.load(Entry.of(w) for w in loaded)  # left pending: expansion not run yet
        for w in loaded:
            m.windows[w.id] = w
        for op in before:
            m.apply(index, op)
    for w in batch:
        one_by_one.upsert(w)
        held = model.windows.get(w.id)
        if not (held is not None and held.updated_at is not None and w.updated_at is not None
                and w.updated_at < held.updated_at):
            model.windows[w.id] = w
    at_once.upsert_many(iter(batch))
    event(f"{len({w.id for w in batch})} window(s) in the batch, {len(batch)} copies")
    problems = []
    for alert, moment in queries:
        at = model.resolve(moment)
        expected = brute_force_decide(model.windows.values(), model.groups, alert, at)
        found = [index.decide(alert, at) for index in (one_by_one, at_once)]
        found.append(at_once.decide_many([alert], at)[0])
        if found != [expected] * 3:
            problems.append((alert, at, found, expected))
    at_once.expand()
    assert (problems, at_once.window_ids(), at_once.pending()) == (
        [], one_by_one.window_ids(), 0)


def test_a_window_that_does_not_compile_stops_the_batch_where_upsert_would() -> None:
    """The windows before it are filed, it and those after it are not, and the error is
    raised: what one ``upsert`` after the other leaves."""
    index = DecisionIndex(NOW)
    index.upsert(window(3, targets=B))
    bad = window(2, match=(group(Matcher("service", MatcherOp.RE, "(?=x)")),))
    batch = [window(1, targets=A), bad, window(3, Effect.DROP, targets=B), window(4)]
    with pytest.raises(ValidationError):
        index.upsert_many(batch)
    assert (index.window_ids(), index.decide(Alert(("service:a",)), NOW),
            index.decide(Alert(("service:b",)), NOW)) == (
        [1, 3], Decision(Verdict.MUTE, (1,)), Decision(Verdict.MUTE, (3,)))


def test_a_large_batch_shares_targets_and_replaces_windows() -> None:
    """Thousands of windows on a few targets, some replacing held ones, in one call."""
    index = DecisionIndex(NOW)
    reference = DecisionIndex(NOW)
    for wid in range(1, 51):
        w = window(wid, targets=frozenset({f"t:{wid % 7}"}))
        index.upsert(w)
        reference.upsert(w)
    batch = [window(wid, Effect.DROP if wid % 3 else Effect.MUTE,
                    targets=frozenset({f"t:{wid % 7}", f"t:{wid % 11}"}),
                    match=(group(EQ_PROD),) if wid % 5 == 0 else ())
             for wid in range(25, 2_025)]
    index.upsert_many(batch)
    for w in batch:
        reference.upsert(w)
    alerts = [Alert((f"t:{i}",)) for i in range(12)] + [Alert(("t:1",), {"env": "prod"})]
    for at in (NOW - 2 * HOUR, NOW, NOW + HOUR):
        assert index.decide_many(alerts, at) == reference.decide_many(alerts, at)


@pytest.mark.timeout(600)
@_SLOW_PROPERTY
@given(
    now=instants,
    schedules=st.lists(st.one_of(once_schedules, recurring()), min_size=1, max_size=3),
    batch=st.lists(st.tuples(windows(), st.integers(0, 2), st.one_of(st.none(), instants)),
                   min_size=1, max_size=12),
    queries=st.lists(st.tuples(alerts, when), min_size=1, max_size=8),
)
def test_a_checked_batch_sharing_schedules_decides_as_upsert_one_after_the_other(
    now: datetime,
    schedules: list[Schedule],
    batch: list[tuple[Window, int, datetime | None]],
    queries: list[tuple[Alert, datetime | timedelta | Boundary]],
) -> None:
    """What a bulk create hands over: schedules validated already (``checked``), many windows
    with equal schedules, some cancelled (a cut-off). Equal recurring schedules and cut-offs
    are expanded once and their intervals shared; decisions stay those of one ``upsert``
    after the other, and of the brute force."""
    valid = []
    for s in schedules:
        try:
            validate(s)
        except ValidationError:
            continue
        valid.append(s)
    assume(valid)
    # Equal schedules as distinct objects, as a batch decoded from JSON holds them.
    windows_ = [replace(w, schedule=copy.deepcopy(valid[pick % len(valid)]), cancelled_at=cut)
                for w, pick, cut in batch]
    one_by_one = DecisionIndex(now, lookback=6 * HOUR, lookahead=24 * HOUR)
    at_once = DecisionIndex(now, lookback=6 * HOUR, lookahead=24 * HOUR)
    model = Model(now)
    for w in windows_:
        one_by_one.upsert(w)
        model.windows[w.id] = w
    at_once.upsert_many(windows_, checked=True)
    problems = []
    for alert, moment in queries:
        at = model.resolve(moment)
        expected = brute_force_decide(model.windows.values(), model.groups, alert, at)
        found = [index.decide(alert, at) for index in (one_by_one, at_once)]
        if found != [expected] * 2:
            problems.append((alert, at, found, expected))
    assert (problems, at_once.window_ids()) == ([], one_by_one.window_ids())


def test_equal_recurring_schedules_of_a_batch_share_one_expansion() -> None:
    weekly = RecurringSchedule(timezone="Europe/Berlin", rule=SimpleRule("weekly", ("tue",)),
                               start_time=time(22), duration=HOUR)
    index = DecisionIndex(NOW)
    index.upsert_many([replace(window(wid), schedule=copy.deepcopy(weekly))
                       for wid in (1, 2, 3)], checked=True)
    entries = [index._entries[wid] for wid in (1, 2, 3)]
    assert ([e.spans is entries[0].spans for e in entries],
            [e.schedule is entries[0].schedule for e in entries],
            bool(entries[0].spans)) == ([True] * 3, [True] * 3, True)
