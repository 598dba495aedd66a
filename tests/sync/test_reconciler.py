"""The system-agnostic plan: desired vs owned objects, matched by tag key (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietly.sync.reconciler import (
    DesiredObject,
    LeaseLost,
    OwnedObject,
    Plan,
    Rejected,
    SyncError,
    Tag,
    apply_plan,
    plan,
)

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


# -- applying a plan with bounded parallelism ------------------------------------------------


class FakeAdapter:
    """Records what it is asked and how many calls run at once; ``refuse`` and ``fail``
    name windows whose create is refused (``Rejected``) or fails (``SyncError``)."""

    def __init__(self, *, together: int = 1, refuse: frozenset[int] = frozenset(),
                 fail: frozenset[int] = frozenset()) -> None:
        import threading

        self.refuse, self.fail = refuse, fail
        self.calls: list[str] = []
        self.running = self.most = 0
        self._lock = threading.Lock()
        # the first ``together`` calls wait for each other: proof that they ran at once
        self._barrier = threading.Barrier(together) if together > 1 else None
        self._waiting = together if together > 1 else 0

    def _enter(self, what: str) -> None:
        with self._lock:
            self.calls.append(what)
            self.running += 1
            self.most = max(self.most, self.running)
            wait = self._waiting > 0
            self._waiting -= 1
        if wait and self._barrier is not None:
            self._barrier.wait(timeout=30)

    def _leave(self) -> None:
        with self._lock:
            self.running -= 1

    def list_own(self) -> list[OwnedObject]:
        return []

    def create(self, want_: DesiredObject) -> str:
        self._enter(f"create {want_.tag.window_id}")
        try:
            if want_.tag.window_id in self.refuse:
                raise Rejected(f"no host {want_.tag.window_id}")
            if want_.tag.window_id in self.fail:
                raise SyncError("connection reset")
            return f"new{want_.tag.window_id}"
        finally:
            self._leave()

    def change_end(self, have_: OwnedObject, want_: DesiredObject) -> str:
        self._enter(f"change {have_.id}")
        self._leave()
        return f"changed-{have_.id}"

    def remove(self, have_: OwnedObject) -> None:
        self._enter(f"remove {have_.id}")
        self._leave()


def _work(count: int) -> Plan:
    return plan([want(w) for w in range(1, count + 1)], [])


# parallelism: (windows to create, most calls at once)
PARALLEL = {1: (5, 1), 2: (5, 2), 8: (20, 8), 8 + 1: (3, 3)}


@pytest.mark.parametrize("parallelism", sorted(PARALLEL))
def test_apply_runs_at_most_parallelism_at_once(parallelism: int) -> None:
    count, together = PARALLEL[parallelism]
    adapter = FakeAdapter(together=together)
    out = apply_plan(_work(count), adapter, known={}, parallelism=parallelism)
    assert (out.created, sorted(out.present), adapter.most) == (
        count, sorted(want(w).key for w in range(1, count + 1)), together)


def test_refused_objects_are_counted_and_the_others_go_on() -> None:
    adapter = FakeAdapter(together=4, refuse=frozenset({3, 7}))
    out = apply_plan(_work(10), adapter, known={}, parallelism=4)
    assert (out.created, sorted(d.tag.window_id for d, _ in out.rejected),
            sorted(reason for _, reason in out.rejected)) == (8, [3, 7],
                                                              ["no host 3", "no host 7"])


def test_an_error_stops_sending_and_lets_what_was_sent_finish() -> None:
    adapter = FakeAdapter(fail=frozenset({1}))
    with pytest.raises(SyncError, match="connection reset"):
        apply_plan(_work(50), adapter, known={}, parallelism=4)
    assert (len(adapter.calls) < 50, adapter.running) == (True, 0)


def test_a_lost_lease_stops_sending() -> None:
    sent: list[int] = []

    def keep_alive() -> None:
        sent.append(1)
        if len(sent) > 5:
            raise LeaseLost("sync 2")

    adapter = FakeAdapter()
    with pytest.raises(LeaseLost):
        apply_plan(_work(30), adapter, known={}, parallelism=3, keep_alive=keep_alive)
    assert (len(adapter.calls), adapter.running) == (5, 0)


def test_duplicates_are_removed_and_reported_as_repairs() -> None:
    todo = plan([want(1), want(2)], [have("a", 1), have("b", 1), have("c", 1), have("d", 2)])
    adapter = FakeAdapter()
    out = apply_plan(todo, adapter, known={}, parallelism=8)
    assert (sorted(adapter.calls), [(r.key, r.what) for r in out.repairs]) == (
        ["remove b", "remove c"],
        [(tag(1).key, "duplicate: 3 objects carried one tag (as an HA pair can make); "
                      "2 removed")])


@given(st.lists(objects, max_size=12), st.lists(objects, max_size=12), st.integers(1, 6))
def test_parallel_apply_leaves_exactly_the_desired_objects(
        wanted: list[tuple[int, int]], held: list[tuple[int, int]], parallelism: int) -> None:
    desired = {w: want(w, e) for w, e in wanted}
    actual = [have(f"id{i}", w, e) for i, (w, e) in enumerate(held)]
    out = apply_plan(plan(desired.values(), actual), FakeAdapter(), known={},
                     parallelism=parallelism)
    assert sorted((k, end) for k, (_, end) in out.present.items()) == sorted(
        (d.key, d.ends_at) for d in desired.values())
