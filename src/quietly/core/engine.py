"""The decision index: which windows hold an alert at an instant, in a few look-ups.

One ``DecisionIndex`` per workspace, in memory and pure: the caller feeds it ``Window``
objects and target-group memberships and passes the clock in (``advance(now)``). It keeps

- ``target -> window ids`` and the ids of ``all_targets`` windows;
- ``group -> window ids`` with memberships ``group -> targets`` (and the reverse), resolved
  at decision time, so ``set_group`` applies to the very next decision;
- ``label -> value -> (window id, condition group)`` for every condition group that has an
  equality matcher with a non-empty value (its *anchor*: of several, the one that looks most
  selective); groups without one go to a short *scan* list tried for every alert. All
  matchers are compiled once, at ``upsert``;
- each window's occurrences as merged, sorted UTC intervals (integer microseconds) over a
  rolling horizon ``[now - lookback, now + lookahead)``. One-time windows, and windows whose
  last occurrence or cut-off is inside the horizon, are complete and never need refreshing.
  An instant outside a window's horizon is answered from ``lifecycle.window_occurrences``
  directly: slower, never wrong.

Concurrency: one writer thread mutates, any number of readers decide. Readers never iterate a
mutable container of the index, only immutable tuples and the alert's own data; each
window's data lives in one immutable ``_Entry`` that is swapped in by a single dict
assignment. ``upsert`` adds the new entry's postings, then swaps the entry, then drops the
postings it no longer has; a reader re-checks every candidate against the entry it fetched.
So a decision running during an update sees each window wholly as it was or wholly as it is
(postings are a superset of both while they change, and the check filters the surplus).
On top of that a version counter, odd while a write is under way, works as a seqlock: a
decision that a write overlapped is taken again, so it also sees *all* windows as they were
between two writes. Writes are rare next to decisions; the check costs two attribute reads.

``brute_force_decide`` is the reference: every window, the domain rules, nothing indexed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from quietly.core import lifecycle
from quietly.core import schedule as sched
from quietly.core.matching import CompiledGroup, compile_groups, scope_matches
from quietly.core.model import VERDICT_RANK, Alert, Decision, OnceSchedule, Verdict, Window

__all__ = ["DecisionIndex", "IndexStats", "brute_force_decide"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Sentinels beyond any datetime (year 9999 is ~2.5e17 µs): a horizon that never ends.
_FOREVER = 1 << 62
_NEVER = -(1 << 62)

_VERDICT_BY_RANK = tuple(sorted(VERDICT_RANK, key=VERDICT_RANK.__getitem__))
_DELIVER = Decision(Verdict.DELIVER, ())
_RETRIES = 4

IndexStats = dict[str, int]
# (kind, key, label value, window id, condition group index); kinds: t(arget), g(roup),
# a(ll targets), l(abel anchor), s(can).
Posting = tuple[str, str, str, int, int]
K = TypeVar("K")
T = TypeVar("T")


def _micros(at: datetime) -> int:
    """An aware instant as integer microseconds since the epoch (exact, unlike floats)."""
    return (at - _EPOCH) // _MICROSECOND


def _instant(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _merge(
    starts: list[int], ends: list[int], extra: Iterable[tuple[int, int]]
) -> tuple[list[int], list[int]]:
    """Merge intervals into sorted, disjoint ``[start, end)`` pairs; touching ones join.

    Merging overlapping occurrences loses nothing: the index only asks whether *some*
    occurrence contains an instant.
    """
    pairs = sorted([*zip(starts, ends, strict=True), *extra])
    out_s: list[int] = []
    out_e: list[int] = []
    for start, end in pairs:
        if out_e and start <= out_e[-1]:
            if end > out_e[-1]:
                out_e[-1] = end
        else:
            out_s.append(start)
            out_e.append(end)
    return out_s, out_e


def _spans(
    window: Window, start: datetime, end: datetime, plan: sched.CompiledSchedule | None
) -> list[tuple[int, int]]:
    found = lifecycle.window_occurrences(window, start, end, compiled=plan)
    return [(_micros(o.start), _micros(o.end)) for o in found]


def _active_by_rules(
    window: Window, at: datetime, plan: sched.CompiledSchedule | None = None
) -> bool:
    """Whether an occurrence of ``window`` contains ``at``, straight from the domain rules."""
    return bool(lifecycle.window_occurrences(window, at, at + _MICROSECOND, compiled=plan))


class _Entry:
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
        spans: tuple[list[int], list[int]],
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

    def active(self, t: int, at: datetime) -> bool:
        if self.lo <= t < self.hi:
            i = bisect_right(self.starts, t)
            return i > 0 and self.ends[i - 1] > t
        return _active_by_rules(self.window, at, self.plan)

    def with_spans(self, spans: tuple[list[int], list[int]], lo: int, hi: int) -> _Entry:
        return _Entry(self.window, self.compiled, self.plan, spans, lo, hi)


class DecisionIndex:
    """The in-memory decision index of one workspace (see the module docstring)."""

    def __init__(
        self,
        now: datetime,
        *,
        lookback: timedelta = timedelta(hours=24),
        lookahead: timedelta = timedelta(hours=48),
    ) -> None:
        self._lookback = lookback
        self._lookahead = lookahead
        self._entries: dict[int, _Entry] = {}
        self._by_target: dict[str, tuple[int, ...]] = {}
        self._by_group: dict[str, tuple[int, ...]] = {}
        self._members: dict[str, frozenset[str]] = {}
        self._groups_of: dict[str, tuple[str, ...]] = {}
        self._by_label: dict[str, dict[str, tuple[tuple[int, int], ...]]] = {}
        # The same, as an immutable snapshot of (label, values) for readers to walk.
        self._anchored: tuple[tuple[str, dict[str, tuple[tuple[int, int], ...]]], ...] = ()
        self._all_targets: tuple[int, ...] = ()
        self._scan: tuple[tuple[int, int], ...] = ()
        # The writer's own book-keeping: each window's slots; how often each equality occurs.
        self._posted: dict[int, frozenset[Posting]] = {}
        self._equalities: dict[str, dict[str, int]] = {}
        # Odd while a write is under way; readers retry a decision a write overlapped.
        self._version = 0
        self._set_horizon(now)

    # -- writer side ------------------------------------------------------------------------

    def _set_horizon(self, now: datetime) -> None:
        self._now = now
        self._lo = now - self._lookback
        self._hi = now + self._lookahead

    def upsert(self, window: Window) -> None:
        """Add or replace one window; touches only that window's entry and postings.

        Raises whatever compiling its matchers or expanding its schedule raises, leaving the
        index as it was.

        A copy *older* than the indexed one (``updated_at`` before it) is ignored: the change
        listener reads a changed window from the store and hands it over a moment later, so
        a copy read just before a local change committed can arrive after that change. Taking
        it would bring the old schedule back until the next notification. Equal or unknown
        versions replace the entry as before.
        """
        old = self._entries.get(window.id)
        if old is not None and _older(window, old.window):
            return
        entry = self._build(window, old)
        self._version += 1
        try:
            self._swap_in(entry, old)
        finally:
            self._version += 1

    def _swap_in(self, entry: _Entry, old: _Entry | None) -> None:
        window = entry.window
        if old is not None:
            self._count_equalities(old, -1)
        self._count_equalities(entry, +1)
        old_postings = self._posted.get(window.id, frozenset())
        new_postings = self._postings(entry)
        for posting in new_postings - old_postings:
            self._post(posting, add=True)
        self._entries[window.id] = entry
        self._posted[window.id] = new_postings
        for posting in old_postings - new_postings:
            self._post(posting, add=False)

    def remove(self, window_id: int) -> None:
        """Forget a window (deleted, or moved out of this workspace); unknown ids are ignored."""
        self._version += 1
        try:
            old = self._entries.pop(window_id, None)
            if old is not None:
                self._count_equalities(old, -1)
            for posting in self._posted.pop(window_id, frozenset()):
                self._post(posting, add=False)
        finally:
            self._version += 1

    def set_group(self, name: str, targets: Iterable[str]) -> None:
        """Set a group's members; the next decision already resolves the group this way."""
        new = frozenset(targets)
        old = self._members.get(name, frozenset())
        self._version += 1
        try:
            for target in new - old:
                self._groups_of[target] = (*self._groups_of.get(target, ()), name)
            self._members[name] = new
            for target in old - new:
                _put(self._groups_of, target, name, add=False)
        finally:
            self._version += 1

    def remove_group(self, name: str) -> None:
        """Forget a group; windows naming it then cover nothing through it."""
        self.set_group(name, ())
        self._members.pop(name, None)

    def advance(self, now: datetime, *, budget: int | None = None) -> int:
        """Move the horizon to ``now``; refresh the windows whose intervals run out within half
        the lookahead (at most ``budget`` of them). Returns how many were refreshed.

        Incremental: a refreshed window keeps its intervals still inside the new horizon and
        expands only the stretch past its old end; one-time windows are never refreshed.
        Moving ``now`` back before a window's horizon rebuilds that window. With a budget,
        windows left over are refreshed by the next calls; meanwhile they stay exact (an
        instant past a window's horizon is answered from the rules, only more slowly).
        """
        self._set_horizon(now)
        lo, hi = _micros(self._lo), _micros(self._hi)
        due_before = _micros(now + self._lookahead / 2)
        refreshed = 0
        for entry in list(self._entries.values()):
            if budget is not None and refreshed >= budget:
                break
            if entry.lo > lo or entry.hi < lo:
                # Moved back before the horizon, or so far on that nothing is worth keeping.
                fresh = self._build(entry.window, entry)
            elif entry.hi < due_before:
                fresh = self._extend(entry, lo, hi)
            else:
                continue
            # Same window, same postings: swapping the entry is one atomic assignment.
            self._entries[entry.id] = fresh
            refreshed += 1
        return refreshed

    def _build(self, window: Window, old: _Entry | None) -> _Entry:
        if old is not None and old.window.match == window.match:
            compiled: Sequence[CompiledGroup] = old.compiled
        else:
            compiled = compile_groups(window.match)
        if isinstance(window.schedule, OnceSchedule):
            s = window.schedule
            spans = _merge([], [], _spans(window, s.start, s.end, None))
            return _Entry(window, compiled, None, spans, _NEVER, _FOREVER)
        # Keep the compiled schedule: compiling (and validating) a rule again on every horizon
        # move would cost far more than expanding it.
        if old is not None and old.plan is not None and old.window.schedule == window.schedule:
            plan = old.plan
        else:
            plan = sched.compile_schedule(window.schedule)
        spans = _merge([], [], _spans(window, self._lo, self._hi, plan))
        end = _horizon_end(plan, window, self._hi)
        return _Entry(window, compiled, plan, spans, _micros(self._lo), end)

    def _extend(self, entry: _Entry, lo: int, hi: int) -> _Entry:
        window = entry.window
        keep = [(s, e) for s, e in zip(entry.starts, entry.ends, strict=True) if e > lo]
        fresh = _spans(window, _instant(entry.hi), self._hi, entry.plan)
        spans = _merge([s for s, _ in keep], [e for _, e in keep], fresh)
        end = _horizon_end(entry.plan, window, self._hi)
        return entry.with_spans(spans, max(entry.lo, lo), end)

    def _postings(self, entry: _Entry) -> frozenset[Posting]:
        """Every index slot the entry occupies, as ``(kind, key, label value, id, group)``."""
        wid = entry.id
        out: set[Posting] = {("t", t, "", wid, 0) for t in entry.targets}
        out.update(("g", g, "", wid, 0) for g in entry.groups)
        if entry.all_targets:
            out.add(("a", "", "", wid, 0))
        for gi, group in enumerate(entry.compiled):
            anchor = self._pick_anchor(group)
            if anchor is None:
                out.add(("s", "", "", wid, gi))
            else:
                out.add(("l", anchor[0], anchor[1], wid, gi))
        return frozenset(out)

    def _pick_anchor(self, group: CompiledGroup) -> tuple[str, str] | None:
        """The group's most selective-looking equality, to file the group under.

        Selectivity is guessed from every equality matcher indexed: a label written with many
        distinct values (``service``) splits alerts finer than one with few (``env``), and
        among those, a value fewer groups require is rarer. (The length of the posting list
        alone would be a trap: ``env=prod`` looks short exactly while nobody anchors on it.)
        """
        best: tuple[str, str] | None = None
        best_key = (0, 0)
        for label, value in group.equalities:
            values = self._equalities.get(label, {})
            key = (-len(values), values.get(value, 0))
            if best is None or key < best_key:
                best, best_key = (label, value), key
        return best

    def _count_equalities(self, entry: _Entry, delta: int) -> None:
        """Keep ``label -> value -> how many condition groups require it`` up to date."""
        for group in entry.compiled:
            for label, value in set(group.equalities):
                values = self._equalities.setdefault(label, {})
                count = values.get(value, 0) + delta
                if count > 0:
                    values[value] = count
                else:
                    values.pop(value, None)
                    if not values:
                        del self._equalities[label]

    def _post(self, posting: Posting, *, add: bool) -> None:
        kind, key, label_value, wid, gi = posting
        if kind == "t":
            _put(self._by_target, key, wid, add=add)
        elif kind == "g":
            _put(self._by_group, key, wid, add=add)
        elif kind == "a":
            self._all_targets = _changed(self._all_targets, wid, add=add)
        elif kind == "s":
            self._scan = _changed(self._scan, (wid, gi), add=add)
        else:
            values = self._by_label.get(key)
            if values is None:
                values = self._by_label[key] = {}
                self._anchored = tuple(self._by_label.items())
            _put(values, label_value, (wid, gi), add=add)
            if not values:
                del self._by_label[key]
                self._anchored = tuple(self._by_label.items())

    # -- reader side ------------------------------------------------------------------------

    def decide(self, alert: Alert, at: datetime) -> Decision:
        """The verdict for ``alert`` at ``at`` and every window that holds it, ids sorted."""
        t = _micros(at)
        version = self._version
        decision = self._decide(alert.targets, alert.labels, t, at)
        if self._version == version:
            return decision
        return self._settle(alert, t, at)

    def decide_many(self, alerts: Iterable[Alert], at: datetime) -> list[Decision]:
        """``decide`` for many alerts at one instant."""
        t = _micros(at)
        decide = self._decide
        out: list[Decision] = []
        append = out.append
        for alert in alerts:
            version = self._version
            decision = decide(alert.targets, alert.labels, t, at)
            if self._version != version:
                decision = self._settle(alert, t, at)
            append(decision)
        return out

    def _settle(self, alert: Alert, t: int, at: datetime) -> Decision:
        """Decide again after a write overlapped the decision (a seqlock's retry).

        A decision during one write already sees every window wholly old or wholly new (see
        the module docstring); retrying makes it see the index as it was between two writes.
        After a few overlapped tries the per-window-consistent answer is kept.
        """
        decision = _DELIVER
        for _ in range(_RETRIES):
            version = self._version
            decision = self._decide(alert.targets, alert.labels, t, at)
            if self._version == version:
                break
        return decision

    def _decide(
        self, targets: Sequence[str], labels: Mapping[str, str], t: int, at: datetime
    ) -> Decision:
        entries = self._entries
        found: list[_Entry] = []
        for target in targets:
            wids = self._by_target.get(target)
            if wids is not None:
                for wid in wids:
                    entry = entries.get(wid)
                    if entry is None or target not in entry.targets or entry in found:
                        continue
                    # entry.active() inlined: this is the hottest loop of the index.
                    if entry.lo <= t < entry.hi:
                        i = bisect_right(entry.starts, t)
                        if i and entry.ends[i - 1] > t:
                            found.append(entry)
                    elif _active_by_rules(entry.window, at, entry.plan):
                        found.append(entry)
            group_names = self._groups_of.get(target)
            if group_names is not None:
                self._match_groups(target, group_names, t, at, found)
        if self._all_targets:
            self._match_all_targets(t, at, found)
        if labels:
            self._match_labels(labels, t, at, found)
        if self._scan:
            self._match_slots(self._scan, labels, t, at, found)
        if not found:
            return _DELIVER
        return _decision(found)

    def _match_all_targets(self, t: int, at: datetime, found: list[_Entry]) -> None:
        entries = self._entries
        for wid in self._all_targets:
            entry = entries.get(wid)
            if (
                entry is not None
                and entry.all_targets
                and entry not in found
                and entry.active(t, at)
            ):
                found.append(entry)

    def _match_labels(
        self, labels: Mapping[str, str], t: int, at: datetime, found: list[_Entry]
    ) -> None:
        """Try the condition groups anchored on one of the alert's ``label=value`` pairs.

        Walks whichever is shorter: the alert's labels, or the labels some anchor uses.
        """
        anchored = self._anchored
        if len(anchored) <= len(labels):
            for label, values in anchored:
                value = labels.get(label)
                if value is not None:
                    slots = values.get(value)
                    if slots is not None:
                        self._match_slots(slots, labels, t, at, found)
        else:
            by_label = self._by_label
            for label, value in labels.items():
                indexed = by_label.get(label)
                if indexed is not None:
                    slots = indexed.get(value)
                    if slots is not None:
                        self._match_slots(slots, labels, t, at, found)

    def _match_groups(
        self,
        target: str,
        group_names: tuple[str, ...],
        t: int,
        at: datetime,
        found: list[_Entry],
    ) -> None:
        entries = self._entries
        for name in group_names:
            if target not in self._members.get(name, ()):
                continue
            for wid in self._by_group.get(name, ()):
                entry = entries.get(wid)
                if (
                    entry is not None
                    and name in entry.groups
                    and entry not in found
                    and entry.active(t, at)
                ):
                    found.append(entry)

    def _match_slots(
        self,
        slots: tuple[tuple[int, int], ...],
        labels: Mapping[str, str],
        t: int,
        at: datetime,
        found: list[_Entry],
    ) -> None:
        entries = self._entries
        for wid, gi in slots:
            entry = entries.get(wid)
            if entry is None or entry in found:
                continue
            compiled = entry.compiled
            if gi >= len(compiled):
                continue
            if entry.lo <= t < entry.hi:  # entry.active() inlined, as in _decide
                i = bisect_right(entry.starts, t)
                if not (i and entry.ends[i - 1] > t):
                    continue
            elif not _active_by_rules(entry.window, at, entry.plan):
                continue
            if compiled[gi].matches(labels):
                found.append(entry)

    # -- inspection -------------------------------------------------------------------------

    def window_ids(self) -> list[int]:
        """The ids of the indexed windows, sorted."""
        return sorted(self._entries)

    def stats(self) -> IndexStats:
        """Sizes for memory measurement and metrics."""
        entries = list(self._entries.values())
        return {
            "windows": len(entries),
            "intervals": sum(len(e.starts) for e in entries),
            "targets": len(self._by_target),
            "groups": len(self._members),
            "label_slots": sum(
                len(slots)
                for values in list(self._by_label.values())
                for slots in list(values.values())
            ),
            "scan_slots": len(self._scan),
            "all_targets_windows": len(self._all_targets),
        }


def _horizon_end(plan: sched.CompiledSchedule | None, window: Window, hi: datetime) -> int:
    """The end of a window's horizon: ``hi``, or never when no occurrence can follow ``hi``
    (the schedule's last occurrence or the window's cut-off comes before it)."""
    last = plan.last_occurrence_end() if plan is not None else None
    cut = lifecycle.cut_off(window)
    ends = [x for x in (last, cut) if x is not None]
    if ends and min(ends) <= hi:
        return _FOREVER
    return _micros(hi)


def _older(window: Window, indexed: Window) -> bool:
    """Whether ``window`` is an earlier version of the ``indexed`` one (both versions known)."""
    return (
        window.updated_at is not None
        and indexed.updated_at is not None
        and window.updated_at < indexed.updated_at
    )


def _decision(found: list[_Entry]) -> Decision:
    if len(found) == 1:
        return found[0].alone
    best = max(e.rank for e in found)
    # A window swapped by a concurrent upsert may have been met in both versions: dedupe ids.
    return Decision(_VERDICT_BY_RANK[best], tuple(sorted({e.id for e in found})))


def _changed(items: tuple[T, ...], item: T, *, add: bool) -> tuple[T, ...]:
    """A new tuple with ``item`` added or removed: readers may be iterating the old one."""
    if add:
        return items if item in items else (*items, item)
    return tuple(x for x in items if x != item)


def _put(index: dict[K, tuple[T, ...]], key: K, item: T, *, add: bool) -> None:
    """Add ``item`` to or remove it from ``index[key]``, dropping the key when it empties."""
    updated = _changed(index.get(key, ()), item, add=add)
    if updated:
        index[key] = updated
    else:
        index.pop(key, None)


def brute_force_decide(
    windows: Iterable[Window],
    groups: Mapping[str, Iterable[str]],
    alert: Alert,
    at: datetime,
) -> Decision:
    """The decision straight from the domain rules: every window, nothing indexed or cached.

    A window holds the alert when its scope covers it (``matching.scope_matches``) and one of
    its occurrences, as cut by cancellation (``lifecycle.window_occurrences``), contains
    ``at``. The reference the index is tested against.
    """
    matched = [w for w in windows if scope_matches(w, alert, groups) and _active_by_rules(w, at)]
    verdict = lifecycle.verdict_for(w.effects for w in matched)
    return Decision(verdict, tuple(sorted(w.id for w in matched)))
