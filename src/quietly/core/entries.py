"""One indexed window, and what several decide together, for the decision index (``engine``).

An ``Entry`` holds everything a decision needs about one window, and nothing else: its scope
(target and group names interned and, when few, in a tuple), its matchers compiled once (not
the matchers as written), its occurrences as flat intervals over the index's horizon
(``intervals``), its verdict (and the ``Decision`` it makes alone, built when first needed),
and its version (``updated_at`` in microseconds). A one-time
window's interval is complete whatever the horizon, so its schedule is not kept; a recurring
window keeps its schedule and cut-off (cancel or archive) to expand further and to answer
instants outside its horizon from the rules. Neither the ``Window`` nor a compiled schedule
stays in memory: the index is sized by what decisions read (issue 19).

A recurring window can be filed *pending* (``lo == hi == PENDING``: no intervals yet): every
decision on it then comes from the rules, exact but slower, until ``expanded`` gives it its
intervals. This is how a bulk load becomes ready before any schedule is expanded.
``decision_of`` combines the entries that hold an alert at an instant; ``timeline``
precomputes that for one target over time.
"""

from __future__ import annotations

import sys
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import itemgetter

from quietly.core import lifecycle
from quietly.core import schedule as sched
from quietly.core.intervals import (
    FOREVER,
    NEVER,
    Spans,
    active_by_schedule,
    horizon_end,
    instant,
    merge,
    micros,
    occurrence_spans,
    pairs,
)
from quietly.core.matching import CompiledGroup, compile_groups
from quietly.core.model import (
    VERDICT_RANK,
    ConditionGroup,
    Decision,
    Effect,
    OnceSchedule,
    RecurringSchedule,
    Verdict,
    Window,
)
from quietly.core.schedule.compiled import build as build_plan

__all__ = ["DELIVER", "PENDING", "PLAIN_ENTRY_TYPES", "RECURRING_ENTRY_TYPES", "Entry",
           "Expansions", "Names", "ScopedOnce", "Timeline", "decision_of", "names", "timeline",
           "timeline_plus"]

DELIVER = Decision(Verdict.DELIVER, ())
_VERDICT_BY_RANK = tuple(sorted(VERDICT_RANK, key=VERDICT_RANK.__getitem__))
PENDING = 0  # lo == hi == PENDING: a recurring window not expanded yet (rules answer for it)
_SMALL = 8  # up to this many names are kept in a tuple (less memory), beyond in a frozenset

# (lo, hi, bounds, decisions): for an instant t in [lo, hi), the decision is
# decisions[bisect_right(bounds, t)].
Timeline = tuple[int, int, tuple[int, ...], tuple[Decision, ...]]
Names = tuple[str, ...] | frozenset[str]
# The verdict of each set of effects seen (a few dozen sets at most: five effects).
_VERDICTS: dict[frozenset[Effect], Verdict] = {}
# Recurring entries expanded over one horizon, by (schedule, cut-off): ``Entry.build``.
Expansions = dict[tuple[RecurringSchedule, datetime | None], "Entry"]


def names(items: Iterable[str]) -> Names:
    """Target or group names as an entry keeps them: each interned, so that every window
    naming a target and the index's slot for it share one string; in a tuple when there are
    few (a tuple of six names takes a fifth of a frozenset's memory), else a frozenset (its
    membership test stays constant-time for windows naming thousands of targets)."""
    if items.__class__ is frozenset and len(items) == 1:
        for name in items:  # one target (most windows): no dict to drop repeats
            return (sys.intern(name),)
    return distinct_names(tuple(dict.fromkeys(map(sys.intern, items))))


def distinct_names(unique: tuple[str, ...]) -> Names:
    """``names`` of names already distinct and interned."""
    if len(unique) <= _SMALL:
        return unique
    return frozenset(unique)


Scope = tuple[Names, Names, bool, tuple[ConditionGroup, ...], tuple[CompiledGroup, ...]]


def _version(at: datetime | None) -> int | None:
    """An entry's version: ``micros(at)``, or None. The last instant asked about is
    remembered: a batch's windows share one (their creation's ``now``), and an identity
    test costs a tenth of the conversion. The pair is replaced whole, so threads read a
    consistent one; holding the instant keeps its id unique."""
    seen, version = _LAST_VERSION[0]
    if at is seen:
        return version
    version = None if at is None else micros(at)
    _LAST_VERSION[0] = (at, version)
    return version


_LAST_VERSION: list[tuple[datetime | None, int | None]] = [(None, None)]


class Entry:
    """Everything a decision needs about one window. Never mutated once built, but for
    caching the decision it makes alone (``alone``).

    Built as one of four classes that keep only what the window has (a fifth of a window's
    bytes, issue 19): the class attributes below stand for what it lacks. A one-time window
    with targets only (most windows) keeps six fields: its id, version, verdict, targets,
    interval and (once built) its decision alone; a recurring window adds its schedule,
    cut-off and horizon (``_Recurring``); groups, all targets or condition groups add its
    scope (``ScopedOnce``).
    ``FIELDS`` names every field, whatever the class.
    """

    __slots__ = ("_alone", "id", "spans", "targets", "verdict", "version")
    FIELDS = ("all_targets", "compiled", "cut", "groups", "hi", "id", "lo", "schedule",
              "spans", "targets", "verdict", "version")

    # What an entry without the field stands for (subclasses' slots take over).
    all_targets: bool = False
    compiled: tuple[CompiledGroup, ...] = ()
    cut: datetime | None = None
    groups: Names = ()
    hi: int = FOREVER
    lo: int = NEVER
    schedule: RecurringSchedule | None = None

    def __new__(
        cls, wid: int, version: int | None, verdict: Verdict, scope: Scope,
        schedule: RecurringSchedule | None, cut: datetime | None, spans: Spans, lo: int,
        hi: int,
    ) -> Entry:
        scoped = bool(scope[1] or scope[2] or scope[3] or scope[4])
        if schedule is None:
            assert cut is None  # a one-time window's interval is cut already
            assert (lo, hi) == (NEVER, FOREVER)  # and complete whatever the horizon
            return object.__new__(ScopedOnce if scoped else Entry)
        return object.__new__(_RecurringScoped if scoped else _Recurring)

    def __init__(
        self,
        wid: int,
        version: int | None,
        verdict: Verdict,
        scope: Scope,
        schedule: RecurringSchedule | None,
        cut: datetime | None,
        spans: Spans,
        lo: int,
        hi: int,
    ) -> None:
        self.id = wid
        self.version = version  # the window's updated_at in microseconds (None: unknown)
        self.verdict = verdict
        self._alone: Decision | None = None  # built when first asked for (see ``alone``)
        self.targets = scope[0]
        self.spans = spans
        if isinstance(self, ScopedOnce | _RecurringScoped):
            _, self.groups, self.all_targets, _, self.compiled = scope
        if isinstance(self, _Recurring):
            self.schedule = schedule  # None for a one-time window (its interval is complete)
            self.cut = cut  # no occurrence from here on (cancelled or archived), or None
            self.lo = lo  # the intervals are complete for instants in [lo, hi)
            self.hi = hi

    @classmethod
    def once(
        cls,
        wid: int,
        version: int | None,
        verdict: Verdict,
        scope: Scope,
        start: int,
        end: int,
        cut: int | None,
    ) -> Entry:
        """A one-time window ``[start, end)`` (microseconds) cut at ``cut``: complete at once
        (``lifecycle.window_occurrences`` cuts the same way)."""
        if cut is not None and cut < end:
            end = cut
        spans = (start, end) if end > start else ()
        return cls(wid, version, verdict, scope, None, None, spans, NEVER, FOREVER)

    @classmethod
    def once_on_targets(cls, wid: int, version: int | None, verdict: Verdict, targets: Names,
                        start: int, end: int, cut: int | None) -> Entry:
        """``once`` for a window with targets only (no groups, all targets or conditions:
        most windows), built without ``__new__``'s and ``__init__``'s dispatch on the scope:
        the same entry, a fifth less of a bulk load's time per window (issue 19)."""
        if cut is not None and cut < end:
            end = cut
        entry: Entry = object.__new__(Entry)
        entry.id = wid
        entry.version = version
        entry.verdict = verdict
        entry._alone = None
        entry.targets = targets
        entry.spans = (start, end) if end > start else ()
        return entry

    @classmethod
    def recurring(
        cls,
        wid: int,
        version: int | None,
        verdict: Verdict,
        scope: Scope,
        schedule: RecurringSchedule,
        cut: datetime | None,
    ) -> Entry:
        """A recurring window, pending: no intervals until ``expanded``."""
        return cls(wid, version, verdict, scope, schedule, cut, (), PENDING, PENDING)

    @classmethod
    def of(cls, window: Window, compiled: tuple[CompiledGroup, ...] | None = None) -> Entry:
        """The entry of ``window``, pending if recurring; ``compiled`` are its matchers
        compiled already (else compiled here, raising what compiling raises)."""
        version = _version(window.updated_at)
        verdict = _VERDICTS.get(window.effects)
        if verdict is None:
            verdict = _VERDICTS.setdefault(window.effects,
                                           lifecycle.strongest_verdict(window.effects))
        s = window.schedule
        if type(s) is OnceSchedule and not (window.groups or window.all_targets
                                            or window.match):
            # Targets only (most windows, a bulk create's): the entry ``once`` builds for
            # this scope, without the scope's tuple and ``__new__``'s dispatch on it.
            cut = window.cancelled_at
            if window.archived_at is not None and (cut is None or window.archived_at < cut):
                cut = window.archived_at  # lifecycle.cut_off: the earlier of the two
            return cls.once_on_targets(window.id, version, verdict, names(window.targets),
                                       micros(s.start), micros(s.end),
                                       None if cut is None else micros(cut))
        if compiled is None:
            compiled = tuple(compile_groups(window.match))
        scope = (names(window.targets), names(window.groups), window.all_targets,
                 window.match, compiled)
        cut = lifecycle.cut_off(window)
        if isinstance(s, OnceSchedule):
            return cls.once(window.id, version, verdict, scope, micros(s.start), micros(s.end),
                            None if cut is None else micros(cut))
        return cls.recurring(window.id, version, verdict, scope, s, cut)

    @classmethod
    def build(cls, window: Window, old: Entry | None, start: datetime, end: datetime, *,
              checked: bool = False, expansions: Expansions | None = None) -> Entry:
        """The entry of ``window`` with its occurrences over the horizon ``[start, end)``.

        A one-time window is complete whatever the horizon. Raises whatever compiling the
        matchers or the schedule raises. (``old``, the window's previous entry, is no longer
        read: the entry keeps its compiled matchers only, and equal matchers share theirs,
        ``matching.compile_matcher``.) ``checked``: the schedule is known valid (the caller
        validated it), so it is not validated again. ``expansions``: entries expanded over
        this same horizon so far, by schedule and cut-off; a window with an equal schedule and
        cut-off takes their intervals (and schedule) instead of expanding its own.
        """
        if not checked and isinstance(window.schedule, OnceSchedule):
            sched.validate(window.schedule)
        entry = cls.of(window)
        if entry.schedule is None or expansions is None:
            return entry.expanded(start, end, checked=checked)
        key = (entry.schedule, entry.cut)
        done = expansions.get(key)
        if done is None:
            done = expansions[key] = entry.expanded(start, end, checked=checked)
            return done
        return entry._with(done.spans, done.lo, done.hi, done.schedule)

    @property
    def alone(self) -> Decision:
        """The decision when this window alone holds an alert, built once when first asked
        for (constructing a frozen dataclass costs more than the rest of a decision) and
        kept: most windows never hold an alert, and 96 bytes each add up (issue 19). Two
        readers building it at once build equal decisions; either is kept."""
        alone = self._alone
        if alone is None:
            alone = self._alone = Decision(self.verdict, (self.id,))
        return alone

    @property
    def pending(self) -> bool:
        """A recurring window whose occurrences are not expanded yet."""
        return self.lo == self.hi

    def _with(self, spans: Spans, lo: int, hi: int,
              schedule: RecurringSchedule | None = None) -> Entry:
        scope = (self.targets, self.groups, self.all_targets, (), self.compiled)
        return Entry(self.id, self.version, self.verdict, scope, schedule or self.schedule,
                     self.cut, spans, lo, hi)

    def expanded(self, start: datetime, end: datetime,
                 schedule: RecurringSchedule | None = None, *, checked: bool = False
                 ) -> Entry:
        """This entry with its occurrences over the horizon ``[start, end)`` (itself when
        one-time). Validates and compiles the schedule, and raises what that raises; the
        compiled schedule is not kept, nor cached (``compile_schedule``'s cache would keep
        2,048 of them after a bulk expansion: tens of MiB). ``schedule``: an equal schedule to
        keep instead of its own (windows with equal schedules then share one). ``checked``:
        the schedule is known valid and is not validated again."""
        if self.schedule is None:
            return self
        if not checked:
            sched.validate(self.schedule)
        plan = build_plan(self.schedule)
        spans = merge((), occurrence_spans(self.schedule, self.cut, start, end, plan))
        return self._with(spans, micros(start), horizon_end(plan, self.cut, end), schedule)

    def extended(self, start: datetime, end: datetime) -> Entry:
        """This entry over the horizon ``[start, end)``, which begins inside its own: keeps the
        intervals still inside and expands only the stretch past its old end (the schedule,
        validated when first expanded, is compiled again without checks)."""
        if self.schedule is None:
            return self
        lo = micros(start)
        keep = tuple(b for s, e in pairs(self.spans) if e > lo for b in (s, e))
        plan = build_plan(self.schedule)
        fresh = occurrence_spans(self.schedule, self.cut, instant(self.hi), end, plan)
        spans = merge(keep, fresh)
        return self._with(spans, max(self.lo, lo), horizon_end(plan, self.cut, end))

    def active(self, t: int, at: datetime) -> bool:
        """Whether an occurrence contains ``at`` (``t`` in microseconds, the same instant)."""
        if self.lo <= t < self.hi:
            return bisect_right(self.spans, t) & 1 == 1
        assert self.schedule is not None  # a one-time entry's horizon is everything
        return active_by_schedule(self.schedule, self.cut, at)


class ScopedOnce(Entry):
    """A one-time window with groups, all targets or condition groups (its interval is
    complete, as ``Entry``'s: the engine tests its type rather than read ``lo``/``hi``
    through the instance, which costs twice as much as a slot)."""

    __slots__ = ("all_targets", "compiled", "groups")


class _Recurring(Entry):
    """A recurring window with targets only."""

    __slots__ = ("cut", "hi", "lo", "schedule")


class _RecurringScoped(_Recurring):
    """A recurring window with groups, all targets or condition groups."""

    __slots__ = ("all_targets", "compiled", "groups")


# The classes of entries without groups, all targets or condition groups, and of those that
# can be pending (recurring): tested by type where a load runs over every entry (issue 19).
PLAIN_ENTRY_TYPES: frozenset[type[Entry]] = frozenset((Entry, _Recurring))
RECURRING_ENTRY_TYPES: frozenset[type[Entry]] = frozenset((_Recurring, _RecurringScoped))


def decision_of(found: Sequence[Entry]) -> Decision:
    """The decision when the ``found`` windows (at least one) hold an alert: the strongest
    verdict, every window id listed once, sorted."""
    if len(found) == 1:
        return found[0].alone
    best = max(VERDICT_RANK[e.verdict] for e in found)
    # A window swapped by a concurrent upsert may have been met in both versions: dedupe ids.
    return Decision(_VERDICT_BY_RANK[best], tuple(sorted({e.id for e in found})))


def timeline(entries: Sequence[Entry]) -> Timeline:
    """What ``entries`` decide together over time, where all of their intervals hold.

    The decision for an alert that exactly these windows cover (one target, no labels), at
    any instant ``t`` in ``[lo, hi)``, is ``decisions[bisect_right(bounds, t)]``. One window's
    bounds are its own intervals (the same tuple); several windows' intervals usually never
    overlap and the bounds are theirs in order; else a sweep. A pending entry makes the
    range empty: its targets are decided from the rules until it is expanded.
    """
    lo = max((e.lo for e in entries), default=NEVER)
    hi = min((e.hi for e in entries), default=FOREVER)
    if lo >= hi:
        return lo, hi, (), (DELIVER,)
    if len(entries) == 1:
        entry = entries[0]
        return lo, hi, entry.spans, (DELIVER, entry.alone) * (len(entry.spans) // 2) + (
            DELIVER,)
    spans: list[tuple[int, int, Entry]] = []
    for entry in entries:
        own = entry.spans
        for i in range(0, len(own), 2):
            spans.append((own[i], own[i + 1], entry))
    spans.sort(key=itemgetter(0))
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


def timeline_plus(made: Timeline, entry: Entry) -> Timeline | None:
    """``timeline`` of some entries and ``entry`` (new to them), from ``made``, the timeline of
    those entries: ``made`` with ``entry``'s intervals put in, when each lies strictly inside a
    stretch where none of the others holds (no overlap, no shared bound) and ``entry``'s
    horizon covers their range; else None (build it whole). The same tuples ``timeline``
    builds, in bisections and two copies rather than a pass over every window's intervals:
    what one create on a target that many windows name costs (issue 19)."""
    lo, hi, bounds, decisions = made
    if lo >= hi or entry.lo > lo or entry.hi < hi:
        return None
    spans = entry.spans
    if not spans:
        return made
    alone = entry.alone
    new_bounds = list(bounds)
    new_decisions = list(decisions)
    count = len(bounds)
    # Last interval first: the positions of those before it stay valid (an entry's own
    # intervals are in order, disjoint and never touch: ``intervals.merge``).
    for k in range(len(spans) - 2, -1, -2):
        start, end = spans[k], spans[k + 1]
        i = bisect_right(bounds, start)
        if decisions[i] != DELIVER or (i and bounds[i - 1] == start) or (
                i < count and end >= bounds[i]):
            return None
        new_bounds[i:i] = (start, end)
        new_decisions[i + 1:i + 1] = (alone, DELIVER)
    return lo, hi, tuple(new_bounds), tuple(new_decisions)


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
