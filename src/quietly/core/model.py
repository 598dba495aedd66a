"""Domain objects: frozen dataclasses shared by every layer.

Instants are always timezone-aware UTC ``datetime`` objects. Wall-clock values (a start time,
a first date) are kept naive together with the IANA zone name they belong to; they are turned
into instants only inside ``core.timeutil`` and ``core.schedule``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal, Protocol

__all__ = [
    "EFFECT_VERDICT",
    "VERDICT_RANK",
    "Alert",
    "AlertLike",
    "ConditionGroup",
    "CronRule",
    "Decision",
    "Effect",
    "Matcher",
    "MatcherOp",
    "Occurrence",
    "OnceSchedule",
    "RRuleRule",
    "RecurringSchedule",
    "Rule",
    "Schedule",
    "ShortMonth",
    "SimpleRule",
    "State",
    "Verdict",
    "Window",
]


class State(enum.StrEnum):
    """Lifecycle state of a window (DESIGN §2)."""

    SCHEDULED = "scheduled"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Effect(enum.StrEnum):
    """What a window does to the alerts it matches (DESIGN §1)."""

    MUTE = "mute"
    SUPPRESS_INCIDENTS = "suppress_incidents"
    DROP = "drop"
    REROUTE = "reroute"
    ATTACH = "attach"


class Verdict(enum.StrEnum):
    """The outcome of a decision for one alert."""

    DELIVER = "deliver"
    SUPPRESS_INCIDENT = "suppress_incident"
    MUTE = "mute"
    ATTACH = "attach"
    REROUTE = "reroute"
    DROP = "drop"


EFFECT_VERDICT: dict[Effect, Verdict] = {
    Effect.MUTE: Verdict.MUTE,
    Effect.SUPPRESS_INCIDENTS: Verdict.SUPPRESS_INCIDENT,
    Effect.DROP: Verdict.DROP,
    Effect.REROUTE: Verdict.REROUTE,
    Effect.ATTACH: Verdict.ATTACH,
}

# The strongest verdict wins: drop > reroute/attach > mute > suppress_incident > deliver.
# reroute and attach share a rank in DESIGN §1; reroute is put first so the answer is stable.
VERDICT_RANK: dict[Verdict, int] = {
    Verdict.DELIVER: 0,
    Verdict.SUPPRESS_INCIDENT: 1,
    Verdict.MUTE: 2,
    Verdict.ATTACH: 3,
    Verdict.REROUTE: 4,
    Verdict.DROP: 5,
}


class MatcherOp(enum.StrEnum):
    """Alertmanager's four operators plus incident.io's set operators."""

    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"
    ONE_OF = "one_of"
    NOT_ONE_OF = "not_one_of"
    IS_SET = "is_set"
    IS_BLANK = "is_blank"


@dataclass(frozen=True, slots=True)
class Matcher:
    """A condition on one alert label. A missing label reads as the empty string.

    ``value`` is used by ``=``, ``!=``, ``=~`` and ``!~``; ``values`` by ``one_of`` and
    ``not_one_of``; ``is_set`` and ``is_blank`` use neither.
    """

    label: str
    op: MatcherOp
    value: str = ""
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConditionGroup:
    """Matches when every matcher in it matches (an empty group never matches)."""

    matchers: tuple[Matcher, ...]


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One concrete interval ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


ShortMonth = Literal["last_day", "skip"]


@dataclass(frozen=True, slots=True)
class RRuleRule:
    """An RFC 5545 RRULE body (``FREQ=WEEKLY;BYDAY=SU``), without DTSTART; DAILY or coarser."""

    rrule: str


@dataclass(frozen=True, slots=True)
class CronRule:
    """A 5-field cron expression giving start instants in the schedule's zone."""

    cron: str


@dataclass(frozen=True, slots=True)
class SimpleRule:
    """The simple forms: daily, weekly on some days, monthly on a day or an n-th weekday.

    ``days_of_week`` uses ``mon``…``sun``. ``day_of_month`` is 1…31 or -31…-1 (from the end);
    ``short_month`` says what a day that a month lacks does: ``last_day`` (run on the last
    existing day, the default) or ``skip`` (RFC 5545 ``BYMONTHDAY``). ``weekday_of_month`` is
    ``2TU`` (second Tuesday) or ``-1FR`` (last Friday).
    """

    every: Literal["daily", "weekly", "monthly"]
    days_of_week: tuple[str, ...] = ()
    day_of_month: int | None = None
    weekday_of_month: str | None = None
    short_month: ShortMonth = "last_day"


Rule = RRuleRule | CronRule | SimpleRule


@dataclass(frozen=True, slots=True)
class OnceSchedule:
    """A one-time window ``[start, end)``; ``timezone`` is kept for display and naive input."""

    start: datetime
    end: datetime
    timezone: str | None = None
    kind: Literal["once"] = "once"


@dataclass(frozen=True, slots=True)
class RecurringSchedule:
    """A rule in a zone with a local start time and a local end time or an elapsed duration.

    For cron rules the cron gives the start instants and ``start_time`` is ``None``. Exactly one
    of ``end_time`` and ``duration`` is set. ``starts_on`` is the first local date an occurrence
    may start on; ``until`` the last (inclusive); ``count`` caps the rule's instances.
    """

    timezone: str
    rule: Rule
    start_time: time | None
    end_time: time | None = None
    duration: timedelta | None = None
    starts_on: date | None = None
    until: date | None = None
    count: int | None = None
    kind: Literal["recurring"] = "recurring"


Schedule = OnceSchedule | RecurringSchedule


@dataclass(frozen=True, slots=True)
class Window:
    """A maintenance window as the domain sees it (no storage or API concerns)."""

    id: int
    workspace_id: int
    name: str
    schedule: Schedule
    effects: frozenset[Effect]
    targets: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    match: tuple[ConditionGroup, ...] = ()
    all_targets: bool = False
    description: str | None = None
    escalation_targets: tuple[str, ...] = ()
    incident_id: str | None = None
    created_at: datetime | None = None
    cancelled_at: datetime | None = None
    archived_at: datetime | None = None
    # When the stored window last changed: orders two versions of one window, so that a
    # stale copy (read before a later change, delivered after it) cannot replace a newer one.
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """What a decision is asked about: the targets an alert concerns and its labels."""

    targets: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)


class AlertLike(Protocol):
    """What the decision index reads of an alert: :class:`Alert`, or an alert as a request
    decoder made it (the batch endpoint decides its decoded objects without copying them)."""

    @property
    def targets(self) -> tuple[str, ...]: ...

    @property
    def labels(self) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict for one alert at one instant, with the ids of every matching window."""

    verdict: Verdict
    windows: tuple[int, ...] = ()
