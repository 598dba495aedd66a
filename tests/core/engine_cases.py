"""Shared by the decision index's named-case tests: an instant, windows around it, cases."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from quietly.core.engine import DecisionIndex
from quietly.core.model import (
    Alert,
    ConditionGroup,
    Decision,
    Effect,
    Matcher,
    MatcherOp,
    OnceSchedule,
    Window,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def window(wid: int, effect: Effect = Effect.MUTE, **fields: object) -> Window:
    """A window running NOW-1h … NOW+1h unless told otherwise."""
    base = Window(
        id=wid,
        workspace_id=1,
        name=f"w{wid}",
        schedule=OnceSchedule(NOW - HOUR, NOW + HOUR),
        effects=frozenset({effect}),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def group(*matchers: Matcher) -> ConditionGroup:
    return ConditionGroup(matchers)


EQ_PROD = Matcher("env", MatcherOp.EQ, "prod")
RE_DB = Matcher("service", MatcherOp.RE, "db-.*")
NE_P1 = Matcher("severity", MatcherOp.NE, "p1")
EQ_EMPTY_TEAM = Matcher("team", MatcherOp.EQ, "")
A = frozenset({"service:a"})
B = frozenset({"service:b"})


@dataclass(frozen=True)
class Case:
    name: str
    windows: list[Window]
    alert: Alert
    expected: Decision
    groups: dict[str, set[str]] = field(default_factory=dict)
    at: datetime = NOW


def indexed(case: Case) -> DecisionIndex:
    """An index at NOW holding the case's groups and windows."""
    index = DecisionIndex(NOW)
    for name, members in case.groups.items():
        index.set_group(name, members)
    for w in case.windows:
        index.upsert(w)
    return index
