"""Cross-process index refresh on PostgreSQL: ``LISTEN quietly_changes``.

Every committed window or group change carries a ``NOTIFY`` sent in its own transaction
(``services.outbox.notify_change``), so the notification exists exactly when the change does.
This thread, one per ``serve`` process, collects notifications for a quarter of a second,
loads each changed window or group from the database, and hands it to the process's
``DecisionService`` as the same event a local commit would publish — so decisions everywhere
follow a change within a second. Payloads: ``w:<workspace>:<window id>`` (or, for a bulk
create, ``w:<workspace>:<first>-<last>,…``: one notification for the batch),
``g:<workspace>:<group name>``.

No change may fall between the index's snapshot and the subscription: on every connection,
the first and each one after a lost connection, the thread runs ``LISTEN`` *first* and only
then (re)loads the whole index. A change committed before the ``LISTEN`` is in the load's
snapshot; one committed after it is notified (and applying a copy the load already had is
harmless: the index keeps the newer version). ``synced`` is set once both are done, and
``/readyz`` waits for it.

A safety net makes any other gap heal by itself: every ``check_seconds`` the thread asks the
store which windows changed since its last check (by ``updated_at``, the window's version,
looking back a margin for transactions that committed late) and compares every group's
members with the index. Whatever the index does not hold is loaded as if notified, counted in
``quietly_index_catchups_total`` and logged as a warning, since it means a missed notification.

On SQLite, ``worker.feed`` does the same from the ``changes`` table. Both follow changes with
``IndexFollower``: loading what a payload names, and the safety net.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Text, cast, select
from sqlalchemy.orm import Session

from quietly.logs import get_logger
from quietly.metrics import INDEX_CATCHUPS
from quietly.services.decisions import DecisionService
from quietly.services.groups import GroupChanged, load_all_groups
from quietly.services.outbox import CHANGES_CHANNEL, parse_window_ids
from quietly.services.windows import WindowChanged, WindowsChanged
from quietly.storage.db import Database
from quietly.storage.early_read import loads
from quietly.storage.mappers import window_record_from_columns
from quietly.storage.tables import GroupRow, WindowRow

if TYPE_CHECKING:  # imported when the listener runs: a SQLite process never needs it
    import psycopg

__all__ = ["ChangeListener", "IndexFollower"]

log = get_logger("quietly.listener")

# How far before its previous check the safety net looks: a window's ``updated_at`` is taken
# when its request starts, so a transaction that committed late carries an earlier version.
# Writes answer 503 long before this (statement and lock timeouts).
CHECK_MARGIN = timedelta(minutes=2)


def _window_columns(db: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The stored columns of the windows ``ids``, by id, read with Core (no ``WindowRow``
    built only to be read once) and JSON texts decoded by msgspec (``early_read.loads``;
    SQLAlchemy's JSON type decodes with ``json.loads``): together two thirds of what
    applying a batch of changes took."""
    table = WindowRow.__table__
    texts = {column.key for column in table.c if isinstance(column.type, JSON)}
    columns = [cast(column, Text).label(column.key) if column.key in texts else column
               for column in table.c]
    out: dict[int, dict[str, Any]] = {}
    for row in db.execute(select(*columns).where(table.c.id.in_(ids))).mappings():
        values = dict(row)
        for key in texts:
            text = values[key]
            values[key] = None if text is None else loads(text)
        out[values["id"]] = values
    return out


class IndexFollower:
    """What applies other processes' changes to ``decisions``: ``apply`` loads what payloads
    name, ``catch_up`` is the safety net. Subclasses run the thread (``_run``)."""

    thread_name = "quietly-follower"

    def __init__(self, database: Database, decisions: DecisionService,
                 clock: Callable[[], datetime], *, check_seconds: float = 5.0,
                 grace_seconds: float = 0.05) -> None:
        self._db = database
        self._grace = grace_seconds
        self._decisions = decisions
        self._clock = clock
        self._check = check_seconds
        self._checked_from: datetime | None = None  # start of the last load or check
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop and wait for the thread (a no-op if it never started)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)

    def catch_up(self, drain: Callable[[], object] | None = None) -> int:
        """Load every window and group the index holds an older version of than the store;
        returns how many there were (each a change this process was not told about).

        ``drain`` takes in the changes already on their way (notifications, feed rows); it
        runs between reading the store and comparing, so that those are not counted.
        """
        started = self._clock()
        since = (self._checked_from or started) - CHECK_MARGIN
        with self._db.read() as db:
            rows = db.execute(select(WindowRow.id, WindowRow.workspace_id, WindowRow.updated_at,
                                     WindowRow.archived_at)
                              .where(WindowRow.updated_at > since)).all()
            groups = load_all_groups(db)
        if drain is not None:
            drain()
        missed = self._behind(rows, groups)
        if missed and self._grace > 0:
            # A change made through this process reaches its index just after its commit, on
            # the thread that committed, and another's may be on its way: a moment for both,
            # so that neither is counted as missed.
            self._stop.wait(self._grace)
            if drain is not None:
                drain()
            missed = self._behind([r for r in rows if f"w:{r[1]}:{r[0]}" in missed],
                                  groups) & missed
        if missed:
            INDEX_CATCHUPS.inc(len(missed))
            log.warning("the decision index missed change notifications; caught up",
                        count=len(missed), changes=sorted(missed)[:20])
            self.apply(missed)
        self._checked_from = started
        return len(missed)

    def _behind(self, rows: Sequence[Any], groups: dict[int, dict[str, frozenset[str]]]
                ) -> set[str]:
        """The payloads of the windows (``rows``: id, workspace, version, archived) and
        groups the index holds an older version of."""
        behind = {f"w:{workspace}:{window}" for window, workspace, updated, archived in rows
                  if self._decisions.is_behind(workspace, window, updated,
                                               archived is not None)}
        return behind | {f"g:{workspace}:{name}"
                         for workspace, name in self._decisions.groups_behind(groups)}

    def apply(self, payloads: set[str]) -> None:
        """Load what each payload names and publish it to the decision service."""
        windows: dict[int, int] = {}
        groups: set[tuple[int, str]] = set()
        for payload in payloads:
            kind, _, rest = payload.partition(":")
            workspace, _, name = rest.partition(":")
            if not workspace.isdigit():
                continue
            if kind == "w":  # one id, or a batch's ids as ranges (outbox.changed_ids_payloads)
                windows.update(dict.fromkeys(parse_window_ids(name), int(workspace)))
            elif kind == "g":
                groups.add((int(workspace), name))
        events: list[object] = []
        with self._db.read() as db:
            rows = _window_columns(db, list(windows)) if windows else {}
            for window_id, workspace_id in sorted(windows.items()):
                row = rows.get(window_id)
                record = (window_record_from_columns(window_id, row)
                          if row is not None and row["archived_at"] is None else None)
                events.append(WindowChanged(workspace_id, window_id, record, "changed"))
            for workspace_id, name in sorted(groups):
                group = db.scalar(select(GroupRow).where(GroupRow.workspace_id == workspace_id,
                                                         GroupRow.name == name))
                targets = frozenset(group.targets) if group is not None else None
                events.append(GroupChanged(workspace_id, name, targets))
        changed = [e for e in events if isinstance(e, WindowChanged)]
        if len(changed) > 1:  # one write of the index for a batch's windows
            self._decisions.on_event(WindowsChanged(tuple(changed)))
            events = [e for e in events if not isinstance(e, WindowChanged)]
        for event in events:
            self._decisions.on_event(event)


class ChangeListener(IndexFollower):
    """A daemon thread applying other processes' changes to ``decisions`` (PostgreSQL)."""

    thread_name = "quietly-listener"

    def __init__(self, database: Database, decisions: DecisionService,
                 clock: Callable[[], datetime], *, batch_seconds: float = 0.25,
                 check_seconds: float = 5.0) -> None:
        super().__init__(database, decisions, clock, check_seconds=check_seconds)
        self._batch = batch_seconds
        self.listening = threading.Event()  # subscribed (LISTEN) on a live connection
        self.synced = threading.Event()  # subscribed, then loaded: nothing can be missed
        self.attempted = threading.Event()  # the first connection succeeded or failed

    def _conninfo(self) -> str:
        url = self._db.engine.url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo(), autocommit=True,
                                     connect_timeout=3) as conn:
                    conn.execute(f"LISTEN {CHANGES_CHANNEL}")
                    self.listening.set()
                    # Subscribed first, loaded second: every change is in the snapshot or
                    # notified after it (and what was sent while we were away is lost).
                    started = self._clock()
                    self._decisions.load(started)
                    self._checked_from = started
                    self.synced.set()
                    self.attempted.set()
                    self._listen(conn)
            except Exception as exc:  # keep serving from the loaded index; retry shortly
                self.listening.clear()
                self.synced.clear()
                self.attempted.set()
                log.warning("change listener lost its connection; retrying", error=str(exc))
                self._stop.wait(1.0)

    def _listen(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        import psycopg

        next_check = time.monotonic() + self._check
        while not self._stop.is_set():
            self._drain(conn, self._batch)
            if self._check > 0 and time.monotonic() >= next_check:
                try:
                    self.catch_up(lambda: self._drain(conn, 0.0))
                except psycopg.OperationalError:
                    raise  # the connection is gone: reconnect and reload
                except Exception as exc:  # the check is a safety net: never stop listening
                    log.warning("index check failed; retrying at the next one", error=str(exc))
                next_check = time.monotonic() + self._check

    def _drain(self, conn: psycopg.Connection[tuple[object, ...]], timeout: float) -> None:
        pending = {n.payload for n in conn.notifies(timeout=timeout)}
        if pending:
            self.apply(pending)
