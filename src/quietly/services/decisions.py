"""Decisions from the in-memory index, kept in step with the store.

One ``DecisionIndex`` per workspace, built from the store at start and updated from the
events that committed transactions publish (``WindowChanged``, ``GroupChanged``), so a change
is visible to this process's decisions right after its commit. Decisions never touch the
database; if it becomes unreachable they go on from what is loaded, marked ``stale``
(``mark_stale``, driven by ``services.storehealth``), and a reload on recovery catches up
with what other processes changed meanwhile.

Concurrency: writers (events, reloads, the horizon ticker) take a lock; readers never do.
A reload builds the new indexes outside the lock and replays the events that arrived while
it read the store, so no committed change is lost to a reload racing a write.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from quietly.core.engine import DecisionIndex
from quietly.core.entries import Entry
from quietly.core.model import Alert, AlertLike, Decision, Verdict, Window
from quietly.logs import get_logger
from quietly.metrics import INDEX_PENDING, INDEX_STALE, INDEX_WINDOWS
from quietly.services.groups import GroupChanged, load_all_groups
from quietly.services.index_load import entries_from_early, read_entries
from quietly.services.windows import WindowChanged, WindowsChanged
from quietly.storage.db import Database
from quietly.storage.early_read import EarlyRead

__all__ = ["DecisionService"]

_DELIVER = Decision(Verdict.DELIVER)
EXPAND_CHUNK = 256  # recurring windows expanded per hold of the writers' lock

log = get_logger("quietly")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector off while a load builds its objects: it would walk
    the growing index again and again (a third of a 50,000-window load). The objects built
    are long-lived and acyclic; collection resumes right after (process-wide, for well under
    a second). What the load built is then moved out of the collector's generations
    (``gc.freeze``) before it runs again: else its next collections would walk all of it
    once per generation (a tenth of a second of a 50,000-window start each; issue 19).
    Frozen objects are still freed by reference counting when the index lets them go."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


class DecisionService:
    """Per-workspace decision indexes; one writer (under a lock), many lock-free readers."""

    def __init__(self, db: Database, now: datetime, *, expand_at_once: bool = True) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._indexes: dict[int, DecisionIndex] = {}
        self._now = now
        self._pending: list[Any] | None = None  # events seen while a reload reads the store
        # Deleted windows never come back (deletion archives for good), so a copy of one that
        # arrives after its deletion — another process's notification read just before the
        # delete committed — is stale and ignored. Ids only: a few bytes per deleted window.
        self._gone: set[tuple[int, int]] = set()
        self._loading = 0  # reloads in progress
        self._expanding = False  # an expansion thread runs (set and cleared under the lock)
        self.stale = False
        self.loaded = False
        self.early_used = False  # whether the last load took an early read's rows
        # Set once every recurring window of the last load has its intervals (until then the
        # rules answer for those that have none: exact, slower).
        self.expanded = threading.Event()
        # Expansion waits for this (``allow_expansion``): the app lets it start once it has
        # started up, so that it does not compete with the start-up for the interpreter.
        self._may_expand = threading.Event()
        if expand_at_once:
            self._may_expand.set()

    def load(self, now: datetime, early: EarlyRead | None = None) -> None:
        """(Re)build every index from the store; raises the store's error when unreachable.

        Two reloads may overlap (the change listener and the store-health probe both reload
        after an outage): each replays the events published since *it* started reading.
        ``early``: the rows a child process read while the server started
        (``storage.early_read``), used instead of reading the store if nothing has been
        committed since (``early_used`` says whether they were).
        """
        with self._lock:
            if self._pending is None:
                self._pending = []
            self._loading += 1
            start = len(self._pending)
        try:
            fresh = self._read_store(now) if early is None else self._read_early(now, early)
        except BaseException:
            with self._lock:
                self._done_loading()
            raise
        with self._lock:
            for event in (self._pending or [])[start:]:
                self._apply(fresh, event)
            self._done_loading()
            self._indexes = fresh
            self._now = now
            self.loaded = True
            self.expanded.clear()
        INDEX_WINDOWS.set(self.window_count())
        INDEX_PENDING.set(self.pending())
        self._start_expanding()

    def _done_loading(self) -> None:
        self._loading -= 1
        if self._loading == 0:
            self._pending = None

    def _read_store(self, now: datetime) -> dict[int, DecisionIndex]:
        self.early_used = False
        with _collector_paused():
            with self._db.read() as session:
                entries = read_entries(session)
                groups = load_all_groups(session)
            return self._filed(now, entries, groups)

    def _read_early(self, now: datetime, early: EarlyRead) -> dict[int, DecisionIndex]:
        """``_read_store`` from an early read's rows, or from the store when it has none."""
        with _collector_paused():
            taken = early.take()
            if taken is None:
                return self._read_store(now)
            self.early_used = True
            windows, group_rows = taken
            groups: dict[int, dict[str, frozenset[str]]] = {}
            for workspace_id, name, members in group_rows:
                groups.setdefault(workspace_id, {})[name] = members
            return self._filed(now, entries_from_early(windows), groups)

    @staticmethod
    def _filed(now: datetime, entries: dict[int, list[Entry]],
               groups: dict[int, dict[str, frozenset[str]]]) -> dict[int, DecisionIndex]:
        fresh: dict[int, DecisionIndex] = {}
        for workspace_id, members in groups.items():
            index = fresh.setdefault(workspace_id, DecisionIndex(now))
            for name, targets in members.items():
                index.set_group(name, targets)
        for workspace_id, batch in entries.items():
            # One write per workspace; recurring windows pending until ``_expand`` runs.
            fresh.setdefault(workspace_id, DecisionIndex(now)).load(batch)
        return fresh

    def _start_expanding(self) -> None:
        """Expand the recurring windows a load left pending, in a background thread."""
        with self._lock:
            if self._expanding:  # it reads the indexes afresh on every chunk
                return
            self._expanding = True
        threading.Thread(target=self._expand, name="quietly-expand", daemon=True).start()

    def allow_expansion(self) -> None:
        """Let the background expansion run (see ``expand_at_once``)."""
        self._may_expand.set()

    def _expand(self) -> None:
        """Expand pending windows a chunk at a time, letting events in between chunks."""
        self._may_expand.wait()
        while True:
            with self._lock:
                remaining = 0
                for workspace_id, index in list(self._indexes.items()):
                    try:
                        remaining += index.expand(EXPAND_CHUNK)
                    except Exception as exc:  # its entry stays answered from the rules
                        log.exception("expanding a window's schedule failed",
                                      workspace=workspace_id, error=str(exc))
                        remaining += index.pending()
                INDEX_PENDING.set(remaining)
                if not remaining:
                    self._expanding = False  # under the lock: a later load starts another
                    # What expansion built lives as long as the index, like what the load
                    # built (frozen by the app at start-up): keep full collections off it.
                    gc.freeze()
                    self.expanded.set()
                    return
            time.sleep(0)  # hand the interpreter to request threads between chunks

    def pending(self) -> int:
        """Recurring windows not expanded yet (decided from their rules meanwhile)."""
        return sum(index.pending() for index in list(self._indexes.values()))

    def mark_stale(self, stale: bool) -> None:
        """Say whether decisions come from an index the store can no longer refresh."""
        self.stale = stale
        INDEX_STALE.set(1 if stale else 0)

    def subscribe(self) -> None:
        self._db.subscribe(self.on_event)

    def on_event(self, event: Any) -> None:
        with self._lock:
            self._apply(self._indexes, event)
            if self._pending is not None:
                self._pending.append(event)

    def _apply(self, indexes: dict[int, DecisionIndex], event: Any) -> None:
        if isinstance(event, WindowChanged):
            index = self._index_in(indexes, event.workspace_id)
            key = (event.workspace_id, event.window_id)
            if event.record is None or event.record.archived_at is not None:
                self._gone.add(key)
                index.remove(event.window_id)
            elif key not in self._gone:
                if event.window is not None:
                    index.upsert(event.window, checked=event.checked)
                else:
                    index.upsert(event.record.to_window())
        elif isinstance(event, WindowsChanged):
            self._apply_many(indexes, event.changes, checked=event.checked)
        elif isinstance(event, GroupChanged):
            index = self._index_in(indexes, event.workspace_id)
            if event.targets is None:
                index.remove_group(event.name)
            else:
                index.set_group(event.name, event.targets)

    def _apply_many(self, indexes: dict[int, DecisionIndex],
                    changes: Sequence[WindowChanged], *, checked: bool = False) -> None:
        """Many window changes (a bulk create, a batch of notifications), as ``_apply`` one
        after the other: each run of live windows of one workspace is filed in one write
        (``upsert_many``), removals in between keep their place."""
        run: list[Window] = []
        run_workspace: int | None = None

        def file_run() -> None:
            if run and run_workspace is not None:
                self._index_in(indexes, run_workspace).upsert_many(run, checked=checked)
            run.clear()

        for change in changes:
            record = change.record
            if record is None or record.archived_at is not None:
                file_run()
                self._apply(indexes, change)
                continue
            if (change.workspace_id, change.window_id) in self._gone:
                continue
            if change.workspace_id != run_workspace:
                file_run()
                run_workspace = change.workspace_id
            run.append(change.window or record.to_window())
        file_run()

    def _index_in(self, indexes: dict[int, DecisionIndex], workspace_id: int) -> DecisionIndex:
        index = indexes.get(workspace_id)
        if index is None:
            index = indexes[workspace_id] = DecisionIndex(self._now)
        return index

    def advance(self, now: datetime) -> int:
        """Move every index's horizon to ``now`` (run about once a minute)."""
        with self._lock:
            self._now = now
            refreshed = sum(index.advance(now) for index in self._indexes.values())
        INDEX_WINDOWS.set(self.window_count())
        return refreshed

    def decide(self, workspace_id: int, alert: Alert, at: datetime) -> Decision:
        index = self._indexes.get(workspace_id)
        if index is None:
            return _DELIVER
        return index.decide(alert, at)

    def decide_many(self, workspace_id: int, alerts: Sequence[AlertLike],
                    at: datetime) -> list[Decision]:
        index = self._indexes.get(workspace_id)
        if index is None:
            return [_DELIVER] * len(alerts)
        return index.decide_many(alerts, at)

    def is_behind(self, workspace_id: int, window_id: int, updated_at: datetime,
                  archived: bool) -> bool:
        """Whether the index lacks the stored version of a window (``updated_at``, archived or
        not): a change this process was not told about."""
        index = self._indexes.get(workspace_id)
        held = index is not None and index.holds(window_id)
        if archived:
            return held
        if not held or index is None:
            return (workspace_id, window_id) not in self._gone
        version = index.version(window_id)
        return version is None or version < updated_at

    def groups_behind(self, stored: dict[int, dict[str, frozenset[str]]]
                      ) -> list[tuple[int, str]]:
        """The (workspace, group) pairs whose members differ between the index and ``stored``
        (every group in the store), deleted groups included."""
        behind: list[tuple[int, str]] = []
        for workspace_id in sorted(set(stored) | set(self._indexes)):
            index = self._indexes.get(workspace_id)
            held = index.groups() if index is not None else {}
            mine = stored.get(workspace_id, {})
            behind += [(workspace_id, name) for name in sorted(set(held) | set(mine))
                       if held.get(name) != mine.get(name)]
        return behind

    def index_for(self, workspace_id: int) -> DecisionIndex | None:
        """The workspace's index, for read-only inspection (benchmarks, stats)."""
        return self._indexes.get(workspace_id)

    def window_count(self) -> int:
        return sum(len(index.window_ids()) for index in list(self._indexes.values()))

    def stats(self) -> dict[int, dict[str, int]]:
        return {ws: index.stats() for ws, index in list(self._indexes.items())}
