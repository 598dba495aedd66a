"""One indexed window, and what several decide together, for the decision index (``engine``).

An ``Entry`` holds everything a decision needs about one window: its scope, its matchers
compiled once, its occurrences as intervals over the index's horizon (``intervals``), and
the ``Decision`` it makes alone, built once. ``decision_of`` combines the entries that hold an
alert at an instant; ``timeline`` precomputes that for one target over time.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter

from quietly.core import lifecycle
from quietly.core import schedule as sched
from quietly.core.intervals import (
    FOREVER,
    NEVER,
    Spans,
    active_by_rules,
    horizon_end,
    instant,
    merge,
    micros,
    occurrence_spans,
)
from quietly.core.matching import CompiledGroup, compile_groups
from quietly.core.model import VERDICT_RANK, Decision, OnceSchedule, Verdict, Window

__all__ = ["DELIVER", "Entry", "Timeline", "decision_of", "timeline"]

DELIVER = Decision(Verdict.DELIVER, ())
_VERDICT_BY_RANK = tuple(sorted(VERDICT_RANK, key=VERDICT_RANK.__getitem__))

# (lo, hi, bounds, decisions): for an instant t in [lo, hi), the decision is
# decisions[bisect_right(bounds, t)].
Timeline = tuple[int, int, tuple[int, ...], tuple[Decision, ...]]


class Entry:
    """Everything a decision needs about one window. Never mutated once built."""

    __slots__ = (
        "all_targets",
        "alone",
        "compiled",
        "ends",
        "groups",
        "hi",
        "id",
        "lo",
        "plan",
        "rank",
        "starts",
        "targets",
        "window",
    )

    def __init__(
        self,
        window: Window,
        compiled: Sequence[CompiledGroup],
        plan: sched.CompiledSchedule | None,
        spans: Spans,
        lo: int,
        hi: int,
    ) -> None:
        self.window = window
        self.plan = plan  # the compiled schedule of a recurring window, kept for refreshes
        self.id = window.id
        verdict = lifecycle.strongest_verdict(window.effects)
        self.rank = VERDICT_RANK[verdict]
        # The decision when this window alone matches, built once: constructing a frozen
        # dataclass costs more than the rest of a decision.
        self.alone = Decision(verdict, (window.id,))
        self.targets = window.targets
        self.groups = window.groups
        self.all_targets = window.all_targets
        self.compiled: tuple[CompiledGroup, ...] = tuple(compiled)
        self.starts, self.ends = spans
        self.lo = lo  # the intervals are complete for instants in [lo, hi)
        self.hi = hi

    @classmethod
    def build(cls, window: Window, old: Entry | None, start: datetime, end: datetime) -> Entry:
        """The entry of ``window`` with its occurrences over the horizon ``[start, end)``.

        Reuses what ``old`` (the window's previous entry, if any) compiled when unchanged.
        A one-time window is complete whatever the horizon. Raises whatever compiling the
        matchers or the schedule raises.
        """
        if old is not None and old.window.match == window.match:
            compiled: Sequence[CompiledGroup] = old.compiled
        else:
            compiled = compile_groups(window.match)
        if isinstance(window.schedule, OnceSchedule):
            s = window.schedule
            spans = merge([], [], occurrence_spans(window, s.start, s.end, None))
            return cls(window, compiled, None, spans, NEVER, FOREVER)
        # Keep the compiled schedule: compiling (and validating) a rule again on every horizon
        # move would cost far more than expanding it.
        if old is not None and old.plan is not None and old.window.schedule == window.schedule:
            plan = old.plan
        else:
            plan = sched.compile_schedule(window.schedule)
        spans = merge([], [], occurrence_spans(window, start, end, plan))
        return cls(window, compiled, plan, spans, micros(start), horizon_end(plan, window, end))

    def extended(self, start: datetime, end: datetime) -> Entry:
        """This entry over the horizon ``[start, end)``, which begins inside its own: keeps the
        intervals still inside and expands only the stretch past its old end."""
        lo = micros(start)
        keep = [(s, e) for s, e in zip(self.starts, self.ends, strict=True) if e > lo]
        fresh = occurrence_spans(self.window, instant(self.hi), end, self.plan)
        spans = merge([s for s, _ in keep], [e for _, e in keep], fresh)
        hi = horizon_end(self.plan, self.window, end)
        return Entry(self.window, self.compiled, self.plan, spans, max(self.lo, lo), hi)

    def active(self, t: int, at: datetime) -> bool:
        """Whether an occurrence contains ``at`` (``t`` in microseconds, the same instant)."""
        if self.lo <= t < self.hi:
            i = bisect_right(self.starts, t)
            return i > 0 and self.ends[i - 1] > t
        return active_by_rules(self.window, at, self.plan)


def decision_of(found: Sequence[Entry]) -> Decision:
    """The decision when the ``found`` windows (at least one) hold an alert: the strongest
    verdict, every window id listed once, sorted."""
    if len(found) == 1:
        return found[0].alone
    best = max(e.rank for e in found)
    # A window swapped by a concurrent upsert may have been met in both versions: dedupe ids.
    return Decision(_VERDICT_BY_RANK[best], tuple(sorted({e.id for e in found})))


def timeline(entries: Sequence[Entry]) -> Timeline:
    """What ``entries`` decide together over time, where all of their intervals hold.

    The decision for an alert that exactly these windows cover (one target, no labels), at
    any instant ``t`` in ``[lo, hi)``, is ``decisions[bisect_right(bounds, t)]``. Usually
    their intervals never overlap and the bounds are theirs in order; else a sweep.
    """
    lo = max((e.lo for e in entries), default=NEVER)
    hi = min((e.hi for e in entries), default=FOREVER)
    spans = sorted(
        (
            (start, end, entry)
            for entry in entries
            for start, end in zip(entry.starts, entry.ends, strict=True)
        ),
        key=itemgetter(0),
    )
    bounds: list[int] = []
    decisions = [DELIVER]
    for start, end, entry in spans:
        if bounds and start < bounds[-1]:
            return lo, hi, *_swept(spans)  # windows overlap
        if bounds and start == bounds[-1]:
            decisions[-1] = entry.alone  # one window takes over where another stops
        else:
            bounds.append(start)
            decisions.append(entry.alone)
        bounds.append(end)
        decisions.append(DELIVER)
    return lo, hi, tuple(bounds), tuple(decisions)


def _swept(
    spans: Sequence[tuple[int, int, Entry]],
) -> tuple[tuple[int, ...], tuple[Decision, ...]]:
    """Bounds and decisions of overlapping windows' intervals, by a sweep over their ends.

    Each window's own intervals are disjoint and never touch (``intervals.merge``), so at each
    of its bounds a window either starts or stops holding. Neighbouring stretches with the
    same decision are joined.
    """
    flips: dict[int, list[Entry]] = {}
    for start, end, entry in spans:
        flips.setdefault(start, []).append(entry)
        flips.setdefault(end, []).append(entry)
    bounds: list[int] = []
    decisions = [DELIVER]
    holding: set[Entry] = set()
    for at in sorted(flips):
        for entry in flips[at]:
            if entry in holding:
                holding.remove(entry)
            else:
                holding.add(entry)
        decision = decision_of(list(holding)) if holding else DELIVER
        if decision != decisions[-1]:
            bounds.append(at)
            decisions.append(decision)
    return tuple(bounds), tuple(decisions)
