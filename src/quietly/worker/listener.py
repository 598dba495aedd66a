"""Cross-process index refresh on PostgreSQL: ``LISTEN quietly_changes``.

Every committed window or group change carries a ``NOTIFY`` sent in its own transaction
(``services.outbox.notify_change``), so the notification exists exactly when the change does.
This thread, one per ``serve`` process, collects notifications for a quarter of a second,
loads each changed window or group from the database, and hands it to the process's
``DecisionService`` as the same event a local commit would publish — so decisions everywhere
follow a change within a second. Payloads: ``w:<workspace>:<window id>``,
``g:<workspace>:<group name>``.

After a lost connection it reconnects and reloads the whole index once, since notifications
sent while it was away are gone. SQLite has no cross-process channel: there, one ``serve``
process per database file is the supported shape.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import psycopg
import structlog
from sqlalchemy import select

from quietly.services.decisions import DecisionService
from quietly.services.groups import GroupChanged
from quietly.services.outbox import CHANGES_CHANNEL
from quietly.services.windows import WindowChanged
from quietly.storage.db import Database
from quietly.storage.mappers import window_record_from_row
from quietly.storage.tables import GroupRow, WindowRow

__all__ = ["ChangeListener"]

log = structlog.get_logger("quietly.listener")


class ChangeListener:
    """A daemon thread applying other processes' changes to ``decisions``."""

    def __init__(self, database: Database, decisions: DecisionService,
                 clock: Callable[[], datetime], *, batch_seconds: float = 0.25) -> None:
        self._db = database
        self._decisions = decisions
        self._clock = clock
        self._batch = batch_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="quietly-listener", daemon=True)
        self.listening = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop and wait for the thread (a no-op if it never started)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)

    def _conninfo(self) -> str:
        url = self._db.engine.url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo(), autocommit=True,
                                     connect_timeout=3) as conn:
                    conn.execute(f"LISTEN {CHANGES_CHANNEL}")
                    if not first:  # what was sent while we were away is lost: reload all
                        self._decisions.load(self._clock())
                    first = False
                    self.listening.set()
                    self._listen(conn)
            except Exception as exc:  # keep serving from the loaded index; retry shortly
                self.listening.clear()
                log.warning("change listener lost its connection; retrying", error=str(exc))
                self._stop.wait(1.0)

    def _listen(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        while not self._stop.is_set():
            pending = {n.payload for n in conn.notifies(timeout=self._batch)}
            if pending:
                self.apply(pending)

    def apply(self, payloads: set[str]) -> None:
        """Load what each payload names and publish it to the decision service."""
        windows: dict[int, int] = {}
        groups: set[tuple[int, str]] = set()
        for payload in payloads:
            kind, _, rest = payload.partition(":")
            workspace, _, name = rest.partition(":")
            if not workspace.isdigit():
                continue
            if kind == "w" and name.isdigit():
                windows[int(name)] = int(workspace)
            elif kind == "g":
                groups.add((int(workspace), name))
        events: list[object] = []
        with self._db.read() as db:
            rows = {row.id: row for row in db.scalars(
                select(WindowRow).where(WindowRow.id.in_(list(windows))))} if windows else {}
            for window_id, workspace_id in sorted(windows.items()):
                row = rows.get(window_id)
                record = (window_record_from_row(row)
                          if row is not None and row.archived_at is None else None)
                events.append(WindowChanged(workspace_id, window_id, record, "changed"))
            for workspace_id, name in sorted(groups):
                group = db.scalar(select(GroupRow).where(GroupRow.workspace_id == workspace_id,
                                                         GroupRow.name == name))
                targets = frozenset(group.targets) if group is not None else None
                events.append(GroupChanged(workspace_id, name, targets))
        for event in events:
            self._decisions.on_event(event)
