"""Where each window is filed, for the decision index (``engine``): its inverted indexes.

- ``targets``: per target a ``TargetSlot``, the ids of the windows naming it, the groups
  holding it, and its timeline (``entries.timeline``): what those windows decide for an alert
  on that target alone, precomputed over time;
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

from quietly.core.entries import Entry, Timeline, timeline
from quietly.core.matching import CompiledGroup
from quietly.core.model import Decision

__all__ = ["Postings", "TargetSlot"]

# (kind, key, label value, window id, condition group index); kinds: t(arget), g(roup),
# a(ll targets), l(abel anchor), s(can).
Posting = tuple[str, str, str, int, int]
Anchor = tuple[str, str]  # (label, value): the equality a condition group is filed under
Slot = tuple[int, int]  # (window id, condition group index)
K = TypeVar("K")
T = TypeVar("T")


class TargetSlot:
    """What covers one target, replaced whole on every change. Never mutated once built.

    ``windows`` are the ids of the windows naming the target, ``groups`` the groups holding
    it. ``bounds`` and ``decisions`` are its *timeline*: for an instant ``t`` in ``[lo, hi)``
    the decision for an alert on this target alone (no labels, and no ``all_targets`` window
    or unanchored condition group in the index) is ``decisions[bisect_right(bounds, t)]``,
    built from its windows' intervals when they change. A target in a group has no timeline
    (``lo == hi``): group membership is resolved at decision time.
    """

    __slots__ = ("bounds", "decisions", "groups", "hi", "lo", "windows")

    def __init__(
        self,
        windows: tuple[int, ...],
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

    def replaced(self, windows: tuple[int, ...], groups: tuple[str, ...]) -> TargetSlot:
        """A slot with other windows or groups and this one's timeline, which describes the
        windows as they were until the write rebuilds it (none once the target is in a
        group)."""
        if groups:
            return TargetSlot(windows, groups)
        return TargetSlot(windows, groups, self.lo, self.hi, self.bounds, self.decisions)


_NO_SLOT = TargetSlot((), ())


class Postings:
    """The inverted indexes of one decision index (see the module docstring)."""

    def __init__(self) -> None:
        self.targets: dict[str, TargetSlot] = {}
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
        # Targets filed by ``file_many`` whose timeline waits for ``retime_deferred`` (their
        # slots have none meanwhile: decisions on them take the general path, exactly).
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
            self._post(posting, add=True)
        if anchors:
            self._anchors[wid] = anchors
        else:
            self._anchors.pop(wid, None)
        self._dirty.update(entry.targets)
        return old_postings - new_postings

    def file_many(self, entries: Sequence[Entry], *, defer: bool = True) -> None:
        """File entries of windows not indexed yet, all at once (a bulk load).

        Each target's slot is replaced once whatever the number of its windows, and every
        condition group is anchored knowing all of them (as ``reanchor`` would). The
        timelines of their targets are left to ``retime_deferred`` (``defer``), else to the
        write's ``retime``.
        """
        for entry in entries:
            self._count_equalities(entry, +1)
        by_target: dict[str, list[int]] = {}
        for entry in entries:
            wid = entry.id
            for target in entry.targets:
                found = by_target.get(target)
                if found is None:
                    by_target[target] = [wid]
                else:
                    found.append(wid)
            if entry.groups or entry.all_targets or entry.compiled:
                anchors = tuple(self._pick_anchor(group) for group in entry.compiled)
                for posting in _postings(entry, anchors):
                    if posting[0] != "t":
                        self._post(posting, add=True)
                if anchors:
                    self._anchors[wid] = anchors
        slots = self.targets
        for target, wids in by_target.items():
            old = slots.get(target)
            if old is None:
                slots[target] = TargetSlot(tuple(wids), ())
            else:  # its timeline goes: it describes fewer windows than the slot now has
                slots[target] = TargetSlot((*old.windows, *wids), old.groups)
        if defer:
            self._deferred.update(dict.fromkeys(by_target))
        else:
            self._dirty.update(by_target)

    def retime_deferred(self, entries: Mapping[int, Entry], budget: int) -> int:
        """Build the timelines of up to ``budget`` targets that ``file_many`` deferred;
        returns how many still wait."""
        deferred = self._deferred
        chunk = list(islice(deferred, budget))
        for target in chunk:
            del deferred[target]
        self._dirty.update(chunk)
        self.retime(entries)
        return len(deferred)

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
        self._dirty.update(targets)

    def retime(self, entries: Mapping[int, Entry]) -> None:
        """Rebuild the timelines of the targets whose slot or windows changed, from
        ``entries`` as they are now."""
        slots = self.targets
        # Targets covered by the same windows share one timeline (the targets of one window).
        built: dict[tuple[Entry, ...], Timeline] = {}
        for target in self._dirty:
            slot = slots.get(target)
            if slot is None or slot.groups:  # gone, or resolved at decision time
                continue
            found = [entries.get(wid) for wid in slot.windows]
            covering = tuple(e for e in found if e is not None and target in e.targets)
            made = built.get(covering)
            if made is None:
                made = built[covering] = timeline(covering)
            slots[target] = TargetSlot(slot.windows, (), *made)
        self._dirty.clear()

    def anchors_of(self, window_id: int) -> tuple[Anchor | None, ...]:
        return self._anchors.get(window_id, ())

    def stats(self) -> dict[str, int]:
        """Sizes for memory measurement and metrics."""
        return {
            "targets": sum(1 for slot in list(self.targets.values()) if slot.windows),
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

    def _post(self, posting: Posting, *, add: bool) -> None:
        kind, key, label_value, wid, gi = posting
        if kind == "t":
            self._slot(key, window=wid, add=add)
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
        self, target: str, *, window: int | None = None, group: str | None = None, add: bool
    ) -> None:
        """Add or remove one window id or group name in ``target``'s slot.

        The new slot keeps the old timeline, which still describes the windows as they were
        (or has none); ``retime`` replaces it before the write ends.
        """
        old = self.targets.get(target, _NO_SLOT)
        wids, names = old.windows, old.groups
        if window is not None:
            wids = _changed(wids, window, add=add)
        if group is not None:
            names = _changed(names, group, add=add)
        if wids or names:
            self.targets[target] = old.replaced(wids, names)
            self._dirty.add(target)
        else:
            self.targets.pop(target, None)


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
