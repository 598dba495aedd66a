"""The decision index: which windows hold an alert at an instant, in a few look-ups.

One ``DecisionIndex`` per workspace, in memory and pure: the caller feeds it ``Window``
objects and target-group memberships and passes the clock in (``advance(now)``). It keeps one
``Entry`` per window (``entries``: its scope, its matchers compiled once, the ``Decision`` it
makes alone, and its occurrences as integer intervals, see ``intervals``, over a rolling
horizon ``[now - lookback, now + lookahead)``) and files every window under its targets,
groups, label anchors or in the scan list (``postings``), with per target a *timeline*: what
its windows decide for an alert on that target alone, as sorted bounds and a prebuilt
``Decision`` for each stretch between them.

The commonest alert, one target and no labels, costs one look-up and one bisect in its
target's timeline and builds nothing. Other alerts gather the entries their targets, groups
and labels lead to and check each at the instant. Groups are resolved at decision time, so
``set_group`` applies to the very next decision. An instant outside a window's horizon is
answered from ``lifecycle.window_occurrences`` directly: slower, never wrong.

Concurrency: one writer thread mutates, any number of readers decide. Readers never iterate a
mutable container of the index, only immutable tuples and the alert's own data; each
window's data lives in one immutable ``Entry`` and each target's in one immutable slot,
swapped in by a single dict assignment, so a reader never sees a torn window or target. A
write (``upsert``, ``remove``, ``set_group``) files the new postings, swaps the entry, unfiles
the postings it no longer has and rebuilds the timelines of the targets it touched; a reader
re-checks every candidate against the entry it fetched. A decision that reads some postings
before a write and others after it could still mix the two, so a version counter, odd while
a write is under way, works as a seqlock: a decision that a write overlapped is taken again,
and after a few overlapped tries under the writers' lock. Every decision thus sees the index
as it was between two writes. ``decide_many`` checks the counter once per chunk of alerts
and takes an overlapped chunk again alert by alert. Writes are rare next to decisions.
``advance`` changes no decision, only how far ahead the windows' intervals reach: it swaps
entries and slots without touching the counter.

A start-up or reload files every window in one write (``load``) and leaves two things to
``expand``, run in the background: recurring windows are *pending* (no intervals yet: the
rules answer for them) and new targets have no timeline (the general path answers for
them). Neither changes a decision, only how fast it is taken; like ``advance``, ``expand``
swaps entries and slots without touching the counter.

``brute_force_decide`` is the reference: every window, the domain rules, nothing indexed.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import cast

from quietly.core import lifecycle
from quietly.core.entries import (
    DELIVER,
    RECURRING_ENTRY_TYPES,
    Entry,
    Expansions,
    ScopedOnce,
    decision_of,
)
from quietly.core.intervals import active_by_rules, active_by_schedule, instant, micros
from quietly.core.matching import scope_matches
from quietly.core.model import Alert, AlertLike, Decision, RecurringSchedule, Window
from quietly.core.postings import Postings, TargetSlot

__all__ = ["DecisionIndex", "IndexStats", "brute_force_decide"]

IndexStats = dict[str, int]

_RETRIES = 4
_CHUNK = 128  # alerts decided between two seqlock checks by decide_many
TIMELINES_PER_ENTRY = 8  # expand(): target timelines built per unit of budget


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
        self._entries: dict[int, Entry] = {}
        # Recurring windows filed pending by ``load``, in order, until ``expand`` reaches them.
        self._pending: dict[int, None] = {}
        # Their schedules, while ``expand`` runs: equal schedules are then kept once.
        self._schedules: dict[RecurringSchedule, RecurringSchedule] = {}
        self._postings = Postings()
        # Odd while a write is under way; readers retry a decision a write overlapped. Writers
        # hold the lock for a whole write; a reader takes it only when writes keep overlapping
        # its tries (``_settle``).
        self._version = 0
        self._write_lock = threading.Lock()
        self._set_horizon(now)

    # -- writer side ------------------------------------------------------------------------

    def _set_horizon(self, now: datetime) -> None:
        self._now = now
        self._lo = now - self._lookback
        self._hi = now + self._lookahead

    def upsert(self, window: Window, *, checked: bool = False) -> None:
        """Add or replace one window; touches only that window's entry and postings, and the
        timelines of its targets.

        Raises whatever compiling its matchers or expanding its schedule raises, leaving the
        index as it was.

        A copy *older* than the indexed one (``updated_at`` before it) is ignored: the change
        listener reads a changed window from the store and hands it over a moment later, so
        a copy read just before a local change committed can arrive after that change. Taking
        it would bring the old schedule back until the next notification. Equal or unknown
        versions replace the entry as before.

        ``checked``: the caller validated the window's schedule (a create, in the transaction
        it just committed), so it is not validated again.
        """
        old = self._entries.get(window.id)
        if old is not None and _older(window, old):
            return
        entry = Entry.build(window, old, self._lo, self._hi, checked=checked)
        with self._writing():
            self._file(entry)

    def upsert_many(self, windows: Iterable[Window], *, checked: bool = False) -> None:
        """``upsert`` each of ``windows``, in order, in one write: the same index as one
        ``upsert`` after the other, but every touched target's timeline is rebuilt once, and
        windows the index does not hold yet are filed together (each target's slot replaced
        once, as ``load`` does). What a batch create files after its commit.

        An older copy of a window (see ``upsert``), the index's or an earlier one in
        ``windows``, is ignored. When a window's matchers or schedule do not compile, the
        windows before it are filed and the error is raised, as one ``upsert`` after the
        other would do; that window and those after it are not.

        ``checked``: the caller validated every window's schedule (a bulk create, in the
        transaction it just committed), so they are not validated again. Windows with equal
        recurring schedules (and cut-offs) are expanded once and share their intervals.
        """
        built: dict[int, Entry] = {}
        expansions: Expansions = {}
        entries = self._entries
        lo, hi = self._lo, self._hi
        try:
            for window in windows:
                old = built.get(window.id) or entries.get(window.id)
                if old is not None and _older(window, old):
                    continue
                built[window.id] = Entry.build(window, old, lo, hi, checked=checked,
                                               expansions=expansions)
        finally:
            if built:
                with self._writing():
                    fresh: list[Entry] = []
                    for entry in built.values():
                        if entry.id in entries:
                            self._file(entry)
                        else:
                            fresh.append(entry)
                    self._postings.file_many(fresh, defer=False)
                    for entry in fresh:
                        entries[entry.id] = entry
                        if entry.pending:
                            self._pending[entry.id] = None

    def _file(self, entry: Entry) -> None:
        old = self._entries.get(entry.id)
        stale = self._postings.file(entry, old)
        self._entries[entry.id] = entry
        self._postings.unfile(stale)
        if entry.pending:
            self._pending[entry.id] = None
        else:
            self._pending.pop(entry.id, None)

    def load(self, entries: Iterable[Entry]) -> None:
        """File many entries in one write: what a start-up or reload does.

        Condition groups are anchored knowing every window (no ``reanchor`` needed). An entry
        replaces a held one with the same id. Two things are left to ``expand``, which
        changes no decision, only how fast it is taken: pending entries (recurring windows,
        ``Entry.recurring``) are decided from their rules until they have intervals, and the
        new targets have no timeline until it is built (their one-target alerts take the
        general path, which checks each window's intervals). So the index answers, exactly,
        as soon as the rows are read.
        """
        with self._writing():
            held = self._entries
            fresh: dict[int, Entry] = {}  # the last of several entries with one id wins
            if held:
                for entry in entries:
                    if entry.id in held:
                        self._file(entry)
                    else:
                        fresh[entry.id] = entry
            else:  # nothing held: a start-up's load
                fresh = {entry.id: entry for entry in entries}
            self._postings.file_many(list(fresh.values()))
            held.update(fresh)
            pending = self._pending
            for entry in fresh.values():
                # (only recurring entries can be pending: no property call for the others)
                if type(entry) in RECURRING_ENTRY_TYPES and entry.pending:
                    pending[entry.id] = None

    def expand(self, budget: int | None = None) -> int:
        """Finish what ``load`` left: give up to ``budget`` pending entries their intervals
        over the horizon, then build up to ``budget * TIMELINES_PER_ENTRY`` deferred
        timelines; returns how much is still left (entries plus targets; 0 when done).

        Changes no decision, only how fast it is taken: like ``advance``, it swaps entries
        and slots without touching the seqlock. A schedule that fails to expand raises, and
        its entry stays answered from the rules.
        """
        done = 0
        try:
            while self._pending and (budget is None or done < budget):
                wid = next(iter(self._pending))
                del self._pending[wid]
                entry = self._entries.get(wid)
                if entry is None or not entry.pending:
                    continue
                fresh = entry.expanded(self._lo, self._hi, self._shared(entry.schedule))
                self._entries[wid] = fresh
                self._postings.touch(fresh.targets)
                done += 1
            if not self._pending:
                self._pending = {}  # a dict keeps its size when emptied by deletions
                self._schedules = {}
        finally:
            self._postings.retime(self._entries)
        if not self._pending:
            left = budget * TIMELINES_PER_ENTRY if budget is not None else 1 << 62
            self._postings.retime_deferred(self._entries, left)
        return len(self._pending) + self._postings.deferred()

    def _shared(self, schedule: RecurringSchedule | None) -> RecurringSchedule | None:
        """The schedule equal to ``schedule`` that expanded windows keep (itself if first)."""
        if schedule is None:
            return None
        try:
            return self._schedules.setdefault(schedule, schedule)
        except TypeError:  # unhashable (a list where a tuple belongs): kept as it is
            return schedule

    def reanchor(self) -> int:
        """Re-file condition groups under the label the index's statistics now find most
        selective (after a bulk load; see ``Postings.reanchor``). Decisions do not change,
        only how many groups a label alert has to check."""
        with self._writing():
            return self._postings.reanchor(list(self._entries.values()))

    def remove(self, window_id: int) -> None:
        """Forget a window (deleted, or moved out of this workspace); unknown ids are ignored."""
        with self._writing():
            old = self._entries.pop(window_id, None)
            self._pending.pop(window_id, None)
            if old is not None:
                self._postings.withdraw(old)

    def set_group(self, name: str, targets: Iterable[str]) -> None:
        """Set a group's members; the next decision already resolves the group this way."""
        members = frozenset(targets)
        with self._writing():
            self._postings.set_group(name, members)

    def remove_group(self, name: str) -> None:
        """Forget a group; windows naming it then cover nothing through it."""
        with self._writing():
            self._postings.forget_group(name)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One write: under the writers' lock, with the version odd throughout, and the
        timelines of the targets it touched rebuilt before it ends."""
        with self._write_lock:
            self._version += 1
            try:
                yield
            finally:
                self._postings.retime(self._entries)
                self._version += 1

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
        lo = micros(self._lo)
        due_before = micros(now + self._lookahead / 2)
        refreshed = 0
        try:
            for entry in list(self._entries.values()):
                if budget is not None and refreshed >= budget:
                    break
                if entry.lo > lo or entry.hi < lo:
                    # Moved back before the horizon, or so far on that nothing is worth keeping.
                    fresh = entry.expanded(self._lo, self._hi)
                    self._pending.pop(entry.id, None)
                elif entry.hi < due_before:
                    fresh = entry.extended(self._lo, self._hi)
                else:
                    continue
                # Same window, same postings: swapping the entry is one atomic assignment, and
                # so is swapping each of its targets' slots for one with the new timeline.
                self._entries[entry.id] = fresh
                self._postings.touch(fresh.targets)
                refreshed += 1
        finally:
            self._postings.retime(self._entries)
        return refreshed

    # -- reader side ------------------------------------------------------------------------

    def decide(self, alert: AlertLike, at: datetime) -> Decision:
        """The verdict for ``alert`` at ``at`` and every window that holds it, ids sorted."""
        t = micros(at)
        version = self._version
        decision = self._decide(alert.targets, alert.labels, t, at)
        if self._version == version and not version & 1:
            return decision
        return self._settle(alert, t, at)

    def decide_many(self, alerts: Iterable[AlertLike], at: datetime) -> list[Decision]:
        """``decide`` for many alerts at one instant.

        Taken in chunks with one seqlock check each, rather than one per alert: a chunk that a
        write overlapped is decided again alert by alert, as ``decide`` does.
        """
        t = micros(at)
        batch = alerts if isinstance(alerts, list | tuple) else list(alerts)
        out: list[Decision] = []
        for first in range(0, len(batch), _CHUNK):
            chunk = batch[first : first + _CHUNK]
            version = self._version
            decisions = self._decide_chunk(chunk, t, at)
            if self._version != version or version & 1:
                decisions = [self.decide(alert, at) for alert in chunk]
            out += decisions
        return out

    def _decide_chunk(self, alerts: Sequence[AlertLike], t: int, at: datetime) -> list[Decision]:
        """``_decide`` for each alert, its fast path inlined (a call costs as much as it)."""
        decide_all = self._decide_all
        postings = self._postings
        slot_of = postings.targets.get  # the dict itself is never replaced
        plain = not postings.all_targets and not postings.scan
        out: list[Decision] = []
        append = out.append
        for alert in alerts:
            targets = alert.targets
            labels = alert.labels
            if plain and not labels and len(targets) == 1:
                value = slot_of(targets[0])
                if value is None:
                    append(DELIVER)
                    continue
                kind = type(value)
                if kind is Entry:
                    # One one-time window on targets only (the commonest): its interval, and
                    # the decision it makes alone. (Its class's ``lo``/``hi`` say it is
                    # complete; reading class attributes through an instance is slow.)
                    if bisect_right(value.spans, t) & 1:  # type: ignore[union-attr]
                        alone = value._alone  # type: ignore[union-attr]
                        append(alone if alone is not None else value.alone)  # type: ignore[union-attr]
                    else:
                        append(DELIVER)
                    continue
                if kind is tuple:  # a few windows: each one's intervals
                    append(_held(value, t, at))  # type: ignore[arg-type]
                    continue
                if kind is TargetSlot:
                    if value.lo <= t < value.hi:  # type: ignore[union-attr]
                        append(value.decisions[bisect_right(value.bounds, t)])  # type: ignore[union-attr]
                        continue
                elif value.lo <= t < value.hi:  # type: ignore[union-attr]
                    # One window: its own intervals, and the decision it makes alone.
                    append(value.alone if bisect_right(value.spans, t) & 1  # type: ignore[union-attr]
                           else DELIVER)
                    continue
            append(decide_all(targets, labels, t, at))
        return out

    def _settle(self, alert: AlertLike, t: int, at: datetime) -> Decision:
        """Decide again after a write overlapped the decision (a seqlock's retry).

        A few more optimistic tries; if writes overlap them all, the decision is taken under
        the writers' lock. Either way it sees the index as it was between two writes.
        """
        for _ in range(_RETRIES):
            version = self._version
            if not version & 1:
                decision = self._decide(alert.targets, alert.labels, t, at)
                if self._version == version:
                    return decision
        with self._write_lock:
            return self._decide(alert.targets, alert.labels, t, at)

    def _decide(
        self, targets: Sequence[str], labels: Mapping[str, str], t: int, at: datetime
    ) -> Decision:
        postings = self._postings
        if len(targets) == 1 and not labels and not postings.all_targets and not postings.scan:
            # The commonest alert: one target, no labels, and no all-targets window or
            # condition group without an anchor that could hold it too. Its slot's timeline
            # answers with one bisect and a prebuilt Decision.
            value = postings.targets.get(targets[0])
            if value is None:
                return DELIVER
            if type(value) is Entry:  # see _decide_chunk
                return value.alone if bisect_right(value.spans, t) & 1 else DELIVER
            if type(value) is tuple:
                return _held(value, t, at)
            if type(value) is TargetSlot:
                if value.lo <= t < value.hi:
                    return value.decisions[bisect_right(value.bounds, t)]
            elif value.lo <= t < value.hi:  # type: ignore[union-attr]
                return value.alone if bisect_right(value.spans, t) & 1 else DELIVER  # type: ignore[union-attr]
        return self._decide_all(targets, labels, t, at)

    def _decide_all(
        self, targets: Sequence[str], labels: Mapping[str, str], t: int, at: datetime
    ) -> Decision:
        """Every way a window can hold an alert: its targets, their groups, all targets, the
        alert's labels and the condition groups without an anchor."""
        postings = self._postings
        found: list[Entry] = []
        for target in targets:
            cover = postings.targets.get(target)
            if cover is None:
                continue
            kind = type(cover)
            held: tuple[Entry, ...]
            groups: tuple[str, ...] = ()
            if kind is tuple:
                held = cast(tuple[Entry, ...], cover)
            elif kind is TargetSlot:
                slot = cast(TargetSlot, cover)
                held, groups = slot.windows, slot.groups
            else:
                held = (cast(Entry, cover),)
            for entry in held:
                if target not in entry.targets or entry in found:
                    continue
                # entry.active() inlined: a hot loop of the index.
                if type(entry) is Entry or entry.lo <= t < entry.hi:  # see _decide_chunk
                    if bisect_right(entry.spans, t) & 1:
                        found.append(entry)
                elif active_by_schedule(entry.schedule, entry.cut, at):  # type: ignore[arg-type]
                    found.append(entry)
            if groups:
                self._match_groups(target, groups, t, at, found)
        if postings.all_targets:
            self._match_all_targets(postings.all_targets, t, at, found)
        if labels:
            anchored = postings.anchored
            if len(anchored) <= len(labels):
                # The groups anchored on one of the alert's label=value pairs, found by
                # walking the labels some anchor uses (the usual case, inlined: the call
                # would cost a tenth of a label alert's decision).
                for label, values in anchored:
                    value = labels.get(label)
                    if value is not None:
                        slots = values.get(value)
                        if slots is not None:
                            self._match_slots(slots, labels, t, at, found)
            else:
                self._match_labels(labels, t, at, found)
        if postings.scan:
            self._match_slots(postings.scan, labels, t, at, found)
        if not found:
            return DELIVER
        return decision_of(found)

    def _match_all_targets(
        self, wids: tuple[int, ...], t: int, at: datetime, found: list[Entry]
    ) -> None:
        entries = self._entries
        for wid in wids:
            entry = entries.get(wid)
            if (
                entry is not None
                and entry.all_targets
                and entry not in found
                and entry.active(t, at)
            ):
                found.append(entry)

    def _match_labels(
        self, labels: Mapping[str, str], t: int, at: datetime, found: list[Entry]
    ) -> None:
        """Try the condition groups anchored on one of the alert's ``label=value`` pairs,
        walking the alert's labels: when it has fewer than the anchors use (else see
        ``_decide_all``)."""
        by_label = self._postings.by_label
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
        found: list[Entry],
    ) -> None:
        entries = self._entries
        postings = self._postings
        for name in group_names:
            if target not in postings.members.get(name, ()):
                continue
            for wid in postings.by_group.get(name, ()):
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
        found: list[Entry],
    ) -> None:
        entries = self._entries
        for wid, gi in slots:
            entry = entries.get(wid)
            if entry is None or entry in found:
                continue
            compiled = entry.compiled
            if gi >= len(compiled):
                continue
            # entry.active() inlined, as in _decide_all (a one-time entry: no lo/hi to read)
            if type(entry) is ScopedOnce or entry.lo <= t < entry.hi:
                if not bisect_right(entry.spans, t) & 1:
                    continue
            elif not active_by_schedule(entry.schedule, entry.cut, at):  # type: ignore[arg-type]
                continue
            if compiled[gi].matches(labels):
                found.append(entry)

    # -- inspection -------------------------------------------------------------------------

    def window_ids(self) -> list[int]:
        """The ids of the indexed windows, sorted."""
        return sorted(self._entries)

    def holds(self, window_id: int) -> bool:
        """Whether the index holds a window."""
        return window_id in self._entries

    def version(self, window_id: int) -> datetime | None:
        """The ``updated_at`` of the indexed copy of a window (None: not held, or unknown)."""
        entry = self._entries.get(window_id)
        if entry is None or entry.version is None:
            return None
        return instant(entry.version)

    def pending(self) -> int:
        """How much ``expand`` has left: recurring windows decided from the rules meanwhile,
        and targets without their timeline yet."""
        return len(self._pending) + self._postings.deferred()

    def groups(self) -> dict[str, frozenset[str]]:
        """Every group the index knows, with its members."""
        return dict(self._postings.members)

    def anchors(self, window_id: int) -> tuple[tuple[str, str] | None, ...]:
        """Where each condition group of a window is filed: ``(label, value)``, or None for
        the list tried for every alert."""
        return self._postings.anchors_of(window_id)

    def stats(self) -> IndexStats:
        """Sizes for memory measurement and metrics."""
        entries = list(self._entries.values())
        return {
            "windows": len(entries),
            "intervals": sum(len(e.spans) // 2 for e in entries),
            "pending": self.pending(),
            **self._postings.stats(),
        }


def _held(held: tuple[Entry, ...], t: int, at: datetime) -> Decision:
    """The decision of the few windows naming an alert's one target (and nothing else
    covering it), from each one's intervals (``Entry.active`` inlined)."""
    first: Entry | None = None
    more: list[Entry] | None = None
    for entry in held:
        if type(entry) is Entry or entry.lo <= t < entry.hi:  # see _decide_chunk
            if not bisect_right(entry.spans, t) & 1:
                continue
        elif not active_by_schedule(entry.schedule, entry.cut, at):  # type: ignore[arg-type]
            continue
        if first is None:
            first = entry
        elif more is None:
            more = [first, entry]
        else:
            more.append(entry)
    if more is not None:
        return decision_of(more)
    return DELIVER if first is None else first.alone


def _older(window: Window, indexed: Entry) -> bool:
    """Whether ``window`` is an earlier version of the ``indexed`` one (both versions known)."""
    return (
        window.updated_at is not None
        and indexed.version is not None
        and micros(window.updated_at) < indexed.version
    )


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
    matched = [w for w in windows if scope_matches(w, alert, groups) and active_by_rules(w, at)]
    verdict = lifecycle.verdict_for(w.effects for w in matched)
    return Decision(verdict, tuple(sorted(w.id for w in matched)))
