"""The transactional outbox: messages written in the transaction of the change that caused them.

Every message is one row per (event, channel) with a unique ``dedupe_key``; the insert is an
"insert or ignore", so a second worker, a retried transaction or a restart can never enqueue
it twice. Keys:

- window events      ``w{window}:window.{action}:{instant}:c{channel}``
- occurrence events  ``w{window}:o{start}:{event}[:{end}]:c{channel}`` (ending events carry the
                     end, so extending a window after ``ending_soon`` announces the new end)
- alerts             ``a{alert}:r{route}:v{revision}`` (routes), ``…:x{channel}…`` (escalation)

``enqueue_window_event`` is the hook ``services.windows`` calls on every window change: it
writes the ``window.*`` messages, (re)schedules the window's job for the worker and, on
PostgreSQL, sends ``NOTIFY quietly_changes`` in the same transaction so other processes
refresh their decision index (see ``worker.listener``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    delete,
    event,
    literal_column,
    text,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from quietly.core import lifecycle
from quietly.core.codec import format_instant
from quietly.core.model import Occurrence
from quietly.core.records import WindowRecord
from quietly.services import channels as channel_service
from quietly.services import sync_state
from quietly.services.channels import Channel
from quietly.services.serialize import window_to_json
from quietly.storage import changefeed
from quietly.storage.bulk import (
    driver_execute,
    insert_from_json,
    insert_values,
    json_rows,
)
from quietly.storage.mappers import window_record_from_row
from quietly.storage.tables import GroupRow, OutboxRow, SyncRow, WindowJobRow, WindowRow
from quietly.storage.types import sqlite_instant
from quietly.storage.window_rows import insert_jobs_json

__all__ = ["CHANGES_CHANNEL", "MAX_PAYLOAD", "Message", "changed_ids_payloads", "enqueue",
           "enqueue_event", "enqueue_many", "enqueue_window_event", "event_id_for",
           "notify_change", "notify_changes", "parse_window_ids", "window_events_created"]

CHANGES_CHANNEL = "quietly_changes"


@dataclass(frozen=True, slots=True)
class Message:
    """What to enqueue for one event, before it is fanned out to channels."""

    workspace_id: int
    kind: str
    key: str  # the dedupe key without the channel part
    body: dict[str, Any]  # the event without "id" (that is per channel)
    due_at: datetime
    window_id: int | None = None
    alert_id: int | None = None
    route_id: int | None = None
    late: bool = False
    skip_reason: str | None = None  # recorded as "skipped" with this error instead of sent


def event_id_for(dedupe_key: str) -> str:
    """The ``webhook-id``: stable for a message across attempts, workers and restarts."""
    return "msg_" + hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]


def _insert_ignore(db: Session, values: dict[str, Any]) -> bool:
    """Insert an outbox row unless its dedupe key exists; True if this call inserted it.

    ``RETURNING`` tells the two apart on both backends (the ORM's bulk path reports no
    rowcount for ``ON CONFLICT DO NOTHING`` on PostgreSQL).
    """
    table = OutboxRow.__table__
    assert isinstance(table, Table)
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table).values(**values).on_conflict_do_nothing(
            index_elements=["dedupe_key"])
    else:
        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing(
            index_elements=["dedupe_key"])
    return db.execute(stmt.returning(table.c.id)).first() is not None


def _values(message: Message, channel_id: int, now: datetime, per_channel: bool
            ) -> dict[str, Any]:
    key = f"{message.key}:c{channel_id}" if per_channel else message.key
    event_id = event_id_for(key)
    payload = {"id": event_id, "type": message.kind, **message.body,
               "late": message.late}
    skipped = message.skip_reason is not None
    return {
        "workspace_id": message.workspace_id, "dedupe_key": key, "event_id": event_id,
        "kind": message.kind, "payload": payload, "channel_id": channel_id,
        "route_id": message.route_id, "window_id": message.window_id,
        "alert_id": message.alert_id, "status": "skipped" if skipped else "pending",
        "attempts": 0, "due_at": message.due_at, "next_attempt_at": now,
        "lease_until": None, "leased_by": None, "last_status_code": None,
        "last_error": message.skip_reason, "late": message.late, "created_at": now,
        "delivered_at": None}


def enqueue(db: Session, message: Message, channel_id: int, now: datetime, *,
            per_channel: bool = True) -> bool:
    """Write one outbox row for ``message`` to ``channel_id``; False if it already existed.

    ``per_channel`` appends ``:c{channel}`` to the key (one event fanned out to channels);
    without it the message key must already be unique (alerts: per route or escalation).
    """
    return _insert_ignore(db, _values(message, channel_id, now, per_channel))


def enqueue_many(db: Session, items: Sequence[tuple[Message, int]], now: datetime, *,
                 per_channel: bool = True) -> int:
    """``enqueue`` for many (message, channel) pairs in a few statements; returns how many
    rows were new."""
    table = OutboxRow.__table__
    assert isinstance(table, Table)
    if not items:
        return 0
    rows = [_values(m, c, now, per_channel) for m, c in items]
    conn = db.connection()
    stmt: Any
    params: Any
    if conn.dialect.name == "postgresql":
        stmt, params = insert_from_json(table, list(rows[0])), json_rows(table, rows)
    else:
        # One cached statement, executemany: SQLAlchemy batches it ("insertmanyvalues").
        stmt, params = sqlite_insert(table), rows
    # RETURNING: the ids that come back are exactly the rows that were new.
    stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)
    return len(conn.execute(stmt, params).all())


def enqueue_event(db: Session, message: Message, targets: Sequence[Channel],
                  now: datetime) -> int:
    """Fan ``message`` out to ``targets``; returns how many rows were new."""
    return sum(enqueue(db, message, channel.id, now) for channel in targets)


def notify_change(db: Session, payload: str) -> None:
    """Tell the other processes in this transaction: ``NOTIFY quietly_changes`` on
    PostgreSQL (``worker.listener``), a row of the change feed on SQLite (``worker.feed``)."""
    notify_changes(db, (payload,))


def _schedule_job(db: Session, row: WindowRow, record: WindowRecord, action: str,
                  now: datetime) -> None:
    """Ask the worker to look at the window now; a deleted window's job goes away.

    The worker handles transitions from the job's ``done_until`` on. A window written while
    one of its occurrences runs (created already started, or moved so that it runs now)
    gets its bookmark moved back to that occurrence's start, so its ``started`` event is
    sent too (``late`` if the start was a while ago); events already sent are not repeated,
    their outbox keys exist.
    """
    if action == "deleted":
        db.execute(delete(WindowJobRow).where(WindowJobRow.window_id == row.id))
        return
    running = lifecycle.current_occurrence(record.to_window(), now)
    floor = min(now, running.start) if running is not None else now
    job = db.get(WindowJobRow, row.id)
    if job is None:
        db.add(WindowJobRow(window_id=row.id, workspace_id=row.workspace_id,
                            done_until=floor, next_due_at=now))
        return
    job.done_until = min(job.done_until, floor)
    if job.next_due_at is None or job.next_due_at > now:
        job.next_due_at = now


def enqueue_window_event(db: Session, workspace_id: int, window_id: int, action: str,
                         now: datetime) -> None:
    """The hook for window changes (``created``, ``updated``, ``cancelled``, ``deleted``).

    Runs inside the change's transaction, after its flush: writes ``window.{action}`` to the
    window's channels, reschedules its job and notifies other processes.
    """
    row = db.get(WindowRow, window_id)
    if row is None or row.workspace_id != workspace_id:
        return
    record = window_record_from_row(row)
    message = Message(
        workspace_id=workspace_id, kind=f"window.{action}", window_id=window_id, due_at=now,
        key=f"w{window_id}:window.{action}:{format_instant(now)}",
        body={"at": format_instant(now), "workspace_id": workspace_id,
              "window": window_to_json(record, now), "occurrence": None,
              "message": record.fields.notification_message})
    targets = channel_service.resolve_channels(db, workspace_id, record.fields.notify_channels)
    enqueue_event(db, message, targets, now)
    _schedule_job(db, row, record, action, now)
    notify_change(db, f"w:{workspace_id}:{window_id}")
    sync_state.mark_changed(db, workspace_id)


def window_events_created(db: Session, records: Sequence[WindowRecord], now: datetime,
                          conn: Connection | None = None, *,
                          running: Sequence[Occurrence | None] | None = None) -> None:
    """``enqueue_window_event(…, "created", …)`` for many new windows, one statement per
    table: their ``window.created`` messages (windows naming channels), their jobs, one
    ``NOTIFY`` per workspace (its payload names the ids as ranges, ``changed_ids_payloads``)
    and one change mark per workspace. ``running``: each record's occurrence running at
    ``now``, when the caller has computed it already."""
    if not records:
        return
    pairs: list[tuple[Message, int]] = []
    for record in records:
        if record.fields.notify_channels:
            message = _window_message(record, "created", now)
            pairs += [(message, channel.id) for channel in channel_service.resolve_channels(
                db, record.workspace_id, record.fields.notify_channels)]
    if pairs:
        enqueue_many(db, pairs, now)
    if running is None:
        running = [lifecycle.current_occurrence(record.to_window(), now) for record in records]
    conn = conn if conn is not None else db.connection()
    workspaces = sorted({r.workspace_id for r in records})
    if not (conn.dialect.name == "sqlite" and len(workspaces) == 1
            and _jobs_json(conn, records, running, workspaces[0], now)):
        jobs = [(record.id, record.workspace_id,
                 min(now, occurrence.start) if occurrence is not None else now, now)
                for record, occurrence in zip(records, running, strict=True)]
        insert_values(conn, _table(WindowJobRow),  # every job is due now: no None
                      ("window_id", "workspace_id", "done_until", "next_due_at"), jobs,
                      nulls=False)
    notify_changes(db, [payload for workspace_id in workspaces
                        for payload in changed_ids_payloads(
                            workspace_id, [r.id for r in records
                                           if r.workspace_id == workspace_id])])
    if conn.dialect.name == "sqlite":  # the statement of sync_state.mark_changed, compiled once
        for workspace_id in workspaces:
            driver_execute(conn, _MARK_SYNCS_SQLITE, (workspace_id,))
    else:
        for workspace_id in workspaces:
            sync_state.mark_changed(db, workspace_id)


def _jobs_json(conn: Connection, records: Sequence[WindowRecord],
               running: Sequence[Occurrence | None], workspace_id: int, now: datetime) -> bool:
    """The jobs of new windows of one workspace (SQLite) as ``storage.window_rows``' one
    statement reading a JSON array: the same rows as ``insert_values`` stores; False
    (nothing written) when it cannot (ids not consecutive)."""
    due = sqlite_instant(now)
    done_until = [due if occurrence is None else sqlite_instant(min(now, occurrence.start))
                  for occurrence in running]
    return insert_jobs_json(conn, [r.id for r in records], workspace_id, done_until, due)


# PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more.
MAX_PAYLOAD = 7_900


def changed_ids_payloads(workspace_id: int, window_ids: Sequence[int]) -> list[str]:
    """The ``NOTIFY`` payloads naming windows ``window_ids`` of one workspace changed:
    ``w:<workspace>:<id>`` for one, ``w:<workspace>:<first>-<last>,<id>,…`` (runs of
    consecutive ids as ranges) for many — a batch's ids are consecutive unless another
    transaction took ids meanwhile, so a batch is one notification; more only past
    ``MAX_PAYLOAD`` bytes. ``worker.listener`` reads both forms."""
    runs: list[str] = []
    ordered = sorted(set(window_ids))
    start = 0
    for i in range(1, len(ordered) + 1):
        if i == len(ordered) or ordered[i] != ordered[i - 1] + 1:
            first, last = ordered[start], ordered[i - 1]
            runs.append(str(first) if first == last else f"{first}-{last}")
            start = i
    prefix = f"w:{workspace_id}:"
    payloads: list[str] = []
    current: list[str] = []
    size = len(prefix)
    for run in runs:
        if current and size + len(run) + 1 > MAX_PAYLOAD:
            payloads.append(prefix + ",".join(current))
            current, size = [], len(prefix)
        current.append(run)
        size += len(run) + 1
    if current:
        payloads.append(prefix + ",".join(current))
    return payloads


def parse_window_ids(text: str) -> list[int]:
    """The window ids a payload's last part names (``7``, ``5-9,12``); [] if malformed or
    naming more than 100,000 ids (no batch is that large: 10,000 windows)."""
    ids: list[int] = []
    for part in text.split(","):
        first, dash, last = part.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            return []
        low, high = int(first), int(last) if dash else int(first)
        if high < low or len(ids) + high - low >= 100_000:
            return []
        ids.extend(range(low, high + 1))
    return ids


_MARK_SYNCS_SQLITE = str(
    update(SyncRow).where(SyncRow.workspace_id == bindparam("ws"))
    .values(change_seq=SyncRow.change_seq + literal_column("1"))
    .compile(dialect=sqlite.dialect(paramstyle="qmark")))


def notify_changes(db: Session, payloads: Sequence[str]) -> None:
    """``notify_change`` for many payloads in one statement."""
    if not payloads:
        return
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        db.execute(text("SELECT count(pg_notify(:channel, p)) FROM unnest(CAST(:payloads "
                        "AS text[])) AS p"), {"channel": CHANGES_CHANNEL,
                                              "payloads": list(payloads)})
    elif dialect == "sqlite":
        database = db.info.get("database")
        if database is not None and not database.feed_followed():
            return  # no other process follows this file's feed
        origin = database.origin if database is not None else ""
        driver_execute(db.connection(), changefeed.INSERT, changefeed.stamp(origin, payloads),
                       many=True)


def _window_message(record: WindowRecord, action: str, now: datetime) -> Message:
    return Message(
        workspace_id=record.workspace_id, kind=f"window.{action}", window_id=record.id,
        due_at=now, key=f"w{record.id}:window.{action}:{format_instant(now)}",
        body={"at": format_instant(now), "workspace_id": record.workspace_id,
              "window": window_to_json(record, now), "occurrence": None,
              "message": record.fields.notification_message})


def _table(entity: Any) -> Table:
    table = entity.__table__
    assert isinstance(table, Table)
    return table


@event.listens_for(Session, "after_flush")
def _mark_syncs_on_group_changes(session: Session, _context: Any) -> None:
    """A group's membership is part of every sync's desired silences: make them due."""
    workspaces = {obj.workspace_id for obj in (*session.new, *session.dirty, *session.deleted)
                  if isinstance(obj, GroupRow)}
    for workspace_id in sorted(workspaces):
        sync_state.mark_changed(session.connection(), workspace_id)


@event.listens_for(Session, "after_flush")
def _notify_group_changes(session: Session, _context: Any) -> None:
    """Group membership changes reach other processes' indexes the same way as windows."""
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, GroupRow):
            notify_change(session, f"g:{obj.workspace_id}:{obj.name}")


