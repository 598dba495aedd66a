"""Where each window is filed, for the decision index (``engine``): its inverted indexes.

- ``targets``: per target what covers it, in the smallest form that serves (``TargetValue``):
  the ``Entry`` of the one window naming it, a tuple of the entries of a few (up to
  ``MANY``), or a ``TargetSlot`` when groups hold it or many windows name it, with then its
  timeline (``entries.timeline``): what those windows decide for an alert on that target
  alone, precomputed over time. A one-target alert thus checks one window's flat intervals,
  a few windows' one after the other, or bisects one timeline. Entries are held directly
  (no id to look up); ``retime`` swaps in the current entry of each window after a write;
- ``by_group`` (group -> window ids) and ``members`` (group -> targets), resolved at
  decision time;
- ``by_label`` (label -> value -> (window id, condition group)) for every condition group
  that has an equality matcher with a non-empty value, filed under one of them (its
  *anchor*), with ``anchored``, the same as an immutable snapshot for readers to walk;
- ``scan``: the condition groups without an anchor, tried for every alert;
- ``all_targets``: the ids of the windows covering every target.

One writer files and unfiles windows; readers read these attributes without a lock. Each is
either a dict that is never replaced, whose values are immutable and swapped whole, or an
immutable tuple replaced whole, so a reader never meets a half-changed one. The engine's
seqlock keeps a decision from reading some of them before a write and some after.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import islice
from typing import TypeVar

from quietly.core.entries import PLAIN_ENTRY_TYPES, Entry, Timeline, timeline, timeline_plus
from quietly.core.matching import CompiledGroup
from quietly.core.model import Decision

__all__ = ["MANY", "Postings", "TargetSlot", "TargetValue", "members"]

# (kind, key, label value, window id, condition group index); kinds: t(arget), g(roup),
# a(ll targets), l(abel anchor), s(can).
Posting = tuple[str, str, str, int, int]
Anchor = tuple[str, str]  # (label, value): the equality a condition group is filed under
Slot = tuple[int, int]  # (window id, condition group index)
K = TypeVar("K")
T = TypeVar("T")
# Up to this many windows naming a target are checked one by one (no timeline: a timeline
# costs ~300 bytes per window, checking a window's intervals ~60 ns); beyond, a timeline.
MANY = 16
# Entries of these classes have no groups, all targets or condition groups (``entries``).
_PLAIN = PLAIN_ENTRY_TYPES


class TargetSlot:
    """What covers a target that groups hold or that many windows name (``TargetValue``).
    Never mutated once built.

    ``windows`` are the entries of the windows naming the target, ``groups`` the groups
    holding it. ``bounds`` and ``decisions`` are its *timeline*: for an instant ``t`` in
    ``[lo, hi)`` the decision for an alert on this target alone (no labels, and no
    ``all_targets`` window or unanchored condition group in the index) is
    ``decisions[bisect_right(bounds, t)]``, built from its windows' intervals when they change.
    A target in a group has no timeline (``lo == hi``): group membership is resolved at
    decision time.
    """

    __slots__ = ("bounds", "decisions", "groups", "hi", "lo", "windows")

    def __init__(
        self,
        windows: tuple[Entry, ...],
        groups: tuple[str, ...],
        lo: int = 0,
        hi: int = 0,
        bounds: tuple[int, ...] = (),
        decisions: tuple[Decision, ...] = (),
    ) -> None:
        self.windows = windows
        self.groups = groups
        self.lo = lo
        self.hi = hi
        self.bounds = bounds
        self.decisions = decisions


# The entry of the one window naming a target, the entries of a few (2 to MANY), or a slot.
TargetValue = Entry | tuple[Entry, ...] | TargetSlot


def members(value: TargetValue) -> tuple[Entry, ...]:
    """The entries of the windows naming a target, whatever form its value takes."""
    if type(value) is tuple:
        return value
    if type(value) is TargetSlot:
        return value.windows
    return (value,)  # type: ignore[return-value]


def _value(windows: tuple[Entry, ...], groups: tuple[str, ...]) -> TargetValue | None:
    """The smallest form of what covers a target (None: nothing); without a timeline."""
    if groups or len(windows) > MANY:
        return TargetSlot(windows, groups)
    if len(windows) > 1:
        return windows
    return windows[0] if windows else None


class Postings:
    """The inverted indexes of one decision index (see the module docstring)."""

    def __init__(self) -> None:
        self.targets: dict[str, TargetValue] = {}
        self.by_group: dict[str, tuple[int, ...]] = {}
        self.members: dict[str, frozenset[str]] = {}
        self.by_label: dict[str, dict[str, tuple[Slot, ...]]] = {}
        self.anchored: tuple[tuple[str, dict[str, tuple[Slot, ...]]], ...] = ()
        self.all_targets: tuple[int, ...] = ()
        self.scan: tuple[Slot, ...] = ()
        # The writer's own book-keeping: where each window's condition groups are filed (an
        # anchor, or None for the scan list: the rest of a window's postings follow from its
        # entry, but an anchor depends on what was indexed when it was picked), and how often
        # each equality occurs.
        self._anchors: dict[int, tuple[Anchor | None, ...]] = {}
        self._equalities: dict[str, dict[str, int]] = {}
        # Targets whose slot or windows changed since the last ``retime``.
        self._dirty: set[str] = set()
        # Of those, the targets (with a timeline before) whose only change is one window new
        # to them: (the slot before, the slot after, the new window's entry). ``retime``
        # puts that window's intervals into the timeline before (``timeline_plus``) instead
        # of rebuilding it from every window's; any other change to the target drops it.
        self._appended: dict[str, tuple[TargetSlot, TargetSlot, Entry]] = {}
        # Targets filed by ``file_many`` whose timeline waits for ``retime_deferred`` (their
        # slots have none meanwhile: decisions on them take the general path, exactly). Only
        # targets that many windows name have a timeline.
        self._deferred: dict[str, None] = {}

    # -- filing windows ---------------------------------------------------------------------

    def file(self, entry: Entry, old: Entry | None) -> frozenset[Posting]:
        """File ``entry`` wherever it belongs and ``old`` (the window's indexed entry) was
        not; return where only ``old`` was, to ``unfile`` once the entry is swapped in."""
        wid = entry.id
        old_postings: frozenset[Posting] = frozenset()
        if old is not None:
            self._count_equalities(old, -1)
            old_postings = _postings(old, self._anchors.get(wid, ()))
        self._count_equalities(entry, +1)
        anchors = tuple(self._pick_anchor(group) for group in entry.compiled)
        new_postings = _postings(entry, anchors)
        for posting in new_postings - old_postings:
            self._post(posting, add=True, entry=entry)
        if anchors:
            self._anchors[wid] = anchors
        else:
            self._anchors.pop(wid, None)
        appended = self._appended
        if appended:  # another window's change to a target its append was the only one of
            for target in entry.targets:
                found = appended.get(target)
                if found is not None and found[2] is not entry:
                    del appended[target]
        self._dirty.update(entry.targets)
        return old_postings - new_postings

    def file_many(self, entries: Sequence[Entry], *, defer: bool = True) -> None:
        """File entries of windows not indexed yet, all at once (a bulk load).

        Each target's slot is replaced once whatever the number of its windows, and every
        condition group is anchored knowing all of them (as ``reanchor`` would). The
        timelines of their targets are left to ``retime_deferred`` (``defer``), else to the
        write's ``retime``.
        """
        if entries:
            self._appended.clear()
        if not self.targets:
            self._file_fresh(entries, defer)
            return
        self._file_many(entries, defer)

    def _file_fresh(self, entries: Sequence[Entry], defer: bool) -> None:
        """``file_many`` into an index that has no target yet (a start-up's load, when no
        group holds a target): each target's value is built in place in ``targets`` (no
        dict of values to copy over afterwards), and only the windows with groups, all
        targets or condition groups go through the rest of the filing. The same postings as
        ``_file_many`` (``tests/core/test_postings_fresh.py``), in less time: a 50,000-window
        start files ~0.05 s sooner (issue 19)."""
        # Readers may walk ``targets`` meanwhile (a bulk create into a live index): every
        # value put there is one a reader knows (an entry or a tuple of up to MANY); the
        # windows of a target beyond MANY gather in ``many`` and become its slot at the end.
        slots = self.targets
        get = slots.get
        many: dict[str, list[Entry]] = {}
        scoped: list[Entry] = []
        for entry in entries:
            for target in entry.targets:
                found = get(target)
                if found is None:
                    slots[target] = entry
                elif type(found) is tuple:
                    if len(found) < MANY:
                        slots[target] = (*found, entry)
                    else:
                        longer = many.get(target)
                        if longer is None:
                            many[target] = [*found, entry]
                        else:
                            longer.append(entry)
                else:
                    slots[target] = (found, entry)  # type: ignore[assignment]  # an Entry
            if type(entry) not in _PLAIN:
                scoped.append(entry)
        for target, longer in many.items():
            slots[target] = TargetSlot(tuple(longer), ())
            if defer:
                self._deferred[target] = None
            else:
                self._dirty.add(target)
        # Anchors are picked knowing every condition group of the load, as ``_file_many``.
        for entry in scoped:
            self._count_equalities(entry, +1)
        for entry in scoped:
            if entry.groups or entry.all_targets or entry.compiled:
                self._file_scope(entry)

    def _file_scope(self, entry: Entry) -> None:
        """File a new window's postings other than its targets' (groups, all targets,
        condition groups under their anchors), its equalities counted already."""
        anchors = tuple(self._pick_anchor(group) for group in entry.compiled)
        for posting in _postings(entry, anchors):
            if posting[0] != "t":
                self._post(posting, add=True)
        if anchors:
            self._anchors[entry.id] = anchors

    def _file_many(self, entries: Sequence[Entry], defer: bool) -> None:
        """``file_many`` in general (targets held already: a reload's or groups')."""
        for entry in entries:
            self._count_equalities(entry, +1)
        # Per target its entries as they come: one entry, then a tuple (kept as the target's
        # value when it is new: a bulk load builds no list per target, nor garbage that would
        # stay as holes between the index's objects), a list beyond MANY.
        by_target: dict[str, Entry | tuple[Entry, ...] | list[Entry]] = {}
        for entry in entries:
            for target in entry.targets:
                found = by_target.get(target)
                if found is None:
                    by_target[target] = entry
                elif type(found) is tuple:
                    by_target[target] = (*found, entry) if len(found) < MANY else [*found, entry]
                elif type(found) is list:
                    found.append(entry)
                else:
                    by_target[target] = (found, entry)  # type: ignore[assignment]
            if entry.groups or entry.all_targets or entry.compiled:
                self._file_scope(entry)
        slots = self.targets
        value: TargetValue | None
        for target, found in by_target.items():
            old = slots.get(target)
            if old is None and type(found) is not list:
                value = found  # type: ignore[assignment]
            else:  # a timeline goes: it describes fewer windows than the target now has
                held = members(found) if type(found) is not list else tuple(found)  # type: ignore[arg-type]
                if old is not None:
                    held = (*members(old), *held)
                value = _value(held, old.groups if type(old) is TargetSlot else ())
            if value is not None:
                slots[target] = value
                if type(value) is TargetSlot and not value.groups:
                    if defer:
                        self._deferred[target] = None
                    else:
                        self._dirty.add(target)

    def retime_deferred(self, entries: Mapping[int, Entry], budget: int) -> int:
        """Build the timelines of up to ``budget`` targets that ``file_many`` deferred;
        returns how many still wait."""
        deferred = self._deferred
        chunk = list(islice(deferred, budget))
        for target in chunk:
            del deferred[target]
        if not deferred:
            self._deferred = {}  # a dict keeps its size when emptied by deletions
        self._spoil(chunk)
        self._dirty.update(chunk)
        self.retime(entries)
        return len(self._deferred)

    def deferred(self) -> int:
        return len(self._deferred)

    def reanchor(self, entries: Iterable[Entry]) -> int:
        """File again, under the anchor the statistics pick now, every condition group whose
        anchor was picked when they said less (a bulk load files its first windows knowing
        only those before them); returns how many windows moved."""
        moved = 0
        for entry in entries:
            if not entry.compiled:
                continue
            current = self._anchors.get(entry.id, ())
            anchors = tuple(self._pick_anchor(group) for group in entry.compiled)
            if anchors == current:
                continue
            before, after = _postings(entry, current), _postings(entry, anchors)
            for posting in after - before:
                self._post(posting, add=True)
            self.unfile(before - after)
            self._anchors[entry.id] = anchors
            moved += 1
        return moved

    def unfile(self, postings: Iterable[Posting]) -> None:
        for posting in postings:
            self._post(posting, add=False)

    def withdraw(self, entry: Entry) -> None:
        """Unfile a window that left the index (its entry already gone)."""
        self._count_equalities(entry, -1)
        self.unfile(_postings(entry, self._anchors.pop(entry.id, ())))

    def set_group(self, name: str, members: frozenset[str]) -> None:
        old = self.members.get(name, frozenset())
        for target in members - old:
            self._slot(target, group=name, add=True)
        self.members[name] = members
        for target in old - members:
            self._slot(target, group=name, add=False)

    def forget_group(self, name: str) -> None:
        self.set_group(name, frozenset())
        self.members.pop(name, None)

    def touch(self, targets: Iterable[str]) -> None:
        """Mark targets whose windows' intervals changed, for the next ``retime``."""
        targets = tuple(targets)
        self._spoil(targets)
        self._dirty.update(targets)

    def _spoil(self, targets: Iterable[str]) -> None:
        """These targets changed otherwise than by one window added (see ``_appended``)."""
        if self._appended:
            for target in targets:
                self._appended.pop(target, None)

    def retime(self, entries: Mapping[int, Entry]) -> None:
        """Bring the targets whose value or windows changed up to date with ``entries`` as
        they are now: each holds the current entry of each window naming it, and a target
        that many windows name gets its timeline rebuilt."""
        slots = self.targets
        # Targets covered by the same windows share one timeline (the targets of one window).
        built: dict[tuple[Entry, ...], Timeline] = {}
        appended = self._appended
        for target in self._dirty:
            old = slots.get(target)
            if old is None:
                continue
            if appended:
                found = appended.get(target)
                if found is not None and found[1] is old and \
                        entries.get(found[2].id) is found[2]:
                    before = found[0]
                    made = timeline_plus((before.lo, before.hi, before.bounds,
                                          before.decisions), found[2])
                    if made is not None:
                        slots[target] = TargetSlot(old.windows, (), *made)
                        continue
            groups = old.groups if type(old) is TargetSlot else ()
            fresh: list[Entry] = []
            for held in members(old):
                entry = entries.get(held.id)
                if entry is not None and target in entry.targets:
                    fresh.append(entry)
            covering = tuple(fresh)
            value = _value(covering, groups)
            if value is None:
                del slots[target]
                continue
            if type(value) is TargetSlot and not groups:
                made = built.get(covering)
                if made is None:
                    made = built[covering] = timeline(covering)
                value = TargetSlot(covering, (), *made)
            slots[target] = value
        self._dirty.clear()
        appended.clear()

    def anchors_of(self, window_id: int) -> tuple[Anchor | None, ...]:
        return self._anchors.get(window_id, ())

    def stats(self) -> dict[str, int]:
        """Sizes for memory measurement and metrics."""
        return {
            "targets": sum(1 for value in list(self.targets.values()) if members(value)),
            "groups": len(self.members),
            "label_slots": sum(
                len(slots)
                for values in list(self.by_label.values())
                for slots in list(values.values())
            ),
            "largest_label_slot": max(
                (len(slots) for values in list(self.by_label.values())
                 for slots in list(values.values())), default=0),
            "scan_slots": len(self.scan),
            "all_targets_windows": len(self.all_targets),
        }

    # -- internals --------------------------------------------------------------------------

    def _pick_anchor(self, group: CompiledGroup) -> Anchor | None:
        """The group's most selective-looking equality, to file the group under.

        Selectivity is guessed from every equality matcher indexed: a label written with many
        distinct values (``service``) splits alerts finer than one with few (``env``), and
        among those, a value fewer groups require is rarer. (The length of the posting list
        alone would be a trap: ``env=prod`` looks short exactly while nobody anchors on it.)
        """
        best: Anchor | None = None
        best_key = (0, 0)
        for label, value in group.equalities:
            values = self._equalities.get(label, {})
            key = (-len(values), values.get(value, 0))
            if best is None or key < best_key:
                best, best_key = (label, value), key
        return best

    def _count_equalities(self, entry: Entry, delta: int) -> None:
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

    def _post(self, posting: Posting, *, add: bool, entry: Entry | None = None) -> None:
        """File (``add``, with the window's ``entry``) or unfile one posting."""
        kind, key, label_value, wid, gi = posting
        if kind == "t":
            if add:
                assert entry is not None
                self._slot(key, entry=entry, add=True)
            else:
                self._slot(key, window=wid, add=False)
        elif kind == "g":
            _put(self.by_group, key, wid, add=add)
        elif kind == "a":
            self.all_targets = _changed(self.all_targets, wid, add=add)
        elif kind == "s":
            self.scan = _changed(self.scan, (wid, gi), add=add)
        else:
            values = self.by_label.get(key)
            if values is None:
                values = self.by_label[key] = {}
                self.anchored = tuple(self.by_label.items())
            _put(values, label_value, (wid, gi), add=add)
            if not values:
                del self.by_label[key]
                self.anchored = tuple(self.by_label.items())

    def _slot(
        self, target: str, *, entry: Entry | None = None, window: int | None = None,
        group: str | None = None, add: bool,
    ) -> None:
        """Add a window's ``entry``, remove a ``window`` (id) or add or remove a ``group`` in
        what covers ``target``.

        The new value has no timeline; ``retime`` builds it before the write ends (readers
        that a write overlaps decide again, see ``engine``).
        """
        old = self.targets.get(target)
        held = members(old) if old is not None else ()
        groups = old.groups if type(old) is TargetSlot else ()
        if entry is not None:
            held = (*(e for e in held if e.id != entry.id), entry)
        elif window is not None:
            held = tuple(e for e in held if e.id != window)
        if group is not None:
            groups = _changed(groups, group, add=add)
        value = _value(held, groups)
        if value is None:
            self.targets.pop(target, None)
            self._appended.pop(target, None)
            return
        self.targets[target] = value
        if entry is not None and not groups and type(old) is TargetSlot and \
                type(value) is TargetSlot and old.lo < old.hi and target not in self._dirty:
            self._appended[target] = (old, value, entry)  # the only change so far
        else:
            self._appended.pop(target, None)
        self._dirty.add(target)


def _postings(entry: Entry, anchors: Iterable[Anchor | None]) -> frozenset[Posting]:
    """Every index slot the entry occupies, as ``(kind, key, label value, id, group)``, given
    where its condition groups are filed (``anchors``, in order)."""
    wid = entry.id
    out: set[Posting] = {("t", t, "", wid, 0) for t in entry.targets}
    out.update(("g", g, "", wid, 0) for g in entry.groups)
    if entry.all_targets:
        out.add(("a", "", "", wid, 0))
    for gi, anchor in enumerate(anchors):
        if anchor is None:
            out.add(("s", "", "", wid, gi))
        else:
            out.add(("l", anchor[0], anchor[1], wid, gi))
    return frozenset(out)


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
