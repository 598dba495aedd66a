"""Occurrences as integer intervals, for the decision index (``engine``).

The index keeps each window's occurrences as sorted, disjoint, half-open ``[start, end)``
intervals of integer microseconds since the epoch (exact, and cheap to compare and bisect,
unlike datetimes), expanded over a rolling horizon. This module converts instants, merges and
expands intervals, tells where a window's horizon ends, and answers from the domain rules
when an instant lies outside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from quietly.core import lifecycle
from quietly.core import schedule as sched
from quietly.core.model import Window

__all__ = [
    "FOREVER",
    "NEVER",
    "Spans",
    "active_by_rules",
    "horizon_end",
    "instant",
    "merge",
    "micros",
    "occurrence_spans",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Sentinels beyond any datetime (year 9999 is ~2.5e17 µs): a horizon that never ends.
FOREVER = 1 << 62
NEVER = -(1 << 62)

Spans = tuple[list[int], list[int]]  # (starts, ends): sorted, disjoint, never touching


def micros(at: datetime) -> int:
    """An aware instant as integer microseconds since the epoch (exact, unlike floats)."""
    return (at - _EPOCH) // _MICROSECOND


def instant(us: int) -> datetime:
    """The aware UTC instant ``us`` microseconds after the epoch (``micros`` reversed)."""
    return _EPOCH + timedelta(microseconds=us)


def merge(starts: list[int], ends: list[int], extra: Iterable[tuple[int, int]]) -> Spans:
    """Merge intervals into sorted, disjoint ``[start, end)`` pairs; touching ones join and
    empty ones go.

    Merging overlapping occurrences loses nothing: the index only asks whether *some*
    occurrence contains an instant.
    """
    pairs = sorted([*zip(starts, ends, strict=True), *extra])
    out_s: list[int] = []
    out_e: list[int] = []
    for start, end in pairs:
        if end <= start:
            continue  # an empty interval holds no instant
        if out_e and start <= out_e[-1]:
            if end > out_e[-1]:
                out_e[-1] = end
        else:
            out_s.append(start)
            out_e.append(end)
    return out_s, out_e


def occurrence_spans(
    window: Window, start: datetime, end: datetime, plan: sched.CompiledSchedule | None
) -> list[tuple[int, int]]:
    """The window's occurrences overlapping ``[start, end)``, as cut by cancellation."""
    found = lifecycle.window_occurrences(window, start, end, compiled=plan)
    return [(micros(o.start), micros(o.end)) for o in found]


def active_by_rules(
    window: Window, at: datetime, plan: sched.CompiledSchedule | None = None
) -> bool:
    """Whether an occurrence of ``window`` contains ``at``, straight from the domain rules."""
    return bool(lifecycle.window_occurrences(window, at, at + _MICROSECOND, compiled=plan))


def horizon_end(plan: sched.CompiledSchedule | None, window: Window, hi: datetime) -> int:
    """The end of a window's horizon: ``hi``, or never when no occurrence can follow ``hi``
    (the schedule's last occurrence or the window's cut-off comes before it)."""
    last = plan.last_occurrence_end() if plan is not None else None
    cut = lifecycle.cut_off(window)
    ends = [x for x in (last, cut) if x is not None]
    if ends and min(ends) <= hi:
        return FOREVER
    return micros(hi)
