"""Group commit: one writer thread runs concurrent writes in one transaction and one commit.

Request threads hand a unit of work (``work(session) -> result``) to ``GroupCommitter.run``
and wait. The writer takes the first waiting unit and every other one queued behind it (up
to ``max_group``), runs each in a SAVEPOINT of one transaction, commits once, and only then
wakes the request threads: a result is returned only after its commit returned (on SQLite in
WAL mode the commit is in the log file, which survives a killed process; on PostgreSQL the
server has flushed it), never before.

A unit that raises is rolled back to its savepoint and gets its own exception; the others of
its group go on, and the change hooks (``on_commit``/``publish``) it registered are dropped.
If the commit itself fails, nothing of the group was written: each unit is run again alone
in a transaction of its own, so one unit that makes the commit fail (a deferred constraint, a
serialization failure) fails alone. A unit whose request deadline (``write_deadline``) passed
before it ran is refused with ``Unavailable`` and not written.

One writer also means SQLite never makes a create wait for its file lock (``busy_timeout``),
and the decision index sees the group's changes in commit order.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog
from sqlalchemy.orm import Session

from quietly.core.errors import Unavailable
from quietly.storage.db import _DEADLINE, Database

__all__ = ["GroupCommitter"]

T = TypeVar("T")
log = structlog.get_logger(__name__)

_TOO_SLOW = ("the database was too slow: the change was not saved; retry (with the same "
             "Idempotency-Key)")


@dataclass(eq=False)
class _Unit(Generic[T]):
    work: Callable[[Session], T]
    deadline: float | None
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class GroupCommitter:
    """One writer thread per database; ``run(work)`` returns ``work``'s result once its
    group has committed (or raises its own error)."""

    def __init__(self, db: Database, max_group: int = 256) -> None:
        self._db = db
        self._max_group = max(1, max_group)
        self._queue: queue.SimpleQueue[_Unit[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.groups = 0  # commits made (for tests and metrics)
        self.units = 0  # units committed in them

    def run(self, work: Callable[[Session], T]) -> T:
        if threading.current_thread() is self._thread:
            raise RuntimeError("GroupCommitter.run called from its own writer thread")
        self._start()
        unit: _Unit[T] = _Unit(work, _DEADLINE.get())
        self._queue.put(unit)
        unit.done.wait()
        if unit.error is not None:
            raise unit.error
        result: T = unit.result
        return result

    def stop(self) -> None:
        """Finish the queued units, then end the writer thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="quietly-group-commit",
                                                daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group: list[_Unit[Any]] = [first]
            stop = False
            while len(group) < self._max_group:
                try:
                    unit = self._queue.get_nowait()
                except queue.Empty:
                    break
                if unit is None:
                    stop = True
                    break
                group.append(unit)
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[_Unit[Any]]) -> None:
        try:
            self._run_group(group)
        except BaseException as exc:  # the commit (or BEGIN) failed: nothing was written
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
                unit.done.set()

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
                mark = len(hooks)
                try:
                    with session.begin_nested():
                        unit.result = unit.work(session)
                        session.flush()
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
        for hook in after_commit:
            try:
                hook()
            except Exception:
                log.exception("a change hook failed after a group commit")
