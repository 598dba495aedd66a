"""The decision index on one-target alerts, which it answers from the target's timeline.

Each case is decided by ``decide`` and, in a batch, by ``decide_many`` (two code paths), and
the brute force must agree. Cases beside the fast path (labels, several targets, a group, an
all-targets window, a condition group without an anchor) check that it steps aside.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from tests.core.engine_cases import (
    DAY,
    EQ_PROD,
    HOUR,
    NE_P1,
    NOW,
    A,
    B,
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
    OnceSchedule,
    RecurringSchedule,
    SimpleRule,
    Verdict,
)

MICRO = timedelta(microseconds=1)
MUTE_1 = Decision(Verdict.MUTE, (1,))


def once(start: datetime, end: datetime) -> OnceSchedule:
    return OnceSchedule(start, end)


ONE_TARGET_CASES = [
    Case("one target, no labels", [window(1, targets=A)], Alert(("service:a",)), MUTE_1),
    Case(
        "one target, no labels, among other targets' windows",
        [window(2, targets=B), window(1, targets=A | B), window(3, Effect.DROP, targets=B)],
        Alert(("service:a",)),
        MUTE_1,
    ),
    Case(
        "nothing matching: no window names the target",
        [window(1, targets=B)],
        Alert(("service:a",)),
        Decision(Verdict.DELIVER),
    ),
    Case(
        "nothing matching: the target's window runs later",
        [window(1, targets=A, schedule=once(NOW + HOUR, NOW + 2 * HOUR))],
        Alert(("service:a",)),
        Decision(Verdict.DELIVER),
    ),
    Case(
        "window ended exactly at the instant (end exclusive)",
        [window(1, targets=A, schedule=once(NOW - HOUR, NOW))],
        Alert(("service:a",)),
        Decision(Verdict.DELIVER),
    ),
    Case(
        "window ending a microsecond after the instant",
        [window(1, targets=A, schedule=once(NOW - HOUR, NOW + MICRO))],
        Alert(("service:a",)),
        MUTE_1,
    ),
    Case(
        "window starting exactly at the instant",
        [window(1, targets=A, schedule=once(NOW, NOW + HOUR))],
        Alert(("service:a",)),
        MUTE_1,
    ),
    Case(
        "window starting a microsecond after the instant",
        [window(1, targets=A, schedule=once(NOW + MICRO, NOW + HOUR))],
        Alert(("service:a",)),
        Decision(Verdict.DELIVER),
    ),
    Case(
        "one window ends as the next starts: the next holds",
        [
            window(1, targets=A, schedule=once(NOW - HOUR, NOW)),
            window(2, Effect.DROP, targets=A, schedule=once(NOW, NOW + HOUR)),
        ],
        Alert(("service:a",)),
        Decision(Verdict.DROP, (2,)),
    ),
    Case(
        "one window ends as the next starts: just before, the first holds",
        [
            window(1, targets=A, schedule=once(NOW - HOUR, NOW)),
            window(2, Effect.DROP, targets=A, schedule=once(NOW, NOW + HOUR)),
        ],
        Alert(("service:a",)),
        MUTE_1,
        at=NOW - MICRO,
    ),
    Case(
        "overlapping windows: the strongest effect, both listed",
        [
            window(2, Effect.SUPPRESS_INCIDENTS, targets=A, schedule=once(NOW - HOUR, NOW + HOUR)),
            window(1, targets=A, schedule=once(NOW - 2 * HOUR, NOW + HOUR / 2)),
        ],
        Alert(("service:a",)),
        Decision(Verdict.MUTE, (1, 2)),
    ),
    Case(
        "overlapping windows: after the first ends, the other alone",
        [
            window(2, Effect.SUPPRESS_INCIDENTS, targets=A, schedule=once(NOW - HOUR, NOW + HOUR)),
            window(1, targets=A, schedule=once(NOW - 2 * HOUR, NOW + HOUR / 2)),
        ],
        Alert(("service:a",)),
        Decision(Verdict.SUPPRESS_INCIDENT, (2,)),
        at=NOW + HOUR / 2,
    ),
    Case(
        "recurring window on the target, inside the horizon",
        [window(1, targets=A, schedule=RecurringSchedule(
            "Europe/Berlin", SimpleRule("daily"), time(12), duration=2 * HOUR))],
        Alert(("service:a",)),
        MUTE_1,  # 13:00 in Berlin (CET) is 12:00Z: the occurrence began at 11:00Z
    ),
    Case(
        "recurring window on the target, far past the horizon",
        [window(1, targets=A, schedule=RecurringSchedule(
            "UTC", SimpleRule("daily"), time(12), duration=HOUR))],
        Alert(("service:a",)),
        MUTE_1,
        at=NOW + 40 * DAY + HOUR / 2,
    ),
    Case(
        "cancelled before the instant",
        [window(1, targets=A, cancelled_at=NOW - MICRO)],
        Alert(("service:a",)),
        Decision(Verdict.DELIVER),
    ),
    Case(
        "one target with labels: the label window holds it too",
        [window(1, targets=A), window(2, Effect.DROP, match=(group(EQ_PROD),))],
        Alert(("service:a",), {"env": "prod"}),
        Decision(Verdict.DROP, (1, 2)),
    ),
    Case(
        "one target with labels that no window wants",
        [window(1, targets=A), window(2, Effect.DROP, match=(group(EQ_PROD),))],
        Alert(("service:a",), {"env": "dev"}),
        MUTE_1,
    ),
    Case(
        "several targets",
        [window(1, targets=A), window(2, Effect.SUPPRESS_INCIDENTS, targets=B)],
        Alert(("service:a", "service:b")),
        Decision(Verdict.MUTE, (1, 2)),
    ),
    Case(
        "target in a group",
        [window(1, targets=A), window(3, Effect.DROP, groups=frozenset({"web"}))],
        Alert(("service:a",)),
        Decision(Verdict.DROP, (1, 3)),
        groups={"web": {"service:a"}},
    ),
    Case(
        "target in a group no window names",
        [window(1, targets=A), window(3, Effect.DROP, groups=frozenset({"web"}))],
        Alert(("service:a",)),
        MUTE_1,
        groups={"db": {"service:a"}},
    ),
    Case(
        "label only",
        [window(1, targets=A), window(2, match=(group(EQ_PROD),))],
        Alert(labels={"env": "prod"}),
        Decision(Verdict.MUTE, (2,)),
    ),
    Case(
        "an all-targets window holds it too",
        [window(1, targets=A), window(4, Effect.DROP, all_targets=True)],
        Alert(("service:a",)),
        Decision(Verdict.DROP, (1, 4)),
    ),
    Case(
        "a condition group without an anchor holds it too",
        [window(1, targets=A), window(6, Effect.DROP, match=(group(NE_P1),))],
        Alert(("service:b",)),
        Decision(Verdict.DROP, (6,)),
    ),
]


@pytest.mark.parametrize("case", ONE_TARGET_CASES, ids=lambda c: c.name)
def test_one_target_alerts(case: Case) -> None:
    index = indexed(case)
    found = (index.decide(case.alert, case.at), index.decide_many([case.alert] * 3, case.at))
    expected = (case.expected, [case.expected] * 3)
    assert (found, brute_force_decide(case.windows, case.groups, case.alert, case.at)) == (
        expected,
        case.expected,
    )


def test_decide_many_over_several_chunks_and_an_iterator() -> None:
    index = DecisionIndex(NOW)
    index.upsert(window(1, targets=A))
    index.upsert(window(2, Effect.DROP, targets=B, schedule=once(NOW, NOW + HOUR)))
    index.upsert(window(3, match=(group(EQ_PROD),)))
    kinds = [Alert(("service:a",)), Alert(("service:b",)), Alert(("service:c",)),
             Alert(labels={"env": "prod"}), Alert(("service:a", "service:b"))]
    alerts = [kinds[i % len(kinds)] for i in range(1_000)]
    assert index.decide_many(iter(alerts), NOW) == [index.decide(a, NOW) for a in alerts]


def test_timelines_follow_changes() -> None:
    """Every write that changes what covers a target changes its one-target decision."""
    index = DecisionIndex(NOW)
    alert = Alert(("service:a",))

    def now() -> Decision:
        return index.decide_many([alert], NOW)[0]

    seen = [now()]
    index.upsert(window(1, targets=A))
    seen.append(now())
    index.upsert(window(2, Effect.DROP, targets=A | B))
    seen.append(now())
    index.upsert(window(1, targets=A, schedule=once(NOW + HOUR, NOW + 2 * HOUR)))
    seen.append(now())
    index.set_group("web", {"service:a"})
    index.upsert(window(3, Effect.REROUTE, groups=frozenset({"web"})))
    seen.append(now())
    index.remove_group("web")
    seen.append(now())
    index.upsert(window(2, Effect.DROP, targets=B))
    seen.append(now())
    index.upsert(window(1, targets=A, schedule=once(NOW - HOUR, NOW + HOUR)))
    seen.append(now())
    index.remove(1)
    seen.append(now())
    assert seen == [
        Decision(Verdict.DELIVER),
        MUTE_1,
        Decision(Verdict.DROP, (1, 2)),
        Decision(Verdict.DROP, (2,)),
        Decision(Verdict.DROP, (2, 3)),
        Decision(Verdict.DROP, (2,)),
        Decision(Verdict.DELIVER),
        MUTE_1,
        Decision(Verdict.DELIVER),
    ]


