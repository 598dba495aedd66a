"""The system-agnostic plan: desired vs owned objects, matched by tag key (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietly.sync.reconciler import DesiredObject, OwnedObject, Tag, plan

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def tag(window: int, digest: str = "0" * 16) -> Tag:
    return Tag(1, 2, window, T0, digest)


def want(window: int, end_h: int = 2) -> DesiredObject:
    return DesiredObject(tag(window), T0, T0 + timedelta(hours=end_h), None)


def have(ident: str, window: int, end_h: int = 2) -> OwnedObject:
    return OwnedObject(ident, tag(window), T0, T0 + timedelta(hours=end_h))


# name: (desired, actual, (create windows, change ids, remove ids, keep ids))
CASES = {
    "nothing": ([], [], ([], [], [], [])),
    "missing is created": ([want(1)], [], ([1], [], [], [])),
    "equal is kept": ([want(1)], [have("a", 1)], ([], [], [], ["a"])),
    "other end is changed": ([want(1, 3)], [have("a", 1)], ([], ["a"], [], [])),
    "unwanted is removed": ([], [have("a", 1)], ([], [], ["a"], [])),
    "duplicates: keep the one with the right end": (
        [want(1, 3)], [have("a", 1), have("b", 1, 3)], ([], [], ["a"], ["b"])),
    "duplicates both wrong: change one, remove the other": (
        [want(1, 3)], [have("b", 1), have("a", 1)], ([], ["a"], ["b"], [])),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan(case: str) -> None:
    desired, actual, expected = CASES[case]
    got = plan(desired, actual)
    assert ([d.tag.window_id for d in got.create], [h.id for h, _ in got.change],
            sorted(h.id for h in got.remove), [h.id for h in got.keep]) == expected


objects = st.tuples(st.integers(1, 6), st.integers(1, 3))


@given(st.lists(objects, max_size=8), st.lists(objects, max_size=8))
def test_applying_the_plan_makes_owned_equal_desired(wanted: list[tuple[int, int]],
                                                     held: list[tuple[int, int]]) -> None:
    desired = {w: want(w, e) for w, e in wanted}  # one end per window
    actual = [have(f"id{i}", w, e) for i, (w, e) in enumerate(held)]
    todo = plan(desired.values(), actual)
    removed = {h.id for h in todo.remove} | {h.id for h, _ in todo.change}
    after = [(h.key, h.ends_at) for h in actual if h.id not in removed]
    after += [(d.key, d.ends_at) for d in todo.create] + [(d.key, d.ends_at)
                                                          for _, d in todo.change]
    assert sorted(after) == sorted((d.key, d.ends_at) for d in desired.values())
