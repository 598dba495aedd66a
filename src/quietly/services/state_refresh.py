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
to come needs no evaluation at all: it stays scheduled until exactly then. Nor does a
running one-time window whose row says active, not cancelled: its one occurrence is
``[first_start, last_end)``, so it stays active until exactly ``last_end``. The first tick
after a start so evaluates only the recurring windows that have started (and the rows that
are behind).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, type_coerce, update
from sqlalchemy.types import NullType

from quietly.core import lifecycle
from quietly.core.model import State
from quietly.storage.db import Database
from quietly.storage.mappers import window_record_from_row
from quietly.storage.tables import WindowRow
from quietly.storage.types import UTCDateTime

_SCHEDULED = State.SCHEDULED.value
_ACTIVE = State.ACTIVE.value
_LIVE = (_SCHEDULED, _ACTIVE)
_CHUNK = 500  # ids per ``IN (…)``: well under every driver's parameter limit
_INSTANT = UTCDateTime()


def _raw(column: Any) -> Any:
    """``column`` as the driver returns it, without ``UTCDateTime``'s decoding."""
    return type_coerce(column, NullType()).label(f"raw_{column.key}")


@dataclass(frozen=True, slots=True)
class _Seen:
    version: object  # ``updated_at`` as the driver returns it
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

    def _not_one_time(self, database: Database, running: dict[int, tuple[object, datetime]]
                      ) -> list[int]:
        """Note the one-time windows of ``running`` as active until their end (their row is
        as read); return the others, to be evaluated."""
        ids = list(running)
        once: set[int] = set()
        for start in range(0, len(ids), _CHUNK):
            with database.read() as db:
                once.update(db.scalars(select(WindowRow.id).where(
                    WindowRow.id.in_(ids[start:start + _CHUNK]),
                    WindowRow.schedule["kind"].as_string() == "once")))
        for window_id in once:
            version, last_end = running[window_id]
            self._seen[window_id] = _Seen(version, _ACTIVE, last_end)
        return [window_id for window_id in ids if window_id not in once]

    def _refresh(self, database: Database, now: datetime) -> int:
        # Instants are read as the driver returns them and decoded only for the windows
        # looked at: decoding four instants of every live row was most of a quiet tick.
        with database.read() as db:
            live = db.connection().execute(  # Core, not the ORM's row loading
                select(WindowRow.id, _raw(WindowRow.updated_at), WindowRow.state,
                       _raw(WindowRow.first_start), _raw(WindowRow.last_end),
                       _raw(WindowRow.cancelled_at))
                .where(WindowRow.archived_at.is_(None), WindowRow.state.in_(_LIVE))
            ).all()
        dialect = database.engine.dialect

        def instant(value: object) -> datetime | None:
            return _INSTANT.process_result_value(value, dialect)

        due: list[int] = []
        running: dict[int, tuple[object, datetime]] = {}  # may be one-time and running
        for window_id, version, state, first, last, cancelled in live:
            seen = self._seen.get(window_id)
            if not (seen is None or seen.version != version or seen.state != state
                    or (seen.changes_at is not None and seen.changes_at <= now)):
                continue
            first_start, last_end = instant(first), instant(last)
            if cancelled is not None or first_start is None:
                due.append(window_id)
            elif state == _SCHEDULED and first_start > now:
                # yet to start: scheduled until its first start
                self._seen[window_id] = _Seen(version, state, first_start)
            elif state == _ACTIVE and last_end is not None and first_start <= now < last_end:
                running[window_id] = (version, last_end)
            else:
                due.append(window_id)
        due.extend(self._not_one_time(database, running))
        if len(self._seen) > len(live):  # forget windows that ended, were deleted, …
            alive = {row[0] for row in live}
            self._seen = {k: v for k, v in self._seen.items() if k in alive}
        changes: list[tuple[int, datetime, str, str]] = []  # id, updated_at, from, to
        for start in range(0, len(due), _CHUNK):
            with database.read() as db:
                rows = [(row.id, row.updated_at, version, row.state, window_record_from_row(row))
                        for row, version in db.execute(
                            select(WindowRow, _raw(WindowRow.updated_at)).where(
                                WindowRow.id.in_(due[start:start + _CHUNK])))]
            for window_id, updated_at, version, stored, record in rows:
                window = record.to_window()
                state = lifecycle.state_at(window, now).value
                if state != stored:
                    changes.append((window_id, updated_at, stored, state))
                self._seen[window_id] = _Seen(version, state,
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
