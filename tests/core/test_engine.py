"""The decision index, case by case: named tables of what must and must not hold an alert
(each checked against ``brute_force_decide`` too), then writes, horizon moves and readers
racing a writer. The properties are in ``test_engine_properties``.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime, time, timedelta

import pytest
from tests.core.engine_cases import (
    EQ_EMPTY_TEAM,
    EQ_PROD,
    HOUR,
    NE_P1,
    NOW,
    RE_DB,
    A,
    Case,
    group,
    indexed,
    window,
)

from quietly.core.engine import DecisionIndex, brute_force_decide
from quietly.core.model import (
    Alert,
    Decision,
    Effect,
    Matcher,
    MatcherOp,
    OnceSchedule,
    RecurringSchedule,
    SimpleRule,
    Verdict,
)

CASES = [
    Case("no windows", [], Alert(("service:a",)), Decision(Verdict.DELIVER)),
    Case(
        "target",
        [window(1, targets=frozenset({"service:a"})), window(2, targets=frozenset({"service:b"}))],
        Alert(("service:a",)),
        Decision(Verdict.MUTE, (1,)),
    ),
    Case(
        "target, window not running yet",
        [window(1, targets=A, schedule=OnceSchedule(NOW + HOUR, NOW + 9 * HOUR))],
        Alert(("service:a",)),
        Decision(Verdict.DELIVER),
    ),
    Case(
        "target, at the end instant (half-open)",
        [window(1, targets=frozenset({"service:a"}))],
        Alert(("service:a",)),
        Decision(Verdict.DELIVER),
        at=NOW + HOUR,
    ),
    Case(
        "target, at the start instant",
        [window(1, targets=frozenset({"service:a"}))],
        Alert(("service:a",)),
        Decision(Verdict.MUTE, (1,)),
        at=NOW - HOUR,
    ),
    Case(
        "group member",
        [window(3, groups=frozenset({"web"}))],
        Alert(("service:w2",)),
        Decision(Verdict.MUTE, (3,)),
        groups={"web": {"service:w1", "service:w2"}},
    ),
    Case(
        "group non-member",
        [window(3, groups=frozenset({"web"}))],
        Alert(("service:db",)),
        Decision(Verdict.DELIVER),
        groups={"web": {"service:w1"}, "db": {"service:db"}},
    ),
    Case(
        "all targets",
        [window(4, Effect.DROP, all_targets=True)],
        Alert(()),
        Decision(Verdict.DROP, (4,)),
    ),
    Case(
        "label anchor and regex",
        [window(5, match=(group(EQ_PROD, RE_DB),))],
        Alert(labels={"env": "prod", "service": "db-1"}),
        Decision(Verdict.MUTE, (5,)),
    ),
    Case(
        "label anchor, regex fails",
        [window(5, match=(group(EQ_PROD, RE_DB),))],
        Alert(labels={"env": "prod", "service": "web"}),
        Decision(Verdict.DELIVER),
    ),
    Case(
        "scan group on an alert without labels",
        [window(6, match=(group(NE_P1),))],
        Alert(("service:a",)),
        Decision(Verdict.MUTE, (6,)),
    ),
    Case(
        "empty equality matches a missing label",
        [window(6, match=(group(EQ_EMPTY_TEAM, NE_P1),))],
        Alert(labels={"severity": "p2"}),
        Decision(Verdict.MUTE, (6,)),
    ),
    Case(
        "second condition group",
        [window(7, match=(group(EQ_PROD), group(RE_DB)))],
        Alert(labels={"service": "db-9"}),
        Decision(Verdict.MUTE, (7,)),
    ),
    Case(
        "precedence across windows, all listed",
        [
            window(8, Effect.SUPPRESS_INCIDENTS, targets=frozenset({"service:a"})),
            window(2, Effect.REROUTE, match=(group(EQ_PROD),)),
            window(5, Effect.ATTACH, all_targets=True),
        ],
        Alert(("service:a",), {"env": "prod"}),
        Decision(Verdict.REROUTE, (2, 5, 8)),
    ),
    Case(
        "a window matched twice is listed once",
        [window(9, targets=frozenset({"service:a", "service:b"}), match=(group(EQ_PROD),))],
        Alert(("service:a", "service:b"), {"env": "prod"}),
        Decision(Verdict.MUTE, (9,)),
    ),
    Case(
        "cancelled window",
        [window(1, targets=frozenset({"service:a"}), cancelled_at=NOW)],
        Alert(("service:a",)),
        Decision(Verdict.DELIVER),
    ),
    Case(
        "cancel still to come",
        [window(1, targets=frozenset({"service:a"}), cancelled_at=NOW + timedelta(seconds=1))],
        Alert(("service:a",)),
        Decision(Verdict.MUTE, (1,)),
    ),
    Case(
        "far outside the horizon",
        [window(1, targets=A, schedule=OnceSchedule(NOW + 900 * HOUR, NOW + 901 * HOUR))],
        Alert(("service:a",)),
        Decision(Verdict.MUTE, (1,)),
        at=NOW + 900 * HOUR,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_decide(case: Case) -> None:
    assert indexed(case).decide(case.alert, case.at) == case.expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_brute_force_agrees_with_table(case: Case) -> None:
    assert brute_force_decide(case.windows, case.groups, case.alert, case.at) == case.expected


def test_group_membership_applies_at_once() -> None:
    index = DecisionIndex(NOW)
    index.upsert(window(1, groups=frozenset({"web"})))
    alert = Alert(("service:w3",))
    before = index.decide(alert, NOW)
    index.set_group("web", {"service:w3"})
    during = index.decide(alert, NOW)
    index.remove_group("web")
    assert (before, during, index.decide(alert, NOW)) == (
        Decision(Verdict.DELIVER),
        Decision(Verdict.MUTE, (1,)),
        Decision(Verdict.DELIVER),
    )


def test_upsert_replaces_the_old_scope() -> None:
    index = DecisionIndex(NOW)
    index.upsert(window(1, targets=frozenset({"service:a"}), match=(group(EQ_PROD),)))
    index.upsert(window(1, Effect.DROP, targets=frozenset({"service:b"}), match=(group(RE_DB),)))
    decisions = [
        index.decide(Alert(("service:a",)), NOW),
        index.decide(Alert(labels={"env": "prod"}), NOW),
        index.decide(Alert(("service:b",)), NOW),
    ]
    assert decisions == [
        Decision(Verdict.DELIVER),
        Decision(Verdict.DELIVER),
        Decision(Verdict.DROP, (1,)),
    ]


VERSION_CASES = [
    # (versions delivered in this order, the effect of each, the verdict left)
    ("newer replaces older", [NOW, NOW + HOUR], [Effect.MUTE, Effect.DROP], Verdict.DROP),
    ("older copy after newer is ignored", [NOW + HOUR, NOW], [Effect.DROP, Effect.MUTE],
     Verdict.DROP),
    ("same version delivered again replaces", [NOW, NOW], [Effect.MUTE, Effect.DROP],
     Verdict.DROP),
    ("unknown version replaces", [NOW + HOUR, None], [Effect.DROP, Effect.MUTE], Verdict.MUTE),
    ("replacing an unknown version", [None, NOW], [Effect.DROP, Effect.MUTE], Verdict.MUTE),
]


@pytest.mark.parametrize(("case", "versions", "effects", "verdict"), VERSION_CASES,
                         ids=[c[0] for c in VERSION_CASES])
def test_upsert_keeps_the_newest_version(case: str, versions: list[datetime | None],
                                         effects: list[Effect], verdict: Verdict) -> None:
    """A stale copy (read before a later change, delivered after it) never wins."""
    index = DecisionIndex(NOW)
    for version, effect in zip(versions, effects, strict=True):
        index.upsert(window(1, effect, targets=frozenset({"service:a"}), updated_at=version))
    assert index.decide(Alert(("service:a",)), NOW).verdict is verdict


def test_remove_leaves_no_trace() -> None:
    index = DecisionIndex(NOW)
    index.upsert(window(1, targets=frozenset({"service:a"}), match=(group(EQ_PROD), group(NE_P1))))
    index.upsert(window(2, all_targets=True, groups=frozenset({"g"})))
    index.remove(1)
    index.remove(2)
    index.remove(99)
    assert index.stats() == {
        "windows": 0,
        "intervals": 0,
        "pending": 0,
        "targets": 0,
        "groups": 0,
        "label_slots": 0,
        "largest_label_slot": 0,
        "scan_slots": 0,
        "all_targets_windows": 0,
    }


def test_decide_many_matches_decide() -> None:
    index = DecisionIndex(NOW)
    index.upsert(window(1, targets=frozenset({"service:a"})))
    index.upsert(window(2, Effect.DROP, match=(group(EQ_PROD),)))
    alerts = [Alert(("service:a",)), Alert(labels={"env": "prod"}), Alert(("service:z",))]
    assert index.decide_many(alerts, NOW) == [index.decide(a, NOW) for a in alerts]


def test_advance_refreshes_only_horizon_bound_windows() -> None:
    index = DecisionIndex(NOW)
    index.upsert(window(1, targets=frozenset({"service:a"})))  # one-time: complete already
    daily = RecurringSchedule("UTC", SimpleRule("daily"), time(12), duration=HOUR)
    index.upsert(window(2, targets=frozenset({"service:a"}), schedule=daily))
    refreshed = [index.advance(NOW + HOUR), index.advance(NOW + 30 * HOUR)]
    assert refreshed == [0, 1]


def test_readers_never_see_a_half_updated_window() -> None:
    """One writer flips window 1 between two shapes (targets, group, labels, effect) while
    readers decide: every answer is one shape's, never a mix or a miss, and nothing raises.
    ``service:a`` alone is answered from its timeline while shape A is indexed (shape B has
    a condition group without an anchor, which holds it then)."""
    shape_a = window(1, Effect.MUTE, targets=A, match=(group(EQ_PROD),))
    shape_b = window(1, Effect.DROP, groups=frozenset({"g"}), match=(group(RE_DB), group(NE_P1)))
    index = DecisionIndex(NOW)
    index.set_group("g", {"service:c"})
    index.upsert(shape_a)
    alert = Alert(("service:a", "service:c"), {"env": "prod", "service": "db-1", "severity": "p1"})
    plain = Alert(("service:a",))
    allowed = {Decision(Verdict.MUTE, (1,)), Decision(Verdict.DROP, (1,))}
    seen: list[Decision] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                seen.append(index.decide(alert, NOW))
                seen.extend(index.decide_many([alert, alert], NOW))
                seen.append(index.decide(plain, NOW))
                seen.extend(index.decide_many([plain, alert, plain], NOW))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    readers = [threading.Thread(target=read) for _ in range(2)]
    try:
        for reader in readers:
            reader.start()
        for i in range(2_000):
            index.upsert(shape_b if i % 2 == 0 else shape_a)
            if i % 100 == 0:
                index.set_group("g", {"service:c"} if i % 200 else {"service:c", "service:d"})
    finally:
        done.set()
        for reader in readers:
            reader.join()
        sys.setswitchinterval(interval)
    assert (errors, sorted({d for d in seen if d not in allowed}, key=repr)) == ([], [])


def test_advance_with_a_budget_catches_up_over_calls() -> None:
    index = DecisionIndex(NOW)
    for wid in (1, 2, 3):
        daily = RecurringSchedule("UTC", SimpleRule("daily"), time(wid), duration=HOUR)
        index.upsert(window(wid, targets=A, schedule=daily))
    later = NOW + 30 * HOUR
    counts = [index.advance(later, budget=2), index.advance(later, budget=2)]
    assert counts == [2, 1]


def test_decisions_stay_exact_past_the_horizon() -> None:
    daily = RecurringSchedule("UTC", SimpleRule("daily"), time(12), duration=HOUR)
    index = DecisionIndex(NOW)
    index.upsert(window(1, targets=A, schedule=daily))
    # Ten days on without advance(): answered from the rules, not from stale intervals.
    at = NOW + timedelta(days=10, minutes=30)
    assert index.decide(Alert(("service:a",)), at) == Decision(Verdict.MUTE, (1,))


def test_reanchor_makes_anchors_independent_of_loading_order() -> None:
    """Loaded one by one, a window's condition group is filed under the label that looked
    most selective given the windows before it, so the same windows loaded in another order
    end up filed elsewhere. ``reanchor`` (run after every bulk load) files each group as the
    statistics of all windows say; decisions never change."""
    def eq(label: str, value: str) -> Matcher:
        return Matcher(label, MatcherOp.EQ, value)

    early = [window(i, match=(group(eq("env", f"e{i}"), eq("team", "a")),))
             for i in range(1, 21)]
    late = [window(100 + i, match=(group(eq("env", "prod"), eq("team", f"t{i}")),))
            for i in range(1, 41)]
    alerts = [Alert(labels={"env": env, "team": team})
              for env in ("prod", "e3", "x") for team in ("a", "t5", "t40", "zz")]
    indexes = []
    for order in (early + late, late + early):
        index = DecisionIndex(NOW)
        for w in order:
            index.upsert(w)
        indexes.append(index)
    ids = [w.id for w in early + late]

    def placed(index: DecisionIndex) -> list[tuple[tuple[str, str] | None, ...]]:
        return [index.anchors(wid) for wid in ids]

    assert placed(indexes[0]) != placed(indexes[1])
    before = [index.decide_many(alerts, NOW) for index in indexes]
    moved = [index.reanchor() for index in indexes]
    assert placed(indexes[0]) == placed(indexes[1])
    assert all(n > 0 for n in moved)
    assert [index.reanchor() for index in indexes] == [0, 0]  # settled
    assert [index.decide_many(alerts, NOW) for index in indexes] == before
    assert before[0] == before[1]
    assert [d.windows for d in before[0][:6]] == [(), (105,), (140,), (), (3,), ()]
