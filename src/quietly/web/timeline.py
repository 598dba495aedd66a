"""The timeline: every occurrence of the coming 14 days as a bar, rows grouped by target.

Computed on the server (never expand rules in the browser): each bar carries its position as a
percentage of the range, which does not depend on any zone; ``app.js`` only redraws the day
grid and the "now" line in the browser's zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from quietly.core import lifecycle
from quietly.core.model import Occurrence, OnceSchedule, State
from quietly.core.records import WindowRecord
from quietly.core.timeutil import to_local, to_utc

__all__ = ["DAYS", "Bar", "Row", "Timeline", "build_timeline"]

DAYS = 14
MIN_WIDTH = 0.35  # percent: a five-minute window must still be visible and clickable
LABEL_WIDTH = 2.5  # percent (about 8 hours): from here on a bar has room for its times


@dataclass(frozen=True, slots=True)
class Bar:
    occurrence: Occurrence
    left: float
    width: float
    active: bool


@dataclass(slots=True)
class Row:
    record: WindowRecord
    state: State
    zone: str
    bars: list[Bar] = field(default_factory=list)


@dataclass(slots=True)
class Group:
    label: str
    rows: list[Row] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Day:
    start: datetime
    left: float
    width: float
    is_today: bool


@dataclass(slots=True)
class Timeline:
    start: datetime
    end: datetime
    now_left: float
    days: list[Day]
    groups: list[Group]
    hidden: int = 0
    """Windows left out because they have ended or were cancelled (``hide_ended``)."""


def _zone_of(record: WindowRecord, default: str) -> str:
    schedule = record.fields.schedule
    if isinstance(schedule, OnceSchedule):
        return schedule.timezone or default
    return schedule.timezone


def _scopes(record: WindowRecord) -> list[str]:
    """The row groups a window appears in: each target, each group, or how else it matches."""
    f = record.fields
    scopes = [*sorted(f.targets), *(f"group:{g}" for g in sorted(f.groups))]
    if f.all_targets:
        scopes.append("All targets")
    if not scopes and f.match:
        scopes.append("Label conditions")
    return scopes


def _percent(instant: datetime, start: datetime, span: float) -> float:
    return round((instant - start).total_seconds() / span * 100, 3)


def _days(start: datetime, zone: str, now: datetime, span: float) -> list[Day]:
    first = to_local(start, zone).date()
    today = to_local(now, zone).date()
    days = []
    for i in range(DAYS):
        day = first + timedelta(days=i)
        at = to_utc(datetime.combine(day, time()), zone)
        following = to_utc(datetime.combine(day + timedelta(days=1), time()), zone)
        left = _percent(at, start, span)
        days.append(Day(at, left, _percent(following, start, span) - left, day == today))
    return days


_ENDED = frozenset({State.COMPLETED, State.CANCELLED})


def build_timeline(records: list[WindowRecord], now: datetime, zone: str, *,
                   hide_ended: bool = False) -> Timeline:
    """Lay out the 14 days from today's midnight in ``zone`` (the browser redraws the grid).

    ``hide_ended`` leaves out windows that are completed or cancelled at ``now`` (their bars
    from earlier today, or a cancelled window's occurrences), and counts them.
    """
    start = to_utc(datetime.combine(to_local(now, zone).date(), time()), zone)
    end = start + timedelta(days=DAYS)
    span = (end - start).total_seconds()
    groups: dict[str, Group] = {}
    hidden = 0
    for record in records:
        window = record.to_window()
        occurrences = lifecycle.window_occurrences(window, start, end, limit=500)
        if not occurrences:
            continue
        state = lifecycle.state_at(window, now)
        if hide_ended and state in _ENDED:
            hidden += 1
            continue
        row = Row(record, state, _zone_of(record, zone))
        for occ in occurrences:
            left = _percent(max(occ.start, start), start, span)
            right = _percent(min(occ.end, end), start, span)
            row.bars.append(Bar(occ, left, max(right - left, MIN_WIDTH), occ.contains(now)))
        for scope in _scopes(record):
            groups.setdefault(scope, Group(scope)).rows.append(row)
    for group in groups.values():
        group.rows.sort(key=lambda r: (r.bars[0].occurrence.start, r.record.id))
    ordered = sorted(groups.values(), key=lambda g: (g.label[0].isupper(), g.label))
    return Timeline(start, end, _percent(now, start, span), _days(start, zone, now, span),
                    ordered, hidden)
