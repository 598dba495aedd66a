"""Decisions from the in-memory index, kept in step with the store.

One ``DecisionIndex`` per workspace, built from the store at start and updated from the
events that committed transactions publish (``WindowChanged``, ``GroupChanged``), so a change
is visible to this process's decisions right after its commit. Decisions never touch the
database; if it becomes unreachable they go on from what is loaded, marked ``stale``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from quietly.core.engine import DecisionIndex
from quietly.core.model import Alert, Decision, Verdict
from quietly.services.groups import GroupChanged, load_all_groups
from quietly.services.windows import WindowChanged, load_all_windows
from quietly.storage.db import Database

__all__ = ["DecisionService"]


class DecisionService:
    """Per-workspace decision indexes; one writer (under a lock), many lock-free readers."""

    def __init__(self, db: Database, now: datetime) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._indexes: dict[int, DecisionIndex] = {}
        self._now = now
        self.stale = False
        self.loaded = False

    def load(self, now: datetime) -> None:
        """(Re)build every index from the store."""
        with self._db.read() as session:
            records = load_all_windows(session)
            groups = load_all_groups(session)
        fresh: dict[int, DecisionIndex] = {}
        for workspace_id, members in groups.items():
            index = fresh.setdefault(workspace_id, DecisionIndex(now))
            for name, targets in members.items():
                index.set_group(name, targets)
        for record in records:
            fresh.setdefault(record.workspace_id, DecisionIndex(now)).upsert(record.to_window())
        with self._lock:
            self._indexes = fresh
            self._now = now
            self.loaded = True
            self.stale = False

    def subscribe(self) -> None:
        self._db.subscribe(self.on_event)

    def on_event(self, event: Any) -> None:
        with self._lock:
            if isinstance(event, WindowChanged):
                index = self._index_for(event.workspace_id)
                if event.record is None:
                    index.remove(event.window_id)
                else:
                    index.upsert(event.record.to_window())
            elif isinstance(event, GroupChanged):
                index = self._index_for(event.workspace_id)
                if event.targets is None:
                    index.remove_group(event.name)
                else:
                    index.set_group(event.name, event.targets)

    def _index_for(self, workspace_id: int) -> DecisionIndex:
        index = self._indexes.get(workspace_id)
        if index is None:
            index = self._indexes[workspace_id] = DecisionIndex(self._now)
        return index

    def advance(self, now: datetime) -> int:
        """Move every index's horizon to ``now`` (run about once a minute)."""
        with self._lock:
            self._now = now
            return sum(index.advance(now) for index in self._indexes.values())

    def decide(self, workspace_id: int, alert: Alert, at: datetime) -> Decision:
        index = self._indexes.get(workspace_id)
        if index is None:
            return Decision(Verdict.DELIVER)
        return index.decide(alert, at)

    def decide_many(self, workspace_id: int, alerts: Sequence[Alert],
                    at: datetime) -> list[Decision]:
        index = self._indexes.get(workspace_id)
        if index is None:
            return [Decision(Verdict.DELIVER) for _ in alerts]
        return index.decide_many(alerts, at)

    def stats(self) -> dict[int, dict[str, int]]:
        return {ws: index.stats() for ws, index in self._indexes.items()}

