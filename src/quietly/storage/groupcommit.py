"""Group commit: concurrent writes share one transaction and one commit.

Request threads hand a unit of work (``work(session) -> result``) to ``GroupCommitter.run``.
One of them at a time is the *leader*: it takes every unit waiting (up to ``max_group``, its
own among them), runs each in a SAVEPOINT of one transaction, commits once, and only then
wakes the threads whose units were in the group. A result is returned only after its commit
returned (on SQLite in WAL mode the commit is in the log file, which survives a killed
process; on PostgreSQL the server has flushed it), never before. A leader whose own unit is
done hands the lead to the first thread still waiting, so nobody waits behind others for
long; a lone writer leads itself and pays no thread switch at all.

A unit that raises is rolled back to its savepoint and gets its own exception; the others of
its group go on, and the change hooks (``on_commit``/``publish``) it registered are dropped.
If the commit itself fails, nothing of the group was written: each unit is run again alone
in a transaction of its own, so one unit that makes the commit fail (a deferred constraint, a
serialization failure) fails alone. A unit whose request deadline (``write_deadline``) passed
before it ran, or while it ran, is refused with ``Unavailable`` and not written.

One writer at a time also means SQLite never makes a create wait for its file lock
(``busy_timeout``), and the decision index sees the group's changes in commit order.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from quietly.core.errors import Unavailable
from quietly.logs import get_logger
from quietly.storage.db import _DEADLINE, Database
from quietly.storage.loopwriter import LoopWriter

__all__ = ["GROUP_COMMIT", "GroupCommitter"]

# The app state's extra holding the process's committer (``api.app``), when group commit is on.
GROUP_COMMIT = "group_commit"

T = TypeVar("T")
log = get_logger(__name__)

_TOO_SLOW = ("the database was too slow: the change was not saved; retry (with the same "
             "Idempotency-Key)")


@dataclass(eq=False)
class _Unit(Generic[T]):
    work: Callable[[Session], T]
    deadline: float | None
    wake: threading.Event = field(default_factory=threading.Event)
    done: bool = False  # its group committed (or it failed): result or error is final
    lead: bool = False  # it was asked to lead the next group
    result: Any = None
    error: BaseException | None = None


class GroupCommitter:
    """``run(work)`` returns ``work``'s result once its group has committed (or raises the
    unit's own error)."""

    def __init__(self, db: Database, max_group: int = 256,
                 on_commit: Callable[[int], None] | None = None) -> None:
        self._db = db
        self._on_commit = on_commit  # called with the number of writes of each commit
        self._max_group = max(1, max_group)
        self._lock = threading.Lock()
        self._pending: list[_Unit[Any]] = []
        self._leading = False
        self.groups = 0  # commits made (for tests and metrics)
        self.units = 0  # units committed in them
        self._loop_writer: LoopWriter | None = None
        self._loop_writer_tried = False

    def loop_writer(self) -> LoopWriter | None:
        """The event loop's writer of plain creates (``storage.loopwriter``), made on first
        use; None when the database is not a SQLite file."""
        if not self._loop_writer_tried:
            self._loop_writer_tried = True
            if LoopWriter.usable(self._db):
                self._loop_writer = LoopWriter(self._db, max_group=self._max_group,
                                               on_commit=self._on_commit)
        return self._loop_writer

    def run(self, work: Callable[[Session], T]) -> T:
        unit: _Unit[T] = _Unit(work, _DEADLINE.get())
        with self._lock:
            self._pending.append(unit)
            if not self._leading:
                self._leading = unit.lead = True
        if not unit.lead:
            unit.wake.wait()
        if not unit.done:
            self._lead(unit)
        if unit.error is not None:
            raise unit.error
        result: T = unit.result
        return result

    def stop(self) -> None:
        """Close the loop writer's connection, if one was made (no thread of its own)."""
        self._loop_writer_tried = True
        if self._loop_writer is not None:
            self._loop_writer.close()

    def _lead(self, mine: _Unit[Any]) -> None:
        while True:
            with self._lock:
                group = self._pending[:self._max_group]
                del self._pending[:self._max_group]
            # In an empty context: the leader's own write deadline must not decide the
            # group's commit (each unit's deadline is checked on its own).
            contextvars.Context().run(self._commit, group)
            with self._lock:
                if not mine.done:
                    continue  # more than max_group were waiting before it: lead on
                if self._pending:
                    successor = self._pending[0]
                    successor.lead = True
                    successor.wake.set()
                else:
                    self._leading = False
                return

    def _commit(self, group: list[_Unit[Any]]) -> None:
        try:
            self._run_group(group)
        except BaseException as exc:  # the unit (alone) or the commit failed: nothing written
            if len(group) == 1:
                group[0].error, group[0].result = exc, None
            else:
                for unit in group:
                    unit.error = unit.result = None
                    try:
                        self._run_group([unit])
                    except BaseException as alone:
                        unit.error, unit.result = alone, None
        finally:
            for unit in group:
                unit.done = True
                unit.wake.set()

    def _run_group(self, group: list[_Unit[Any]]) -> None:
        ok = 0
        with self._db.transaction() as session:
            hooks: list[Callable[[], None]] = session.info["after_commit"]
            for unit in group:
                if unit.error is not None:
                    continue
                if unit.deadline is not None and time.monotonic() > unit.deadline:
                    unit.error = Unavailable(_TOO_SLOW)
                    continue
                if len(group) == 1:  # alone: its error rolls back the whole transaction
                    unit.result = unit.work(session)
                    _check_deadline(unit)
                    ok += 1
                    continue
                mark = len(hooks)
                try:
                    with session.begin_nested():
                        unit.result = unit.work(session)
                        session.flush()
                        _check_deadline(unit)
                    ok += 1
                except Exception as exc:
                    del hooks[mark:]
                    unit.error, unit.result = exc, None
            # Run the change hooks here, after the commit, so that one failing (an index
            # update) cannot be taken for a failed commit and the group written twice.
            after_commit = list(hooks)
            hooks.clear()
        self.groups += 1
        self.units += ok
        if self._on_commit is not None:
            self._on_commit(ok)
        for hook in after_commit:
            try:
                hook()
            except Exception:
                log.exception("a change hook failed after a group commit")


def _check_deadline(unit: _Unit[Any]) -> None:
    """Refuse (roll back) a unit whose request was answered 503 while it ran (it waited for a
    lock, say): its client was told the change was not saved."""
    if unit.deadline is not None and time.monotonic() > unit.deadline:
        raise Unavailable(_TOO_SLOW)
