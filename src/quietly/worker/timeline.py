"""Which occurrence events a window has, and when (pure: no I/O, the clock is passed in).

For each occurrence ``[start, end)``: ``starting_soon`` at ``start - notify_start_minutes_before``
(only when that is set and positive), ``started`` at ``start``, ``ending_soon`` at
``end - notify_end_minutes_before`` (not before ``start``), and ``ended`` at ``end``. A
cancelled occurrence ends at the cancellation (``lifecycle`` cuts it), so ``ended`` follows a
cancellation of a running window; an occurrence cancelled before it started has no events.

Identity: starting events are keyed by the occurrence start; ending events by start *and*
end, so extending a running window after ``ending_soon`` announces the new end once more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from quietly.core import lifecycle
from quietly.core.codec import format_instant
from quietly.core.model import Occurrence, Window

__all__ = ["EVENT_ORDER", "Leads", "Transition", "next_due", "transitions"]

EVENT_ORDER = ("starting_soon", "started", "ending_soon", "ended")
_LOOKAHEAD = timedelta(days=2)
_TICK = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Leads:
    """How long before start and end the ``…_soon`` events fire (None or 0: not at all)."""

    start_minutes: int | None = None
    end_minutes: int | None = None

    @property
    def start(self) -> timedelta:
        return timedelta(minutes=self.start_minutes or 0)

    @property
    def end(self) -> timedelta:
        return timedelta(minutes=self.end_minutes or 0)


@dataclass(frozen=True, slots=True)
class Transition:
    event: str  # one of EVENT_ORDER
    at: datetime
    occurrence: Occurrence

    @property
    def kind(self) -> str:
        return f"occurrence.{self.event}"

    @property
    def key(self) -> str:
        """The (occurrence, event) part of the idempotency key."""
        key = f"o{format_instant(self.occurrence.start)}:{self.event}"
        if self.event in ("ending_soon", "ended"):
            key += f":{format_instant(self.occurrence.end)}"
        return key


def _of(occurrence: Occurrence, leads: Leads) -> list[Transition]:
    found = []
    if leads.start_minutes:
        found.append(Transition("starting_soon", occurrence.start - leads.start, occurrence))
    found.append(Transition("started", occurrence.start, occurrence))
    if leads.end_minutes:
        at = max(occurrence.start, occurrence.end - leads.end)
        found.append(Transition("ending_soon", at, occurrence))
    found.append(Transition("ended", occurrence.end, occurrence))
    return found


def _sorted(items: Iterable[Transition]) -> list[Transition]:
    unique = {(t.key, t.at): t for t in items}
    return sorted(unique.values(), key=lambda t: (t.at, EVENT_ORDER.index(t.event),
                                                  t.occurrence.start))


def transitions(window: Window, leads: Leads, low: datetime, high: datetime
                ) -> list[Transition]:
    """Every transition with ``low <= at < high``, in time order."""
    if high <= low:
        return []
    # An occurrence has transitions in [start - lead, end]: fetch those overlapping the range
    # widened by the lead (ahead) and a tick (behind, for an ``ended`` exactly at ``low``).
    occurrences = lifecycle.window_occurrences(window, low - _TICK, high + leads.start,
                                               limit=2000)
    return _sorted(t for o in occurrences for t in _of(o, leads) if low <= t.at < high)


def next_due(window: Window, leads: Leads, after: datetime) -> datetime | None:
    """The first transition at or after ``after``, or None if there will be none.

    Looks at occurrences near ``after``, the one running then (it may be days long) and the
    next one to start (it may be months away), so no transition is ever skipped.
    """
    near = lifecycle.window_occurrences(window, after - _TICK, after + leads.start + _LOOKAHEAD,
                                        limit=200)
    candidates = list(near)
    for found in (lifecycle.current_occurrence(window, after),
                  lifecycle.next_occurrence(window, after)):
        if found is not None:
            candidates.append(found)
    instants = [t.at for o in candidates for t in _of(o, leads) if t.at >= after]
    return min(instants, default=None)
