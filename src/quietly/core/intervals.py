"""Occurrences as integer intervals, for the decision index (``engine``).

The index keeps each window's occurrences as sorted, disjoint, half-open ``[start, end)``
intervals of integer microseconds since the epoch (exact, and cheap to compare and bisect,
unlike datetimes), expanded over a rolling horizon. They are kept flat, as one tuple of
bounds ``(start0, end0, start1, end1, ...)`` (``Spans``): strictly increasing, since
intervals never touch, so an instant ``t`` lies in one exactly when
``bisect_right(spans, t)`` is odd — one tuple and one bisect per window. This module converts
instants, merges and expands intervals, tells where a window's horizon ends, and answers from
the domain rules when an instant lies outside it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from quietly.core import lifecycle
from quietly.core import schedule as sched
from quietly.core.model import Schedule, Window

__all__ = [
    "FOREVER",
    "NEVER",
    "Spans",
    "active_by_rules",
    "active_by_schedule",
    "holds",
    "horizon_end",
    "instant",
    "merge",
    "micros",
    "occurrence_spans",
    "pairs",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Sentinels beyond any datetime (year 9999 is ~2.5e17 µs): a horizon that never ends.
FOREVER = 1 << 62
NEVER = -(1 << 62)

# (start0, end0, start1, end1, ...): sorted, disjoint intervals that never touch.
Spans = tuple[int, ...]


def micros(at: datetime) -> int:
    """An aware instant as integer microseconds since the epoch (exact, unlike floats)."""
    return (at - _EPOCH) // _MICROSECOND


def instant(us: int) -> datetime:
    """The aware UTC instant ``us`` microseconds after the epoch (``micros`` reversed)."""
    return _EPOCH + timedelta(microseconds=us)


def holds(spans: Spans, t: int) -> bool:
    """Whether one of the flat intervals ``spans`` contains ``t``."""
    return bisect_right(spans, t) & 1 == 1


def pairs(spans: Spans) -> list[tuple[int, int]]:
    """The ``(start, end)`` pairs of flat ``spans``."""
    return list(zip(spans[::2], spans[1::2], strict=True))


def merge(spans: Spans, extra: Iterable[tuple[int, int]]) -> Spans:
    """Merge intervals into sorted, disjoint, flat ``[start, end)`` bounds; touching ones
    join and empty ones go.

    Merging overlapping occurrences loses nothing: the index only asks whether *some*
    occurrence contains an instant.
    """
    out: list[int] = []
    for start, end in sorted([*pairs(spans), *extra]):
        if end <= start:
            continue  # an empty interval holds no instant
        if out and start <= out[-1]:
            if end > out[-1]:
                out[-1] = end
        else:
            out.append(start)
            out.append(end)
    return tuple(out)


def occurrence_spans(
    schedule: Schedule, cut: datetime | None, start: datetime, end: datetime,
    plan: sched.CompiledSchedule | None,
) -> list[tuple[int, int]]:
    """A window's occurrences overlapping ``[start, end)``, as cut at ``cut``."""
    found = lifecycle.occurrences_cut(schedule, cut, start, end, compiled=plan)
    return [(micros(o.start), micros(o.end)) for o in found]


def active_by_rules(
    window: Window, at: datetime, plan: sched.CompiledSchedule | None = None
) -> bool:
    """Whether an occurrence of ``window`` contains ``at``, straight from the domain rules."""
    return bool(lifecycle.window_occurrences(window, at, at + _MICROSECOND, compiled=plan))


def active_by_schedule(schedule: Schedule, cut: datetime | None, at: datetime,
                       plan: sched.CompiledSchedule | None = None) -> bool:
    """``active_by_rules`` for a schedule and its window's cut-off (``lifecycle.cut_off``)."""
    return bool(lifecycle.occurrences_cut(schedule, cut, at, at + _MICROSECOND,
                                          compiled=plan))


def horizon_end(plan: sched.CompiledSchedule | None, cut: datetime | None, hi: datetime) -> int:
    """The end of a window's horizon: ``hi``, or never when no occurrence can follow ``hi``
    (the schedule's last occurrence or the window's cut-off comes before it)."""
    last = plan.last_occurrence_end() if plan is not None else None
    ends = [x for x in (last, cut) if x is not None]
    if ends and min(ends) <= hi:
        return FOREVER
    return micros(hi)
