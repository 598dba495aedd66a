"""Group commit (issue #19): concurrent writes share a commit; each gets its own result or
its own error, and nothing is answered before its commit."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from quietly.core.errors import Unavailable, ValidationError
from quietly.storage.db import Database, on_commit, write_deadline
from quietly.storage.groupcommit import GroupCommitter

# A table of its own (created once per database), so the tests see only their rows.
_TABLE = "gc_test_rows"


@pytest.fixture(scope="module")
def table(db: Database) -> str:
    with db.transaction() as session:
        session.execute(text(f"CREATE TABLE IF NOT EXISTS {_TABLE} "
                             "(tag VARCHAR(64) NOT NULL, n INTEGER NOT NULL)"))
    return _TABLE


def _insert(tag: str, n: int) -> Callable[[Session], int]:
    def work(session: Session) -> int:
        session.execute(text(f"INSERT INTO {_TABLE} (tag, n) VALUES (:t, :n)"),
                        {"t": tag, "n": n})
        return n
    return work


def _stored(db: Database, tag: str) -> list[int]:
    with db.read() as session:
        return sorted(session.scalars(text(f"SELECT n FROM {_TABLE} WHERE tag = :t"),
                                      {"t": tag}))


def _hold_the_lead(committer: GroupCommitter, tag: str, waiting: int,
                   extra: list[Callable[[Session], Any]]) -> list[Any]:
    """Run ``extra`` units from threads of their own while a first unit holds the lead,
    released once ``waiting`` units queue behind it: they commit as one group."""
    release = threading.Event()

    def first(session: Session) -> int:
        release.wait(10)
        return _insert(tag, -1)(session)

    outcomes: list[Any] = [None] * (len(extra) + 1)

    def call(i: int, work: Callable[[Session], Any]) -> None:
        try:
            outcomes[i] = committer.run(work)
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=call, args=(0, first))]
    threads[0].start()
    while not committer._leading:
        time.sleep(0.005)
    threads += [threading.Thread(target=call, args=(i + 1, w)) for i, w in enumerate(extra)]
    for thread in threads[1:]:
        thread.start()
    while len(committer._pending) < waiting:
        time.sleep(0.005)
    release.set()
    for thread in threads:
        thread.join(20)
    return outcomes


def test_waiting_writes_commit_as_one_group(db: Database, table: str) -> None:
    committer = GroupCommitter(db)
    tag = uuid.uuid4().hex
    outcomes = _hold_the_lead(committer, tag, 7, [_insert(tag, n) for n in range(7)])
    assert (outcomes, _stored(db, tag), committer.groups, committer.units) == (
        [-1, 0, 1, 2, 3, 4, 5, 6], [-1, 0, 1, 2, 3, 4, 5, 6], 2, 8)


def test_a_hook_failing_after_a_plain_commit_is_not_taken_for_a_failed_write(
        db: Database, table: str) -> None:
    # Without group commit too: the write is committed, so the caller must not hear of a
    # failure (a create's shortcut would replay it through the route and write it twice).
    tag = uuid.uuid4().hex
    hooks: list[str] = []

    def broken() -> None:
        raise RuntimeError("the index refused the change")

    with db.transaction() as session:
        _insert(tag, 7)(session)
        on_commit(session, broken)
        on_commit(session, lambda: hooks.append("after"))
    assert (_stored(db, tag), hooks) == ([7], ["after"])


def test_a_failing_write_fails_alone_and_its_hooks_never_run(db: Database,
                                                              table: str) -> None:
    committer = GroupCommitter(db)
    tag = uuid.uuid4().hex
    hooks: list[str] = []

    def bad(session: Session) -> int:
        _insert(tag, 100)(session)
        on_commit(session, lambda: hooks.append("bad"))
        raise ValidationError("refused", field="name")

    def good(n: int) -> Callable[[Session], int]:
        def work(session: Session) -> int:
            on_commit(session, lambda: hooks.append(f"good{n}"))
            return _insert(tag, n)(session)
        return work

    outcomes = _hold_the_lead(committer, tag, 3, [good(1), bad, good(2)])
    assert ([type(o).__name__ for o in outcomes], _stored(db, tag), sorted(hooks)) == (
        ["int", "int", "ValidationError", "int"], [-1, 1, 2], ["good1", "good2"])


def _breaks_the_commit(db: Database, tag: str) -> Callable[[Session], int]:
    """A unit whose statements succeed but whose commit fails (a deferred check)."""
    def work(session: Session) -> int:
        if db.is_sqlite:
            session.execute(text("PRAGMA defer_foreign_keys = ON"))
            session.execute(text("INSERT INTO window_targets (window_id, target, workspace_id) "
                                 "VALUES (-42, 'service:none', -42)"))
        else:
            session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS gc_deferred_{tag} "
                                 "(n INTEGER UNIQUE DEFERRABLE INITIALLY DEFERRED)"))
            session.execute(text(f"INSERT INTO gc_deferred_{tag} VALUES (1), (1)"))
        return _insert(tag, 99)(session)
    return work


def test_a_write_that_breaks_the_commit_fails_alone(db: Database, table: str) -> None:
    committer = GroupCommitter(db)
    tag = uuid.uuid4().hex
    outcomes = _hold_the_lead(committer, tag, 3,
                              [_insert(tag, 1), _breaks_the_commit(db, tag), _insert(tag, 2)])
    failed = outcomes[2]
    assert (outcomes[:2] + outcomes[3:], _stored(db, tag), isinstance(failed, Exception)) == (
        [-1, 1, 2], [-1, 1, 2], True), failed


def test_a_result_is_returned_only_once_committed(db: Database, table: str) -> None:
    """What ``run`` returns is visible to a fresh connection at that moment."""
    committer = GroupCommitter(db)
    tag = uuid.uuid4().hex
    seen: list[tuple[int, list[int]]] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        got = committer.run(_insert(tag, n))
        with lock:
            seen.append((got, _stored(db, tag)))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert [got in stored for got, stored in seen] == [True] * 12


def test_a_write_past_its_deadline_is_refused_and_not_written(db: Database,
                                                               table: str) -> None:
    committer = GroupCommitter(db)
    tag = uuid.uuid4().hex
    with write_deadline(-1), pytest.raises(Unavailable):
        committer.run(_insert(tag, 5))
    assert (committer.run(_insert(tag, 6)), _stored(db, tag)) == (6, [6])


def test_a_write_whose_deadline_passes_while_it_runs_is_rolled_back(db: Database,
                                                                     table: str) -> None:
    """Its client was answered 503 meanwhile (it waited for a lock, say): it must not land."""
    committer = GroupCommitter(db)
    tag = uuid.uuid4().hex

    def slow(session: Session) -> int:
        _insert(tag, 7)(session)
        time.sleep(0.3)
        return 7

    with write_deadline(0.1), pytest.raises(Unavailable):
        committer.run(slow)
    assert _stored(db, tag) == []
