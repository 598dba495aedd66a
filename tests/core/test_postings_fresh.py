"""A start-up's filing into an empty index (``Postings._file_fresh``) files exactly what the
general bulk filing (``Postings._file_many``) files, and ``DecisionIndex.load`` into an
empty index holds what a load into a held one would (issue 19: start-up, fifth pass)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st
from tests.core.test_engine_properties import _SLOW_PROPERTY, instants, windows

from quietly.core.engine import DecisionIndex
from quietly.core.entries import PLAIN_ENTRY_TYPES, RECURRING_ENTRY_TYPES, Entry
from quietly.core.model import Window
from quietly.core.postings import MANY, Postings, TargetSlot

# Up to 3 * MANY windows over the strategy's four targets: some targets are named by more
# than MANY windows (a slot, deferred timeline), some by a few (a tuple), some by one.
many_windows = st.lists(windows(), max_size=3 * MANY).map(
    lambda found: [replace(w, id=i) for i, w in enumerate(found, 1)])


def _state(postings: Postings) -> dict[str, object]:
    """Everything the filing writes, with target values compared by identity of entries."""
    def value(found: object) -> object:
        if type(found) is TargetSlot:
            return ("slot", tuple(map(id, found.windows)), found.groups, found.lo, found.hi,
                    found.bounds, found.decisions)
        if type(found) is tuple:
            return ("few", tuple(map(id, found)))
        return ("one", id(found))

    return {
        "targets": [(t, value(v)) for t, v in postings.targets.items()],
        "by_group": postings.by_group, "members": postings.members,
        "by_label": postings.by_label, "anchored": postings.anchored,
        "all_targets": postings.all_targets, "scan": postings.scan,
        "anchors": postings._anchors, "equalities": postings._equalities,
        "dirty": postings._dirty, "deferred": sorted(postings._deferred),
    }


@_SLOW_PROPERTY
@given(loaded=many_windows, defer=st.booleans())
def test_fresh_filing_equals_the_general_filing(loaded: list[Window], defer: bool) -> None:
    entries = [Entry.of(w) for w in loaded]
    fresh, general = Postings(), Postings()
    fresh.file_many(entries, defer=defer)  # empty: the fresh path
    general._file_many(entries, defer)
    assert _state(fresh) == _state(general)


def test_the_fresh_path_is_taken_only_on_an_empty_index() -> None:
    entry = Entry.once_on_targets(1, None, None, ("service:a",), 0, 10,  # type: ignore[arg-type]
                                  None)
    postings = Postings()
    postings.file_many([entry])
    assert postings.targets == {"service:a": entry}
    other = Entry.once_on_targets(2, None, None, ("service:a",), 0, 10,  # type: ignore[arg-type]
                                  None)
    postings.file_many([other])  # held already: the general path adds to what is there
    assert postings.targets == {"service:a": (entry, other)}


@_SLOW_PROPERTY
@given(loaded=many_windows, now=instants)
def test_loading_into_an_empty_index_equals_loading_into_a_held_one(
        loaded: list[Window], now: datetime) -> None:
    """``load``'s empty-index shortcuts (no per-entry look-up, pending tested by type) leave
    what its general path leaves: the same entries, pending ones and postings."""
    entries = [Entry.of(w) for w in loaded]
    empty = DecisionIndex(now)
    empty.load(entries)
    held = DecisionIndex(now)
    marker = Entry.once_on_targets(10_000, None, None, (), 0, 1,  # type: ignore[arg-type]
                                   None)
    held.load([marker])  # not empty: every entry of the next load takes the general path
    held.load(entries)
    assert [(i, id(e)) for i, e in empty._entries.items()] == \
        [(i, id(e)) for i, e in held._entries.items() if i != marker.id]
    assert empty._pending == {e.id: None for e in entries if e.pending}
    assert list(empty._pending) == list(held._pending)
    assert _state(empty._postings) == _state(held._postings)


def test_entry_classes_say_what_their_instances_hold() -> None:
    """The type tests of the shortcuts above stand for ``entry.groups or entry.all_targets or
    entry.compiled`` and ``entry.pending``: no plain class has a scope, and no class outside
    the recurring ones can be pending."""
    for cls in PLAIN_ENTRY_TYPES:
        assert cls.groups == ()
        assert cls.all_targets is False
        assert cls.compiled == ()
        assert "groups" not in cls.__slots__
        assert "compiled" not in cls.__slots__
    for cls in {Entry, *Entry.__subclasses__()} - RECURRING_ENTRY_TYPES:
        assert cls.lo != cls.hi
        assert "lo" not in cls.__slots__


def test_fresh_filing_at_every_count_around_many() -> None:
    """A target named by 1 … MANY + 2 windows: one entry, a tuple up to MANY, a slot beyond
    (its timeline deferred), on both paths; with another target named by every other one."""
    for count in range(1, MANY + 3):
        entries = [Entry.once_on_targets(i, None, None,  # type: ignore[arg-type]
                                         ("service:a", "monitor:1") if i % 2 else ("service:a",),
                                         0, 10, None) for i in range(1, count + 1)]
        for defer in (True, False):
            fresh, general = Postings(), Postings()
            fresh.file_many(entries, defer=defer)
            general._file_many(entries, defer)
            assert _state(fresh) == _state(general), (count, defer)
            found = fresh.targets["service:a"]
            if count == 1:
                assert found is entries[0]
            elif count <= MANY:
                assert found == tuple(entries)
            else:
                assert type(found) is TargetSlot
                assert found.windows == tuple(entries)
                assert ("service:a" in fresh._deferred) is defer


class _Watched(dict[str, object]):
    """A targets dict that records the type of every value put in it."""

    def __init__(self) -> None:
        super().__init__()
        self.put: set[type] = set()

    def __setitem__(self, key: str, value: object) -> None:
        self.put.add(type(value))
        super().__setitem__(key, value)


def test_readers_never_meet_a_value_they_do_not_know_while_it_files() -> None:
    """A bulk create into a live index with no target yet takes the fresh path while
    lock-free readers walk ``targets``: each value put there is an entry, a tuple or a slot
    (the engine's readers know no other), never a list of windows gathering beyond MANY."""
    entries = [Entry.once_on_targets(i, None, None, ("service:a",),  # type: ignore[arg-type]
                                     0, 10, None) for i in range(1, 3 * MANY)]
    postings = Postings()
    watched = _Watched()
    postings.targets = watched  # type: ignore[assignment]
    postings.file_many(entries, defer=False)
    assert watched.put == {Entry, tuple, TargetSlot}
    assert type(watched["service:a"]) is TargetSlot
