"""Claiming outbox rows, recording delivery attempts, and the delivery log.

Claiming follows STACK.md trap 3: on PostgreSQL one statement — a ``MATERIALIZED`` CTE that
picks due rows ``FOR UPDATE SKIP LOCKED`` and an ``UPDATE … RETURNING`` that leases exactly
those — so concurrent workers never take the same row and never claim more than asked. On
SQLite the transaction already began with ``BEGIN IMMEDIATE`` (one writer at a time), so a
select followed by a conditional update is as safe.

A claimed row is ``delivering`` with ``next_attempt_at = lease_until``: if its worker dies, the
row becomes due again when the lease expires and another worker takes it over (the receiver
may then see the message twice, always with the same ``webhook-id``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from quietly.core.codec import format_instant
from quietly.core.errors import ValidationError
from quietly.core.records import Principal
from quietly.services import audit
from quietly.storage.tables import ChannelRow, DeliveryAttemptRow, OutboxRow

__all__ = ["Claimed", "Outcome", "RetryPolicy", "backlog_counts", "backoff_delay",
           "claim_due", "list_deliveries", "purge_finished", "record_outcome"]

STATUSES = ("pending", "delivering", "delivered", "failed", "skipped")

_PG_CLAIM = text("""
WITH due AS MATERIALIZED (
    SELECT id FROM outbox
    WHERE status IN ('pending', 'delivering') AND next_attempt_at <= :now
    ORDER BY next_attempt_at, id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
UPDATE outbox
SET status = 'delivering', attempts = outbox.attempts + 1, lease_until = :lease,
    next_attempt_at = :lease, leased_by = :worker
FROM due WHERE outbox.id = due.id
RETURNING outbox.id
""")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff with jitter, for ``retry_for`` after the message was made."""

    retry_for: timedelta = timedelta(hours=24)
    base: float = 5.0
    cap: float = 3600.0
    jitter: float = 0.25


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    event_id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    channel_type: str | None  # None: the channel was deleted since
    url: str | None
    secret: str | None
    window_id: int | None = None  # the window the event is about, if any


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result: an HTTP status, or an error with whether retrying can help."""

    status_code: int | None
    error: str | None
    retryable: bool
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff_delay(attempt: int, policy: RetryPolicy) -> timedelta:
    """``min(cap, base * 2**(attempt-1))`` less up to ``jitter`` of it, at random, so a burst of
    failures does not retry in lockstep."""
    raw = min(policy.cap, policy.base * (2 ** max(0, min(attempt, 40) - 1)))
    return timedelta(seconds=raw * (1 - policy.jitter * random.random()))


def _claim_ids(db: Session, worker: str, now: datetime, lease: datetime, limit: int
               ) -> list[int]:
    if db.get_bind().dialect.name == "postgresql":
        result = db.execute(_PG_CLAIM, {"now": now, "lease": lease, "worker": worker,
                                        "limit": limit})
        return [int(r[0]) for r in result]
    ids = list(db.scalars(
        select(OutboxRow.id)
        .where(OutboxRow.status.in_(("pending", "delivering")),
               OutboxRow.next_attempt_at <= now)
        .order_by(OutboxRow.next_attempt_at, OutboxRow.id).limit(limit)))
    if ids:
        db.execute(update(OutboxRow).where(OutboxRow.id.in_(ids)).values(
            status="delivering", attempts=OutboxRow.attempts + 1, lease_until=lease,
            next_attempt_at=lease, leased_by=worker))
    return ids


def claim_due(db: Session, worker: str, now: datetime, lease: timedelta,
              limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due messages for ``worker`` until ``now + lease``, in the order
    they were enqueued (by id)."""
    ids = _claim_ids(db, worker, now, now + lease, limit)
    if not ids:
        return []
    rows = db.execute(
        select(OutboxRow, ChannelRow)
        .join(ChannelRow, ChannelRow.id == OutboxRow.channel_id, isouter=True)
        .where(OutboxRow.id.in_(ids)).order_by(OutboxRow.id)
        .execution_options(populate_existing=True))
    return [Claimed(o.id, o.event_id, o.kind, o.payload, o.attempts, o.created_at,
                    c.type if c else None, c.url if c else None, c.secret if c else None,
                    o.window_id)
            for o, c in rows]


def _next_status(message: Claimed, outcome: Outcome, now: datetime,
                 policy: RetryPolicy) -> tuple[str, datetime | None]:
    if outcome.ok:
        return "delivered", None
    if not outcome.retryable:
        return "failed", None
    retry_at = now + backoff_delay(message.attempts, policy)
    if retry_at - message.created_at > policy.retry_for:
        return "failed", None
    return "pending", retry_at


def record_outcome(db: Session, message: Claimed, worker: str, outcome: Outcome,
                   now: datetime, policy: RetryPolicy) -> str:
    """Log the attempt and move the message on: delivered, retried later, or failed.

    A success is recorded even if the lease was lost meanwhile (the message did arrive); a
    failure only while this worker still holds the lease, so it cannot undo a takeover's
    success. Returns the new status (or ``"lost"`` when the lease had moved on).
    """
    db.add(DeliveryAttemptRow(outbox_id=message.id, at=now, status_code=outcome.status_code,
                              error=outcome.error, duration_ms=outcome.duration_ms,
                              worker=worker))
    status, retry_at = _next_status(message, outcome, now, policy)
    stmt = update(OutboxRow).where(OutboxRow.id == message.id)
    if outcome.ok:
        stmt = stmt.where(OutboxRow.status != "delivered")
    else:
        stmt = stmt.where(OutboxRow.status == "delivering", OutboxRow.leased_by == worker)
    result = db.execute(stmt.values(
        status=status, next_attempt_at=retry_at or now, lease_until=None, leased_by=None,
        last_status_code=outcome.status_code, last_error=outcome.error,
        delivered_at=now if outcome.ok else None))
    return status if result.rowcount == 1 else "lost"  # type: ignore[attr-defined]


def purge_finished(db: Session, older_than: datetime, limit: int = 10_000) -> int:
    """Delete up to ``limit`` delivered, failed or skipped messages made before
    ``older_than`` (their attempts go with them); returns how many were deleted."""
    ids = select(OutboxRow.id).where(OutboxRow.status.in_(("delivered", "failed", "skipped")),
                                     OutboxRow.created_at < older_than).limit(limit)
    found = list(db.scalars(ids))
    if found:
        db.execute(delete(DeliveryAttemptRow).where(DeliveryAttemptRow.outbox_id.in_(found)))
        db.execute(delete(OutboxRow).where(OutboxRow.id.in_(found)))
    return len(found)


def backlog_counts(db: Session) -> dict[str, int]:
    """Messages per status that still need work or attention (pending, delivering, failed)."""
    rows = db.execute(select(OutboxRow.status, func.count())
                      .where(OutboxRow.status.in_(("pending", "delivering", "failed")))
                      .group_by(OutboxRow.status))
    counts = {"pending": 0, "delivering": 0, "failed": 0}
    counts.update({str(status): int(n) for status, n in rows})
    return counts


def _instant(value: datetime | None) -> str | None:
    return format_instant(value) if value else None


def _attempts(db: Session, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = db.scalars(select(DeliveryAttemptRow).where(DeliveryAttemptRow.outbox_id.in_(ids))
                      .order_by(DeliveryAttemptRow.id))
    for a in rows:
        out[a.outbox_id].append({"at": format_instant(a.at), "status_code": a.status_code,
                                 "error": a.error, "duration_ms": a.duration_ms})
    return out


def _delivery(row: OutboxRow, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    waiting = row.status in ("pending", "delivering")
    return {"id": row.id, "event_id": row.event_id, "type": row.kind, "status": row.status,
            "window_id": row.window_id, "channel_id": row.channel_id,
            "route_id": row.route_id, "alert_id": row.alert_id, "late": row.late,
            "due_at": format_instant(row.due_at), "created_at": format_instant(row.created_at),
            "delivered_at": _instant(row.delivered_at), "attempt_count": row.attempts,
            "last_status_code": row.last_status_code, "last_error": row.last_error,
            "next_attempt_at": format_instant(row.next_attempt_at) if waiting else None,
            "attempts": attempts[-20:], "payload": row.payload}


def list_deliveries(db: Session, principal: Principal, *, window_id: int | None,
                    channel_id: int | None, status: str | None, limit: int,
                    cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The delivery log, newest first, filtered by window, channel and status."""
    if status is not None and status not in STATUSES:
        raise ValidationError(f"must be one of {', '.join(STATUSES)}", field="status")
    stmt = select(OutboxRow).where(OutboxRow.workspace_id == principal.workspace_id)
    if window_id is not None:
        stmt = stmt.where(OutboxRow.window_id == window_id)
    if channel_id is not None:
        stmt = stmt.where(OutboxRow.channel_id == channel_id)
    if status is not None:
        stmt = stmt.where(OutboxRow.status == status)
    before = audit.decode_cursor(cursor)
    if before:
        stmt = stmt.where(OutboxRow.id < before)
    rows = list(db.scalars(stmt.order_by(OutboxRow.id.desc()).limit(limit + 1)))
    page = rows[:limit]
    attempts = _attempts(db, [r.id for r in page])
    next_cursor = audit.encode_cursor(page[-1].id) if len(rows) > limit else None
    return [_delivery(r, attempts[r.id]) for r in page], next_cursor
