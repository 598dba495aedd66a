"""Keep the stored ``state`` of live windows right between writes, cheaply.

Listing and filtering read the stored state; the worker moves it at each transition, and
every serving process re-checks it on its ticker so that listing stays right without a
worker. Re-deriving every live window's state on each tick cost seconds of CPU with tens of
thousands of windows (the domain window built from its row, its schedule expanded) and ran
inside a write transaction. A window's state can only change at the instant
``lifecycle.state_changes_at`` names, or when the window itself is written; so each tick
reads three columns of the live windows and rebuilds only those whose row changed or whose
next change is due, without holding a transaction while it evaluates them. A window whose
row says it is scheduled, not cancelled, with its first occurrence (``first_start``) still
to come needs no evaluation at all: it stays scheduled until exactly then (so the first tick
after a start evaluates only the windows that have started).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from quietly.core import lifecycle
from quietly.core.model import State
from quietly.storage.db import Database
from quietly.storage.mappers import window_record_from_row
from quietly.storage.tables import WindowRow

_SCHEDULED = State.SCHEDULED.value
_LIVE = (_SCHEDULED, State.ACTIVE.value)
_CHUNK = 500  # ids per ``IN (…)``: well under every driver's parameter limit


@dataclass(frozen=True, slots=True)
class _Seen:
    updated_at: datetime
    state: str
    changes_at: datetime | None  # None: this state lasts until the window is written


class StateRefresher:
    """One per process; ``refresh`` may be called from any thread, one call at a time."""

    def __init__(self) -> None:
        self._seen: dict[int, _Seen] = {}
        self._lock = threading.Lock()
        #: the windows whose schedule the last ``refresh`` evaluated
        self.evaluated: frozenset[int] = frozenset()

    def refresh(self, database: Database, now: datetime) -> int:
        """Store the state at ``now`` of every live window whose state may have changed;
        return how many changed.

        No transaction is held while schedules are evaluated (on SQLite every transaction
        holds the write lock): the live windows' ids are read in one short transaction, the
        due ones in chunks, and the changed states written in one more, each only where the
        row is still as it was read (a window written meanwhile is evaluated next time).
        """
        with self._lock:
            return self._refresh(database, now)

    def _refresh(self, database: Database, now: datetime) -> int:
        with database.read() as db:
            live = db.execute(
                select(WindowRow.id, WindowRow.updated_at, WindowRow.state,
                       WindowRow.first_start, WindowRow.cancelled_at)
                .where(WindowRow.archived_at.is_(None), WindowRow.state.in_(_LIVE))
            ).all()
        due: list[int] = []
        for window_id, updated_at, state, first_start, cancelled_at in live:
            seen = self._seen.get(window_id)
            if not (seen is None or seen.updated_at != updated_at or seen.state != state
                    or (seen.changes_at is not None and seen.changes_at <= now)):
                continue
            if (state == _SCHEDULED and cancelled_at is None and first_start is not None
                    and first_start > now):  # yet to start: scheduled until its first start
                self._seen[window_id] = _Seen(updated_at, state, first_start)
            else:
                due.append(window_id)
        if len(self._seen) > len(live):  # forget windows that ended, were deleted, …
            alive = {row[0] for row in live}
            self._seen = {k: v for k, v in self._seen.items() if k in alive}
        changes: list[tuple[int, datetime, str, str]] = []  # id, updated_at, from, to
        for start in range(0, len(due), _CHUNK):
            with database.read() as db:
                rows = [(row.id, row.updated_at, row.state, window_record_from_row(row))
                        for row in db.scalars(select(WindowRow).where(
                            WindowRow.id.in_(due[start:start + _CHUNK])))]
            for window_id, updated_at, stored, record in rows:
                window = record.to_window()
                state = lifecycle.state_at(window, now).value
                if state != stored:
                    changes.append((window_id, updated_at, stored, state))
                self._seen[window_id] = _Seen(updated_at, state,
                                              lifecycle.state_changes_at(window, now))
        self.evaluated = frozenset(due)
        if not changes:
            return 0
        changed = 0
        with database.transaction() as db:
            for window_id, updated_at, stored, state in changes:
                written = db.execute(
                    update(WindowRow)
                    .where(WindowRow.id == window_id, WindowRow.updated_at == updated_at,
                           WindowRow.state == stored)
                    .values(state=state)
                    .execution_options(synchronize_session=False))
                if getattr(written, "rowcount", 0) == 1:
                    changed += 1
                else:  # written by someone else meanwhile: look again next time
                    self._seen.pop(window_id, None)
        return changed
